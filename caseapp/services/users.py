"""Staff accounts: the OS user by default; roles agent, supervisor, admin."""

from __future__ import annotations

from sqlalchemy import func, select

from caseapp import audit
from caseapp.db.models import User
from caseapp.errors import InvalidInput, NotFound
from caseapp.services.context import ServiceContext
from caseapp.services.dto import UserView
from caseapp.vocabulary import ROLES

USERNAME_MAX = 100


def _view(user: User) -> UserView:
    return UserView(user.username, user.display_name, user.role, user.active)


def ensure_current_user(ctx: ServiceContext) -> UserView:
    """Make sure the person at the keyboard has an account.

    The first account of a new database becomes its administrator, so someone can grant
    roles; everyone after that starts as an agent.
    """
    with ctx.read() as session:
        found = session.scalars(select(User).where(User.username == ctx.username)).first()
        if found is not None:
            return _view(found)
    with ctx.write() as session:
        found = session.scalars(select(User).where(User.username == ctx.username)).first()
        if found is not None:
            return _view(found)
        first = (session.scalar(select(func.count(User.id))) or 0) == 0
        user = _new_user(ctx.username, "admin" if first else "agent", ctx)
        session.add(user)
        audit.record(session, actor=ctx.username, action="user.created", at=ctx.clock.now(),
                     detail={"username": user.username, "role": user.role, "self": True})
        return _view(user)


def _new_user(username: str, role: str, ctx: ServiceContext, display_name: str = "") -> User:
    name = username.strip()
    if not name or len(name) > USERNAME_MAX or any(c.isspace() for c in name):
        raise InvalidInput("A user name must be one word of at most 100 characters.")
    if role not in ROLES:
        raise InvalidInput(f"Role must be one of: {', '.join(ROLES)}.")
    return User(username=name, display_name=display_name.strip() or name, role=role,
                active=True, created_at=ctx.clock.now())


def list_users(ctx: ServiceContext) -> list[UserView]:
    with ctx.read() as session:
        return [_view(u) for u in session.scalars(select(User).order_by(User.username))]


def add_user(ctx: ServiceContext, username: str, role: str, display_name: str = "") -> UserView:
    with ctx.write() as session:
        actor = ctx.require_role(session, "admin")
        if session.scalars(select(User).where(User.username == username.strip())).first():
            raise InvalidInput(f"User '{username}' exists already.")
        user = _new_user(username, role, ctx, display_name)
        session.add(user)
        audit.record(session, actor=actor.username, action="user.created", at=ctx.clock.now(),
                     detail={"username": user.username, "role": role})
        return _view(user)


def set_role(ctx: ServiceContext, username: str, role: str) -> UserView:
    if role not in ROLES:
        raise InvalidInput(f"Role must be one of: {', '.join(ROLES)}.")
    with ctx.write() as session:
        actor = ctx.require_role(session, "admin")
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            raise NotFound(f"No user '{username}'.")
        if user.username == actor.username and role != "admin":
            admins = session.scalar(
                select(func.count(User.id)).where(User.role == "admin", User.active)
            ) or 0
            if admins <= 1:
                raise InvalidInput("You are the last administrator; make someone else admin first.")
        before = user.role
        user.role = role
        audit.record(session, actor=actor.username, action="user.role", at=ctx.clock.now(),
                     detail={"username": username, "from": before, "to": role})
        return _view(user)
