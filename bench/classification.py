"""Precision and recall of the intake classifier per field on the labelled corpus.

Run: ``.venv/bin/python -m bench.classification [--misses]``. Prints the table and writes
the "Intake classification" section of bench/RESULTS.md.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from bench.results import write_section
from caseapp.intake.classify_eval import load_corpus, score, table

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "intake_corpus"


def main(argv: list[str]) -> int:
    messages = load_corpus(CORPUS)
    start = time.perf_counter()
    scores, _ = score(messages)
    elapsed = time.perf_counter() - start
    holdout = load_corpus(CORPUS / "holdout")
    held_scores, _ = score(holdout)
    lines = [
        f"{len(messages)} labelled messages (tests/intake_corpus/, English and Spanish), "
        f"classified in {elapsed:.2f} s. Micro-averaged over labels; flags count the "
        "positive class; single values count a proposal only when one is made.",
        "The rules were written alongside this corpus, so these figures are optimistic:",
        "",
        *table(scores),
        "",
        f"Held-out set ({len(holdout)} messages, tests/intake_corpus/holdout/, written after "
        "the rules were frozen and not used to change them): the fairer estimate.",
        "",
        *table(held_scores),
    ]
    print("\n".join(lines))
    if "--misses" in argv:
        for label, table_scores in (("corpus", scores), ("holdout", held_scores)):
            for name, s in table_scores.items():
                for miss in s.misses:
                    print(f"  {label} {name}: {miss}")
    write_section("Intake classification", lines)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
