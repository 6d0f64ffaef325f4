"""Printing issued letters on a CUPS printer, one at a time or as a batch.

Every print the server accepted is audited ("letter.printed": printer, CUPS job id,
copies). The print server is called outside any database transaction, so a slow or
unreachable server never holds the case database's write lock.

A letter is printed once even when the program is killed at any moment (kill -9, a
crash, the machine switched off). Before ``lp`` is called, the print is put on record in
a transaction of its own ("letter.print_started": the letter, the printer asked for, the
copies and a job title no other print has: serial, case and a random tag); once the
server took the job, "letter.printed" is written with the job id and the same title.
A letter whose last print was started and never recorded as printed (the program
stopped in between) is looked for on the print server by that title before it is
printed again, by the next print of that letter and by the next batch for its case:

- the server has the job: it printed (or will), so it is recorded as printed
  ("recovered") and not sent again;
- the server has no such job (the program stopped before ``lp``), or only one whose
  document never arrived (``lp`` was killed while sending it; cancelled, as it would
  print nothing), or one cancelled or aborted: the letter is printed.

Finding the job needs the server to still keep it (CUPS keeps finished jobs unless
``PreserveJobHistory`` is off, up to ``MaxJobs``) and to show its title to the user
asking (its owner; everyone when the policy does not keep titles private).

A batch (e.g. all acknowledgements due today) can be run again safely: a case whose
letter was already printed today is skipped, a letter whose print was cut short is
recorded or printed as above, and a letter issued today that did not get printed (the
printer refused it, the run was cancelled or crashed) is printed rather than issued a
second time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseapp import audit
from caseapp.db.models import AuditEvent, Blob, Case, Letter, Party
from caseapp.errors import InvalidInput, NotFound, UserError
from caseapp.letters.kinds import LETTER_KINDS
from caseapp.letters.printing import Cups as Cups
from caseapp.letters.printing import JobStatus as JobStatus
from caseapp.letters.printing import Printer as Printer
from caseapp.letters.printing import (
    PrinterNotFound,
    PrintingUnavailable,
    PrintJob,
    PrintRefused,
    QueuedJob,
    check_job,
)
from caseapp.services import letters
from caseapp.services.cases import load_case, normalize_ref
from caseapp.services.context import ServiceContext

PRINTED_ACTION = "letter.printed"
STARTED_ACTION = "letter.print_started"
ACKNOWLEDGEMENT = "acknowledgement"

Progress = Callable[[int, int, str], None]
"""(done, total, the case being worked on; "" when the batch is over)."""
ShouldStop = Callable[[], bool]


@dataclass(frozen=True)
class PrintedLetter:
    ref: str
    serial: str
    kind: str
    printer: str
    job_id: str
    """The CUPS job (``Office-42``): what lpstat lists and cancel takes."""
    copies: int
    printed_at: datetime
    issued_now: bool = False
    """The letter was issued by this batch (not an earlier one's, reused)."""
    recovered: bool = False
    """Printed by an earlier run that was interrupted before it recorded the print: found
    on the print server by its job title and recorded now, not printed again."""

    @property
    def how(self) -> str:
        """What became of the letter, for staff."""
        if self.recovered:
            return (f"already printed before the interruption (CUPS job {self.job_id}): "
                    "recorded now, not printed again")
        done = "issued and printed" if self.issued_now else "printed"
        return f"{done} on {self.printer} (job {self.job_id})"


@dataclass(frozen=True)
class DueAcknowledgement:
    ref: str
    requester: str
    acknowledge_by: date
    status: str
    unsent_serial: str | None = None
    """An acknowledgement letter already issued but not yet printed, mailed or emailed."""


@dataclass(frozen=True)
class BatchProblem:
    ref: str
    reason: str
    serial: str | None = None
    """The letter concerned, when one was issued (it is reused when the batch is re-run
    the same day)."""


@dataclass(frozen=True)
class BatchResult:
    printed: tuple[PrintedLetter, ...]
    """Printed now, or found printed by a run that was interrupted (``recovered``)."""
    failed: tuple[BatchProblem, ...]
    skipped: tuple[BatchProblem, ...]
    """Nothing to do: the case's letter was printed already today."""
    not_done: tuple[str, ...]
    """Cases not reached because the batch was stopped."""
    stopped: bool

    @property
    def total(self) -> int:
        return len(self.printed) + len(self.failed) + len(self.skipped) + len(self.not_done)


@dataclass(frozen=True)
class _Letter:
    """What printing needs of an issued letter."""

    ref: str
    serial: str
    kind: str
    pdf: bytes


@dataclass(frozen=True)
class _Started:
    """A print put on record as started and never as printed."""

    title: str
    """The job title it was sent (or was about to be sent) with."""
    printer: str
    """As asked for; "" for the server's default printer."""
    copies: int


def print_letter(ctx: ServiceContext, cups: Cups, ref: str, serial: str, *,
                 printer: str | None = None, copies: int = 1) -> PrintedLetter:
    """Send an issued letter's stored PDF to ``printer`` (the server's default when None)
    and audit the print with the job id the server gave it.

    When the letter's last print was cut short (started, never recorded as printed) and
    the server has that job, it is recorded now and returned ``recovered``: the letter
    is not printed a second time."""
    letter, started = _load(ctx, ref, serial)
    check_job(letter.pdf, printer=printer, copies=copies)
    if started is not None and (found := _recover(ctx, cups, letter.ref, letter.serial,
                                                   letter.kind, started)) is not None:
        return found
    title = f"{letter.serial} {letter.ref} {secrets.token_hex(4)}"
    _record_started(ctx, letter, _Started(title, printer or "", copies))
    job = cups.submit(letter.pdf, title=title, printer=printer, copies=copies)
    return _record_print(ctx, letter.ref, letter.serial, letter.kind, job, title=title)


def _load(ctx: ServiceContext, ref: str, serial: str) -> tuple[_Letter, _Started | None]:
    """The letter, and its print left started, if any."""
    with ctx.read() as session:
        case = load_case(session, ref)
        row = letters.find_letter(session, case, serial)
        blob = session.get(Blob, row.sha256)
        if blob is None:
            raise NotFound(f"The PDF of letter {row.serial} is not stored.")
        letter = _Letter(ref=case.ref, serial=row.serial, kind=row.kind, pdf=blob.data)
        return letter, _unfinished_prints(session, case.id).get(row.serial)


def _unfinished_prints(session: Session, case_id: int) -> dict[str, _Started]:
    """By letter serial, the case's letters whose last print was started and never
    recorded as printed (the program stopped between the two)."""
    started: dict[str, _Started] = {}
    printed: set[str] = set()
    rows = session.execute(
        select(AuditEvent.action, AuditEvent.detail)
        .where(AuditEvent.case_id == case_id,
               AuditEvent.action.in_((STARTED_ACTION, PRINTED_ACTION)))
        .order_by(AuditEvent.seq))
    for action, detail in rows:
        data = json.loads(detail or "{}")
        title = str(data.get("title") or "")
        if action == PRINTED_ACTION:
            printed.add(title)
        elif title and data.get("serial"):
            started[str(data["serial"])] = _Started(
                title=title, printer=str(data.get("printer") or ""),
                copies=int(data.get("copies") or 1))
    return {serial: print_ for serial, print_ in started.items()
            if print_.title not in printed}


def _record_started(ctx: ServiceContext, letter: _Letter, started: _Started) -> None:
    """Put the print on record before the server is asked (committed on its own)."""
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = load_case(session, letter.ref)
        row = letters.find_letter(session, case, letter.serial)
        audit.record(session, actor=actor.username, action=STARTED_ACTION,
                     at=ctx.clock.now(), case=case,
                     detail={"letter": row.id, "serial": row.serial, "kind": row.kind,
                             "printer": started.printer, "title": started.title,
                             "copies": started.copies})


def _recover(ctx: ServiceContext, cups: Cups, ref: str, serial: str, kind: str,
             started: _Started) -> PrintedLetter | None:
    """The print left started, recorded as printed now if the server took its job;
    None when it did not (the letter is to be printed)."""
    jobs = cups.jobs_titled(started.title)
    for job in jobs:
        if job.incomplete:  # lp was killed while sending it: it would print nothing
            with contextlib.suppress(PrintRefused):  # finished or dropped meanwhile
                cups.cancel(job.job_id)
    taken = [job for job in jobs if job.taken]
    if not taken:
        return None
    return _record_print(ctx, ref, serial, kind, _print_job(taken[0], started),
                         title=started.title, recovered=True)


def _print_job(job: QueuedJob, started: _Started) -> PrintJob:
    return PrintJob(printer=job.printer, job_id=job.job_id, number=job.number,
                    title=job.title, copies=job.copies or started.copies)


def _record_print(ctx: ServiceContext, ref: str, serial: str, kind: str,
                  job: PrintJob, *, title: str | None = None,
                  recovered: bool = False) -> PrintedLetter:
    """Audit the print ("letter.printed"); a print started with ``title`` is recorded
    once, however many runs find its job."""
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = load_case(session, ref)
        row = letters.find_letter(session, case, serial)
        now = ctx.clock.now()
        detail: dict[str, object] = {
            "letter": row.id, "serial": serial, "kind": kind, "printer": job.printer,
            "job": job.job_id, "copies": job.copies}
        if title is not None:
            earlier = _printed_with_title(session, case.id, title)
            if earlier is not None:  # another run recorded this very job meanwhile
                return _printed_letter(ref, serial, kind, *earlier)
            detail["title"] = title
        if recovered:
            detail["recovered"] = True
        audit.record(session, actor=actor.username, action=PRINTED_ACTION, at=now, case=case,
                     detail=detail)
    return PrintedLetter(ref=ref, serial=serial, kind=kind, printer=job.printer,
                         job_id=job.job_id, copies=job.copies, printed_at=now,
                         recovered=recovered)


def _printed_with_title(session: Session, case_id: int,
                        title: str) -> tuple[dict[str, object], datetime] | None:
    rows = session.execute(select(AuditEvent.detail, AuditEvent.at).where(
        AuditEvent.case_id == case_id, AuditEvent.action == PRINTED_ACTION))
    for detail, at in rows:
        data = json.loads(detail or "{}")
        if data.get("title") == title:
            return data, at
    return None


def _printed_letter(ref: str, serial: str, kind: str, data: dict[str, object],
                    at: datetime) -> PrintedLetter:
    copies = data.get("copies")
    return PrintedLetter(ref=ref, serial=serial, kind=kind, printer=str(data.get("printer")),
                         job_id=str(data.get("job")),
                         copies=copies if isinstance(copies, int) else 1,
                         printed_at=at, recovered=bool(data.get("recovered")))


def record_printed(ctx: ServiceContext, ref: str, serial: str, *, printer: str,
                   job_id: str = "", copies: int = 1) -> PrintedLetter:
    """Audit a letter printed some other way (the window's print dialog), so batches and
    the due list know it went out."""
    with ctx.read() as session:
        case = load_case(session, ref)
        row = letters.find_letter(session, case, serial)
        kind, serial, ref = row.kind, row.serial, case.ref
    job = PrintJob(printer=printer.strip()[:200] or "(print dialog)", job_id=job_id.strip(),
                   number=0, title=f"{serial} {ref}", copies=copies)
    return _record_print(ctx, ref, serial, kind, job)


def _printed_serials(session: Session, case_ids: Iterable[int]) -> dict[int, set[str]]:
    """The serials of each case's letters that were printed (from the audit trail)."""
    ids = list(case_ids)
    printed: dict[int, set[str]] = {case_id: set() for case_id in ids}
    if not ids:
        return printed
    rows = session.execute(select(AuditEvent.case_id, AuditEvent.detail).where(
        AuditEvent.action == PRINTED_ACTION, AuditEvent.case_id.in_(ids)))
    for case_id, detail in rows:
        serial = json.loads(detail or "{}").get("serial")
        if case_id is not None and serial:
            printed[case_id].add(str(serial))
    return printed


def _went_out(row: Letter, printed: set[str]) -> bool:
    return (row.serial in printed or row.mailed_on is not None or row.emailed_at is not None)


def acknowledgements_due(ctx: ServiceContext, day: date | None = None,
                         ) -> tuple[DueAcknowledgement, ...]:
    """Open cases not yet acknowledged whose acknowledgement is due by ``day`` (default:
    today; overdue ones included) and whose acknowledgement letter has not gone out
    (none issued, or issued but never printed, mailed or emailed). Earliest due first."""
    by = day or ctx.clock.today()
    workflow = ctx.workflow
    with ctx.read() as session:
        cases = list(session.scalars(
            select(Case).where(Case.status.in_(workflow.open_states),
                               Case.acknowledged_at.is_(None),
                               Case.acknowledge_by.is_not(None), Case.acknowledge_by <= by)
            .order_by(Case.acknowledge_by, Case.ref)))
        if not cases:
            return ()
        ids = [case.id for case in cases]
        printed = _printed_serials(session, ids)
        acknowledgements: dict[int, list[Letter]] = {case_id: [] for case_id in ids}
        for row in session.scalars(select(Letter).where(
                Letter.case_id.in_(ids), Letter.kind == ACKNOWLEDGEMENT).order_by(Letter.id)):
            acknowledgements[row.case_id].append(row)
        names = {case_id: name for case_id, name in session.execute(
            select(Party.case_id, Party.name).where(Party.case_id.in_(ids),
                                                    Party.role == "requester"))}
        due = []
        for case in cases:
            rows = acknowledgements[case.id]
            if any(_went_out(row, printed[case.id]) for row in rows):
                continue
            unsent = [row for row in rows if row.delivery == "post"]
            assert case.acknowledge_by is not None
            due.append(DueAcknowledgement(
                ref=case.ref, requester=names.get(case.id, ""),
                acknowledge_by=case.acknowledge_by, status=case.status,
                unsent_serial=unsent[-1].serial if unsent else None))
        return tuple(due)


def batch_refs(ctx: ServiceContext, kind: str, day: date | None) -> list[str]:
    """The cases a batch works on when none are named: the acknowledgements due."""
    if kind != ACKNOWLEDGEMENT:
        raise InvalidInput("Only acknowledgements are printed by due date: name the cases.")
    return [due.ref for due in acknowledgements_due(ctx, day)]


def _todays_letter(ctx: ServiceContext, ref: str, kind: str) -> tuple[str | None, bool]:
    """The case's letter of ``kind`` issued today to be mailed: (its serial, whether it
    was printed already); (None, False) when there is none."""
    today = ctx.clock.today()
    with ctx.read() as session:
        case = load_case(session, ref)
        rows = [row for row in session.scalars(
            select(Letter).where(Letter.case_id == case.id, Letter.kind == kind,
                                 Letter.delivery == "post").order_by(Letter.id.desc()))
            if ctx.clock.local_date(row.issued_at) == today and row.emailed_at is None]
        if not rows:
            return None, False
        printed = _printed_serials(session, [case.id])[case.id]
        for row in rows:
            if row.serial in printed or row.mailed_on is not None:
                return row.serial, True
        return rows[0].serial, False


def _recover_earlier(ctx: ServiceContext, cups: Cups, ref: str, kind: str,
                     todays: str | None) -> PrintedLetter | None:
    """A letter ``kind`` of the case, other than ``todays`` (print_letter looks after that
    one), whose print was cut short and whose job the server has (say, killed just
    before midnight): recorded as printed now, so the case gets no second letter."""
    with ctx.read() as session:
        case = load_case(session, ref)
        unfinished = _unfinished_prints(session, case.id)
        unfinished.pop(todays or "", None)
        if not unfinished:
            return None
        serials = list(session.scalars(select(Letter.serial).where(
            Letter.case_id == case.id, Letter.kind == kind,
            Letter.serial.in_(list(unfinished))).order_by(Letter.id.desc())))
        ref = case.ref
    for serial in serials:
        found = _recover(ctx, cups, ref, serial, kind, unfinished[serial])
        if found is not None:
            return found
    return None


IssueLetter = Callable[[str, letters.LetterRequest], letters.RenderedLetter]
"""Desk.issue_letter: issues with the desk's customer systems and edited letter texts."""


def print_batch(ctx: ServiceContext, issue: IssueLetter, cups: Cups,
                refs: Iterable[str], *, kind: str = ACKNOWLEDGEMENT, printer: str | None = None,
                copies: int = 1, progress: Progress | None = None,
                should_stop: ShouldStop | None = None) -> BatchResult:
    """Issue (unless one was issued today) and print the letter ``kind`` for each case.

    The printer is checked first (a missing printer or server stops the batch before
    anything is issued); after that, a letter that cannot be issued or printed is
    reported with the reason and the batch goes on, unless the print server went away
    (the rest would fail alike: they are left in ``not_done``). ``should_stop`` is asked
    before each case; the cases not reached are returned in ``not_done``. A case whose
    letter the server took just before an interrupted run could record it is in
    ``printed`` as ``recovered`` (recorded now, not printed again).
    """
    if kind not in LETTER_KINDS:
        raise InvalidInput(f"Unknown letter '{kind}' (known: {', '.join(LETTER_KINDS)}).")
    wanted = list(dict.fromkeys(normalize_ref(ref) for ref in refs))
    _check_printer(cups, printer)
    printed: list[PrintedLetter] = []
    failed: list[BatchProblem] = []
    skipped: list[BatchProblem] = []
    total = len(wanted)
    for index, ref in enumerate(wanted):
        if should_stop is not None and should_stop():
            if progress is not None:
                progress(index, total, "")
            return BatchResult(tuple(printed), tuple(failed), tuple(skipped),
                               tuple(wanted[index:]), stopped=True)
        if progress is not None:
            progress(index, total, ref)
        serial: str | None = None
        try:
            serial, already = _todays_letter(ctx, ref, kind)
            if already:
                skipped.append(BatchProblem(ref, f"letter {serial} was printed already today",
                                            serial))
                continue
            recovered = _recover_earlier(ctx, cups, ref, kind, serial)
            if recovered is not None:
                printed.append(recovered)
                continue
            issued_now = serial is None
            if serial is None:
                # once_per_day: another workstation's batch may have issued it meanwhile.
                serial = issue(ref, letters.LetterRequest(kind, delivery="post",
                                                          once_per_day=True)).serial
            done = print_letter(ctx, cups, ref, serial, printer=printer, copies=copies)
            printed.append(dataclasses.replace(done, issued_now=issued_now))
        except PrintingUnavailable as error:  # every other letter would fail the same way
            failed.append(BatchProblem(ref, error.message, serial))
            if progress is not None:
                progress(index + 1, total, "")
            return BatchResult(tuple(printed), tuple(failed), tuple(skipped),
                               tuple(wanted[index + 1:]), stopped=True)
        except UserError as error:
            failed.append(BatchProblem(ref, error.message, serial))
        except Exception as error:  # a bug in one letter must not cost the others
            failed.append(BatchProblem(ref, f"internal error ({type(error).__name__}: "
                                            f"{error})", serial))
    if progress is not None:
        progress(total, total, "")
    return BatchResult(tuple(printed), tuple(failed), tuple(skipped), (), stopped=False)


def _check_printer(cups: Cups, printer: str | None) -> None:
    """Refuse the batch before anything is issued when its printer cannot take jobs."""
    available = cups.printers()
    if printer is None:
        if not any(p.is_default for p in available):
            raise PrinterNotFound("No default printer is set: choose a printer.")
        chosen = next(p for p in available if p.is_default)
    else:
        found = [p for p in available if p.name == printer]
        if not found:
            names = ", ".join(p.name for p in available) or "none"
            raise PrinterNotFound(f"There is no printer '{printer}' (printers: {names}).")
        chosen = found[0]
    if not chosen.accepting:
        raise PrintRefused(f"The printer '{chosen.name}' is not accepting jobs now: nothing "
                           "was printed.")
