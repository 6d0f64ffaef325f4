"""The cases a list loaded earlier lacks: created after its audit mark, in its view and
its order (the window's "N new cases — Show"), on SQLite and on PostgreSQL."""

from __future__ import annotations

from caseapp.services import Desk
from caseapp.services.dto import CaseQuery, NewCase, PartyData, StepRequest


def _case(desk: Desk, name: str, types: tuple[str, ...] = ("access",)) -> str:
    requester = PartyData(name=name, email=f"{name.split()[0].lower()}@example.com",
                          state="CA")
    return desk.create_case(NewCase(channel="email", request_types=types,
                                    requester=requester)).case.ref


def test_only_cases_created_after_the_mark_in_the_view_count(desk: Desk) -> None:
    before = _case(desk, "Ann Before")
    mark = desk.audit_mark()
    open_view = CaseQuery(view="open")
    assert desk.cases_created_since(open_view, mark).total == 0
    desk.add_user("carol", "agent")
    carol = desk.as_user("carol")
    carol.assign(before, "carol")  # changed, not new
    first = _case(carol, "Ben First")
    child = carol.create_case(NewCase(
        channel="email", request_types=("delete",),
        requester=PartyData(name="Cora Parent", email="cora@example.com", state="CA",
                            relationship="parent"),
        subject=PartyData(name="Dan Child", age=9, is_child=True, state="CA"))).case.ref
    closed = _case(carol, "Eve Withdrawn")
    carol.take_step(closed, StepRequest("withdraw", reason="Called to withdraw."))

    found = desk.cases_created_since(open_view, mark)
    assert found.total == 2
    assert [row.ref for row in found.rows] == [child, first]  # desk order: child first
    assert {row.ref for row in desk.cases_created_since(CaseQuery(view="all"), mark).rows
            } == {first, child, closed}
    assert [row.ref for row in desk.cases_created_since(
        CaseQuery(view="open", text="Ben"), mark).rows] == [first]
    limited = desk.cases_created_since(open_view, mark, limit=1)
    assert (limited.total, len(limited.rows)) == (2, 1)
    assert desk.cases_created_since(open_view, desk.audit_mark()).total == 0
