"""A shared desk's PostgreSQL server: TLS that never falls back, the password from the
keyring.

- TLS: for a server on another machine the connection is encrypted or not made at all.
  ``sslmode`` defaults to ``verify-full`` (the server's certificate must be signed by the
  CA in ``sslrootcert`` and name the host); ``verify-ca`` and ``require`` may be chosen;
  ``prefer`` and ``allow`` are refused because they silently go on unencrypted, and so
  is ``disable`` (as for the mailbox: unencrypted only to this machine).
- The password is never in the URL kept in the settings file: it is the keyring secret
  ``postgresql:USER@HOST:PORT/DATABASE`` (:func:`secret_name`), read once per engine
  when the first connection is made. Without one, libpq's own ways still work
  (``~/.pgpass``, a client certificate, ``trust`` on 127.0.0.1).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import URL

from caseapp.errors import InvalidInput

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", ""})
SAFE_SSLMODES = ("verify-full", "verify-ca", "require")
SSLMODES = ("disable", "allow", "prefer", *SAFE_SSLMODES)
DEFAULT_PORT = 5432


def is_local(url: URL) -> bool:
    """A server on this machine (loopback, or a Unix socket: no host)."""
    return (url.host or "").strip("[]").lower() in LOOPBACK


def secret_name(url: URL) -> str:
    """The keyring name of the database login's password."""
    return (f"postgresql:{url.username or ''}@{url.host or 'localhost'}:"
            f"{url.port or DEFAULT_PORT}/{url.database or ''}")


def _query_value(url: URL, key: str) -> str:
    value = url.query.get(key, "")
    return value if isinstance(value, str) else (value[-1] if value else "")


def tls_problem(url: URL) -> str | None:
    """Why this URL's TLS setting is refused (None: it is acceptable)."""
    mode = _query_value(url, "sslmode")
    if mode and mode not in SSLMODES:
        return (f"sslmode must be one of {', '.join(SSLMODES)} (got {mode!r}); use "
                "verify-full with sslrootcert=THE_SERVER_CA.pem")
    if is_local(url) or mode in SAFE_SSLMODES or not mode:
        return None
    return (f"sslmode={mode} would let the connection to {url.host} go unencrypted "
            f"{'if the server offers no TLS ' if mode in ('allow', 'prefer') else ''}"
            "(the case data and the password would cross the network in clear). Use "
            "sslmode=verify-full with sslrootcert=THE_SERVER_CA.pem (or verify-ca, "
            "require); unencrypted is allowed only for a server on this machine")


def connect_args(url: URL) -> dict[str, Any]:
    """The psycopg connect arguments this URL needs on top of its own: ``sslmode``
    verify-full for a remote server when the URL names none. InvalidInput for a TLS
    setting that could fall back to clear text."""
    problem = tls_problem(url)
    if problem:
        raise InvalidInput(f"The case database's address is refused: {problem}.")
    if not is_local(url) and not _query_value(url, "sslmode"):
        return {"sslmode": "verify-full"}
    return {}


def use_keyring_password(engine: Engine, url: URL) -> None:
    """Give each new connection the keyring's password for this login (looked up once),
    unless the URL carries one (``--db`` given by hand for one run)."""
    if url.password or not url.username:
        return
    looked_up: list[str | None] = []

    @event.listens_for(engine, "do_connect")
    def add_password(_dialect: Any, _record: Any, _cargs: Any, cparams: Any) -> None:
        if not looked_up:
            looked_up.append(keyring_password(url))
        if looked_up[0] and "password" not in cparams:
            cparams["password"] = looked_up[0]


def keyring_password(url: URL) -> str | None:
    from caseapp.secrets import SecretStoreUnavailable, get_secret

    try:
        return get_secret(secret_name(url))
    except SecretStoreUnavailable:
        return None  # libpq's own (~/.pgpass, certificates) may still do
