"""Legal clocks per jurisdiction and request type, loaded from ``jurisdictions.toml``."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from caseapp.errors import ConfigError
from caseapp.vocabulary import PRIORITIES, REQUEST_TYPES

Unit = Literal["calendar_days", "business_days", "months"]
UNITS: tuple[Unit, ...] = ("calendar_days", "business_days", "months")
CLOCK_KEYS = ("acknowledge", "respond", "extension", "appeal")
DEFAULT_CODE = "DEFAULT"


@dataclass(frozen=True)
class ClockRule:
    days: int
    unit: Unit
    source: str
    configurable: bool = False

    def describe(self) -> str:
        unit = {"calendar_days": "days", "business_days": "business days", "months": "month(s)"}
        return f"{self.days} {unit[self.unit]} ({self.source})"


@dataclass(frozen=True)
class Policy:
    """The clocks that apply to one request type in one jurisdiction."""

    jurisdiction: str
    jurisdiction_name: str
    request_type: str
    acknowledge: ClockRule | None
    respond: ClockRule
    extension: ClockRule | None
    appeal: ClockRule | None
    appeals_allowed: bool
    hold_pauses_clock: bool


@dataclass(frozen=True)
class _Level:
    """One table of the file: jurisdiction-wide or per request type; None = not given."""

    clocks: Mapping[str, ClockRule | Literal[False]]
    appeals_allowed: bool | None
    hold_pauses_clock: bool | None


@dataclass(frozen=True)
class Jurisdictions:
    names: Mapping[str, str]
    _levels: Mapping[tuple[str, str | None], _Level]
    child_priority: str

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(code for code in self.names if code != DEFAULT_CODE)

    def name(self, code: str) -> str:
        return self.names.get(code, self.names[DEFAULT_CODE])

    def normalize(self, code: str | None) -> str:
        """A known jurisdiction code, or DEFAULT for unknown/empty ones."""
        if not code:
            return DEFAULT_CODE
        upper = code.strip().upper()
        return upper if upper in self.names else DEFAULT_CODE

    def policy(self, code: str, request_type: str) -> Policy:
        code = self.normalize(code)
        # A rule written for the request type wins over a jurisdiction-wide one: a type
        # rule in [default] is federal law or house policy for that type everywhere
        # (CAN-SPAM for unsubscribes, the service level for non-privacy questions).
        chain = [
            (code, request_type),
            (DEFAULT_CODE, request_type),
            (code, None),
            (DEFAULT_CODE, None),
        ]
        levels = [self._levels[key] for key in chain if key in self._levels]

        def clock(name: str) -> ClockRule | None:
            for level in levels:
                if name in level.clocks:
                    found = level.clocks[name]
                    return found if found is not False else None
            return None

        def flag(name: str) -> bool:
            for level in levels:
                value = getattr(level, name)
                if value is not None:
                    return bool(value)
            return False

        respond = clock("respond")
        if respond is None:  # guaranteed by validation of [default]
            raise ConfigError("jurisdictions.toml: [default] needs a 'respond' clock")
        return Policy(
            jurisdiction=code,
            jurisdiction_name=self.name(code),
            request_type=request_type,
            acknowledge=clock("acknowledge"),
            respond=respond,
            extension=clock("extension"),
            appeal=clock("appeal"),
            appeals_allowed=flag("appeals_allowed"),
            hold_pauses_clock=flag("hold_pauses_clock"),
        )

    def clock_entries(self) -> list[ClockEntry]:
        """Every clock the file defines, in file order (for the administrator's page)."""
        entries = []
        for (code, request_type), level in self._levels.items():
            for clock, rule in level.clocks.items():
                if isinstance(rule, ClockRule):
                    entries.append(ClockEntry(code, request_type, clock, rule))
        return entries

    def with_override(self, code: str, request_type: str | None, clock: str, days: int) -> (
        Jurisdictions
    ):
        """A copy with one configurable clock changed (an administrator's override)."""
        key = (code, request_type)
        level = self._levels.get(key)
        rule = level.clocks.get(clock) if level else None
        where = f"{code}{'/' + request_type if request_type else ''} {clock}"
        if level is None or not isinstance(rule, ClockRule):
            raise ConfigError(f"There is no clock {where} in the rules.")
        if not rule.configurable:
            raise ConfigError(f"The clock {where} is fixed by law ({rule.source}).")
        if not 0 < days <= 366:
            raise ConfigError("A clock must be between 1 and 366 days.")
        new_level = replace(level, clocks={**level.clocks, clock: replace(rule, days=days)})
        return replace(self, _levels={**self._levels, key: new_level})


@dataclass(frozen=True)
class ClockEntry:
    jurisdiction: str
    request_type: str | None
    clock: str
    rule: ClockRule


def _table(where: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: must be a table")
    return value


def _parse_clock(where: str, value: Any) -> ClockRule | Literal[False]:
    if value is False:
        if where.endswith(".respond"):
            raise ConfigError(f"{where}: every request needs a response clock; it cannot be "
                              "switched off")
        return False
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: must be a table {{ days, unit, source }} or false")
    unknown = set(value) - {"days", "unit", "source", "configurable"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    days = value.get("days")
    if not isinstance(days, int) or isinstance(days, bool) or days <= 0:
        raise ConfigError(f"{where}: 'days' must be a positive whole number")
    unit = value.get("unit")
    if unit not in UNITS:
        raise ConfigError(f"{where}: 'unit' must be one of {', '.join(UNITS)}")
    source = value.get("source")
    if not isinstance(source, str) or not source.strip():
        raise ConfigError(f"{where}: every clock needs its legal 'source'")
    configurable = value.get("configurable", False)
    if not isinstance(configurable, bool):
        raise ConfigError(f"{where}: 'configurable' must be true or false")
    return ClockRule(days=days, unit=unit, source=source, configurable=configurable)


def _parse_level(where: str, table: Mapping[str, Any]) -> _Level:
    clocks: dict[str, ClockRule | Literal[False]] = {}
    for key in CLOCK_KEYS:
        if key in table:
            clocks[key] = _parse_clock(f"{where}.{key}", table[key])
    flags: dict[str, bool | None] = {}
    for key in ("appeals_allowed", "hold_pauses_clock"):
        value = table.get(key)
        if value is not None and not isinstance(value, bool):
            raise ConfigError(f"{where}.{key}: must be true or false")
        flags[key] = value
    allowed = set(CLOCK_KEYS) | {
        "name",
        "request_types",
        "appeals_allowed",
        "appeals_allowed_source",
        "hold_pauses_clock",
        "hold_pauses_clock_source",
    }
    unknown = set(table) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    return _Level(
        clocks=clocks,
        appeals_allowed=flags["appeals_allowed"],
        hold_pauses_clock=flags["hold_pauses_clock"],
    )


def parse_jurisdictions(data: Mapping[str, Any], file: str = "jurisdictions.toml") -> (
    Jurisdictions
):
    if "default" not in data:
        raise ConfigError(f"{file}: a [default] table is required")
    tables: dict[str, Mapping[str, Any]] = {
        DEFAULT_CODE: _table(f"{file}: [default]", data["default"])
    }
    for code, table in _table(f"{file}: [jurisdictions]", data.get("jurisdictions", {})).items():
        if code.upper() != code or code == DEFAULT_CODE:
            raise ConfigError(f"{file}: [jurisdictions.{code}] must be an upper-case code")
        tables[code] = _table(f"{file}: [jurisdictions.{code}]", table)
    names: dict[str, str] = {}
    levels: dict[tuple[str, str | None], _Level] = {}
    for code, table in tables.items():
        where = f"{file}: [{'default' if code == DEFAULT_CODE else 'jurisdictions.' + code}]"
        name = table.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}: needs a 'name'")
        names[code] = name
        levels[(code, None)] = _parse_level(where, table)
        for request_type, sub in _table(f"{where}.request_types",
                                        table.get("request_types", {})).items():
            if request_type not in REQUEST_TYPES:
                raise ConfigError(f"{where}: unknown request type '{request_type}'")
            levels[(code, request_type)] = _parse_level(
                f"{where}.{request_type}", _table(f"{where}.{request_type}", sub)
            )
    if "respond" not in levels[(DEFAULT_CODE, None)].clocks:
        raise ConfigError(f"{file}: [default] needs a 'respond' clock")
    children = _table(f"{file}: [children]", data.get("children", {}))
    priority = children.get("priority", "urgent")
    if not isinstance(priority, str) or priority not in PRIORITIES:
        raise ConfigError(
            f"{file}: [children].priority: unknown priority {priority!r}; use one of "
            f"{', '.join(PRIORITIES)}"
        )
    return Jurisdictions(names=names, _levels=levels, child_priority=priority)


def load_jurisdictions(path: Path) -> Jurisdictions:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from exc
    return parse_jurisdictions(data, str(path))
