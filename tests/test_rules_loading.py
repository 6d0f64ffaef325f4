"""The rule files lawyers and administrators edit: the shipped ones load, broken ones are
refused with a message that names the file and the table to fix (never a traceback)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from caseapp.errors import ConfigError
from caseapp.resources import resources_dir
from caseapp.services import Rules
from caseapp.vocabulary import REQUEST_TYPES
from caseapp.workflow.jurisdictions import CLOCK_KEYS, load_jurisdictions
from caseapp.workflow.machine import reachable_states
from caseapp.workflow.rules import PREVIOUS, load_workflow

SHIPPED = resources_dir()
WORKFLOWS = (SHIPPED / "workflows.toml").read_text(encoding="utf-8")
JURISDICTIONS = (SHIPPED / "jurisdictions.toml").read_text(encoding="utf-8")


# --- the shipped files ----------------------------------------------------------------

def test_the_shipped_rules_load() -> None:
    rules = Rules.load()
    assert rules.workflow.initial == "received"
    assert {"received", "closed", "denied", "on_hold", "duplicate"} <= set(rules.workflow.states)
    assert set(rules.jurisdictions.codes) >= {"CA", "VA", "CO", "CT", "UT", "TX", "OR", "EU"}


def test_every_shipped_clock_names_its_legal_source() -> None:
    jurisdictions = Rules.load().jurisdictions
    entries = jurisdictions.clock_entries()
    assert len(entries) >= 20
    for entry in entries:
        assert entry.rule.source.strip(), entry
        assert entry.rule.days > 0, entry
    # ... and so does every clock a case can end up with.
    for code in (*jurisdictions.codes, "DEFAULT"):
        for request_type in REQUEST_TYPES:
            policy = jurisdictions.policy(code, request_type)
            for key in CLOCK_KEYS:
                rule = getattr(policy, key)
                if rule is not None:
                    assert rule.source.strip(), (code, request_type, key)


def test_numbers_marked_confirm_in_the_regulations_are_configurable() -> None:
    jurisdictions = Rules.load().jurisdictions
    ca_opt_out = jurisdictions.policy("CA", "opt_out_sale_share").respond
    assert (ca_opt_out.days, ca_opt_out.unit) == (15, "business_days")
    assert ca_opt_out.configurable  # REGULATIONS.md: "15 business days (confirm)"
    ca_delete = jurisdictions.policy("CA", "delete").respond
    assert (ca_delete.days, ca_delete.unit, ca_delete.configurable) == (45, "calendar_days",
                                                                        False)


def test_utah_has_no_appeal_and_no_state_pauses_the_clock_on_hold() -> None:
    jurisdictions = Rules.load().jurisdictions
    assert not jurisdictions.policy("UT", "access").appeals_allowed
    assert jurisdictions.policy("VA", "access").appeals_allowed
    for code in jurisdictions.codes:
        assert not jurisdictions.policy(code, "delete").hold_pauses_clock


@pytest.mark.parametrize("request_type", REQUEST_TYPES)
def test_every_state_is_reachable_for_every_request_type(request_type: str) -> None:
    workflow = Rules.load().workflow
    assert reachable_states(workflow, (request_type,)) == set(workflow.states)


def test_every_transition_leads_somewhere_known() -> None:
    workflow = Rules.load().workflow
    for transition in workflow.transitions.values():
        assert transition.target == PREVIOUS or transition.target in workflow.states
        assert set(transition.sources) <= set(workflow.states)
    # Denials and the other dead ends a requester may contest always carry a reason.
    for name in ("deny", "withdraw", "close_unverified", "hold"):
        assert workflow.transitions[name].requires_reason, name


# --- broken files ---------------------------------------------------------------------

def _edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"fixture text not found once: {old!r}"
    return text.replace(old, new)


BROKEN_WORKFLOWS: dict[str, tuple[Callable[[str], str], tuple[str, ...]]] = {
    "not TOML": (lambda t: t + "\n[transitions.oops\n", ("line",)),
    "unknown from-state": (
        lambda t: _edit(t, 'from = ["received"]\nto = "acknowledged"',
                        'from = ["recieved"]\nto = "acknowledged"'),
        ("[transitions.acknowledge]", "recieved"),
    ),
    "unknown to-state": (
        lambda t: _edit(t, 'to = "acknowledged"', 'to = "acknowleged"'),
        ("[transitions.acknowledge]", "acknowleged"),
    ),
    "unreachable state": (
        lambda t: t + '\n[states.limbo]\nlabel = "Limbo"\nkind = "open"\n',
        ("[states.limbo]",),
    ),
    "state without kind": (
        lambda t: _edit(t, 'label = "Received"\nkind = "open"', 'label = "Received"'),
        ("[states.received]", "kind"),
    ),
    "unknown request type in a guard": (
        lambda t: _edit(t, 'all_request_types = ["opt_out_marketing"',
                        'all_request_types = ["opt_out_everything", "opt_out_marketing"'),
        ("[transitions.skip_verification]", "opt_out_everything"),
    ),
    "unknown role": (
        lambda t: _edit(t, 'four_eyes_types = ["delete"]',
                        'four_eyes_types = ["delete"]\nroles = ["boss"]'),
        ("[transitions.approve_and_send]", "boss"),
    ),
    "misspelt guard": (
        lambda t: _edit(t, "requires_reason = true\nhelp = \"A denial",
                        "require_reason = true\nhelp = \"A denial"),
        ("[transitions.deny]", "require_reason"),
    ),
    "guard not a boolean": (
        lambda t: _edit(t, 'to = "closed"\nblocks_on_open_notices = true',
                        'to = "closed"\nblocks_on_open_notices = "yes"'),
        ("[transitions.close]", "blocks_on_open_notices"),
    ),
    "a state that is not a table": (
        lambda t: _edit(t, '[states.received]\nlabel = "Received"\nkind = "open"',
                        '[states]\nreceived = "open"'),
        ("[states.received]",),
    ),
    "a transition that is not a table": (
        lambda t: t.replace("[transitions.resume]", "[transitions.resume_old]")
        + '\n[transitions]\nresume = "on_hold -> @previous"\n',
        ("[transitions.resume]",),
    ),
    "initial not a name": (
        lambda t: _edit(t, 'initial = "received"', 'initial = ["received"]'),
        ("initial",),
    ),
    "to not a name": (
        lambda t: _edit(t, 'to = "acknowledged"', 'to = ["acknowledged"]'),
        ("[transitions.acknowledge]",),
    ),
}


@pytest.mark.parametrize("case", BROKEN_WORKFLOWS, ids=list(BROKEN_WORKFLOWS))
def test_a_broken_workflow_file_is_refused_with_file_and_table(case: str,
                                                                tmp_path: Path) -> None:
    change, expected = BROKEN_WORKFLOWS[case]
    path = tmp_path / "workflows.toml"
    path.write_text(change(WORKFLOWS), encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_workflow(path)
    message = raised.value.message
    assert str(path) in message
    for part in expected:
        assert part in message, message
    assert "Traceback" not in message


def _ca_respond(new: str) -> Callable[[str], str]:
    old = 'respond = { days = 45, unit = "calendar_days", source = "11 CCR §7021(b)" }'
    return lambda t: _edit(t, old, new)


BROKEN_JURISDICTIONS: dict[str, tuple[Callable[[str], str], tuple[str, ...]]] = {
    "not TOML": (lambda t: t + "\n[jurisdictions.NV\n", ("line",)),
    "clock without source": (
        _ca_respond('respond = { days = 45, unit = "calendar_days" }'),
        ("[jurisdictions.CA].respond", "source"),
    ),
    "clock with a blank source": (
        _ca_respond('respond = { days = 45, unit = "calendar_days", source = "  " }'),
        ("[jurisdictions.CA].respond", "source"),
    ),
    "negative days": (
        _ca_respond('respond = { days = -45, unit = "calendar_days", source = "x" }'),
        ("[jurisdictions.CA].respond", "days"),
    ),
    "zero days": (
        _ca_respond('respond = { days = 0, unit = "calendar_days", source = "x" }'),
        ("[jurisdictions.CA].respond", "days"),
    ),
    "days as text": (
        _ca_respond('respond = { days = "45", unit = "calendar_days", source = "x" }'),
        ("[jurisdictions.CA].respond", "days"),
    ),
    "unknown unit": (
        _ca_respond('respond = { days = 45, unit = "weeks", source = "x" }'),
        ("[jurisdictions.CA].respond", "unit"),
    ),
    "unknown request type": (
        lambda t: t.replace("[jurisdictions.CA.request_types.limit_sensitive]",
                            "[jurisdictions.CA.request_types.limit_sensitve]"),
        ("[jurisdictions.CA]", "limit_sensitve"),
    ),
    "unknown key": (
        lambda t: _edit(t, 'name = "Virginia (VCDPA)"',
                        'name = "Virginia (VCDPA)"\nrespnd = 45'),
        ("[jurisdictions.VA]", "respnd"),
    ),
    "lower-case code": (
        lambda t: t.replace("[jurisdictions.VA]", "[jurisdictions.va]"),
        ("[jurisdictions.va]",),
    ),
    "no default table": (
        lambda t: t.replace("[default.", "[fallback.").replace("[default]", "[fallback]"),
        ("[default]",),
    ),
    "default without a response clock": (
        lambda t: _edit(t, 'respond = { days = 45, unit = "calendar_days", source = "House '
                           'policy, modelled on 11 CCR §7021(b) and Va. Code §59.1-577(B)", '
                           'configurable = true }\n', ""),
        ("[default]", "respond"),
    ),
    "response clock switched off": (
        _ca_respond("respond = false"),
        ("[jurisdictions.CA].respond",),
    ),
    "flag not a boolean": (
        lambda t: _edit(t, "appeals_allowed = false\n", 'appeals_allowed = "no"\n'),
        ("[jurisdictions.UT].appeals_allowed",),
    ),
    "a jurisdiction that is not a table": (
        lambda t: t + '\n[jurisdictions]\nNV = "Nevada, 45 days"\n',
        ("[jurisdictions.NV]",),
    ),
    "a clock that is not a table": (
        _ca_respond("respond = 45"),
        ("[jurisdictions.CA].respond",),
    ),
    "unknown child priority": (
        lambda t: _edit(t, 'priority = "urgent"', 'priority = "asap"'),
        ("[children]", "asap"),
    ),
}


@pytest.mark.parametrize("case", BROKEN_JURISDICTIONS, ids=list(BROKEN_JURISDICTIONS))
def test_a_broken_jurisdictions_file_is_refused_with_file_and_table(case: str,
                                                                     tmp_path: Path) -> None:
    change, expected = BROKEN_JURISDICTIONS[case]
    path = tmp_path / "jurisdictions.toml"
    path.write_text(change(JURISDICTIONS), encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_jurisdictions(path)
    message = raised.value.message
    assert str(path) in message
    for part in expected:
        assert part in message, message


def test_a_missing_rules_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "workflows.toml").write_text(WORKFLOWS, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        Rules.load(tmp_path)
    assert str(tmp_path / "jurisdictions.toml") in raised.value.message
    assert "cannot be read" in raised.value.message


def test_a_copy_of_the_shipped_files_loads_from_another_folder(tmp_path: Path) -> None:
    (tmp_path / "workflows.toml").write_text(WORKFLOWS, encoding="utf-8")
    (tmp_path / "jurisdictions.toml").write_text(
        _ca_respond('respond = { days = 40, unit = "calendar_days", source = "test" }')(
            JURISDICTIONS), encoding="utf-8")
    rules = Rules.load(tmp_path)
    assert rules.jurisdictions.policy("CA", "access").respond.days == 40
