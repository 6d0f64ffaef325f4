"""The search box (Ctrl+F / Ctrl+K): results as you type, in the background, newest
search wins, Enter opens, Esc clears, filters, saved searches in the navigation."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QKeySequence
from pytestqt.qtbot import QtBot

from caseapp.search.snippet import Snippet
from caseapp.services import Desk
from caseapp.services.dto import NewCase, PartyData, StepRequest
from caseapp.services.search import SearchQuery, SearchResults
from tests.ui.conftest import Ui, new_case
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
    page.child_check.setChecked(True)
    qtbot.waitUntil(lambda: _found(ui) == [refs["obrien"]], timeout=10_000)
    page.child_check.setChecked(False)
    qtbot.waitUntil(lambda: sorted(_found(ui)) == sorted(refs.values()), timeout=10_000)
    # Dana withdraws: the status filter keeps her case only, then none once it is "closed".
    ui.desk.take_step(refs["dana"], StepRequest(step="withdraw", reason="Changed her mind"))
    withdrawn = page.status_combo.findData("withdrawn")
    assert withdrawn >= 0
    page.status_combo.setCurrentIndex(withdrawn)
    qtbot.waitUntil(lambda: _found(ui) == [refs["dana"]], timeout=10_000)
    page.status_combo.setCurrentIndex(page.status_combo.findData("closed"))
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


