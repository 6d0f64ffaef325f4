"""The workflow (states, steps, guards) loaded and checked from ``workflows.toml``."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from caseapp.errors import ConfigError
from caseapp.vocabulary import REQUEST_TYPES, ROLES, VERIFICATION_METHODS

PREVIOUS = "@previous"


@dataclass(frozen=True)
class State:
    name: str
    label: str
    is_open: bool
    decided: bool = False  # a decision went out: the requester may appeal it
    clock_stopped: bool = False  # the response went out: no countdown, never overdue
    acts_on_records: bool = False  # identity settled: records may be changed in this state


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: tuple[str, ...]
    target: str
    help: str = ""
    requires_reason: bool = False
    requires_case: bool = False
    requires_method: bool = False
    request_types: tuple[str, ...] = ()
    all_request_types: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    four_eyes_types: tuple[str, ...] = ()
    blocks_on_open_notices: bool = False
    blocks_on_pending_actions: bool = False
    effects: tuple[str, ...] = ()


# What a step records on the case besides its new state (named in workflows.toml, so a
# renamed step keeps its meaning and the four-eyes rule cannot be switched off by it).
EFFECTS = (
    "acknowledged",  # receipt confirmed: the acknowledgement clock is met
    "submitted_for_review",  # who submitted it: that person may not approve it
    "review_cleared",  # back to work: the next submission is a new one
    "responded",  # the response went out: the response clock is met
)


@dataclass(frozen=True)
class Verification:
    """Which ways of checking identity are acceptable for which kind of case."""

    child_methods: tuple[str, ...] = ()
    child_source: str = ""
    agent_methods: tuple[str, ...] = ()
    agent_source: str = ""


@dataclass(frozen=True)
class Workflow:
    initial: str
    states: Mapping[str, State]
    transitions: Mapping[str, Transition]
    verification: Verification = Verification()

    def state(self, name: str) -> State:
        return self.states[name]

    def label(self, state: str) -> str:
        found = self.states.get(state)
        return found.label if found else state

    @property
    def open_states(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.states.values() if s.is_open)

    @property
    def closed_states(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.states.values() if not s.is_open)

    @property
    def record_action_states(self) -> tuple[str, ...]:
        """States in which actions on customer records may be proposed and carried out."""
        return tuple(s.name for s in self.states.values() if s.acts_on_records)

    @property
    def awaiting_response_states(self) -> tuple[str, ...]:
        """Open states whose response clock still runs (overdue and due-soon lists)."""
        return tuple(s.name for s in self.states.values() if s.is_open and not s.clock_stopped)


_TRANSITION_KEYS = {
    "label", "from", "to", "help", "requires_reason", "requires_case", "requires_method",
    "request_types", "all_request_types", "roles", "four_eyes_types",
    "blocks_on_open_notices", "blocks_on_pending_actions", "effects",
}


def _strings(where: str, value: Any, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: must be a list of names")
    if allowed is not None:
        for item in value:
            if item not in allowed:
                raise ConfigError(f"{where}: unknown name '{item}'")
    return tuple(value)


def _table(where: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: must be a table")
    return value


def _bool(where: str, table: Mapping[str, Any], key: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}.{key}: must be true or false")
    return value


def parse_workflow(data: Mapping[str, Any], file: str = "workflows.toml") -> Workflow:
    states: dict[str, State] = {}
    for name, value in _table(f"{file}: [states]", data.get("states", {})).items():
        where = f"{file}: [states.{name}]"
        table = _table(where, value)
        kind = table.get("kind")
        if kind not in ("open", "closed"):
            raise ConfigError(f"{where}: 'kind' must be \"open\" or \"closed\"")
        states[name] = State(
            name=name,
            label=str(table.get("label", name)),
            is_open=kind == "open",
            decided=_bool(where, table, "decided"),
            clock_stopped=_bool(where, table, "clock_stopped"),
            acts_on_records=_bool(where, table, "acts_on_records"),
        )
        unknown_state_keys = set(table) - {"label", "kind", "decided", "clock_stopped",
                                           "acts_on_records"}
        if unknown_state_keys:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown_state_keys))}")
    if not states:
        raise ConfigError(f"{file}: no [states] defined")
    initial = data.get("initial")
    if not isinstance(initial, str) or initial not in states:
        raise ConfigError(f"{file}: 'initial' must name a state, got {initial!r}")
    transitions: dict[str, Transition] = {}
    for name, value in _table(f"{file}: [transitions]", data.get("transitions", {})).items():
        where = f"{file}: [transitions.{name}]"
        table = _table(where, value)
        unknown = set(table) - _TRANSITION_KEYS
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        sources = _strings(f"{where}.from", table.get("from"), tuple(states))
        target = table.get("to")
        if not isinstance(target, str) or (target != PREVIOUS and target not in states):
            raise ConfigError(f"{where}.to: unknown state {target!r}")
        transitions[name] = Transition(
            name=name,
            label=str(table.get("label", name)),
            sources=sources,
            target=str(target),
            help=str(table.get("help", "")),
            requires_reason=_bool(where, table, "requires_reason"),
            requires_case=_bool(where, table, "requires_case"),
            requires_method=_bool(where, table, "requires_method"),
            request_types=_strings(f"{where}.request_types", table.get("request_types", []),
                                   REQUEST_TYPES),
            all_request_types=_strings(f"{where}.all_request_types",
                                       table.get("all_request_types", []), REQUEST_TYPES),
            roles=_strings(f"{where}.roles", table.get("roles", []), ROLES),
            four_eyes_types=_strings(f"{where}.four_eyes_types",
                                     table.get("four_eyes_types", []), REQUEST_TYPES),
            blocks_on_open_notices=_bool(where, table, "blocks_on_open_notices"),
            blocks_on_pending_actions=_bool(where, table, "blocks_on_pending_actions"),
            effects=_strings(f"{where}.effects", table.get("effects", []), EFFECTS),
        )
    reachable = {initial}
    frontier = [initial]
    while frontier:
        current = frontier.pop()
        for transition in transitions.values():
            if (current in transition.sources and transition.target != PREVIOUS
                    and transition.target not in reachable):
                    reachable.add(transition.target)
                    frontier.append(transition.target)
    unreachable = sorted(set(states) - reachable)
    if unreachable:
        tables = ", ".join(f"[states.{name}]" for name in unreachable)
        raise ConfigError(f"{file}: state(s) no step leads to: {tables}")
    if any(t.four_eyes_types for t in transitions.values()) and not any(
            "submitted_for_review" in t.effects for t in transitions.values()):
        raise ConfigError(
            f"{file}: a step has four_eyes_types, but no step has the effect "
            "\"submitted_for_review\" that records who must not approve it"
        )
    return Workflow(initial=initial, states=states, transitions=transitions,
                    verification=_verification(file, data.get("verification", {})))


def _verification(file: str, value: Any) -> Verification:
    where = f"{file}: [verification]"
    table = _table(where, value)
    unknown = set(table) - {"child_methods", "child_source", "agent_methods", "agent_source"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    return Verification(
        child_methods=_strings(f"{where}.child_methods", table.get("child_methods", []),
                               VERIFICATION_METHODS),
        child_source=str(table.get("child_source", "")),
        agent_methods=_strings(f"{where}.agent_methods", table.get("agent_methods", []),
                               VERIFICATION_METHODS),
        agent_source=str(table.get("agent_source", "")),
    )


def load_workflow(path: Path) -> Workflow:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from exc
    return parse_workflow(data, str(path))
