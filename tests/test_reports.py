"""CCPA §7102 metrics and the §7101 request log: exact figures on a known desk (both
backends), the demo desk checked against figures computed here from the raw rows and the
audit trail, and the CSV, PDF and command line."""

from __future__ import annotations

import csv
import io
import json
import re
import statistics
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from caseapp.cli import main
from caseapp.clock import Clock
from caseapp.db.models import AuditEvent, Case, RecordAction
from caseapp.errors import InvalidInput
from caseapp.reports.model import (
    DENIAL_REASONS,
    METRIC_TYPES,
    Entry,
    MetricsReport,
    MetricsRow,
    tally,
)
from caseapp.services import Desk
from caseapp.services.dto import NewCase, PartyData, StepRequest
from tests.conftest import FIXED_NOW, Staff, make_desk

DESK_TZ = ZoneInfo("America/New_York")


def _at(staff: Staff, moment: datetime) -> None:
    staff.set_clock(Clock(fixed=moment))


def _new(staff: Staff, types: tuple[str, ...], received: date, name: str,
         jurisdiction: str = "CA", channel: str = "email") -> str:
    _at(staff, datetime(received.year, received.month, received.day, 15))
    return staff.carol.create_case(NewCase(
        channel=channel, request_types=types, jurisdiction=jurisdiction, received_on=received,
        requester=PartyData(name=name, email=f"{name.split()[0].lower()}@example.com",
                            state=jurisdiction))).case.ref


def _step(staff: Staff, who: Desk, ref: str, step: str, moment: datetime, reason: str = "",
          method: str = "", other: str = "") -> None:
    _at(staff, moment)
    who.take_step(ref, StepRequest(step=step, reason=reason, method=method, other_case=other))


def _answer(staff: Staff, ref: str, sent: datetime, *, verify: bool = True) -> None:
    """Worked by carol, approved and sent by bob (a second person) at ``sent``."""
    _step(staff, staff.carol, ref, "acknowledge", sent.replace(hour=1))
    if verify:
        _step(staff, staff.carol, ref, "start_verification", sent.replace(hour=1, minute=5))
        _step(staff, staff.carol, ref, "verify", sent.replace(hour=1, minute=10),
              method="email_match")
    else:
        _step(staff, staff.carol, ref, "skip_verification", sent.replace(hour=1, minute=10))
    _step(staff, staff.carol, ref, "submit_for_review", sent.replace(hour=1, minute=20))
    _step(staff, staff.bob, ref, "approve_and_send", sent)


@dataclass(frozen=True)
class Known:
    refs: dict[str, str]


@pytest.fixture
def known(staff: Staff) -> Iterator[Known]:
    """A desk with one request of each kind of outcome (see the expected figures)."""
    refs: dict[str, str] = {}
    # A: deletion, answered on 2026-01-25 at 03:00 UTC, which is 2026-01-24 at the desk.
    refs["A"] = _new(staff, ("delete",), date(2026, 1, 5), "Ana Ruiz")
    _answer(staff, refs["A"], datetime(2026, 1, 25, 3, 0))
    _step(staff, staff.carol, refs["A"], "close", datetime(2026, 1, 28, 15))
    # B: access and deletion, answered after 30 days (stays "response sent").
    refs["B"] = _new(staff, ("access", "delete"), date(2026, 1, 10), "Bea Núñez",
                     channel="postal")
    _answer(staff, refs["B"], datetime(2026, 2, 9, 16))
    # C: a correction denied (not a consumer) after 8 days; appealed (Virginia).
    refs["C"] = _new(staff, ("correct",), date(2026, 1, 12), "Cal Brown", jurisdiction="VA")
    _step(staff, staff.carol, refs["C"], "deny", datetime(2026, 1, 20, 15),
          reason="Request not made by a consumer (business contact).")
    _at(staff, datetime(2026, 1, 25, 15))
    refs["appeal"] = staff.carol.open_appeal(refs["C"], "Disagrees",
                                            date(2026, 1, 25)).case.ref
    # D: access, closed unverified after 30 days.
    refs["D"] = _new(staff, ("access",), date(2026, 1, 15), "Dee Kim", channel="phone")
    _step(staff, staff.carol, refs["D"], "acknowledge", datetime(2026, 1, 16, 15))
    _step(staff, staff.carol, refs["D"], "start_verification", datetime(2026, 1, 16, 16))
    _step(staff, staff.carol, refs["D"], "close_unverified", datetime(2026, 2, 14, 15),
          reason="No reply to the verification request.")
    # E: opt out of sale/sharing, no verification, answered in 4 days.
    refs["E"] = _new(staff, ("opt_out_sale_share",), date(2026, 2, 1), "Eve Silva")
    _answer(staff, refs["E"], datetime(2026, 2, 5, 15), verify=False)
    # F: withdrawn; G: open; L: a duplicate of G.
    refs["F"] = _new(staff, ("delete",), date(2026, 2, 10), "Fay Chen")
    _step(staff, staff.carol, refs["F"], "withdraw", datetime(2026, 2, 12, 15),
          reason="Changed their mind.")
    refs["G"] = _new(staff, ("delete",), date(2026, 2, 20), "Gil Patel")
    _step(staff, staff.carol, refs["G"], "acknowledge", datetime(2026, 2, 21, 15))
    refs["L"] = _new(staff, ("delete",), date(2026, 2, 21), "Gil Patel")
    _step(staff, staff.carol, refs["L"], "mark_duplicate", datetime(2026, 2, 22, 15),
          other=refs["G"])
    # H: not a privacy request.
    refs["H"] = _new(staff, ("other",), date(2026, 1, 20), "Hal Smith")
    # I: received in 2025, denied as exempt.
    refs["I"] = _new(staff, ("correct",), date(2025, 12, 20), "Ivy Davis")
    _step(staff, staff.carol, refs["I"], "deny", datetime(2026, 1, 5, 15),
          reason="Exempt information: records kept under the warranty law.")
    # J: limit sensitive, denied as not verifiable by its reason; K: marketing, other.
    refs["J"] = _new(staff, ("limit_sensitive",), date(2026, 1, 8), "Jo Wilson")
    _step(staff, staff.carol, refs["J"], "deny", datetime(2026, 1, 9, 15),
          reason="The requester's identity could not be confirmed.")
    refs["K"] = _new(staff, ("opt_out_marketing",), date(2026, 2, 2), "Kai Taylor")
    _step(staff, staff.carol, refs["K"], "deny", datetime(2026, 2, 3, 15),
          reason="Sent from a list we do not accept.")
    # B's deletion kept records under an exception: complied with in part.
    with staff.alice.db.session() as session:
        case_id = session.scalar(select(Case.id).where(Case.ref == refs["B"]))
        assert case_id is not None
        kept = {"sources": [{"source": "crm", "tables": [
            {"table": "customers", "kept": []},
            {"table": "warranty", "kept": [{"key": "7", "exception": "warranty"}]}]}]}
        session.add(RecordAction(
            case_id=case_id, kind="delete", status="verified", token="t-b",
            needs_approval=True, requested_by="carol", requested_at=FIXED_NOW,
            approved_by="bob", request_json="{}", plan_json="{}",
            result_json=json.dumps(kept)))
        session.commit()
    _at(staff, FIXED_NOW)
    yield Known(refs)


def _figures(row: MetricsRow) -> tuple[object, ...]:
    return (row.received, row.complied_whole, row.complied_part, row.denied_not_verifiable,
            row.denied_not_by_consumer, row.denied_exempt, row.denied_other, row.withdrawn,
            row.open, row.duplicates, row.median_days, row.mean_days)


def test_metrics_on_a_known_desk(staff: Staff, known: Known) -> None:
    report = staff.alice.metrics_report(2026)
    assert [row.request_type for row in report.rows] == list(METRIC_TYPES)
    expected = {
        # received, whole, part, not verif., not consumer, exempt, other, withdrawn, open,
        # duplicates, median, mean
        "delete": (4, 1, 1, 0, 0, 0, 0, 1, 1, 1, 24.5, 24.5),
        "access": (2, 1, 0, 1, 0, 0, 0, 0, 0, 0, 30.0, 30.0),
        "correct": (1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 8.0, 8.0),
        "opt_out_sale_share": (1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 4.0, 4.0),
        "limit_sensitive": (1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1.0, 1.0),
        "opt_out_marketing": (1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1.0, 1.0),
        "appeal": (1, 0, 0, 0, 0, 0, 0, 0, 1, 0, None, None),
    }
    assert {row.request_type: _figures(row) for row in report.rows} == expected
    assert report.non_privacy_left_out == 1
    assert report.row("delete").complied == 2 and report.row("access").denied == 1
    assert [row.ccpa for row in report.rows] == [True] * 5 + [False] * 2
    # The request received in 2025 counts in 2025 only, though denied in 2026.
    earlier = staff.alice.metrics_report(2025)
    assert _figures(earlier.row("correct")) == (1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 16.0, 16.0)
    assert sum(row.received for row in earlier.rows) == 1
    with pytest.raises(InvalidInput):
        staff.alice.metrics_report(2027)


def test_request_log_on_a_known_desk(staff: Staff, known: Known) -> None:
    log = staff.alice.request_log(date(2026, 1, 1), date(2026, 3, 4))
    refs = known.refs
    by_ref = {row.ref: row for row in log.rows}
    # One row per privacy request received in the period (not H, not the 2025 one).
    assert set(by_ref) == {refs[k] for k in ("A", "B", "C", "appeal", "D", "E", "F", "G",
                                             "L", "J", "K")}
    assert [row.received_on for row in log.rows] == sorted(r.received_on for r in log.rows)
    assert log.non_privacy_left_out == 1
    a, b, c, d = (by_ref[refs[k]] for k in "ABCD")
    assert (a.received_on, a.request_types, a.channel, a.response_on, a.response) == (
        date(2026, 1, 5), ("delete",), "email", date(2026, 1, 24), "Complied")
    assert (b.nature, b.manner, b.response_on) == ("Know / access, Delete", "Post",
                                                   date(2026, 2, 9))
    assert b.response.startswith("Complied in part")
    assert (c.response, c.denial_basis, c.response_on, c.jurisdiction) == (
        "Denied", "Not made by a consumer: Request not made by a consumer (business "
        "contact).", date(2026, 1, 20), "VA")
    assert (d.response, d.denial_basis, d.manner) == (
        "Denied: identity not verified",
        "Not verifiable: No reply to the verification request.", "Phone")
    assert by_ref[refs["F"]].response == "Withdrawn by the requester"
    assert by_ref[refs["F"]].response_on is None
    assert by_ref[refs["G"]].response == "Pending (acknowledged)"
    assert by_ref[refs["L"]].response == f"Duplicate of {refs['G']}"
    assert by_ref[refs["appeal"]].request_types == ("appeal",)
    # Default period: the 24 months up to today.
    default = staff.alice.request_log()
    assert (default.period_start, default.period_end) == (date(2024, 3, 5), date(2026, 3, 4))
    assert len(default.rows) == len(log.rows) + 1  # the one received in 2025
    with pytest.raises(InvalidInput):
        staff.alice.request_log(date(2026, 3, 1), date(2026, 2, 1))


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def test_csv_and_pdf_hold_the_figures(staff: Staff, known: Known) -> None:
    desk = staff.alice
    report = desk.metrics_report(2026)
    rows = list(csv.DictReader(io.StringIO(desk.report_csv(report).decode("utf-8"))))
    assert len(rows) == len(report.rows)
    for line, row in zip(rows, report.rows, strict=True):
        assert line["request_type"] == row.request_type and line["year"] == "2026"
        assert int(line["received"]) == row.received
        assert int(line["complied_in_whole_or_part"]) == row.complied
        assert int(line["complied_in_part"]) == row.complied_part
        assert int(line["denied"]) == row.denied
        for reason, column in zip(DENIAL_REASONS, ("denied_not_verifiable",
                                                   "denied_not_made_by_consumer",
                                                   "denied_exempt", "denied_other"),
                                  strict=True):
            assert int(line[column]) == row.denied_for(reason)
        assert int(line["withdrawn"]) == row.withdrawn and int(line["open"]) == row.open
        median = float(line["median_days"]) if line["median_days"] else None
        assert median == row.median_days
    assert rows[0]["median_days"] == "24.5" and rows[1]["median_days"] == "8"

    text = _pdf_text(desk.report_pdf(report))
    assert "CCPA §7102 metrics for 2026" in text
    assert "Customer Relations and Services" in text
    assert "Generated on 2026-03-04" in text and "Page 1 of 1" in text
    # Received, whole, part, whole or part, denied, withdrawn, open, median, mean.
    assert "Delete 4 1 1 2 0 1 1 24.5 24.5" in text
    assert "Know / access 2 1 0 1 1 0 0 30 30.0" in text
    assert "Appeal 1 0 0 0 0 0 1 – –" in text

    log = desk.request_log(date(2026, 1, 1), date(2026, 3, 4))
    lines = list(csv.reader(io.StringIO(desk.report_csv(log).decode("utf-8"))))
    assert lines[0][:3] == ["ref", "date_of_request", "nature_of_request"]
    assert len(lines) == len(log.rows) + 1
    first = dict(zip(lines[0], lines[1], strict=True))
    assert first["date_of_request"] == log.rows[0].received_on.isoformat()
    text = _pdf_text(desk.report_pdf(log))
    assert "CCPA §7101 request log" in text and "2026-01-01 to 2026-03-04" in text
    for entry in log.rows:
        assert entry.ref in text


def test_log_pdf_repeats_its_header_on_every_page(sqlite_desk: Desk) -> None:
    for number in range(70):
        sqlite_desk.create_case(NewCase(
            channel="email", request_types=("access",), received_on=date(2026, 2, 1),
            requester=PartyData(name=f"Person {number}", email=f"p{number}@example.com",
                                state="CA")))
    reader = PdfReader(io.BytesIO(sqlite_desk.report_pdf(sqlite_desk.request_log())))
    assert len(reader.pages) >= 3
    for number, page in enumerate(reader.pages, start=1):
        text = " ".join((page.extract_text() or "").split())
        assert "Date of request" in text and "Basis for denial" in text
        assert f"Page {number} of {len(reader.pages)}" in text
    assert reader.pages[0].mediabox.width > reader.pages[0].mediabox.height  # landscape


def test_report_command(staff: Staff, known: Known, database_url: str, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--db", database_url, "--user", "alice", "report"]
    assert main([*base, "metrics", "--year", "2026"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^Delete\s+4\s+1\s+1\s+0\s+0\s+0\s+0\s+0\s+1\s+1\s+24\.5\s+24\.5$", out,
                     re.MULTILINE)
    target = tmp_path / "m.csv"
    assert main([*base, "metrics", "--year", "2026", "--csv", str(target), "--pdf",
                 str(tmp_path / "m.pdf")]) == 0
    assert target.read_bytes() == staff.alice.report_csv(staff.alice.metrics_report(2026))
    assert (tmp_path / "m.pdf").read_bytes().startswith(b"%PDF")
    capsys.readouterr()
    assert main([*base, "metrics", "--year", "2026", "--csv", str(target)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"caseapp: {target} exists already: choose another file.")
    assert main([*base, "log", "--from", "2026-02-01", "--to", "2026-02-28"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("CCPA §7101 request log: 5 request(s)")
    assert main([*base, "log", "--csv", str(tmp_path / "log.csv")]) == 0
    assert (tmp_path / "log.csv").read_text(encoding="utf-8").startswith("ref,")


# --- the demo desk, checked against figures computed here --------------------------------

DEMO_TODAY = date(2026, 3, 4)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql",
                                                                marks=pytest.mark.postgres)])
def demo_desk(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[Desk]:
    from caseapp.demo import load_demo
    from tests.conftest import _fresh_postgres_database

    folder = tmp_path_factory.mktemp("demo_reports")
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'cases.sqlite3'}"
    else:
        url = _fresh_postgres_database(request.getfixturevalue("postgres_server").url)
    desk = make_desk(url, "alice", Clock(fixed=FIXED_NOW), folder / "backups")
    load_demo(desk, cases=150, today=DEMO_TODAY)
    yield desk
    desk.close()


def _local(moment: datetime) -> date:
    return moment.replace(tzinfo=UTC).astimezone(DESK_TZ).date()


@dataclass
class _Expected:
    received: int = 0
    complied: int = 0
    denied: int = 0
    denied_unverified: int = 0
    denied_business: int = 0
    withdrawn: int = 0
    open: int = 0
    duplicates: int = 0

    def __post_init__(self) -> None:
        self.days: list[int] = []


def _independent(desk: Desk, year: int) -> tuple[dict[str, _Expected], int]:
    """The metrics from the cases and their audit trail: the decision is the last step
    event (to which state, with which reason), its date the audit event's."""
    figures: dict[str, _Expected] = defaultdict(_Expected)
    with desk.db.session() as session:
        cases = session.scalars(select(Case).options(selectinload(Case.request_types))).all()
        steps: dict[int, list[AuditEvent]] = defaultdict(list)
        for event in session.scalars(select(AuditEvent).where(AuditEvent.action == "case.step")
                                     .order_by(AuditEvent.seq)):
            if event.case_id is not None:
                steps[event.case_id].append(event)
        left_out = 0
        for case in cases:
            if case.received_on.year != year:
                continue
            if not case.is_privacy_request:
                left_out += 1
                continue
            final = json.loads(steps[case.id][-1].detail) if steps[case.id] else {}
            decision = next((e for e in steps[case.id] if json.loads(e.detail)["to"] in (
                "response_sent", "denied", "closed_unverified")), None)
            state = final.get("to", "received")
            assert state == case.status
            for request_type in {t.request_type for t in case.request_types} - {"other"}:
                figure = figures[request_type]
                if state == "duplicate":
                    figure.duplicates += 1
                    continue
                figure.received += 1
                if state in ("response_sent", "closed"):
                    figure.complied += 1
                elif state == "closed_unverified":
                    figure.denied += 1
                    figure.denied_unverified += 1
                elif state == "denied":
                    figure.denied += 1
                    assert "not made by a consumer" in final["reason"]  # the demo's one
                    figure.denied_business += 1
                elif state == "withdrawn":
                    figure.withdrawn += 1
                else:
                    figure.open += 1
                if state in ("response_sent", "closed", "denied", "closed_unverified"):
                    assert decision is not None
                    figure.days.append((_local(decision.at) - case.received_on).days)
    return figures, left_out


@pytest.mark.parametrize("year", [2025, 2026])
def test_metrics_on_the_demo_desk_match_the_raw_rows(demo_desk: Desk, year: int) -> None:
    report = demo_desk.metrics_report(year)
    figures, left_out = _independent(demo_desk, year)
    assert report.non_privacy_left_out == left_out > 0
    assert sum(f.received for f in figures.values()) > 20
    for row in report.rows:
        want = figures.get(row.request_type, _Expected())
        assert (row.received, row.complied, row.complied_part, row.denied,
                row.denied_not_verifiable, row.denied_not_by_consumer,
                row.denied_exempt + row.denied_other, row.withdrawn, row.open,
                row.duplicates) == (
            want.received, want.complied, 0, want.denied, want.denied_unverified,
            want.denied_business, 0, want.withdrawn, want.open, want.duplicates), row
        if want.days:
            assert row.median_days == statistics.median(want.days)
            assert row.mean_days == pytest.approx(sum(want.days) / len(want.days))
        else:
            assert row.median_days is None and row.mean_days is None
    assert set(figures) <= set(METRIC_TYPES)
    if year == 2025:  # the demo's year gone by has every outcome
        assert sum(f.denied_unverified for f in figures.values()) > 0
        assert sum(f.denied_business for f in figures.values()) > 0
        assert sum(f.withdrawn for f in figures.values()) > 0
    # The CSV says the same.
    lines = list(csv.DictReader(io.StringIO(demo_desk.report_csv(report).decode())))
    assert [int(line["received"]) for line in lines] == [r.received for r in report.rows]
    assert [int(line["denied"]) for line in lines] == [r.denied for r in report.rows]


def test_request_log_on_the_demo_desk(demo_desk: Desk) -> None:
    log = demo_desk.request_log(date(2025, 1, 1), DEMO_TODAY)
    with demo_desk.db.session() as session:
        cases = {c.ref: c for c in session.scalars(
            select(Case).options(selectinload(Case.request_types)))}
        privacy = {ref for ref, c in cases.items() if c.is_privacy_request}
        assert [row.ref for row in log.rows].count(log.rows[0].ref) == 1
        assert {row.ref for row in log.rows} == privacy
        assert log.non_privacy_left_out == len(cases) - len(privacy)
        for row in log.rows:
            case = cases[row.ref]
            assert row.received_on == case.received_on
            assert row.request_types == tuple(case.type_names)
            assert row.channel == case.channel
            decided = case.status in ("response_sent", "closed", "denied",
                                      "closed_unverified")
            assert (row.response_on is not None) == decided
            assert bool(row.denial_basis) == (case.status in ("denied", "closed_unverified"))
            if case.status == "denied":
                assert case.status_reason and case.status_reason in row.denial_basis


# --- the counting rules as a property ---------------------------------------------------

entries = st.builds(
    Entry,
    outcome=st.sampled_from(["complied", "denied", "withdrawn", "duplicate", "open"]),
    days=st.none() | st.integers(0, 120),
    reason=st.none() | st.sampled_from(DENIAL_REASONS),
    in_part=st.booleans())


@given(st.lists(entries, max_size=40))
def test_every_request_is_counted_once(sample: list[Entry]) -> None:
    row = tally("delete", sample)
    assert row.received == row.complied + row.denied + row.withdrawn + row.open
    assert row.received + row.duplicates == len(sample)
    assert row.denied == sum(row.denied_for(reason) for reason in DENIAL_REASONS)
    days = [e.days for e in sample if e.outcome in ("complied", "denied")
            and e.days is not None]
    if days:
        assert row.median_days is not None and row.mean_days is not None
        assert min(days) <= row.median_days <= max(days)
        assert min(days) <= row.mean_days <= max(days) + 1e-9
    else:
        assert row.median_days is None


def test_an_empty_year(sqlite_desk: Desk) -> None:
    report: MetricsReport = sqlite_desk.metrics_report(2024)
    assert all(row.received == 0 and row.median_days is None for row in report.rows)
    assert "Delete 0 0 0 0 0 0 0 – –" in _pdf_text(sqlite_desk.report_pdf(report))


def test_report_years_and_the_year_shown_first(staff: Staff, known: Known,
                                               tmp_path: Path) -> None:
    # From the first privacy request's year to this year, newest first.
    assert staff.alice.report_years() == (2026, 2025)
    # March 2026: last year's metrics are the ones §7102 publishes.
    from caseapp.services.reports import default_report_year

    assert default_report_year((2026, 2025), date(2026, 3, 4)) == 2025
    # A desk that started this year has nothing older: this year's figures to date.
    fresh = make_desk(f"sqlite:///{tmp_path / 'fresh.sqlite3'}", "alice",
                      Clock(fixed=FIXED_NOW), tmp_path / "fresh-backups")
    try:
        assert fresh.report_years() == (2026,)
    finally:
        fresh.close()
    assert default_report_year((2026,), date(2026, 12, 1)) == 2026
