"""The words a letter puts around its text, per language (resources/letters/words.toml)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from caseapp.errors import ConfigError
from caseapp.vocabulary import LANGUAGES, RECORD_CATEGORY_LABELS


@dataclass(frozen=True)
class Words:
    language: str
    data: dict[str, Any]

    def __getitem__(self, key: str) -> str:
        return str(self.data[key])

    def date(self, day: date | None) -> str:
        if day is None:
            return ""
        month = self.data["months"][day.month - 1]
        return str(self.data["date"]).format(month=month, day=day.day, year=day.year)

    def label(self, table: str, key: str) -> str:
        """A name from one of the tables ([en.channels] ...); the key when not there."""
        found = self.data.get(table, {}).get(key)
        return str(found) if found else key.replace("_", " ")

    def field(self, column: str) -> str:
        """A column of a customer system as the requester reads it ("postal_code" →
        "ZIP code"); an unknown one with its underscores as spaces, capitalised."""
        found = self.data.get("fields", {}).get(column.lower())
        if found:
            return str(found)
        text = column.replace("_", " ").strip()
        return text[:1].upper() + text[1:]

    def category(self, key: str) -> str:
        found = self.data.get("categories", {}).get(key)
        return str(found) if found else RECORD_CATEGORY_LABELS.get(key, key)

    def joined(self, items: list[str]) -> str:
        """"a, b and c" in the letter's language."""
        if len(items) <= 1:
            return "".join(items)
        return f"{', '.join(items[:-1])} {self['and']} {items[-1]}"


@cache
def load_words(folder: Path, language: str) -> Words:
    path = folder / "letters" / "words.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: the letters' words cannot be read ({error})") from None
    if language not in LANGUAGES or language not in data:
        raise ConfigError(f"{path}: no words for the language '{language}' (letters are "
                          f"written in: {', '.join(sorted(data))})")
    words = data[language]
    for key in ("months", "date", "page", "closing", "case", "received", "serial",
                "fingerprint", "withheld", "and", "draft"):
        if key not in words:
            raise ConfigError(f"{path}: [{language}] has no '{key}'")
    return Words(language, words)
