"""The duplicate finder (issue 6): when a case arrives, the other cases of the same person
on any channel are shown, to merge it into the first one."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from caseapp.cli import main
from caseapp.services import Desk
from caseapp.services.dto import NewCase, PartyData, StepRequest


def new(desk: Desk, channel: str, requester: PartyData, received: date,
        subject: PartyData | None = None, types: tuple[str, ...] = ("delete",)) -> str:
    return desk.create_case(NewCase(channel=channel, request_types=types, requester=requester,
                                    subject=subject, received_on=received)).case.ref


def found(desk: Desk, ref: str) -> dict[str, tuple[str, ...]]:
    return {d.ref: d.reasons for d in desk.likely_duplicates(ref)}


@pytest.fixture
def jose(desk: Desk) -> dict[str, str]:
    """José Núñez writes by email, then mails a letter, then calls; Ana is someone else."""
    email = new(desk, "email", PartyData(
        name="José Núñez", email="jose.nunez+cars@example.com", state="CA"), date(2026, 2, 2))
    letter = new(desk, "postal", PartyData(
        name="Jose Nunez", postal_address="12 Elm Street\nSacramento, CA", postal_code="95814",
        state="CA"), date(2026, 2, 9))
    call = new(desk, "phone", PartyData(
        name="J. Nunez", phone="(916) 555-0143", state="CA"), date(2026, 2, 10))
    ana = new(desk, "email", PartyData(name="Ana Ruiz", email="ana@example.org", state="CA"),
              date(2026, 2, 3))
    return {"email": email, "letter": letter, "call": call, "ana": ana}


def test_the_same_person_writing_and_mailing_a_letter_is_found_on_either_case(
        desk: Desk, jose: dict[str, str]) -> None:
    on_letter = desk.likely_duplicates(jose["letter"])
    assert [d.ref for d in on_letter] == [jose["email"]]
    assert on_letter[0].reasons == ("same name",) and not on_letter[0].strong
    assert on_letter[0].can_merge and on_letter[0].channel == "email"
    # Her email case, seen from the email: the letter (name) is there too, Ana is not.
    assert jose["letter"] in found(desk, jose["email"])
    assert jose["ana"] not in found(desk, jose["email"])
    assert jose["email"] not in found(desk, jose["ana"])


def test_an_identifier_in_common_is_a_strong_match_and_comes_first(
        desk: Desk, jose: dict[str, str]) -> None:
    later = new(desk, "postal", PartyData(
        name="Jose Nunes", email="JOSE.NUNEZ@example.com", postal_address="12 Elm St.",
        postal_code="95814-2201", phone="916.555.0143", state="CA"), date(2026, 2, 20))
    result = desk.likely_duplicates(later)
    assert [d.ref for d in result[:3]] == [jose["call"], jose["letter"], jose["email"]]
    by_ref = {d.ref: d for d in result}
    assert by_ref[jose["email"]].reasons == ("same email", "similar name")
    assert by_ref[jose["call"]].reasons == ("same phone",)
    assert by_ref[jose["letter"]].reasons == ("similar name", "same ZIP",
                                              "same street address")
    assert all(d.strong for d in result)


def test_a_namesake_elsewhere_and_a_stranger_are_not_the_same_person(
        desk: Desk, jose: dict[str, str]) -> None:
    texas = new(desk, "email", PartyData(name="José Núñez", email="jnunez@example.net",
                                         state="TX"), date(2026, 2, 11))
    assert texas not in found(desk, jose["letter"])  # CA and TX: not the same person
    assert found(desk, texas) == {}
    stranger = new(desk, "email", PartyData(name="Nunez", email="n@example.org"),
                   date(2026, 2, 12))  # one word: too little to call it the same name
    assert found(desk, stranger) == {}


def test_a_parent_complaint_finds_the_earlier_case_about_the_same_child(desk: Desk) -> None:
    first = new(desk, "email", PartyData(name="Emily Carter", email="emily@example.net",
                                         postal_code="22201", state="VA"), date(2026, 1, 10),
                subject=PartyData(name="Tyler Carter", is_child=True, age=11, state="VA"))
    second = new(desk, "postal", PartyData(name="Mark Carter", postal_code="22201",
                                           state="VA"), date(2026, 2, 20),
                 subject=PartyData(name="Tyler Carter", is_child=True, age=11, state="VA"))
    result = desk.likely_duplicates(second)
    assert [d.ref for d in result] == [first]
    assert result[0].strong and result[0].reasons == ("same name", "same ZIP")


def test_merging_moves_the_case_and_only_open_cases_can_be_merged_into(
        desk: Desk, jose: dict[str, str]) -> None:
    desk.take_step(jose["email"], StepRequest("withdraw", reason="Asked to stop"))
    on_letter = {d.ref: d for d in desk.likely_duplicates(jose["letter"])}
    assert not on_letter[jose["email"]].can_merge  # decided: a new request, not a duplicate
    again = new(desk, "postal", PartyData(name="José Nuñez", postal_code="95814", state="CA"),
                date(2026, 2, 16))
    on_again = {d.ref: d for d in desk.likely_duplicates(again)}
    assert on_again[jose["letter"]].can_merge and on_again[jose["letter"]].strong
    desk.take_step(again, StepRequest("mark_duplicate", other_case=jose["letter"]))
    assert again not in found(desk, jose["letter"])  # merged: no longer offered
    after = desk.likely_duplicates(again)
    assert after and not any(d.can_merge for d in after)  # a duplicate merges no further


def test_the_cases_duplicates_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CASEAPP_HOME", str(tmp_path / "home"))
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    assert main(["--db", url, "init"]) == 0
    common = ["--db", url, "cases", "new", "--channel"]
    assert main([*common, "email", "--name", "Jose Nunez", "--email", "jn@example.com",
                 "--type", "delete", "--state", "CA"]) == 0
    assert main([*common, "phone", "--name", "José Núñez", "--email", "JN@example.com",
                 "--type", "delete", "--state", "CA"]) == 0
    capsys.readouterr()
    assert main(["--db", url, "cases", "duplicates", "PR-2026-00002", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(d["ref"], d["reasons"], d["strong"]) for d in listed] == [
        ("PR-2026-00001", ["same email", "same name"], True)]
    assert main(["--db", url, "cases", "duplicates", "PR-2026-00001"]) == 0
    out = capsys.readouterr().out
    assert "PR-2026-00002" in out and "same email" in out and "1 other case" in out
