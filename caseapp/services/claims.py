"""Who is working on a case: claims with a lease, so two people never answer one case.

A claim names the user working on the case, since when, and until when its lease runs
(``ServiceContext.claim_lease``, 15 minutes unless the settings say otherwise). The
holder's window renews the lease while the case is open there and releases it when the
case or the window is closed; a lease from a workstation that crashed simply runs out.

Taking a claim is one conditional UPDATE (``... WHERE id = :id AND (claimed_by IS NULL
OR claimed_by = :me OR claim_expires_at < :now)``) whose row count must be exactly one:
no lock is relied on (``with_for_update`` does nothing on SQLite), so two workstations
racing for one case cannot both win. Every claim, renewal, release and take-over is
audited in the same transaction; claims never change the case's version (renewing a
lease must not make the holder's own edit stale).

Services that answer a case (workflow steps, the extension, letters issued or emailed,
actions on the customer records) call :func:`hold` first: it refuses while someone else
holds a live claim ("Held by carol since 10:42") and otherwise claims the case for the
one acting, so the first action claims it; that claim is recorded in the action's own
audit event (``"claimed": {"until": ...}`` in its detail). A supervisor or administrator
may take a claim over, with the button or by acting on the case (audited as a take-over).
Steps that hand the case on (submitted for review, returned to work, response sent) and
decisions let its claim go: the review is a second person's work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Table, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from caseapp import audit
from caseapp.clock import Clock
from caseapp.db.models import Case
from caseapp.errors import InvalidInput, NotFound, PermissionDenied, TransitionRefused
from caseapp.services.context import ServiceContext
from caseapp.services.dto import ClaimView
from caseapp.workflow.machine import Actor

DEFAULT_LEASE = timedelta(minutes=15)
MIN_LEASE = timedelta(minutes=1)
MAX_LEASE = timedelta(hours=8)
TAKE_OVER_ROLES = ("supervisor", "admin")

CLAIMED = "case.claimed"
RENEWED = "case.claim_renewed"
RELEASED = "case.released"
TAKEN_OVER = "case.claim_taken_over"
CLAIM_ACTIONS = frozenset({CLAIMED, RENEWED, RELEASED, TAKEN_OVER})
"""The audit actions of claims (caseapp.services.views hides renewals from the history)."""
CLAIMED_KEY = "claimed"
RELEASED_KEY = "released_claim"
TAKEN_OVER_KEY = "took_over_claim"
"""Keys of another event's detail: the action claimed the case as it went (its lease),
let go of its holder's claim (whose), or (a supervisor's) took someone's claim over.
Staff names and times only: a retention purge keeps them (caseapp.services.retention)."""


class ClaimHeld(TransitionRefused):
    """Someone else is working on the case: nothing was done."""

    def __init__(self, message: str, claim: ClaimView) -> None:
        super().__init__(message)
        self.claim = claim


def lease_of(minutes: float | None) -> timedelta:
    """The lease of a number of minutes from the settings (None: the default)."""
    if minutes is None:
        return DEFAULT_LEASE
    lease = timedelta(minutes=minutes)
    if not MIN_LEASE <= lease <= MAX_LEASE:
        raise InvalidInput("A claim's lease must be from 1 minute to 8 hours "
                           f"(got {minutes} minutes).")
    return lease


def claim_view(case: Case, now: datetime) -> ClaimView | None:
    if not case.claimed_by or case.claimed_at is None:
        return None
    until = case.claim_expires_at or case.claimed_at
    return ClaimView(holder=case.claimed_by, since=case.claimed_at, until=until,
                     live=until >= now)


def local_time(moment: datetime, clock: Clock) -> str:
    """``10:42`` today at the desk, ``Mar 3 10:42`` on another day."""
    zone = ZoneInfo(clock.timezone)
    local = moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone)
    today = clock.now().replace(tzinfo=ZoneInfo("UTC")).astimezone(zone).date()
    if local.date() == today:
        return f"{local:%H:%M}"
    return f"{local:%b} {local.day} {local:%H:%M}"


def describe(claim: ClaimView, clock: Clock) -> str:
    """``Held by carol since 10:42`` (or, expired, whose it was)."""
    if claim.live:
        return f"Held by {claim.holder} since {local_time(claim.since, clock)}"
    return f"{claim.holder}'s claim lapsed at {local_time(claim.until, clock)}"


def _held_error(case: Case, claim: ClaimView, clock: Clock) -> ClaimHeld:
    return ClaimHeld(
        f"{case.ref}: {describe(claim, clock)} (until {local_time(claim.until, clock)} "
        f"unless renewed). Nothing was done: {claim.holder} is working on this case. Ask "
        f"{claim.holder} to release it, or a supervisor can take it over.", claim)


def _condition(me: str, now: datetime) -> object:
    return or_(Case.claimed_by.is_(None), Case.claimed_by == me,
               Case.claim_expires_at.is_(None), Case.claim_expires_at < now)


def _set(session: Session, case: Case, holder: str | None, since: datetime | None,
         until: datetime | None, *, only_if: object | None = None) -> bool:
    """One UPDATE of the claim columns (Core: the case's version stays); True when exactly
    this case's row changed. The loaded case is brought in line without being dirtied."""
    table = Case.__table__
    assert isinstance(table, Table)
    statement = (update(table).where(table.c.id == case.id)
                 .values(claimed_by=holder, claimed_at=since, claim_expires_at=until))
    if only_if is not None:
        statement = statement.where(only_if)  # type: ignore[arg-type]
    result = session.execute(statement)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    set_committed_value(case, "claimed_by", holder)
    set_committed_value(case, "claimed_at", since)
    set_committed_value(case, "claim_expires_at", until)
    return True


def _refresh(session: Session, case: Case) -> None:
    session.refresh(case, ["claimed_by", "claimed_at", "claim_expires_at"])


def _take(ctx: ServiceContext, session: Session, case: Case, actor: Actor, now: datetime,
          *, implicit: bool, record: bool = True) -> tuple[ClaimView, dict[str, object]]:
    """Claim (or renew) for ``actor`` if nobody else holds a live claim. Audited as an
    event of its own unless ``record`` is False: then the caller's event carries the
    returned detail (an action that claimed the case as it went)."""
    before = claim_view(case, now)
    mine_already = before is not None and before.holder == actor.username and before.live
    since = before.since if mine_already and before is not None else now
    until = now + ctx.claim_lease
    if not _set(session, case, actor.username, since, until,
                only_if=_condition(actor.username, now)):
        _refresh(session, case)  # what made it fail: show who holds it
        current = claim_view(case, now)
        if current is None:  # released between the read and the update: never here
            raise TransitionRefused(f"{case.ref} could not be claimed: try again.")
        raise _held_error(case, current, ctx.clock)
    detail: dict[str, object] = {"until": until.isoformat()}
    if not mine_already:
        if implicit:
            detail["implicit"] = True
        if before is not None:  # an expired claim (someone's, or one's own) replaced
            detail["lapsed"] = {"holder": before.holder, "at": before.until.isoformat()}
    if record:
        audit.record(session, actor=actor.username, action=RENEWED if mine_already else CLAIMED,
                     at=now, case=case, detail=detail)
    view = claim_view(case, now)
    assert view is not None
    return view, detail


def hold(ctx: ServiceContext, session: Session, case: Case, actor: Actor, *,
         own_event: bool = False) -> dict[str, object]:
    """Inside a service that answers the case: refuse while someone else holds a live
    claim (unless ``actor`` is a supervisor or administrator: then it is taken over),
    else make sure ``actor`` holds it (the first action claims the case).

    Returns what to add to the detail of the action's audit event: ``{"claimed": {...}}``
    when the case was claimed just now, else nothing. With ``own_event`` (a service that
    writes no audit event in this transaction) the claim is audited as an event of its
    own instead."""
    now = ctx.clock.now()
    current = claim_view(case, now)
    if current is not None and current.live:
        if current.holder == actor.username:
            return {}  # held already; the window renews the lease
        if actor.role not in TAKE_OVER_ROLES:
            raise _held_error(case, current, ctx.clock)
        # A supervisor acting on someone else's case takes it over (audited as such).
        until = now + ctx.claim_lease
        _set(session, case, actor.username, now, until)
        detail: dict[str, object] = {"from": current.holder,
                                     "since": current.since.isoformat(),
                                     "until": until.isoformat()}
        if own_event:
            audit.record(session, actor=actor.username, action=TAKEN_OVER, at=now, case=case,
                         detail=detail)
            return {}
        return {TAKEN_OVER_KEY: detail}
    _view, detail = _take(ctx, session, case, actor, now, implicit=True, record=own_event)
    return {} if own_event else {CLAIMED_KEY: detail}


def let_go(session: Session, case: Case) -> dict[str, object]:
    """Inside a service whose event says so: the case leaves its holder's hands
    (submitted for review, decided). Returns what to add to that event's detail."""
    if case.claimed_by is None:
        return {}
    holder = case.claimed_by
    if not _set(session, case, None, None, None):
        return {}
    return {RELEASED_KEY: holder}


def _load(session: Session, ref: str) -> Case:
    from caseapp.services.cases import normalize_ref  # cases imports the views, which import us

    wanted = normalize_ref(ref)
    case = session.scalars(select(Case).where(Case.ref == wanted)).first()
    if case is None:
        raise NotFound(f"No case {wanted}.")
    return case


@dataclass(frozen=True)
class ClaimResult:
    """The claim after a claim, renewal, release or take-over (None: nobody's)."""

    ref: str
    claim: ClaimView | None
    mine: bool
    changed: bool


def claim(ctx: ServiceContext, ref: str) -> ClaimResult:
    """Take the case to work on (or renew one's own lease); ClaimHeld when someone else
    holds a live claim."""
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = _load(session, ref)
        view, _detail = _take(ctx, session, case, actor, ctx.clock.now(), implicit=False)
        return ClaimResult(case.ref, view, True, True)


def renew(ctx: ServiceContext, ref: str) -> ClaimResult:
    """The holder's window, every few minutes: extend the lease if the claim is still
    this user's (even lapsed, as long as nobody else took the case meanwhile). A claim
    that went to someone else is not taken back: the result says whose it is."""
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = _load(session, ref)
        now = ctx.clock.now()
        current = claim_view(case, now)
        if current is None or current.holder != actor.username:
            return ClaimResult(case.ref, current, False, False)
        view, _detail = _take(ctx, session, case, actor, now, implicit=False)
        return ClaimResult(case.ref, view, True, True)


def release(ctx: ServiceContext, ref: str) -> ClaimResult:
    """Let go of one's claim (the case or window was closed); nothing if it is not ours."""
    with ctx.write() as session:
        actor = ctx.actor(session)
        case = _load(session, ref)
        now = ctx.clock.now()
        if not _set(session, case, None, None, None,
                    only_if=Case.claimed_by == actor.username):
            _refresh(session, case)
            current = claim_view(case, now)
            return ClaimResult(case.ref, current, False, False)
        audit.record(session, actor=actor.username, action=RELEASED, at=now, case=case,
                     detail={"holder": actor.username})
        return ClaimResult(case.ref, None, False, True)


def take_over(ctx: ServiceContext, ref: str) -> ClaimResult:
    """A supervisor or administrator takes the case from whoever holds it (audited with
    whose claim it was)."""
    with ctx.write() as session:
        actor = ctx.actor(session)
        if actor.role not in TAKE_OVER_ROLES:
            raise PermissionDenied(f"Only a supervisor or an administrator can take over a "
                                   f"claim; {actor.username} is {actor.role}.")
        case = _load(session, ref)
        now = ctx.clock.now()
        before = claim_view(case, now)
        if before is None or not before.live or before.holder == actor.username:
            view, _detail = _take(ctx, session, case, actor, now, implicit=False)
            return ClaimResult(case.ref, view, True, True)
        until = now + ctx.claim_lease
        if not _set(session, case, actor.username, now, until):
            raise NotFound(f"No case {case.ref}.")
        audit.record(session, actor=actor.username, action=TAKEN_OVER, at=now, case=case,
                     detail={"from": before.holder, "since": before.since.isoformat(),
                             "until": until.isoformat()})
        return ClaimResult(case.ref, claim_view(case, now), True, True)


def claim_of(ctx: ServiceContext, ref: str) -> ClaimResult:
    with ctx.read() as session:
        case = _load(session, ref)
        view = claim_view(case, ctx.clock.now())
        return ClaimResult(case.ref, view,
                           view is not None and view.live and view.holder == ctx.username,
                           False)


def my_claims(ctx: ServiceContext) -> tuple[str, ...]:
    """The cases this user holds a live claim on (to release when the window closes)."""
    with ctx.read() as session:
        return tuple(session.scalars(
            select(Case.ref).where(Case.claimed_by == ctx.username,
                                   Case.claim_expires_at >= ctx.clock.now())
            .order_by(Case.id)))
