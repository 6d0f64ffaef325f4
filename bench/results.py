"""Writing benchmark figures into bench/RESULTS.md, one section per benchmark."""

from __future__ import annotations

import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADER = (
    "# Benchmark results\n\n"
    "Written by `bench/run` (bench.run_all: every figure in one run, the summary on top) "
    "and by the scripts in bench/ run alone (see README \"Benchmarks\"); each section is "
    "replaced when its benchmark runs again. Figures are measured beside their bare "
    "baseline in the same run, because these machines are noisy.\n"
)


def write_section(title: str, lines: list[str]) -> None:
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else HEADER
    body = f"## {title}\n\n" + "\n".join(lines).rstrip() + "\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _m: body + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + body
    RESULTS.write_text(text, encoding="utf-8")


def _sections(text: str) -> list[tuple[str, str]]:
    """The ``## `` sections of ``text`` as (title, whole section text)."""
    found = re.finditer(r"^## ([^\n]+)\n.*?(?=^## |\Z)", text, re.S | re.M)
    return [(match.group(1).strip(), match.group(0).rstrip() + "\n") for match in found]


def write_report(path: Path, summary: list[str], sections: list[tuple[str, list[str]]]) -> None:
    """Rewrite ``path`` as one run's report (bench.run_all): the header, the summary (its
    lines under "## Summary"), the run's sections in order, then any other section the
    file held (written by a benchmark run alone) as it was."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    ours = {"Summary", *(title for title, _lines in sections)}
    parts = [HEADER.rstrip() + "\n", "## Summary\n\n" + "\n".join(summary).rstrip() + "\n"]
    parts += [f"## {title}\n\n" + "\n".join(lines).rstrip() + "\n" for title, lines in sections]
    for title, body in _sections(old):
        if title not in ours:
            ours.add(title)
            parts.append(body)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
