"""The sample mailbox a new user tries intake with."""

from __future__ import annotations

from caseapp.demo_mailbox import mbox_bytes, sample_mailbox
from caseapp.intake import MailParser
from caseapp.services import Desk


def test_the_shipped_sample_mailbox_is_the_generated_one() -> None:
    assert sample_mailbox().read_bytes() == mbox_bytes(), (
        "resources/demo/sample-mailbox.mbox is stale: run python -m caseapp.demo_mailbox")


def test_the_sample_mailbox_shows_every_intake_outcome(sqlite_desk: Desk) -> None:
    with MailParser() as parser:
        sqlite_desk.share_mail_parser(parser)
        results = list(sqlite_desk.import_files([sample_mailbox()]))
    assert [r.outcome for r in results] == [
        "created", "created", "created", "created", "created", "threaded", "not_request",
        "created", "not_request", "quarantined"]
    cases = {r.case_ref: sqlite_desk.get_case(r.case_ref)
             for r in results if r.outcome == "created"}
    by_type = {ref: (c.request_types, c.jurisdiction, c.is_child, c.via_agent,
                     c.is_privacy_request, c.language) for ref, c in cases.items()}
    assert list(by_type.values()) == [
        (("delete",), "CA", False, False, True, "en"),
        (("access",), "CA", False, False, True, "es"),
        (("delete",), "DEFAULT", True, False, True, "en"),
        (("opt_out_sale_share",), "CO", False, True, True, "en"),
        (("other",), "DEFAULT", False, False, False, "en"),
        (("opt_out_sale_share",), "TX", False, False, True, "en"),
    ]
    html_mail = sqlite_desk.get_message(cases[results[7].case_ref].messages[0].id)
    assert html_mail.blocked  # the tracking pixel and the remote logo
    assert "tracker.example.net" not in html_mail.html_sanitized
