"""Postal letters: a scan becomes a prefilled case, once, with its text kept."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

from caseapp.errors import InvalidInput
from caseapp.resources import resources_dir
from caseapp.services import Desk, ScannedLetter, proposal_for
from caseapp.services.dto import NewCase, PartyData

DEMO = resources_dir() / "demo"


def test_a_scanned_letter_opens_a_prefilled_postal_case_once(sqlite_desk: Desk) -> None:
    scan = DEMO / "scanned_letter.png"
    [result] = sqlite_desk.import_files([scan], scans_received_on=date(2026, 3, 3))
    assert result.outcome == "created", result
    case = sqlite_desk.get_case(result.case_ref)
    assert case.channel == "postal"
    assert case.intake_review
    assert case.deadlines.received_on == date(2026, 3, 3)  # the PO box day, not today
    assert case.requester.name == "Daniel R. Whitfield"
    assert case.requester.postal_code == "95822"
    assert case.requester.state == "CA"
    assert case.jurisdiction == "CA"
    assert "delete" in case.request_types
    assert case.summary == "Letter of March 3, 2026"
    [document] = case.documents
    assert (document.kind, document.filename, document.media_type) == (
        "scan", "scanned_letter.png", "image/png")
    message = sqlite_desk.get_message(case.messages[0].id)
    assert "Whitfield" in message.body_text  # the OCR text is stored (and searchable later)
    _name, _type, data = sqlite_desk.document_bytes(message.attachments[0].document_id)
    assert data == scan.read_bytes()
    again = list(sqlite_desk.import_files([scan]))
    assert [(r.outcome, r.case_ref) for r in again] == [("duplicate", case.ref)]
    assert sqlite_desk.verify_audit().ok


def test_a_parent_letter_in_spanish_about_a_child_is_a_child_case(sqlite_desk: Desk) -> None:
    [result] = sqlite_desk.import_files([DEMO / "carta_padre.tif"],
                                        scans_received_on=date(2026, 3, 2))
    case = sqlite_desk.get_case(result.case_ref)
    assert case.is_child and case.priority == "urgent"
    assert case.subject.age == 10
    assert case.requester.relationship == "parent"
    assert case.language == "es"
    assert len(sqlite_desk.get_message(case.messages[0].id).body_text.split("\f")) == 2


def test_an_unreadable_scan_goes_to_quarantine_with_the_reason(sqlite_desk: Desk,
                                                               tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    buffer = io.BytesIO()
    Image.new("L", (850, 1100), 255).save(buffer, "PNG", dpi=(100, 100))
    blank.write_bytes(buffer.getvalue())
    [result] = sqlite_desk.import_files([blank], scans_received_on=date(2026, 3, 2))
    assert result.outcome == "quarantined"
    assert "no readable text" in result.detail
    [listed] = sqlite_desk.intake_queue("quarantined")
    assert listed.source_label == str(blank)
    # Opened by hand later, the case still starts on the PO-box day.
    opened = sqlite_desk.open_case_from_message(listed.message_db_id, NewCase(
        channel="postal", request_types=("delete",), requester=PartyData(name="Ana Ruiz")))
    assert opened.case.deadlines.received_on == date(2026, 3, 2)
    assert [r.outcome for r in sqlite_desk.import_files([blank])] == ["duplicate"]


def _letter(data: bytes = b"%PDF-1.4 letter") -> ScannedLetter:
    return ScannedLetter(filename="letter.pdf", data=data, media_type="application/pdf",
                         text="Please delete my data.\nAna Ruiz", page_count=1)


def test_staff_confirm_the_case_and_the_received_day_before_it_is_created(
        sqlite_desk: Desk) -> None:
    new = proposal_for("Ana Ruiz\n12 Elm St\nFresno, CA 93701\n\nPlease delete my data.\n"
                       "Ana Ruiz", date(2026, 3, 2))
    assert new.channel == "postal"
    assert new.requester.postal_code == "93701"
    assert new.request_types == ("delete",)
    with pytest.raises(InvalidInput, match="PO box"):
        sqlite_desk.create_case_from_scan(
            NewCase(channel="postal", request_types=("delete",),
                    requester=PartyData(name="Ana Ruiz")), _letter())
    changed = sqlite_desk.create_case_from_scan(new, _letter())
    assert not changed.case.intake_review  # staff confirmed it in the form
    with pytest.raises(InvalidInput, match="already taken in"):
        sqlite_desk.create_case_from_scan(new, _letter())
    follow_up = sqlite_desk.attach_scan(changed.case.ref, _letter(b"%PDF-1.4 signed form"))
    assert [d.kind for d in follow_up.case.documents] == ["scan", "scan"]
    assert follow_up.case.history[-1].action == "message.threaded"
