"""The case page's banner for other cases of the same person: shown for a new letter of
someone who wrote by email before; opens the other case; merges into it when confirmed."""

from __future__ import annotations

from datetime import date

from pytestqt.qtbot import QtBot

from caseapp.services.dto import NewCase, PartyData
from tests.ui.conftest import Ui
from tests.ui.helpers import click, open_case, status_text
from ui.dialogs.confirm import yes_button


def _two_requests(ui: Ui) -> tuple[str, str]:
    email = ui.desk.create_case(NewCase(
        channel="email", request_types=("delete",), received_on=date(2026, 2, 2),
        requester=PartyData(name="José Núñez", email="jose@example.com", state="CA",
                            postal_code="95814"))).case.ref
    letter = ui.desk.create_case(NewCase(
        channel="postal", request_types=("access",), received_on=date(2026, 2, 9),
        requester=PartyData(name="Jose Nunez", postal_address="12 Elm Street",
                            postal_code="95814", state="CA"))).case.ref
    return email, letter


def test_a_letter_from_someone_who_wrote_before_shows_the_email_case(
        qtbot: QtBot, ui: Ui) -> None:
    email, letter = _two_requests(ui)
    open_case(ui, letter)
    banner = ui.window.case_page.duplicates
    qtbot.waitUntil(banner.isVisible)
    assert "Likely the same person" in banner.title.text()
    assert [f.ref for f in banner.found] == [email]
    line = banner.rows.itemAtPosition(0, 0).widget().text()  # type: ignore[union-attr]
    assert email in line and "email, received 2026-02-02" in line
    assert "same name, same ZIP" in line
    # The link opens the other case, which shows this one in its banner.
    banner.open_requested.emit(email)
    ui.settle()
    qtbot.waitUntil(lambda: ui.window.case_page.detail is not None
                    and ui.window.case_page.detail.ref == email)
    qtbot.waitUntil(lambda: [f.ref for f in banner.found] == [letter])


def test_merge_into_the_earlier_case_after_confirming(qtbot: QtBot, ui: Ui) -> None:
    email, letter = _two_requests(ui)
    open_case(ui, letter)
    page = ui.window.case_page
    qtbot.waitUntil(lambda: email in page.duplicates.merge_buttons)
    click(qtbot, page.duplicates.merge_buttons[email])
    box = page.merge_box
    assert box is not None and f"duplicate of {email}" in box.text()
    box.reject()  # Cancel: nothing happens
    ui.settle()
    assert ui.desk.get_case(letter).status == "received"
    click(qtbot, page.duplicates.merge_buttons[email])
    assert page.merge_box is not None
    click(qtbot, yes_button(page.merge_box))
    ui.settle()
    qtbot.waitUntil(lambda: ui.desk.get_case(letter).status == "duplicate")
    merged = ui.desk.get_case(email)
    assert "access" in merged.request_types  # the letter's request joined the first case
    qtbot.waitUntil(lambda: not page.duplicates.isVisible())  # a closed case: no banner
    assert "uplicate" in status_text(ui)


def test_no_banner_for_a_person_with_one_case(qtbot: QtBot, ui: Ui) -> None:
    email, _letter = _two_requests(ui)
    other = ui.desk.create_case(NewCase(
        channel="email", request_types=("delete",), received_on=date(2026, 2, 3),
        requester=PartyData(name="Ana Ruiz", email="ana@example.org", state="CA"))).case.ref
    open_case(ui, email)
    qtbot.waitUntil(ui.window.case_page.duplicates.isVisible)
    open_case(ui, other)
    ui.settle()
    qtbot.waitUntil(lambda: not ui.window.case_page.duplicates.isVisible())
    assert ui.window.case_page.duplicates.found == ()
