"""What an action on the customer systems asks, plans, did and verified: plain values.

An :class:`ActionRequest` names confirmed records (:class:`Target`: source, table, key)
and what to do with them. ``preview`` answers with an :class:`ActionPlan`, ``execute``
with an :class:`ActionResult`, ``verify`` with a :class:`VerificationResult`. All are
frozen dataclasses that go to JSON and back (``to_json`` / ``from_json``), so the case
side can store them, show them for approval, and write the letters from them.

A result never holds what was deleted: a plan shows the values before and after, a
result only which rows changed, which columns were set to what, and a digest of the
columns it left alone (so verification can prove nothing else was touched).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from caseapp.records.sources import Recipient

Value = str | int | float | bool | None
ActionKind = Literal["delete", "correct", "opt_out", "stop_sharing"]
ACTION_KINDS: tuple[ActionKind, ...] = ("delete", "correct", "opt_out", "stop_sharing")
Operation = Literal["delete", "update", "none"]
SourceState = Literal["ready", "unreachable", "error"]
RunState = Literal["done", "already_done", "nothing_to_do", "failed", "unreachable",
                   "refused", "cancelled"]
CheckState = Literal["verified", "failed", "not_run", "unreachable"]

T = TypeVar("T")


class _Json:
    """``to_json`` / ``from_json`` for the frozen dataclasses below."""

    def to_dict(self) -> dict[str, Any]:
        return typing.cast(dict[str, Any], _encode(self))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls: type[T], text: str) -> T:
        return typing.cast(T, _decode(cls, json.loads(text)))


@dataclass(frozen=True)
class Target(_Json):
    """A confirmed record: the row of ``table`` (its name in the sources file) of
    ``source`` whose key column holds ``key``."""

    source: str
    table: str
    key: str


@dataclass(frozen=True, kw_only=True)
class ActionRequest(_Json):
    kind: ActionKind
    targets: tuple[Target, ...]
    corrections: Mapping[str, str] = field(default_factory=dict)
    """For ``correct``: identifier kind (``email``) or column (``contact_email``) → the
    new value (normalized where the column holds a kind with a canonical form)."""
    case_ref: str
    token: str
    """Idempotency token (e.g. the approved action's id): runs with it are one action."""


@dataclass(frozen=True)
class ColumnChange(_Json):
    column: str
    before: Value
    after: Value


@dataclass(frozen=True)
class RowChange(_Json):
    key: str
    operation: Literal["delete", "update"]
    columns: tuple[ColumnChange, ...] = ()
    """For an update: the columns whose value changes, before → after."""
    via: str = ""
    """"" for a target; else the parent row it follows, e.g. "customers 42"."""


@dataclass(frozen=True)
class KeptRow(_Json):
    """A row a retention exception keeps (listed in the deletion letter)."""

    key: str
    exception: str
    reason: str
    legal_basis: str
    via: str = ""


@dataclass(frozen=True)
class Notice(_Json):
    """Whom to tell about the rows of one table: the file's recipients for it, and the
    names its recipient column holds in the affected rows (e.g. the dealer)."""

    source: str
    table: str
    label: str
    category: str
    recipients: tuple[Recipient, ...]
    named: tuple[str, ...]
    rows: int


@dataclass(frozen=True)
class TablePlan(_Json):
    table: str
    label: str
    db_table: str
    category: str
    operation: Operation
    set_values: Mapping[str, Value]
    """For an update: column → the value every changed row gets."""
    changes: tuple[RowChange, ...] = ()
    kept: tuple[KeptRow, ...] = ()
    already_done: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    """Target keys not found (for a deletion: counted as done; the row is gone)."""
    unchanged: tuple[str, ...] = ()
    """Rows the action concerns but leaves as they are (shares without a flag: the
    recipients are told instead)."""
    note: str = ""
    depth: int = 0
    """How many parent links above this table (children are deleted first)."""
    digests: Mapping[str, str] = field(default_factory=dict)
    """Key → digest of the columns the action leaves alone (updated, already done and
    kept rows), for verification."""

    @property
    def changed_keys(self) -> tuple[str, ...]:
        return tuple(change.key for change in self.changes)


@dataclass(frozen=True)
class SourcePlan(_Json):
    source: str
    label: str
    state: SourceState
    problem: str = ""
    tables: tuple[TablePlan, ...] = ()
    notices: tuple[Notice, ...] = ()

    @property
    def rows_to_change(self) -> int:
        return sum(len(table.changes) for table in self.tables)


@dataclass(frozen=True)
class ActionPlan(_Json):
    request: ActionRequest
    sources: tuple[SourcePlan, ...]
    prepared_at: str

    def source(self, name: str) -> SourcePlan:
        for plan in self.sources:
            if plan.source == name:
                return plan
        raise KeyError(name)


@dataclass(frozen=True)
class TableOutcome(_Json):
    """What an action did to one table (no value from before the change)."""

    table: str
    label: str
    db_table: str
    category: str
    operation: Operation
    set_values: Mapping[str, Value]
    changed: tuple[str, ...]
    """Keys deleted or updated in this run."""
    followed: tuple[str, ...]
    """Those of ``changed`` that followed a parent row (not targets themselves)."""
    kept: tuple[KeptRow, ...]
    already_done: tuple[str, ...]
    missing: tuple[str, ...]
    unchanged: tuple[str, ...]
    note: str
    digests: Mapping[str, str]

    @classmethod
    def of(cls, plan: TablePlan) -> TableOutcome:
        return cls(table=plan.table, label=plan.label, db_table=plan.db_table,
                   category=plan.category, operation=plan.operation,
                   set_values=dict(plan.set_values), changed=plan.changed_keys,
                   followed=tuple(c.key for c in plan.changes if c.via),
                   kept=plan.kept, already_done=plan.already_done, missing=plan.missing,
                   unchanged=plan.unchanged, note=plan.note, digests=dict(plan.digests))


@dataclass(frozen=True)
class SourceResult(_Json):
    source: str
    label: str
    state: RunState
    problem: str = ""
    started_at: str = ""
    finished_at: str = ""
    tables: tuple[TableOutcome, ...] = ()
    notices: tuple[Notice, ...] = ()

    @property
    def rows_changed(self) -> int:
        return sum(len(table.changed) for table in self.tables)

    @property
    def succeeded(self) -> bool:
        return self.state in ("done", "already_done", "nothing_to_do")


@dataclass(frozen=True)
class ActionResult(_Json):
    request: ActionRequest
    sources: tuple[SourceResult, ...]
    started_at: str
    finished_at: str

    @property
    def complete(self) -> bool:
        """Every source ran (or had already run); none failed, was refused or cancelled."""
        return all(source.succeeded for source in self.sources)

    def source(self, name: str) -> SourceResult:
        for result in self.sources:
            if result.source == name:
                return result
        raise KeyError(name)


@dataclass(frozen=True)
class SourceVerification(_Json):
    source: str
    label: str
    state: CheckState
    problems: tuple[str, ...] = ()
    rows_checked: int = 0


@dataclass(frozen=True)
class VerificationResult(_Json):
    case_ref: str
    token: str
    verified_at: str
    sources: tuple[SourceVerification, ...]

    @property
    def ok(self) -> bool:
        return all(source.state == "verified" for source in self.sources)


@dataclass(frozen=True)
class ActionProgress:
    """Rows written so far in one source (for a progress bar)."""

    source: str
    table: str
    done: int
    total: int


# --- JSON -----------------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): _encode(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_encode(item) for item in value]
    return value


def _decode(kind: Any, value: Any) -> Any:
    origin = get_origin(kind)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        known = {f.name for f in dataclasses.fields(kind) if f.init}
        return kind(**{name: _decode(hints[name], item) for name, item in value.items()
                       if name in known})
    if origin is tuple:
        args = get_args(kind)
        return tuple(_decode(args[0], item) for item in value)
    if origin in (Mapping, dict) or kind is Mapping:
        args = get_args(kind)
        return {key: _decode(args[1], item) for key, item in value.items()}
    if origin in (Union, types.UnionType):
        for option in get_args(kind):
            if isinstance(option, type) and dataclasses.is_dataclass(option) \
                    and isinstance(value, dict):
                return _decode(option, value)
        return value
    return value
