"""The ``letter`` and ``letters`` commands: issue a case's letters and record their post.

    caseapp letter REF KIND [-o FILE] [--draft] [--language es] [--delivery post]
                            [--needed TEXT] [--notice ID]
    caseapp letters list REF [--json]
    caseapp letters pdf REF SERIAL -o FILE
    caseapp letters mailed REF SERIAL --method certified --tracking 9400... [--on DATE]
    caseapp letters returned REF SERIAL [--on DATE] [--note TEXT]
    caseapp letters kinds
    caseapp letters texts                              which texts the desk prints with
    caseapp letters text KIND LANG [--save FILE | --revert]   (saving: administrators)
    caseapp letters organization [--save FILE | --revert]
    caseapp letters logo FILE | --remove
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import date
from pathlib import Path
from typing import Any

from caseapp.config import Settings
from caseapp.errors import InvalidInput
from caseapp.letters.kinds import DELIVERIES, LETTER_KINDS
from caseapp.services import Desk
from caseapp.services.dto import StepRequest
from caseapp.services.letters import MAIL_METHODS, LetterRequest, LetterView
from caseapp.vocabulary import LANGUAGES


def add_parsers(commands: Any) -> None:
    letter = commands.add_parser(
        "letter", help="issue one of a case's letters as PDF (or --draft)",
        description="Render a letter of the case (kinds: caseapp letters kinds). Issued, "
        "it gets a serial, is stored with the case and audited with its SHA-256; "
        "--draft renders it marked DRAFT and stores nothing. A letter to be mailed "
        "(--delivery post) needs a postal address, one to be emailed an email address.")
    letter.add_argument("ref")
    letter.add_argument("kind", choices=sorted(LETTER_KINDS), metavar="KIND")
    letter.add_argument("-o", "--output", type=Path,
                        help="where to write the PDF (default: REF-KIND-SERIAL.pdf here)")
    letter.add_argument("--draft", action="store_true",
                        help="render only; no serial, nothing stored")
    letter.add_argument("--language", choices=LANGUAGES, default="",
                        help="default: the case's language")
    letter.add_argument("--delivery", choices=DELIVERIES, default="post",
                        help="post (printed and mailed; the default), email, file")
    letter.add_argument("--needed", default="",
                        help="what the requester must send (verification and information "
                        "requests)")
    letter.add_argument("--notice", type=int, help="the downstream notice's ID "
                        "(downstream_notice letters; caseapp notice list REF)")

    letters = commands.add_parser("letters", help="a case's letters: list, PDF, mailed, "
                                  "returned")
    verbs = letters.add_subparsers(dest="letters_command", metavar="ACTION", required=True)
    verbs.add_parser("kinds", help="the letter kinds")
    listing = verbs.add_parser("list", help="the case's letters")
    listing.add_argument("ref")
    listing.add_argument("--json", action="store_true")
    pdf = verbs.add_parser("pdf", help="write an issued letter's PDF to a file")
    pdf.add_argument("ref")
    pdf.add_argument("serial")
    pdf.add_argument("-o", "--output", type=Path, required=True)
    mailed = verbs.add_parser("mailed", help="record that a printed letter was mailed")
    mailed.add_argument("ref")
    mailed.add_argument("serial")
    mailed.add_argument("--method", choices=sorted(MAIL_METHODS), default="first_class")
    mailed.add_argument("--tracking", default="", help="certified mail's tracking number")
    mailed.add_argument("--on", type=date.fromisoformat, help="YYYY-MM-DD (default: today)")
    mailed.add_argument("--advance", action="store_true",
                        help="also take the step sending it completes (an acknowledgement "
                        "acknowledges the case; a response is the response sent)")
    returned = verbs.add_parser("returned", help="the post returned a letter as "
                                "undeliverable (adds a task)")
    returned.add_argument("ref")
    returned.add_argument("serial")
    returned.add_argument("--on", type=date.fromisoformat, help="YYYY-MM-DD (default: today)")
    returned.add_argument("--note", default="")
    verbs.add_parser("texts", help="the letter texts: shipped, or edited for this desk")
    text = verbs.add_parser(
        "text", help="print a letter text; --save FILE sets it for the whole desk",
        description="Without an option, print the text the desk prints with. --save FILE "
        "checks the file (syntax, every placeholder) and saves it for every workstation "
        "(administrators; audited); --revert goes back to the shipped text.")
    text.add_argument("kind", choices=sorted(LETTER_KINDS), metavar="KIND")
    text.add_argument("language", choices=LANGUAGES)
    change = text.add_mutually_exclusive_group()
    change.add_argument("--save", type=Path, metavar="FILE")
    change.add_argument("--revert", action="store_true")
    organization = verbs.add_parser(
        "organization", help="the letterhead and contact lines (TOML); --save FILE")
    change = organization.add_mutually_exclusive_group()
    change.add_argument("--save", type=Path, metavar="FILE")
    change.add_argument("--revert", action="store_true")
    logo = verbs.add_parser("logo", help="the logo beside the name (PNG or JPEG)")
    which = logo.add_mutually_exclusive_group(required=True)
    which.add_argument("file", nargs="?", type=Path)
    which.add_argument("--remove", action="store_true")


def cmd_letter(settings: Settings, args: argparse.Namespace) -> int:
    desk = _desk(settings)
    try:
        request = LetterRequest(args.kind, language=args.language, delivery=args.delivery,
                                needed=args.needed, notice_id=args.notice)
        _check_writable(args.output)  # before a serial is used
        letter = (desk.draft_letter if args.draft else desk.issue_letter)(args.ref, request)
        output = args.output or Path(letter.filename)
        try:
            _write(output, letter.pdf)
        except InvalidInput as error:
            if args.draft:
                raise
            raise InvalidInput(f"{error.message} Letter {letter.serial} is issued and stored "
                               f"with the case: caseapp letters pdf {letter.ref} "
                               f"{letter.serial} -o FILE writes it again.") from None
        state = "Draft" if args.draft else f"Letter {letter.serial}"
        print(f"{state}: {letter.title} ({LETTER_KINDS[letter.kind].label}, "
              f"{letter.language}) → {output}")
        if not args.draft:
            print(f"  SHA-256 {letter.sha256} (in the case's audit trail)")
        return 0
    finally:
        desk.close()


def cmd_letters(settings: Settings, args: argparse.Namespace) -> int:
    verb = args.letters_command
    if verb == "kinds":
        for kind in LETTER_KINDS.values():
            print(f"{kind.name:24} {kind.label}")
        return 0
    desk = _desk(settings)
    try:
        if verb in ("texts", "text", "organization", "logo"):
            return _texts(desk, args)
        if verb == "list":
            views = desk.list_letters(args.ref)
            if args.json:
                print(json.dumps([_json(v) for v in views], indent=2, ensure_ascii=False))
            else:
                for view in views:
                    print(_line(view))
                if not views:
                    print(f"{args.ref}: no letters yet")
            return 0
        if verb == "pdf":
            _write(args.output, desk.letter_pdf(args.ref, args.serial))
            print(f"{args.serial} → {args.output}")
            return 0
        if verb == "mailed":
            view = desk.record_mailing(args.ref, args.serial, method=args.method,
                                       mailed_on=args.on, tracking_number=args.tracking)
            print(_line(view))
            offer_next_step(desk, view.ref, view.kind, args.advance)
            return 0
        view = desk.record_returned(args.ref, args.serial, returned_on=args.on,
                                    note=args.note)
        print(_line(view))
        print("  A task asks for a new address or another way to reach the requester.")
        return 0
    finally:
        desk.close()


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput(f"{path}: cannot be read ({error}).") from None


def _texts(desk: Desk, args: argparse.Namespace) -> int:
    verb = args.letters_command
    if verb == "texts":
        for info in desk.list_letter_templates():
            print(f"{info.kind:24} {info.language}  {info.where}")
        return 0
    if verb == "text":
        if args.save:
            info = desk.save_letter_template(args.kind, args.language, _read(args.save))
            print(f"{info.label} ({info.language}): {info.where}")
        elif args.revert:
            info = desk.revert_letter_template(args.kind, args.language)
            print(f"{info.label} ({info.language}): {info.where}")
        else:
            print(desk.letter_template_text(args.kind, args.language), end="")
        return 0
    if verb == "organization":
        if args.save:
            desk.save_letter_organization(_read(args.save))
            print("The organization profile is saved for every workstation of the desk.")
        elif args.revert:
            desk.revert_letter_organization()
            print("The organization profile is the shipped one again.")
        else:
            print(desk.letter_organization(), end="")
        return 0
    if args.remove:
        desk.set_letter_logo(None)
        print("Letters print no logo.")
        return 0
    try:
        data = args.file.read_bytes()
    except OSError as error:
        raise InvalidInput(f"{args.file}: cannot be read ({error.strerror}).") from None
    desk.set_letter_logo(data)
    print(f"Letters print {args.file.name} beside the name, on every workstation.")
    return 0


def offer_next_step(desk: Desk, ref: str, kind: str, advance: bool) -> None:
    """After a letter went out: take the step it completes (--advance), or say which."""
    option = desk.step_after_sending(ref, kind)
    if option is None:
        return
    if advance:
        case = desk.take_step(ref, StepRequest(step=option.name)).case
        print(f"  {ref}: {option.label} → {case.status_label}")
    else:
        print(f"  Next: caseapp cases step {ref} {option.name}   ({option.label}), or "
              "--advance")


def _desk(settings: Settings) -> Desk:
    desk = Desk(settings.effective_database_url, settings.user)
    desk.check_ready()
    return desk


def _check_writable(output: Path | None) -> None:
    """Refuse at once an output that cannot be written, or would replace a file."""
    if output is not None and output.exists():
        raise InvalidInput(f"{output} exists already: choose another file (-o).")
    folder = output.parent if output is not None else Path.cwd()
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise InvalidInput(f"{folder}: no folder to write the letter into (-o).")


def _write(path: Path, data: bytes) -> None:
    try:
        with path.open("xb") as out:  # never over another file
            out.write(data)
    except FileExistsError:
        raise InvalidInput(f"{path} exists already: choose another file (-o).") from None
    except OSError as error:
        raise InvalidInput(f"{path}: cannot be written ({error.strerror or error}).") from None


def _line(view: LetterView) -> str:
    if view.status == "returned":
        how = f"returned {view.returned_on}"
    elif view.status == "mailed":
        how = f"mailed {view.mailed_on} ({MAIL_METHODS.get(view.mail_method, view.mail_method)}"
        how += f", {view.tracking_number})" if view.tracking_number else ")"
    elif view.status == "emailed":
        how = f"emailed to {view.emailed_to}"
    else:
        how = f"issued, to go by {view.delivery}"
    return (f"{view.serial}  {view.issued_at:%Y-%m-%d %H:%M}  {view.kind_label:32} "
            f"{view.language}  {how}")


def _json(view: LetterView) -> dict[str, Any]:
    return {"serial": view.serial, "kind": view.kind, "language": view.language,
            "title": view.title, "delivery": view.delivery, "status": view.status,
            "issued_at": view.issued_at.isoformat(), "issued_by": view.issued_by,
            "sha256": view.sha256, "fingerprint": view.fingerprint,
            "mailed_on": view.mailed_on.isoformat() if view.mailed_on else None,
            "mail_method": view.mail_method, "tracking_number": view.tracking_number,
            "emailed_to": view.emailed_to,
            "returned_on": view.returned_on.isoformat() if view.returned_on else None}

