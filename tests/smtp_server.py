"""A private SMTP server for the tests (aiosmtpd on 127.0.0.1), and its pytest fixture.

Two listeners on free ports, run by aiosmtpd controllers in threads of the test process:
``port`` speaks plain SMTP, requires STARTTLS before anything else and offers AUTH only
after it; ``tls_port`` is SMTP over TLS from the first byte (``ssl``). Their certificate
comes from the same throw-away CA as the IMAP server's (tests/imap_server.py, made with
the openssl command); :meth:`SmtpServer.ssl_context` trusts that CA, so the client's
certificate and host name checks run for real. Logins are checked against
:attr:`SmtpServer.users`; every message accepted is kept, bytes as received, in
:attr:`SmtpServer.messages`. Recipients in :attr:`SmtpServer.refuse` get a 550.

Fixture ``smtp_server`` (import ``smtp_server_fixture`` and
``smtp_certificates_fixture`` into a test module): function-scoped; both controllers are
stopped in its teardown, so no server outlives its test.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from caseapp.config import SmtpSecurity, SmtpSettings
from tests.certificates import make_certificates
from tests.ports import free_port

HOST = "127.0.0.1"
USER = "letters@caseapp.test"
PASSWORD = "Sm7p-s3cret!pass"
FROM_ADDRESS = "privacy@brand.example"


@dataclass(frozen=True)
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    login: str
    tls: bool


@dataclass
class _State:
    users: dict[str, str]
    refuse: set[str] = field(default_factory=set)
    messages: list[Received] = field(default_factory=list)
    logins_failed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler:
    def __init__(self, state: _State, *, implicit_tls: bool = False) -> None:
        self.state = state
        self.implicit_tls = implicit_tls  # aiosmtpd sets session.ssl only after STARTTLS

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if address.lower() in self.state.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else ""
        with self.state.lock:
            self.state.messages.append(Received(
                str(envelope.mail_from), tuple(envelope.rcpt_tos), bytes(data), login,
                self.implicit_tls or session.ssl is not None))
        return "250 2.0.0 Ok: queued"


class _Authenticator:
    """LOGIN and PLAIN against the users table; the login name is kept as login_data."""

    def __init__(self, state: _State) -> None:
        self.state = state

    def __call__(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                 auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode("utf-8", "replace")
            password = auth_data.password.decode("utf-8", "replace")
            if self.state.users.get(login) == password:
                return AuthResult(success=True, auth_data=auth_data.login)
        with self.state.lock:
            self.state.logins_failed += 1
        return AuthResult(success=False, handled=False)


def _server_context(tls_dir: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(tls_dir / "server.crt"), str(tls_dir / "server.key"))
    return context


@dataclass
class SmtpServer:
    port: int
    tls_port: int
    ca_file: Path
    state: _State
    controllers: list[Controller]

    @property
    def messages(self) -> list[Received]:
        with self.state.lock:
            return list(self.state.messages)

    @property
    def users(self) -> dict[str, str]:
        return self.state.users

    @property
    def refuse(self) -> set[str]:
        return self.state.refuse

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts the test CA (host names checked)."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def settings(self, security: SmtpSecurity = "starttls", *, user: str = USER,
                 host: str = HOST, from_name: str = "Privacy Office") -> SmtpSettings:
        port = self.tls_port if security == "ssl" else self.port
        return SmtpSettings(host=host, port=port, security=security, user=user,
                            from_address=FROM_ADDRESS, from_name=from_name)

    def stop(self) -> None:
        for controller in self.controllers:
            controller.stop()
        self.controllers.clear()


def start(tls_dir: Path, ca_file: Path) -> SmtpServer:
    state = _State(users={USER: PASSWORD})
    context = _server_context(tls_dir)
    common: dict[str, Any] = {"authenticator": _Authenticator(state),
                              "ident": "caseapp test SMTP"}
    port, tls_port = free_port(), free_port()
    server = SmtpServer(port, tls_port, ca_file, state, [])
    try:
        starttls = Controller(_Handler(state), hostname=HOST, port=port,
                             server_hostname="localhost", tls_context=context,
                             require_starttls=True, auth_require_tls=True, **common)
        starttls.start()
        server.controllers.append(starttls)
        # aiosmtpd counts only STARTTLS as TLS for auth_require_tls; this listener is
        # TLS from the first byte, so AUTH is offered on it without that check.
        implicit = Controller(_Handler(state, implicit_tls=True), hostname=HOST, port=tls_port,
                              server_hostname="localhost", ssl_context=context,
                              auth_require_tls=False, **common)
        implicit.start()
        server.controllers.append(implicit)
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="session", name="smtp_certificates")
def smtp_certificates_fixture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(folder with server.crt/server.key, CA file): made once per test run."""
    folder = tmp_path_factory.mktemp("smtp") / "tls"
    ca_file = make_certificates(folder)
    return folder, ca_file


@pytest.fixture(name="smtp_server")
def smtp_server_fixture(smtp_certificates: tuple[Path, Path]) -> Iterator[SmtpServer]:
    server = start(*smtp_certificates)
    try:
        yield server
    finally:
        server.stop()
