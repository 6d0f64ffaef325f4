"""What every service call needs: the database, the rules, the clock and who is acting.

``unit_of_work`` is the one place where a session is opened, committed or rolled back;
driver errors come out as the known problems staff understand (caseapp.errors).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from caseapp.audit import lock_chain
from caseapp.clock import Clock
from caseapp.db.engine import Database
from caseapp.db.models import ClockOverride, User
from caseapp.db.notify import publish_case_changes
from caseapp.errors import ConfigError, NotFound, PermissionDenied, StaleEdit
from caseapp.resources import resources_dir
from caseapp.workflow.jurisdictions import Jurisdictions, load_jurisdictions
from caseapp.workflow.machine import Actor
from caseapp.workflow.rules import Workflow, load_workflow


@dataclass(frozen=True)
class Rules:
    workflow: Workflow
    jurisdictions: Jurisdictions

    @staticmethod
    def load(folder: Path | None = None) -> Rules:
        base = folder or resources_dir()
        return Rules(
            workflow=load_workflow(base / "workflows.toml"),
            jurisdictions=load_jurisdictions(base / "jurisdictions.toml"),
        )


def apply_overrides(base: Jurisdictions, overrides: Iterable[ClockOverride]) -> Jurisdictions:
    """The shipped clocks with the administrator's changes (caseapp.services.legal_clocks)."""
    result = base
    for row in overrides:
        try:
            result = result.with_override(row.jurisdiction, row.request_type or None, row.clock,
                                          row.days)
        except ConfigError:
            continue  # the rules file changed and no longer has (or allows) this clock
    return result


class ServiceContext:
    def __init__(self, db: Database, rules: Rules, clock: Clock, username: str) -> None:
        self.db = db
        self.base_rules = rules  # as shipped in resources/
        self.rules = rules  # with the administrator's clock overrides applied
        self.clock = clock
        self.username = username
        # How long a claim on a case holds unless its holder's window renews it
        # (caseapp.services.claims; [database] claim_minutes in the settings).
        self.claim_lease = timedelta(minutes=15)
        # Other workstations hear of every committed change to a case (PostgreSQL NOTIFY
        # in the same transaction; SQLite is polled): caseapp.db.notify.
        publish_case_changes(db.session_factory)

    @cached_property
    def workflow(self) -> Workflow:
        return self.rules.workflow

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.db.session() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One unit of work: everything inside commits together or not at all. Refused
        before it begins while the database is damaged or still being checked."""
        self.db.refuse_if_writes_held()
        with self.db.session() as session:
            lock_chain(session)  # serializes writers; the audit append needs it anyway
            # Count with the clocks as they are now: an administrator at another
            # workstation may have changed one since this one started.
            self.reload_rules(session)
            try:
                yield session
                session.commit()
            except StaleDataError as error:
                session.rollback()
                raise StaleEdit(
                    "Someone else changed this case while you were working on it. "
                    "Nothing was overwritten: reload the case and try again."
                ) from error

    def reload_rules(self, session: Session) -> None:
        rows = session.scalars(select(ClockOverride).order_by(ClockOverride.id))
        self.rules = Rules(self.base_rules.workflow,
                           apply_overrides(self.base_rules.jurisdictions, rows))

    def actor(self, session: Session) -> Actor:
        user = session.scalars(select(User).where(User.username == self.username)).first()
        if user is None:
            raise NotFound(
                f"User '{self.username}' is not known to this case database. "
                "An administrator can add them with: caseapp users add "
                f"{self.username} --role agent"
            )
        if not user.active:
            raise PermissionDenied(f"User '{self.username}' is deactivated.")
        return Actor(username=user.username, role=user.role)

    def require_role(self, session: Session, *roles: str) -> Actor:
        actor = self.actor(session)
        if actor.role not in roles and actor.role != "admin":
            raise PermissionDenied(
                f"This needs the role {' or '.join(roles)}; {actor.username} is {actor.role}."
            )
        return actor
