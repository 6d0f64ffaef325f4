"""Letters as the requester reads them: every kind's content checked through the text
extracted from its PDF (pypdf), in English and Spanish; nothing a requester wrote can
change a letter; a letter with a required field empty or a broken template is refused;
issued letters are stored, audited and their post recorded."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader
from sqlalchemy import select

from caseapp.cli import main
from caseapp.db.models import AuditEvent
from caseapp.demo import open_planted_cases
from caseapp.errors import InvalidInput, PermissionDenied, TransitionRefused
from caseapp.letters.blocks import Paragraph, plain_text, read_blocks
from caseapp.letters.kinds import LETTER_KINDS
from caseapp.letters.sample import sample_context
from caseapp.letters.templates import (
    TemplateProblem,
    check_template,
    load_template,
    parse_template,
    plain,
    render,
)
from caseapp.resources import resources_dir
from caseapp.services import Desk
from caseapp.services.dto import NewCase, PartyData, StepRequest
from caseapp.services.letters import LetterRequest
from tests.conftest import Staff
from tests.keyring_fixtures import MemoryKeyring
from tests.letter_cases import LetterCase, prepare_letter_cases
from tests.records_fixtures import DemoCopy
from tests.test_records_case_actions import use_demo


def pdf_text(pdf: bytes) -> str:
    """The letter's words in reading order, white space folded (lines wrap anywhere)."""
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def audit_details(desk: Desk, ref: str | None, action: str) -> list[dict[str, Any]]:
    with desk.db.session() as session:
        rows = session.scalars(select(AuditEvent.detail).where(
            AuditEvent.case_ref.is_(None) if ref is None else AuditEvent.case_ref == ref,
            AuditEvent.action == action).order_by(AuditEvent.seq))
        return [json.loads(row) for row in rows]


def pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def new_case(desk: Desk, name: str = "Zoë Ågren", *, address: str = "88 Valencia Street\n"
             "San Francisco, CA 94103", email: str = "zoe@example.com",
             types: tuple[str, ...] = ("access",), summary: str = "Please.") -> str:
    requester = PartyData(name=name, email=email, postal_address=address,
                          postal_code="94103" if address else "", state="CA")
    return desk.create_case(NewCase(channel="email", request_types=types,
                                    requester=requester, summary=summary)).case.ref


# What each kind must say (English), beyond what every letter says.
MUST_SAY = {
    "acknowledgement": ["We received your privacy request", "April 18, 2026"],
    "verification_request": ["a copy of a recent bill showing your name and address"],
    "information_request": ["the VIN of the vehicle you asked about"],
    "access_report": ["The personal information we hold", "Customer profile",
                      "Customer database"],
    "correction_confirmation": ["robert.new@example.com"],
    "opt_out_confirmation": ["Marketing"],
    "extension_notice": ["Your request concerns records in several systems and dealers.",
                         "June 2, 2026"],
    "denial": ["We keep the warranty records of your vehicle under federal law.",
               "How to appeal", "Virginia Attorney General"],
    "deletion_confirmation": ["Confirmation of your deletion request", "in part",
                              "your email address matched our records", "What we deleted",
                              "Saved vehicle configurations", "What we kept, and why",
                              "Warranty and recall records", "49 CFR", "backups",
                              "Marketing email service provider", "dissolved in 2025",
                              "24 months", "suppression entry", "privacy@askminiusa.com",
                              "March 4, 2026"],
    "parent_response": ["Tyler"],
    "appeal_decision": ["The records are kept for the recall period, which has not ended.",
                        "Virginia Attorney General"],
    "downstream_notice": ["José Núñez"],
}


@pytest.fixture
def letter_cases(staff: Staff, demo: DemoCopy, memory_keyring: MemoryKeyring
                 ) -> dict[str, LetterCase]:
    use_demo(staff, demo)
    return prepare_letter_cases(staff.alice, staff.bob)


def test_every_kind_says_what_it_must_in_english_and_spanish(
        staff: Staff, letter_cases: dict[str, LetterCase]) -> None:
    alice = staff.bob  # the responses are issued by whoever approves them
    assert set(letter_cases) == set(LETTER_KINDS)
    serials = set()
    for kind, case in letter_cases.items():
        detail = alice.get_case(case.ref)
        english = alice.issue_letter(case.ref, case.request)
        text = pdf_text(english.pdf)
        total = pages(english.pdf)
        for expected in [case.ref, english.serial, f"Page 1 of {total}",
                         f"Page {total} of {total}", english.fingerprint,
                         "Customer Relations and Services", "PO Box 1227", *MUST_SAY[kind]]:
            assert expected in text, f"{kind}: {expected!r} missing"
        if LETTER_KINDS[kind].to == "requester":
            assert detail.requester.name in text, kind  # accents and all, as written
        assert "{{" not in text and "{%" not in text and "**" not in text, kind
        spanish = alice.issue_letter(case.ref, dataclasses.replace(case.request,
                                                                   language="es"))
        texto = pdf_text(spanish.pdf)
        assert spanish.language == "es" and "Página 1 de" in texto, kind
        assert "de marzo de 2026" in texto and case.ref in texto, kind
        assert english.title not in texto, f"{kind}: the Spanish letter has the English title"
        serials |= {english.serial, spanish.serial}
    assert len(serials) == 2 * len(LETTER_KINDS)  # every letter its own serial


def test_a_spanish_case_gets_spanish_letters_and_its_notices_go_out_in_english(
        staff: Staff, letter_cases: dict[str, LetterCase]) -> None:
    alice = staff.bob
    case = letter_cases["deletion_confirmation"]
    staff.alice.update_case(case.ref, language="es")
    carta = alice.issue_letter(case.ref, case.request)
    texto = pdf_text(carta.pdf)
    assert carta.language == "es" and "Solicitudes de privacidad" in texto
    assert "confirmado" in texto and "acknowledged" not in texto
    notice = letter_cases["downstream_notice"]
    assert alice.issue_letter(notice.ref, notice.request).language == "en"


def test_a_deletion_confirmation_holds_everything_the_regulations_list(
        staff: Staff, letter_cases: dict[str, LetterCase]) -> None:
    alice = staff.bob
    case = letter_cases["deletion_confirmation"]
    letter = alice.issue_letter(case.ref, case.request)
    text = pdf_text(letter.pdf)
    detail = alice.get_case(case.ref)
    audit_head = alice.verify_audit()
    assert audit_head.ok
    for expected in (case.ref, "March 1, 2026", "email", "deletion", detail.requester.name,
                     letter.serial, letter.fingerprint, "Customer profile", "de-identified",
                     "Independent dealers"):
        assert expected in text
    # The PDF's SHA-256 and the printed fingerprint are in the audit trail.
    issued = audit_details(alice, case.ref, "letter.issued")
    assert issued[-1]["sha256"] == letter.sha256
    assert issued[-1]["fingerprint"] == letter.fingerprint
    # The letter names the requester, and prints no identifier of what was deleted.
    assert detail.requester.email not in text and detail.requester.phone not in text


def test_a_deletion_confirmation_waits_for_everything_it_reports(
        staff: Staff, demo: DemoCopy, memory_keyring: MemoryKeyring) -> None:
    alice, bob = staff.alice, staff.bob
    use_demo(staff, demo)
    jose = open_planted_cases(alice)[0]
    request = LetterRequest("deletion_confirmation")
    alice.take_step(jose, StepRequest(step="start_verification"))
    alice.take_step(jose, StepRequest(step="verify", method="email_match"))
    hits = alice.lookup(jose).hits
    with pytest.raises(TransitionRefused, match="neither confirmed nor rejected"):
        alice.draft_letter(jose, request)  # never "we hold nothing" over undecided records
    for hit in hits:
        alice.decide_hit(jose, hit.id, hit.score >= 90)
    action = alice.propose_action(jose, "delete")
    with pytest.raises(TransitionRefused, match="awaiting"):
        alice.draft_letter(jose, request)
    bob.approve_action(jose, action.id)
    alice.execute_action(jose, action.id)
    with pytest.raises(TransitionRefused, match="not sent yet"):
        alice.draft_letter(jose, request)  # it says who was told: tell them first
    notices = alice.notices(jose)
    for notice in notices[:-1]:
        alice.mark_notice_sent(jose, notice.id, "email")
    alice.record_notice_answer(jose, notices[-1].id, acknowledged=False, note="Closed down")
    assert "in part" in pdf_text(alice.draft_letter(jose, request).pdf)  # warranty kept
    with pytest.raises(TransitionRefused, match="submit the case for review"):
        alice.issue_letter(jose, request)
    alice.take_step(jose, StepRequest(step="submit_for_review"))
    with pytest.raises(TransitionRefused, match="approved"):
        alice.issue_letter(jose, request)  # four eyes: not the one who submitted it
    letter = bob.issue_letter(jose, request)
    offer = bob.step_after_sending(jose, letter.kind)
    assert offer is not None and offer.name == "approve_and_send"


def test_nothing_a_requester_writes_changes_the_letter(staff: Staff) -> None:
    alice = staff.alice
    hostile = '<font size=40>BIG</font> **bold** | cell | # head {{ 7*7 }} <b>x</b> &amp;'
    ref = new_case(alice, name=hostile)
    letter = alice.issue_letter(ref, LetterRequest("acknowledgement", delivery="post"))
    text = pdf_text(letter.pdf)
    assert "<font size=40>BIG</font> **bold** | cell | # head {{ 7*7 }} <b>x</b> &amp;" in text
    # A right-to-left override in a name cannot turn a line of the letter around.
    reversed_ref = new_case(alice, name="Eve \u202eevilname\u202c Doe")
    flipped = alice.draft_letter(reversed_ref, LetterRequest("acknowledgement"))
    assert "\u202e" not in pdf_text(flipped.pdf) and "Eve evilname Doe" in flipped.text
    assert "49" not in text.split("Dear", 1)[1].split(",", 1)[0]  # not evaluated
    def fonts(pdf: bytes) -> set[str]:
        return {str(font.get_object()["/BaseFont"]).split("+")[-1]
                for page in PdfReader(io.BytesIO(pdf)).pages
                for font in page["/Resources"]["/Font"].values()}

    plain_letter = alice.draft_letter(new_case(alice, name="Ann Lee"),
                                      LetterRequest("acknowledgement"))
    assert fonts(letter.pdf) == fonts(plain_letter.pdf)  # "<font ...>" added no font
    # The longest name a case holds, in one word, and 10,000 characters of what the
    # requester must send: wrapped, never off the page, nothing lost.
    ref = new_case(alice, name="Ñ" * 300)
    needed = ("Ø" * 2_000 + " ") * 5
    letter = alice.issue_letter(ref, LetterRequest("information_request", delivery="post",
                                                   needed=needed))
    text = pdf_text(letter.pdf)
    assert "Ñ" * 300 in text.replace(" ", "")  # in the greeting, whole
    assert text.count("Ø") == 10_000 and pages(letter.pdf) >= 2


@given(st.text(max_size=200))
def test_a_value_is_one_plain_line_whatever_it_holds(value: str) -> None:
    blocks = read_blocks(f"Name: {plain(value)}\n")
    invisible = {*map(chr, range(0x20)), *map(chr, range(0x7F, 0xA0)),
                 *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))}
    folded = "".join(c for c in " ".join(value.split()) if c not in invisible)
    if not folded:
        return
    assert len(blocks) == 1 and isinstance(blocks[0], Paragraph)
    assert plain_text(blocks).strip() == f"Name: {folded}".strip()


def test_a_letter_missing_what_it_needs_is_refused_naming_it(staff: Staff) -> None:
    alice = staff.alice
    no_address = new_case(alice, address="")
    with pytest.raises(InvalidInput, match="no postal address"):
        alice.issue_letter(no_address, LetterRequest("acknowledgement", delivery="post"))
    no_email = new_case(alice, email="")
    with pytest.raises(InvalidInput, match="no email address"):
        alice.issue_letter(no_email, LetterRequest("acknowledgement", delivery="email"))
    with pytest.raises(InvalidInput, match="must send"):
        alice.issue_letter(no_email, LetterRequest("verification_request"))
    # Even a draft says what the case lacks for a letter.
    with pytest.raises(TransitionRefused, match="before the deletion ran"):
        alice.draft_letter(no_email, LetterRequest("deletion_confirmation"))
    with pytest.raises(TransitionRefused, match="identity is not verified"):
        alice.draft_letter(no_email, LetterRequest("access_report"))
    with pytest.raises(TransitionRefused, match="not extended"):
        alice.issue_letter(no_email, LetterRequest("extension_notice"))
    with pytest.raises(TransitionRefused, match="not denied"):
        alice.issue_letter(no_email, LetterRequest("denial"))
    with pytest.raises(TransitionRefused, match="is not an appeal"):
        alice.draft_letter(no_email, LetterRequest("appeal_decision"))
    with pytest.raises(InvalidInput, match="Unknown letter"):
        alice.issue_letter(no_email, LetterRequest("love_letter"))
    assert alice.list_letters(no_address) == [] and alice.list_letters(no_email) == []


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("kind", sorted(LETTER_KINDS))
def test_every_shipped_text_renders_with_every_placeholder(kind: str, language: str) -> None:
    template = load_template(resources_dir() / "letters", kind, language)
    rendered = check_template(template, sample_context(language))
    assert rendered.title and rendered.subject and "{{" not in rendered.body
    assert read_blocks(rendered.body)


def test_a_broken_template_never_produces_a_letter(staff: Staff) -> None:
    alice = staff.alice
    shipped = alice.shipped_letter_template("acknowledgement", "en")
    unknown = shipped.replace("{{ case.ref }}", "{{ case.reference }}", 1)
    with pytest.raises(TemplateProblem, match="unknown placeholder"):
        alice.preview_letter_template("acknowledgement", "en", unknown)
    broken = shipped.replace("{% if", "{% iff", 1) if "{% if" in shipped else \
        shipped.replace("{{ case.ref }}", "{{ case.ref }", 1)
    with pytest.raises(TemplateProblem) as problem:
        alice.save_letter_template("acknowledgement", "en", broken)
    assert problem.value.line is not None or "line" in str(problem.value)
    # An unknown placeholder in a branch the sample letter does not take is found too.
    hidden = shipped.replace("{{ case.ref }}", "{{ case.ref }}{% if deletion.decision == "
                             "'full' %}{{ deletion.typo }}{% endif %}", 1)
    with pytest.raises(TemplateProblem, match=r"deletion\.typo"):
        alice.save_letter_template("acknowledgement", "en", hidden)
    sandbox = shipped.replace("{{ case.ref }}", "{{ case.__class__.__mro__ }}", 1)
    with pytest.raises(TemplateProblem):
        alice.preview_letter_template("acknowledgement", "en", sandbox)
    assert alice.letter_template_text("acknowledgement", "en") == shipped
    assert not any(info.edited for info in alice.list_letter_templates())


def test_a_template_problem_names_its_line_in_the_file() -> None:
    text = ('title = "T"\nsubject = "S {{ case.nothing }}"\nbody = \'\'\'\n\nHello '
            '{{ requester.nam }}\n{% if case.is_child %}Child{% endif %}\n\'\'\'\n')

    def line_of(template_text: str) -> int | None:
        with pytest.raises(TemplateProblem) as problem:
            render(parse_template(template_text, "acknowledgement", "en", "edited"),
                   sample_context("en"))
        return problem.value.line

    assert line_of(text) == 2  # the subject's unknown placeholder
    text = text.replace(" {{ case.nothing }}", "")
    assert line_of(text) == 5  # the body's, after a blank line
    text = text.replace("requester.nam", "requester.name")
    assert line_of(text.replace("{% if", "{% iff")) == 6  # an unknown tag
    assert line_of(text.replace('subject = "S"', "subject = S")) == 2  # TOML


def test_an_edited_text_is_used_by_the_whole_desk_audited_and_can_be_reverted(
        staff: Staff) -> None:
    alice, carol = staff.alice, staff.carol  # carol: another workstation, an agent
    ref = new_case(alice)
    shipped = alice.shipped_letter_template("acknowledgement", "en")
    edited = shipped.replace("Thank you for contacting us.",
                             "Thank you for writing to our privacy desk.", 1)
    assert edited != shipped
    preview = alice.preview_letter_template("acknowledgement", "en", edited)
    assert "Thank you for writing to our privacy desk." in pdf_text(preview.pdf)
    with pytest.raises(PermissionDenied):
        carol.save_letter_template("acknowledgement", "en", edited)
    before = carol.issue_letter(ref, LetterRequest("acknowledgement"))
    info = alice.save_letter_template("acknowledgement", "en", edited)
    assert info.edited and info.saved_by == "alice"
    assert carol.letter_template_text("acknowledgement", "en") == edited
    after = carol.issue_letter(ref, LetterRequest("acknowledgement"))
    assert "Thank you for writing to our privacy desk." in after.text
    # Each letter records which texts it was made with.
    issued = audit_details(alice, ref, "letter.issued")
    assert [i["texts_sha256"] for i in issued] == [before.texts_sha256, after.texts_sha256]
    assert before.texts_sha256 != after.texts_sha256
    saved = audit_details(alice, None, "letter.template_saved")
    assert saved[-1]["sha256"] == hashlib.sha256(edited.encode()).hexdigest()
    alice.revert_letter_template("acknowledgement", "en")
    draft = carol.draft_letter(ref, LetterRequest("acknowledgement"))
    assert "Thank you for contacting us." in draft.text
    assert alice.verify_audit().ok


def test_the_letterhead_and_logo_are_the_desks(staff: Staff) -> None:
    from PIL import Image

    from caseapp.errors import ConfigError

    alice, carol = staff.alice, staff.carol
    ref = new_case(alice)
    with pytest.raises(ConfigError, match="cannot be used"):
        alice.set_letter_logo(b"not a picture")
    with pytest.raises(PermissionDenied):
        carol.set_letter_logo(None)
    picture = io.BytesIO()
    Image.new("RGB", (300, 100), (31, 58, 95)).save(picture, format="PNG")
    alice.set_letter_logo(picture.getvalue())
    profile = alice.letter_organization().replace(
        'department = "Privacy requests"', 'department = "Privacy Office"')
    with pytest.raises(ConfigError, match="organization profile"):
        alice.save_letter_organization("name = [")
    alice.save_letter_organization(profile)
    letter = carol.draft_letter(ref, LetterRequest("acknowledgement"))
    first = PdfReader(io.BytesIO(letter.pdf)).pages[0]
    assert len(first.images) == 1 and first.images[0].image is not None
    assert first.images[0].image.size == (300, 100)
    assert "Privacy Office" in pdf_text(letter.pdf)
    alice.set_letter_logo(None)
    alice.revert_letter_organization()
    plain_again = carol.draft_letter(ref, LetterRequest("acknowledgement"))
    assert not PdfReader(io.BytesIO(plain_again.pdf)).pages[0].images
    assert "Privacy requests" in pdf_text(plain_again.pdf)


def test_issued_letters_are_stored_audited_and_their_post_recorded(staff: Staff) -> None:
    alice = staff.alice
    ref = new_case(alice, name="José Núñez")
    draft = alice.draft_letter(ref, LetterRequest("acknowledgement"))
    assert draft.serial == "DRAFT" and alice.list_letters(ref) == []
    assert pdf_text(draft.pdf).count("DRAFT") >= 2  # the serial and the watermark
    first = alice.issue_letter(ref, LetterRequest("acknowledgement"))
    second = alice.issue_letter(ref, LetterRequest("acknowledgement", language="es"))
    assert "DRAFT" not in pdf_text(first.pdf) and "BORRADOR" not in pdf_text(second.pdf)
    assert (first.serial, second.serial) == ("L-2026-000001", "L-2026-000002")
    stored = alice.letter_pdf(ref, first.serial)
    assert stored == first.pdf and hashlib.sha256(stored).hexdigest() == first.sha256
    info = PdfReader(io.BytesIO(stored)).metadata
    assert info is not None and info.title == first.title
    assert info.author == "Customer Relations and Services" and ref in str(info.subject)
    audited = audit_details(alice, ref, "letter.issued")
    assert [a["serial"] for a in audited] == [first.serial, second.serial]
    assert audited[0]["sha256"] == first.sha256

    with pytest.raises(InvalidInput, match="tracking number"):
        alice.record_mailing(ref, first.serial, method="certified")
    with pytest.raises(TransitionRefused, match="not recorded as mailed"):
        alice.record_returned(ref, first.serial)
    mailed = alice.record_mailing(ref, first.serial, method="certified",
                                  tracking_number="9400 1000 0000 0000 0000 00")
    assert mailed.status == "mailed" and mailed.tracking_number.startswith("9400")
    open_tasks = [t.title for t in alice.get_case(ref).tasks if t.status == "open"]
    returned = alice.record_returned(ref, first.serial, note="Moved away")
    assert returned.status == "returned"
    now_open = [t.title for t in alice.get_case(ref).tasks if t.status == "open"]
    assert len(now_open) == len(open_tasks) + 1
    assert any(first.serial in title and "undeliverable" in title for title in now_open)
    assert [v.status for v in alice.list_letters(ref)] == ["returned", "issued"]
    # Sending the acknowledgement is offered as the Acknowledge step, never taken alone.
    offer = alice.step_after_sending(ref, "acknowledgement")
    assert offer is not None and offer.name == "acknowledge"
    assert alice.get_case(ref).status == "received"
    assert alice.step_after_sending(ref, "denial") is None
    actions = [h.action for h in alice.get_case(ref).history]
    assert "letter.mailed" in actions and "letter.returned" in actions
    assert alice.verify_audit().ok


def test_the_letter_command_issues_drafts_and_records_the_post(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CASEAPP_HOME", str(tmp_path / "home"))
    db = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    assert main(["--db", db, "--user", "alice", "init"]) == 0
    assert main(["--db", db, "--user", "alice", "cases", "new", "--channel", "postal",
                 "--type", "delete", "--name", "José Núñez", "--address",
                 "1420 Capitol Avenue\nSacramento, CA 95814", "--zip", "95814", "--state",
                 "CA", "--json"]) == 0
    ref = capsys.readouterr().out.split('"ref": "')[1].split('"')[0]
    out = tmp_path / "ack.pdf"
    assert main(["--db", db, "--user", "alice", "letter", ref, "acknowledgement", "-o",
                 str(out)]) == 0
    printed = capsys.readouterr().out
    assert "L-2026-000001" in printed and "SHA-256" in printed
    assert "José Núñez" in pdf_text(out.read_bytes())
    # An output that cannot be written is refused before a serial is used.
    assert main(["--db", db, "--user", "alice", "letter", ref, "acknowledgement", "-o",
                 str(out)]) == 2
    assert "exists already" in capsys.readouterr().err
    assert [v.serial for v in Desk(db, "alice").list_letters(ref)] == ["L-2026-000001"]
    assert main(["--db", db, "--user", "alice", "letter", ref, "denial", "--draft"]) != 0
    assert "not denied" in capsys.readouterr().err
    assert main(["--db", db, "--user", "alice", "letters", "mailed", ref, "L-2026-000001",
                 "--method", "first_class"]) == 0
    assert f"Next: caseapp cases step {ref} acknowledge" in capsys.readouterr().out
    assert main(["--db", db, "--user", "alice", "letters", "list", ref]) == 0
    assert "mailed" in capsys.readouterr().out
    # Mailed (again, the same day) and the case acknowledged with it, as asked.
    assert main(["--db", db, "--user", "alice", "letters", "mailed", ref, "L-2026-000001",
                 "--advance"]) == 0
    assert "Acknowledge → Acknowledged" in capsys.readouterr().out
    assert main(["--db", db, "--user", "alice", "cases", "show", ref, "--json"]) == 0
    assert '"status": "acknowledged"' in capsys.readouterr().out
