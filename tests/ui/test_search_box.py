"""The search box (Ctrl+F / Ctrl+K): results as you type, in the background, newest
search wins, Enter opens, Esc clears, filters, saved searches in the navigation."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date, timedelta

import pytest
from PySide6.QtCore import QDate, QModelIndex, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QComboBox, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from caseapp.db.models import Case, DownstreamNotice
from caseapp.search.snippet import Snippet
from caseapp.services import Desk
from caseapp.services.dto import NewCase, PartyData, StepRequest
from caseapp.services.search import SavedSearchView, SearchQuery, SearchResults
from tests.ui.conftest import Ui, new_case
from tests.ui.helpers import click
from ui.models.search_results import SnippetHtmlRole, snippet_html


def _case(desk: Desk, name: str, email: str, *, child: bool = False) -> str:
    subject = PartyData(name=f"{name} Jr", age=9, is_child=True, state="CA") if child else None
    requester = PartyData(name=name, email=email, state="CA",
                          relationship="parent" if child else "self")
    return desk.create_case(NewCase(channel="email", request_types=("delete",),
                                    requester=requester, subject=subject,
                                    summary=f"Request from {name}")).case.ref


def _fill(ui: Ui) -> dict[str, str]:
    refs = {
        "jose": _case(ui.desk, "José Núñez", "jose.nunez@example.com"),
        "obrien": _case(ui.desk, "Siobhán O'Brien", "siobhan@example.com", child=True),
        "dana": new_case(ui.desk, "Dana Whitfield").case.ref,
    }
    ui.window.refresh()
    ui.settle()
    return refs


def _found(ui: Ui) -> list[str]:
    return ui.window.search_page.model.refs()


def _search(qtbot: QtBot, ui: Ui, text: str) -> None:
    box = ui.window.search_box
    box.clear()
    if text.isascii():
        qtbot.keyClicks(box, text)
    else:  # QTest types ASCII keys only
        box.setText(text)
        box.search_now()
    qtbot.waitUntil(lambda: ui.window.search_page.results is not None
                    and ui.window.search_page.results.query.text == text.strip()
                    and not ui.window.search_page.busy(), timeout=10_000)


def test_ctrl_f_and_ctrl_k_focus_the_search_field(qtbot: QtBot, ui: Ui) -> None:
    window = ui.window
    assert window.find_action.shortcuts() == [QKeySequence("Ctrl+F"), QKeySequence("Ctrl+K")]
    window.activateWindow()
    window.case_list.table.setFocus()
    window.find_action.trigger()
    qtbot.waitUntil(window.search_box.hasFocus)
    # The list's own filter box is still there, on Ctrl+Shift+F.
    assert window.filter_action.shortcut() == QKeySequence("Ctrl+Shift+F")


def test_typing_nunez_finds_jose_in_the_background(qtbot: QtBot, ui: Ui) -> None:
    refs = _fill(ui)
    window = ui.window
    qtbot.keyClicks(window.search_box, "nunez")
    # Nothing yet: the search waits for typing to pause, then runs off the GUI thread.
    assert window.search_page.model.rowCount() == 0
    qtbot.waitUntil(lambda: _found(ui) == [refs["jose"]], timeout=10_000)
    assert window.middle.currentWidget() is window.search_page
    model = window.search_page.model
    assert model.data(model.index(0, model.COL_REQUESTER)) == "José Núñez"
    markup = model.data(model.index(0, model.COL_SNIPPET), SnippetHtmlRole)
    assert "<b>Núñez</b>" in markup
    assert "1 case found for “nunez”" in window.search_page.summary.text()
    assert not ui.reports


def test_a_misspelled_name_finds_the_case_and_the_page_says_which_names(
        qtbot: QtBot, ui: Ui) -> None:
    refs = _fill(ui)
    window = ui.window
    qtbot.keyClicks(window.search_box, "Nunes")
    qtbot.waitUntil(lambda: _found(ui) == [refs["jose"]], timeout=10_000)
    summary = window.search_page.summary.text()
    assert "1 case found for “Nunes”." in summary
    assert "Nothing matched “nunes” as typed: searched the names nunez instead." in summary
    model = window.search_page.model
    assert "<b>Núñez</b>" in model.data(model.index(0, model.COL_SNIPPET), SnippetHtmlRole)


def test_a_word_in_too_many_cases_says_more_and_shows_the_newest(
        qtbot: QtBot, ui: Ui, monkeypatch: pytest.MonkeyPatch) -> None:
    import caseapp.services.search as search_service

    refs = _fill(ui)
    monkeypatch.setattr(search_service, "COUNT_LIMIT", 1)
    _search(qtbot, ui, "example")
    assert _found(ui) == [refs["dana"], refs["obrien"], refs["jose"]]  # newest first
    assert ui.window.search_page.summary.text().startswith(
        "More than 1 cases found for “example” — showing the newest 3; add a word or a "
        "filter to narrow the search.")
    assert ui.window.count_label.text() == "1+ found"


def test_enter_opens_the_case_and_esc_clears(qtbot: QtBot, ui: Ui) -> None:
    refs = _fill(ui)
    window = ui.window
    qtbot.keyClicks(window.search_box, "obrien")
    qtbot.keyClick(window.search_box, Qt.Key.Key_Return)  # before the results: opened then
    qtbot.waitUntil(lambda: window.case_page.header.ref.text() == refs["obrien"],
                    timeout=10_000)
    qtbot.keyClick(window.search_box, Qt.Key.Key_Escape)
    assert window.search_box.text() == ""
    assert window.middle.currentWidget() is window.case_list
    assert window.search_page.model.rowCount() == 0


def test_double_click_opens_the_case(qtbot: QtBot, ui: Ui) -> None:
    refs = _fill(ui)
    _search(qtbot, ui, "dana")
    table = ui.window.search_page.table
    rect = table.visualRect(table.model().index(0, 0))
    # A real double-click: a press, then the double-click (the view needs both).
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    ui.settle()
    assert ui.window.case_page.header.ref.text() == refs["dana"]


def test_a_stale_result_is_dropped(qtbot: QtBot, ui: Ui,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    refs = _fill(ui)
    gate = threading.Event()
    search = ui.desk.search

    def slow_for_dana(query: SearchQuery) -> SearchResults:
        if query.text == "dana":
            gate.wait(10)
        return search(query)

    monkeypatch.setattr(ui.desk, "search", slow_for_dana)
    page = ui.window.search_page
    ui.window.search_box.setText("dana")
    ui.window.search_box.search_now()  # slow: still running when the next one is done
    ui.window.search_box.setText("nunez")
    ui.window.search_box.search_now()
    qtbot.waitUntil(lambda: _found(ui) == [refs["jose"]], timeout=10_000)
    gate.set()
    ui.settle()
    assert _found(ui) == [refs["jose"]]  # the older search's results were dropped
    assert page.dropped == 1
    assert "nunez" in page.summary.text()


def test_filters_narrow_the_results(qtbot: QtBot, ui: Ui) -> None:
    refs = _fill(ui)
    page = ui.window.search_page
    _search(qtbot, ui, "request")
    assert sorted(_found(ui)) == sorted(refs.values())
    page.filters.child_check.setChecked(True)
    qtbot.waitUntil(lambda: _found(ui) == [refs["obrien"]], timeout=10_000)
    page.filters.child_check.setChecked(False)
    qtbot.waitUntil(lambda: sorted(_found(ui)) == sorted(refs.values()), timeout=10_000)
    # Dana withdraws: the status filter keeps her case only, then none once it is "closed".
    ui.desk.take_step(refs["dana"], StepRequest(step="withdraw", reason="Changed her mind"))
    withdrawn = page.filters.status_combo.findData("withdrawn")
    assert withdrawn >= 0
    page.filters.status_combo.setCurrentIndex(withdrawn)
    qtbot.waitUntil(lambda: _found(ui) == [refs["dana"]], timeout=10_000)
    page.filters.status_combo.setCurrentIndex(page.filters.status_combo.findData("closed"))
    qtbot.waitUntil(lambda: not page.busy(), timeout=10_000)
    ui.settle()
    assert _found(ui) == []
    assert not ui.reports


def test_a_saved_search_appears_in_the_navigation_and_runs(qtbot: QtBot, ui: Ui) -> None:
    refs = _fill(ui)
    window = ui.window
    saved = window.saved_searches
    assert saved.names() == [] and saved.empty.isVisible()
    _search(qtbot, ui, "nunez")
    dialog = window.search_page.ask_name()
    dialog.setTextValue("Núñez file")
    dialog.accept()
    ui.settle()
    assert saved.names() == ["Núñez file"]
    assert saved.list.isVisible() and not saved.empty.isVisible()
    assert [s.name for s in ui.desk.list_saved_searches()] == ["Núñez file"]

    qtbot.keyClick(window.search_box, Qt.Key.Key_Escape)
    assert window.middle.currentWidget() is window.case_list
    item = saved.list.item(0)
    assert item is not None
    rect = saved.list.visualItemRect(item)
    qtbot.mouseClick(saved.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    ui.settle()
    assert window.middle.currentWidget() is window.search_page
    assert window.search_box.text() == "nunez"
    assert _found(ui) == [refs["jose"]]

    # Choosing a view goes back to the list.
    nav_item = window.nav.item(2)
    assert nav_item is not None
    nav_rect = window.nav.visualItemRect(nav_item)
    qtbot.mouseClick(window.nav.viewport(), Qt.MouseButton.LeftButton, pos=nav_rect.center())
    ui.settle()
    assert window.middle.currentWidget() is window.case_list

    # Deleted from its context menu.
    menu = saved.menu_at(rect.center())
    assert menu is not None and menu.actions()[0].text() == "Delete “Núñez file”"
    menu.actions()[0].trigger()
    ui.settle()
    assert saved.names() == []
    assert ui.desk.list_saved_searches() == ()


def test_results_model_passes_the_model_tester(qtbot: QtBot, ui: Ui,
                                               qtmodeltester: object) -> None:
    _fill(ui)
    _search(qtbot, ui, "request")
    model = ui.window.search_page.model
    assert model.rowCount() == 3
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    assert model.rowCount(model.index(0, 0)) == 0
    assert model.data(QModelIndex()) is None


def test_hostile_input_shows_no_error(qtbot: QtBot, ui: Ui) -> None:
    refs = _fill(ui)
    for text in ("O'Brien", "-", '"', '"unclosed', "*", "AND OR NOT", "(", "<b>", "%_",
                 "'; DROP TABLE cases; --", "ñ"):
        _search(qtbot, ui, text)
        assert not ui.reports, f"{text!r}: {ui.reports}"
        assert "#b3261e" not in ui.window.search_page.summary.styleSheet(), text
    _search(qtbot, ui, "O'Brien")
    assert _found(ui) == [refs["obrien"]]


def test_snippet_markup_escapes_the_text() -> None:
    snippet = Snippet("<i> & Evil </b>", ((6, 10),), "message")
    assert snippet_html(snippet) == "&lt;i&gt; &amp; <b>Evil</b> &lt;/b&gt;"
    # A match further in: the start is cut so a narrow column still shows it, escaped.
    later = Snippet("<img src=x> and then & Evil </b>", ((23, 27),), "message")
    html = snippet_html(later)
    assert html.startswith("…") and "<b>Evil</b> &lt;/b&gt;" in html and "<img" not in html




# --- the filters beside the text: jurisdiction, assignee, received, due, waiting, mine ---

def _known(ui: Ui) -> dict[str, str]:
    """Seven open cases, each the only one (or one of two) a filter keeps; today is
    2026-03-04. Every summary says "Request from …", so the text "request" finds all."""
    desk = ui.desk
    desk.add_user("bob", "supervisor", "Bob Supervisor")
    refs = {
        "ana": new_case(desk, "Ana Ruiz", days_ago=3).case.ref,  # 03-01, mine
        "bo": new_case(desk, "Bo Lind", state="VA", days_ago=20,  # 02-12, bob's
                       channel="postal").case.ref,
        "cy": new_case(desk, "Cy Moss", state="TX", days_ago=45).case.ref,  # due today
        "dee": new_case(desk, "Dee Park", days_ago=40).case.ref,  # due in 5 days
        "eva": new_case(desk, "Eva Cole", days_ago=10, child=True,  # 02-22, verifying
                        channel="phone").case.ref,
        "fin": new_case(desk, "Fin Shaw", days_ago=15).case.ref,  # 02-17, notice sent
        "gus": new_case(desk, "Gus Hall", days_ago=74).case.ref,  # 2025-12-20, overdue
    }
    desk.assign(refs["ana"], "alice")
    desk.assign(refs["eva"], "alice")
    desk.assign(refs["bo"], "bob")
    desk.take_step(refs["eva"], StepRequest("acknowledge"))
    desk.take_step(refs["eva"], StepRequest("start_verification"))
    with desk.db.session() as session:  # a notice to a dealer, sent, not answered yet
        case_id = session.scalar(select(Case.id).where(Case.ref == refs["fin"]))
        assert case_id is not None
        now = desk.clock.now()
        session.add(DownstreamNotice(
            case_id=case_id, recipient_key="dealer_42", recipient_name="Bay Motors",
            recipient_kind="dealer", subject="Deletion request", body="Please delete.",
            status="sent", due_on=desk.clock.today(), created_at=now, sent_at=now))
        session.commit()
    ui.window.refresh()
    ui.settle()
    return refs


def _showing(qtbot: QtBot, ui: Ui, refs: list[str]) -> None:
    page = ui.window.search_page
    qtbot.waitUntil(lambda: not page.busy() and sorted(_found(ui)) == sorted(refs),
                    timeout=10_000)


def _choose(combo: QComboBox, value: str) -> None:
    index = combo.findData(value)
    assert index >= 0, f"{value!r} is not offered"
    combo.setCurrentIndex(index)


def _shown(combo: QComboBox) -> str:
    return combo.currentText()


def test_each_new_filter_narrows_the_results(qtbot: QtBot, ui: Ui) -> None:
    refs = _known(ui)
    page = ui.window.search_page
    filters = page.filters
    _search(qtbot, ui, "request")
    everyone = list(refs.values())
    assert sorted(_found(ui)) == sorted(everyone)
    assert not filters.clear_button.isEnabled()  # nothing to clear yet

    one_at_a_time: list[tuple[QComboBox, str, list[str]]] = [
        (filters.jurisdiction_combo, "VA", ["bo"]),
        (filters.jurisdiction_combo, "TX", ["cy"]),
        (filters.assignee_combo, "bob", ["bo"]),
        (filters.received_combo, "7_days", ["ana"]),
        (filters.received_combo, "last_year", ["gus"]),
        (filters.due_combo, "today", ["cy"]),
        (filters.due_combo, "week", ["cy", "dee"]),
        (filters.waiting_combo, "verification", ["eva"]),
        (filters.waiting_combo, "downstream", ["fin"]),
    ]
    for combo, value, names in one_at_a_time:
        _choose(combo, value)
        _showing(qtbot, ui, [refs[name] for name in names])
        assert filters.clear_button.isEnabled()
        assert "with these filters" in page.summary.text()
        combo.setCurrentIndex(0)
        _showing(qtbot, ui, everyone)
    # The staff come from the desk: shown by name.
    assert _shown(filters.assignee_combo) == "Any assignee"
    assert filters.assignee_combo.itemText(filters.assignee_combo.findData("bob")) == (
        "Bob Supervisor")
    assert filters.jurisdiction_combo.itemText(
        filters.jurisdiction_combo.findData("CA")) == "CA — California"

    filters.mine_check.setChecked(True)
    _showing(qtbot, ui, [refs["ana"], refs["eva"]])
    filters.mine_check.setChecked(False)
    _showing(qtbot, ui, everyone)
    assert not ui.reports


def test_a_custom_received_period_with_an_open_end(qtbot: QtBot, ui: Ui) -> None:
    refs = _known(ui)
    filters = ui.window.search_page.filters
    _search(qtbot, ui, "request")
    assert not filters.dates_row.isVisible()
    _choose(filters.received_combo, "30_days")  # 02-03 to 03-04
    _showing(qtbot, ui, [refs[n] for n in ("ana", "bo", "eva", "fin")])
    _choose(filters.received_combo, "custom")
    # The custom period starts as the one shown before; the results stay.
    assert filters.dates_row.isVisible()
    assert (filters.received_from.text(), filters.received_to.text()) == (
        "2026-02-03", "2026-03-04")
    filters.received_from.setDate(QDate(2026, 2, 10))
    filters.received_to.setDate(QDate(2026, 2, 20))
    _showing(qtbot, ui, [refs["bo"], refs["fin"]])
    filters.received_from.setDate(QDate(2026, 2, 20))
    filters.received_to.setDate(filters.received_to.minimumDate())  # no end
    assert filters.received_to.text() == "any date"
    _showing(qtbot, ui, [refs["ana"], refs["eva"]])
    assert ui.window.search_page.query().received_to is None
    assert not ui.reports


def _every_filter() -> SearchQuery:
    return SearchQuery(
        text="request", status="verifying", request_type="delete", channel="phone",
        jurisdiction="CA", assignee="alice", child=True, overdue=True,
        received_from=date(2026, 2, 20), received_to=date(2026, 2, 25), due="week",
        waiting_on="verification", mine=True)


def _controls(ui: Ui) -> dict[str, object]:
    filters = ui.window.search_page.filters
    combos = {"status": filters.status_combo, "request": filters.type_combo,
              "channel": filters.channel_combo, "jurisdiction": filters.jurisdiction_combo,
              "received": filters.received_combo, "due": filters.due_combo,
              "waiting": filters.waiting_combo, "assignee": filters.assignee_combo}
    shown: dict[str, object] = {name: _shown(combo) for name, combo in combos.items()}
    shown.update(dates=(filters.received_from.text(), filters.received_to.text())
                 if filters.dates_row.isVisible() else None,
                 mine=filters.mine_check.isChecked(), child=filters.child_check.isChecked(),
                 overdue=filters.overdue_check.isChecked(),
                 text=ui.window.search_box.text())
    return shown


def test_a_saved_search_with_every_filter_comes_back_whole(qtbot: QtBot, ui: Ui) -> None:
    refs = _known(ui)
    window, page = ui.window, ui.window.search_page
    everything = _every_filter()
    # Saved (as the dashboard's tiles will be, or by someone else) and chosen.
    ui.desk.save_search("Everything", everything)
    window.load_saved_searches()
    ui.settle()
    window.run_saved_search(ui.desk.list_saved_searches()[0])
    ui.settle()
    assert _controls(ui) == {
        "status": "Identity verification", "request": "Delete", "channel": "Phone",
        "jurisdiction": "CA — California", "received": "Received between…",
        "due": "Due within 7 days", "waiting": "Waiting on verification",
        "assignee": "alice", "dates": ("2026-02-20", "2026-02-25"), "mine": True,
        "child": True, "overdue": True, "text": "request"}
    assert page.query() == replace(everything, limit=page.query().limit)
    # Overdue and due this week exclude each other: nothing, as the service says.
    assert page.results is not None and page.results.total == 0 == ui.desk.search(
        everything).total
    assert page.summary.text() == "No cases found for “request” with these filters."

    # Without the two that exclude each other: Eva's case, as the service finds it.
    page.filters.overdue_check.setChecked(False)
    page.filters.due_combo.setCurrentIndex(0)
    _showing(qtbot, ui, [refs["eva"]])
    found = ui.desk.search(replace(everything, overdue=False, due=""))
    assert [hit.ref for hit in found.hits] == [refs["eva"]]
    # Saved from the window: every filter is kept.
    dialog = page.ask_name()
    dialog.setTextValue("Eva's kind")
    dialog.accept()
    ui.settle()
    saved = {view.name: view.query for view in ui.desk.list_saved_searches()}
    assert saved["Eva's kind"] == replace(everything, overdue=False, due="")

    # Another search, then the saved one again: the same controls, the same results.
    qtbot.keyClick(window.search_box, Qt.Key.Key_Escape)
    assert _controls(ui)["jurisdiction"] == "Any jurisdiction"
    names = window.saved_searches.names()
    item = window.saved_searches.list.item(names.index("Eva's kind"))
    assert item is not None
    rect = window.saved_searches.list.visualItemRect(item)
    qtbot.mouseClick(window.saved_searches.list.viewport(), Qt.MouseButton.LeftButton,
                     pos=rect.center())
    ui.settle()
    assert _controls(ui) | {"due": "", "overdue": False} == {
        "status": "Identity verification", "request": "Delete", "channel": "Phone",
        "jurisdiction": "CA — California", "received": "Received between…",
        "due": "", "waiting": "Waiting on verification", "assignee": "alice",
        "dates": ("2026-02-20", "2026-02-25"), "mine": True, "child": True,
        "overdue": False, "text": "request"}
    assert _shown(page.filters.due_combo) == "Any due date"
    assert _found(ui) == [refs["eva"]]
    assert not ui.reports


def test_apply_keeps_a_preset_and_a_user_not_loaded_yet(qtbot: QtBot, ui: Ui) -> None:
    _known(ui)
    page = ui.window.search_page
    today = ui.desk.clock.today()
    ui.window.run_saved_search(SavedSearchView("Last week", SearchQuery(
        text="request", received_within="7_days", assignee="zoe")))
    ui.settle()
    # The last 7 days are shown as such, not as two dates, and saved as such: the search
    # run next month is of the 7 days before it.
    assert _shown(page.filters.received_combo) == "Received in the last 7 days"
    assert not page.filters.dates_row.isVisible()
    assert page.query().received_within == "7_days" and page.query().received_from is None
    # Two fixed dates stay two dates, even when they are this week's.
    ui.window.run_saved_search(SavedSearchView("Fixed", SearchQuery(
        text="request", received_from=today - timedelta(days=6), received_to=today)))
    ui.settle()
    assert _shown(page.filters.received_combo) == "Received between…"
    assert page.query().received_from == today - timedelta(days=6)
    ui.window.run_saved_search(SavedSearchView("Last week", SearchQuery(
        text="request", received_within="7_days", assignee="zoe")))
    ui.settle()
    # A user the window does not know (yet) is kept, not dropped to "any".
    assert _shown(page.filters.assignee_combo) == "zoe"
    assert page.query().assignee == "zoe"
    assert page.results is not None and page.results.total == 0


def test_clear_filters_keeps_the_text(qtbot: QtBot, ui: Ui) -> None:
    refs = _known(ui)
    page = ui.window.search_page
    ui.window.run_saved_search(SavedSearchView("Everything", _every_filter()))
    ui.settle()
    assert page.has_filters() and page.filters.clear_button.isEnabled()
    click(qtbot, page.filters.clear_button)
    _showing(qtbot, ui, list(refs.values()))
    assert _controls(ui) == {
        "status": "Any status", "request": "Any request", "channel": "Any channel",
        "jurisdiction": "Any jurisdiction", "received": "Received any time",
        "due": "Any due date", "waiting": "Waiting on: any", "assignee": "Any assignee",
        "dates": None, "mine": False, "child": False, "overdue": False, "text": "request"}
    assert not page.has_filters() and not page.filters.clear_button.isEnabled()
    assert page.summary.text().startswith("7 cases found for “request”.")


def test_tab_reaches_every_filter_in_reading_order(qtbot: QtBot, ui: Ui) -> None:
    _known(ui)
    window, page = ui.window, ui.window.search_page
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    window.run_saved_search(SavedSearchView("Eva", replace(_every_filter(), overdue=False,
                                                           due="")))
    ui.settle()
    filters = page.filters
    expected: list[QWidget] = [
        *filters.combos(), filters.received_from, filters.received_to, *filters.checks(),
        filters.clear_button, page.save_button, page.close_button, page.table]
    filters.status_combo.setFocus()
    reached: list[QWidget | None] = [filters.status_combo]
    for _ in range(40):
        widget = QApplication.focusWidget()
        assert widget is not None
        qtbot.keyClick(widget, Qt.Key.Key_Tab)
        owner = _owner(QApplication.focusWidget(), expected)
        if owner is not reached[-1]:  # Tab goes through a date's parts, then on
            reached.append(owner)
        if owner is page.table:
            break
    assert reached == expected


def _owner(widget: QWidget | None, candidates: list[QWidget]) -> QWidget | None:
    while widget is not None and widget not in candidates:
        widget = widget.parentWidget()
    return widget


def test_the_filters_keep_the_page_as_narrow_as_the_list(qtbot: QtBot, ui: Ui) -> None:
    refs = _known(ui)
    window = ui.window
    sizes = window.splitter.sizes()
    list_width = window.middle.width()
    _search(qtbot, ui, "request")
    _choose(window.search_page.filters.received_combo, "custom")  # the widest the row gets
    _showing(qtbot, ui, [refs[n] for n in ("ana", "bo", "eva", "fin")])
    assert window.search_page.minimumSizeHint().width() <= list_width
    assert window.splitter.sizes() == sizes  # the case page keeps its width
