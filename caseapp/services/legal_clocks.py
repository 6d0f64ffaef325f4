"""Administrator overrides of the clocks the rules mark configurable (REGULATIONS.md:
numbers counsel must confirm). Stored in the case database so every workstation of a
shared desk counts the same; changes apply to due dates computed from then on."""

from __future__ import annotations

from sqlalchemy import select

from caseapp import audit
from caseapp.db.models import ClockOverride
from caseapp.errors import ConfigError, InvalidInput
from caseapp.services.context import ServiceContext
from caseapp.services.dto import ClockSetting
from caseapp.workflow.jurisdictions import DEFAULT_CODE


def load_overrides(ctx: ServiceContext) -> None:
    with ctx.read() as session:
        ctx.reload_rules(session)


def list_clocks(ctx: ServiceContext) -> list[ClockSetting]:
    load_overrides(ctx)
    with ctx.read() as session:
        changed_by = {
            (r.jurisdiction, r.request_type, r.clock): r.set_by
            for r in session.scalars(select(ClockOverride))
        }
    shipped = {(e.jurisdiction, e.request_type, e.clock): e.rule.days
               for e in ctx.base_rules.jurisdictions.clock_entries()}
    names = ctx.rules.jurisdictions
    return [
        ClockSetting(
            jurisdiction=e.jurisdiction,
            jurisdiction_name=names.name(e.jurisdiction),
            request_type=e.request_type or "",
            clock=e.clock,
            days=e.rule.days,
            unit=e.rule.unit,
            source=e.rule.source,
            configurable=e.rule.configurable,
            shipped_days=shipped[(e.jurisdiction, e.request_type, e.clock)],
            changed_by=changed_by.get((e.jurisdiction, e.request_type or "", e.clock), ""),
        )
        for e in names.clock_entries()
    ]


def set_clock(ctx: ServiceContext, jurisdiction: str, request_type: str, clock: str,
              days: int) -> ClockSetting:
    code = jurisdiction.strip().upper() or DEFAULT_CODE
    try:
        ctx.base_rules.jurisdictions.with_override(code, request_type or None, clock, days)
    except ConfigError as error:
        raise InvalidInput(error.message) from error
    with ctx.write() as session:
        actor = ctx.require_role(session, "admin")
        row = session.scalars(select(ClockOverride).where(
            ClockOverride.jurisdiction == code, ClockOverride.request_type == request_type,
            ClockOverride.clock == clock)).first()
        before = row.days if row else None
        now = ctx.clock.now()
        if row is None:
            row = ClockOverride(jurisdiction=code, request_type=request_type, clock=clock,
                                days=days, set_by=actor.username, set_at=now)
            session.add(row)
        else:
            row.days, row.set_by, row.set_at = days, actor.username, now
        audit.record(session, actor=actor.username, action="rules.clock_changed", at=now,
                     detail={"jurisdiction": code, "request_type": request_type,
                             "clock": clock, "days": days, "was": before})
    load_overrides(ctx)
    return next(s for s in list_clocks(ctx) if (s.jurisdiction, s.request_type, s.clock) == (
        code, request_type, clock))
