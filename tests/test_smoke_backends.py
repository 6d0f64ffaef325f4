from caseapp.services import Desk
from caseapp.services.dto import NewCase, PartyData


def test_a_phone_case_gets_a_reference_and_a_california_deadline(desk: Desk) -> None:
    created = desk.create_case(
        NewCase(channel="phone", request_types=("delete",),
                requester=PartyData(name="Zoë Ågren", state="CA"))
    ).case
    assert created.ref == "PR-2026-00001"
    assert str(created.deadlines.respond_by) == "2026-04-18"  # 45 days after 2026-03-04
    assert desk.verify_audit().ok
