"""Which workflow steps a case may take now, and why the others are refused.

Pure functions over plain facts, so the window, the command line and the property
tests all ask the same question and get the same answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from caseapp.errors import TransitionRefused
from caseapp.vocabulary import VERIFICATION_METHODS
from caseapp.workflow.rules import PREVIOUS, Transition, Workflow


@dataclass(frozen=True)
class CaseFacts:
    status: str
    previous_status: str | None
    request_types: tuple[str, ...]
    submitted_for_review_by: str | None
    open_notices: int
    is_child: bool = False
    via_agent: bool = False
    pending_actions: int = 0
    """Actions on the customer records proposed but not yet done and verified."""


@dataclass(frozen=True)
class Actor:
    username: str
    role: str


@dataclass(frozen=True)
class StepInput:
    reason: str = ""
    other_case: str = ""
    method: str = ""
    override: bool = False


@dataclass(frozen=True)
class StepOption:
    """One step as the case page shows it: enabled, or disabled with the reason why."""

    name: str
    label: str
    allowed: bool
    why_not: str
    help: str
    requires_reason: bool
    requires_case: bool
    requires_method: bool
    overridable: bool


def _applies(transition: Transition, facts: CaseFacts) -> bool:
    """False for steps that do not exist for this kind of case at all."""
    types = set(facts.request_types)
    if transition.request_types and not types & set(transition.request_types):
        return False
    return not (transition.all_request_types and not types <= set(
        transition.all_request_types))


def refusal(
    workflow: Workflow, transition: Transition, facts: CaseFacts, actor: Actor,
    *, override: bool = False,
) -> str:
    """Why the step cannot be taken now, or "" if it can (inputs aside)."""
    if not _applies(transition, facts):
        return "Does not apply to this case's request types."
    if facts.status not in transition.sources:
        sources = ", ".join(workflow.label(s) for s in transition.sources)
        return f"Only from: {sources} (the case is {workflow.label(facts.status)})."
    if transition.roles and actor.role not in transition.roles:
        return f"Needs the role {' or '.join(transition.roles)}."
    if (
        transition.four_eyes_types
        and set(facts.request_types) & set(transition.four_eyes_types)
        and facts.submitted_for_review_by == actor.username
    ):
        return (
            "Four-eyes rule: you submitted this case for review, "
            "so someone else must approve it."
        )
    if transition.blocks_on_open_notices and facts.open_notices > 0 and not (
        override and actor.role in ("supervisor", "admin")
    ):
        return (
            f"{facts.open_notices} downstream notice(s) still unanswered; "
            "a supervisor may override with a reason."
        )
    if transition.blocks_on_pending_actions and facts.pending_actions > 0 and not (
        override and actor.role in ("supervisor", "admin")
    ):
        return (
            f"{facts.pending_actions} action(s) on the customer records not done and "
            "verified; run or withdraw them (a supervisor may override with a reason)."
        )
    if transition.target == PREVIOUS and not facts.previous_status:
        return "There is no earlier state to go back to."
    return ""


def _overridable(transition: Transition, facts: CaseFacts) -> bool:
    """Refused only for unanswered notices or pending actions: a supervisor may go on."""
    return (transition.blocks_on_open_notices and facts.open_notices > 0) or (
        transition.blocks_on_pending_actions and facts.pending_actions > 0)


def options(workflow: Workflow, facts: CaseFacts, actor: Actor) -> list[StepOption]:
    """Every step that exists for this kind of case, each allowed or with its refusal."""
    result = []
    for transition in workflow.transitions.values():
        if not _applies(transition, facts):
            continue
        why = refusal(workflow, transition, facts, actor)
        result.append(
            StepOption(
                name=transition.name,
                label=transition.label,
                allowed=not why,
                why_not=why,
                help=transition.help,
                requires_reason=transition.requires_reason,
                requires_case=transition.requires_case,
                requires_method=transition.requires_method,
                overridable=_overridable(transition, facts),
            )
        )
    return result


def check(
    workflow: Workflow, name: str, facts: CaseFacts, actor: Actor, given: StepInput
) -> str:
    """Validate a step with its inputs; return the target state or raise TransitionRefused."""
    transition = workflow.transitions.get(name)
    if transition is None:
        known = ", ".join(workflow.transitions)
        raise TransitionRefused(f"Unknown step '{name}'. Known steps: {known}.")
    why = refusal(workflow, transition, facts, actor, override=given.override)
    if why:
        raise TransitionRefused(f"{transition.label}: {why}")
    needs_reason = transition.requires_reason or (
        given.override and _overridable(transition, facts)
    )
    if needs_reason and not given.reason.strip():
        raise TransitionRefused(f"{transition.label}: a reason is required.")
    if transition.requires_case and not given.other_case.strip():
        raise TransitionRefused(f"{transition.label}: name the case this one duplicates.")
    if transition.requires_method:
        if not given.method.strip():
            raise TransitionRefused(f"{transition.label}: say how identity was verified.")
        _check_method(workflow, transition, facts, given.method)
    if transition.target == PREVIOUS:
        assert facts.previous_status is not None  # refusal() checked it
        return facts.previous_status
    return transition.target


def _check_method(workflow: Workflow, transition: Transition, facts: CaseFacts,
                  method: str) -> None:
    rules = workflow.verification
    if facts.is_child and rules.child_methods and method not in rules.child_methods:
        raise TransitionRefused(
            f"{transition.label}: for a child's data the parent must be verified by one of: "
            f"{', '.join(rules.child_methods)} ({rules.child_source})."
        )
    if facts.via_agent and rules.agent_methods and method not in rules.agent_methods:
        raise TransitionRefused(
            f"{transition.label}: an authorized agent needs {', '.join(rules.agent_methods)} "
            f"({rules.agent_source})."
        )


def methods_for(workflow: Workflow, facts: CaseFacts) -> tuple[str, ...]:
    """The verification methods acceptable for this case (for the window's choice)."""
    rules = workflow.verification
    if facts.is_child and rules.child_methods:
        return rules.child_methods
    if facts.via_agent and rules.agent_methods:
        return rules.agent_methods
    return VERIFICATION_METHODS


def reachable_states(workflow: Workflow, request_types: Sequence[str]) -> set[str]:
    """States a case with these request types can reach (for tests and diagrams)."""
    seen = {workflow.initial}
    frontier = [workflow.initial]
    types = tuple(request_types)
    while frontier:
        current = frontier.pop()
        facts = CaseFacts(current, None, types, None, 0)
        for transition in workflow.transitions.values():
            if current in transition.sources and _applies(transition, facts):
                target = transition.target
                if target != PREVIOUS and target not in seen:
                    seen.add(target)
                    frontier.append(target)
    return seen
