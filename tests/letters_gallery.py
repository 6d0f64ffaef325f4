"""Every letter kind, in English and Spanish, issued on demo cases and turned into PNG
pages to look at (a script, not a test):

    .venv/bin/python -m tests.letters_gallery /tmp/letters [--language en|es] [KIND...]

Writes KIND-LANGUAGE.pdf and KIND-LANGUAGE-N.png (pdftoppm, 80 dpi) into the folder.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import tempfile
from pathlib import Path

import keyring

from caseapp.clock import Clock
from caseapp.demo import demo_sources_text
from caseapp.records.demo_systems import DEMO_DB_NAME, build_demo_systems
from caseapp.records.sources import parse_sources
from caseapp.services import Desk
from tests.keyring_fixtures import MemoryKeyring
from tests.letter_cases import prepare_letter_cases
from tests.records_fixtures import CUSTOMERS, NOW


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("kinds", nargs="*")
    parser.add_argument("--language", choices=("en", "es"), action="append")
    options = parser.parse_intermixed_args(argv)
    options.out.mkdir(parents=True, exist_ok=True)
    keyring.set_keyring(MemoryKeyring())  # the suppression salt; nothing kept
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        build_demo_systems(folder / DEMO_DB_NAME, customers=CUSTOMERS)
        sources = folder / "sources.toml"
        sources.write_text(demo_sources_text(folder), encoding="utf-8")
        config = parse_sources(sources.read_text(encoding="utf-8"), sources)
        alice = Desk(f"sqlite:///{folder / 'cases.sqlite3'}", "alice",
                     clock=Clock(fixed=NOW))
        alice.prepare(folder / "backups")
        alice.add_user("bob", "supervisor", "Bob Supervisor")
        bob = alice.as_user("bob")
        for person in (alice, bob):
            person.use_sources(config, folder, secret=lambda _name: None)
        cases = prepare_letter_cases(alice, bob)
        for kind, case in cases.items():
            if options.kinds and kind not in options.kinds:
                continue
            for language in options.language or ("en", "es"):
                letter = bob.issue_letter(case.ref, dataclasses.replace(
                    case.request, language=language))
                pdf = options.out / f"{kind}-{language}.pdf"
                pdf.write_bytes(letter.pdf)
                subprocess.run(["pdftoppm", "-png", "-r", "80", str(pdf),
                                str(options.out / f"{kind}-{language}")], check=True)
                print(f"{pdf}: {letter.serial}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
