"""Measuring the intake classifier against a labelled corpus (precision/recall per field).

The corpus is one or more TOML files of ``[[message]]`` tables (see
``tests/intake_corpus/messages_en.toml`` for the format and the defaults of missing
labels). Used by ``bench/classification.py`` and by the tests.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from caseapp.errors import ConfigError
from caseapp.intake.classify import Proposal, classify

SET_FIELDS = ("request_types", "emails", "phones", "postal_codes", "vins", "names")
FLAG_FIELDS = ("is_privacy_request", "is_child", "via_agent")
VALUE_FIELDS = ("child_age", "jurisdiction", "language", "postal_address")
FIELDS = ("request_types", *FLAG_FIELDS, *VALUE_FIELDS[:3], *SET_FIELDS[1:], "postal_address")


@dataclass(frozen=True)
class Labelled:
    id: str
    subject: str
    text: str
    sender_name: str
    sender_email: str
    expect: dict[str, Any]


def load_corpus(folder: Path) -> list[Labelled]:
    messages: list[Labelled] = []
    for file in sorted(folder.glob("*.toml")):
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: {exc}") from exc
        for index, raw in enumerate(data.get("message", [])):
            where = f"{file}: message[{index}]"
            expect = dict(raw.get("expect", {}))
            if "request_types" not in expect:
                raise ConfigError(f"{where}: 'expect.request_types' is missing")
            unknown = set(expect) - set(FIELDS)
            if unknown:
                raise ConfigError(f"{where}: unknown label(s) {sorted(unknown)}")
            name, email = raw.get("sender_name", ""), raw.get("sender_email", "")
            expect.setdefault("is_privacy_request", expect["request_types"] != ["other"])
            for flag in ("is_child", "via_agent"):
                expect.setdefault(flag, False)
            for key in ("child_age", "jurisdiction", "postal_address"):
                expect.setdefault(key, None)
            expect.setdefault("language", "en")
            expect.setdefault("emails", [email] if email else [])
            expect.setdefault("names", [name] if name else [])
            for key in ("phones", "postal_codes", "vins"):
                expect.setdefault(key, [])
            messages.append(Labelled(str(raw.get("id", where)), raw.get("subject", ""),
                                     raw["text"], name, email, expect))
    return messages


@dataclass
class Score:
    true_pos: int = 0
    false_pos: int = 0
    false_neg: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        found = self.true_pos + self.false_pos
        return self.true_pos / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_pos + self.false_neg
        return self.true_pos / wanted if wanted else 1.0


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        return re.sub(r"\s+", " ", value).strip().casefold()
    return value


def score(messages: list[Labelled]) -> tuple[dict[str, Score], list[Proposal]]:
    """Micro precision/recall per field; flags count the positive class, values the non-None."""
    scores = {name: Score() for name in FIELDS}
    proposals = []
    for message in messages:
        got = classify(message.subject, message.text, message.sender_name, message.sender_email)
        proposals.append(got)
        for name in FIELDS:
            want, have = message.expect[name], getattr(got, name)
            s = scores[name]
            if name in SET_FIELDS:
                want_set, have_set = {_norm(v) for v in want}, {_norm(v) for v in have}
                s.true_pos += len(want_set & have_set)
                s.false_pos += len(have_set - want_set)
                s.false_neg += len(want_set - have_set)
                ok = want_set == have_set
            elif name in FLAG_FIELDS:
                s.true_pos += bool(want and have)
                s.false_pos += bool(have and not want)
                s.false_neg += bool(want and not have)
                ok = bool(want) == bool(have)
            else:
                ok = _norm(want) == _norm(have)
                if have is not None and ok:
                    s.true_pos += 1
                else:
                    s.false_pos += have is not None
                    s.false_neg += want is not None
            if not ok:
                s.misses.append(f"{message.id}: want {want!r}, got {have!r}")
    return scores, proposals


def table(scores: dict[str, Score]) -> list[str]:
    lines = ["| field | precision | recall | TP | FP | FN |", "|---|---|---|---|---|---|"]
    for name, s in scores.items():
        lines.append(f"| {name} | {s.precision:.2f} | {s.recall:.2f} | {s.true_pos} | "
                     f"{s.false_pos} | {s.false_neg} |")
    return lines
