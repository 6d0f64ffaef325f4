"""Cases on the demo customer systems taken to where each letter kind can be issued:
used by the letter tests and by the gallery script (tests/letters_gallery.py)."""

from __future__ import annotations

from dataclasses import dataclass

from caseapp.demo import open_planted_cases
from caseapp.services import Desk
from caseapp.services.dto import NewCase, PartyData, StepRequest
from caseapp.services.letters import LetterRequest


@dataclass(frozen=True)
class LetterCase:
    ref: str
    request: LetterRequest


def _verified_and_confirmed(desk: Desk, ref: str, minimum_score: float,
                            method: str = "email_match") -> None:
    if desk.get_case(ref).status == "received":
        desk.take_step(ref, StepRequest(step="acknowledge"))
    desk.take_step(ref, StepRequest(step="start_verification"))
    desk.take_step(ref, StepRequest(step="verify", method=method))
    for hit in desk.lookup(ref).hits:
        desk.decide_hit(ref, hit.id, hit.score >= minimum_score)


ADDRESSES = {"CA": ("88 Valencia Street, Apt 4\nSan Francisco, CA 94103", "94103"),
             "VA": ("2101 Monument Avenue\nRichmond, VA 23220", "23220")}


def _new_case(desk: Desk, types: tuple[str, ...], name: str = "Zoë Ågren",
              state: str = "CA") -> str:
    address, postal_code = ADDRESSES[state]
    requester = PartyData(name=name, email="zoe.agren@example.com", phone="(415) 555-0134",
                          postal_address=address, postal_code=postal_code, state=state)
    return desk.create_case(NewCase(channel="email", request_types=types,
                                    requester=requester, summary="Please help.")).case.ref


def prepare_letter_cases(alice: Desk, bob: Desk) -> dict[str, LetterCase]:
    """One case per letter kind (alice works them; the responses wait in review for bob,
    who approves and so issues them); alice and bob must use the demo customer
    systems."""
    jose, emily, robert = open_planted_cases(alice)
    cases: dict[str, LetterCase] = {}

    # José: deleted, verified, notices answered in every way.
    _verified_and_confirmed(alice, jose, 90)
    action = alice.propose_action(jose, "delete")
    bob.approve_action(jose, action.id)
    alice.execute_action(jose, action.id)
    notices = alice.notices(jose)
    for notice in notices[:-1]:
        alice.mark_notice_sent(jose, notice.id, "email")
    alice.record_notice_answer(jose, notices[0].id, acknowledged=True, note="Done, they say")
    alice.record_notice_answer(jose, notices[-1].id, acknowledged=False,
                               note="This affiliate was dissolved in 2025; no successor.")
    alice.take_step(jose, StepRequest(step="submit_for_review"))
    cases["deletion_confirmation"] = LetterCase(jose, LetterRequest("deletion_confirmation",
                                                                    delivery="post"))
    cases["downstream_notice"] = LetterCase(jose, LetterRequest(
        "downstream_notice", delivery="file", notice_id=notices[1].id))

    # Emily about her son Tyler (11): the parent's letter after the deletion.
    _verified_and_confirmed(alice, emily, 90, method="signed_form_post")
    action = alice.propose_action(emily, "delete")
    bob.approve_action(emily, action.id)
    alice.execute_action(emily, action.id)
    for notice in alice.notices(emily):
        alice.mark_notice_sent(emily, notice.id, "first-class mail")
    alice.take_step(emily, StepRequest(step="submit_for_review"))
    cases["parent_response"] = LetterCase(emily, LetterRequest("parent_response",
                                                               delivery="post"))

    # Robert: an access request by post; then a correction and an opt-out.
    _verified_and_confirmed(alice, robert, 100)
    alice.take_step(robert, StepRequest(step="submit_for_review"))
    cases["access_report"] = LetterCase(robert, LetterRequest("access_report",
                                                              delivery="post"))
    corrections = _new_robert_requests(alice, robert)
    cases["correction_confirmation"] = LetterCase(corrections, LetterRequest(
        "correction_confirmation", delivery="email"))
    cases["opt_out_confirmation"] = LetterCase(corrections, LetterRequest(
        "opt_out_confirmation", delivery="email"))

    fresh = _new_case(alice, ("access",))
    cases["acknowledgement"] = LetterCase(fresh, LetterRequest("acknowledgement",
                                                               delivery="post"))
    cases["verification_request"] = LetterCase(fresh, LetterRequest(
        "verification_request", delivery="post",
        needed="a copy of a recent bill showing your name and address"))
    cases["information_request"] = LetterCase(fresh, LetterRequest(
        "information_request", delivery="email",
        needed="the VIN of the vehicle you asked about"))

    extended = _new_case(alice, ("delete",), name="Ana María Peña")
    alice.extend(extended, "Your request concerns records in several systems and dealers.")
    cases["extension_notice"] = LetterCase(extended, LetterRequest("extension_notice",
                                                                   delivery="post"))

    denied = _new_case(alice, ("delete",), name="Sam O'Brien", state="VA")
    alice.take_step(denied, StepRequest(
        step="deny", reason="We keep the warranty records of your vehicle under federal law."))
    cases["denial"] = LetterCase(denied, LetterRequest("denial", delivery="post"))
    appeal = alice.open_appeal(denied, "The requester says the warranty has expired.").case.ref
    alice.take_step(appeal, StepRequest(
        step="deny", reason="The records are kept for the recall period, which has not ended."))
    cases["appeal_decision"] = LetterCase(appeal, LetterRequest("appeal_decision",
                                                                delivery="post"))
    return cases


def _new_robert_requests(alice: Desk, robert: str) -> str:
    """A second case of Robert's asking for a correction and a marketing opt-out, both
    carried out."""
    detail = alice.get_case(robert)
    requester = detail.requester
    ref = alice.create_case(NewCase(
        channel="email", request_types=("correct", "opt_out_marketing"),
        requester=PartyData(name=requester.name, email=requester.email,
                            phone=requester.phone, postal_address=requester.postal_address,
                            postal_code=requester.postal_code, state=requester.state),
        summary="My email changed; and no more marketing emails, please.")).case.ref
    _verified_and_confirmed(alice, ref, 100)
    correction = alice.propose_action(ref, "correct",
                                      corrections={"email": "robert.new@example.com"})
    alice.execute_action(ref, correction.id)
    opt_out = alice.propose_action(ref, "opt_out")
    alice.execute_action(ref, opt_out.id)
    for notice in alice.notices(ref):
        alice.mark_notice_sent(ref, notice.id, "email")
    alice.take_step(ref, StepRequest(step="submit_for_review"))
    return ref
