"""A private Dovecot IMAP server for the test run, and its pytest fixtures.

``start()`` runs ``dovecot -F -c CONF`` with a config of its own in a temporary folder
(base, state, log and mail all inside it), listening on 127.0.0.1 only, on two free
ports: ``port`` speaks plain IMAP and offers STARTTLS, ``tls_port`` is IMAP over TLS.
The certificate is made for the run by the openssl command: a throw-away CA (its file is
``ca_file``; :meth:`ImapServer.ssl_context` trusts it) signs a certificate for localhost
and 127.0.0.1. Users live in passwd-files, one per user, that :meth:`ImapServer.add_user` writes;
mailboxes are loaded with IMAP APPEND.

Dovecot refuses to deliver mail as root and wants mail users with a uid of 500 or more.
Run as root (CI, the dev machines), the whole server runs as the system account
``caseapp-imap-test`` (made by .ci/setup; made here too if missing) in Dovecot's
"rootless" mode, so every test user's mail belongs to that account. Run as anyone else,
it runs as that user. The system's own Dovecot (/etc/dovecot) is never used.

Fixtures (registered in tests/conftest.py):
  ``dovecot``       session: the running server (one per pytest-xdist worker)
  ``imap_account``  function: a new user with an empty INBOX on it

Nothing is mocked: when Dovecot is missing or will not start, the IMAP tests fail with
the reason and the server's log.
"""

from __future__ import annotations

import atexit
import contextlib
import getpass
import itertools
import os
import pwd
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from imapclient import IMAPClient

from caseapp.config import MailSecurity, MailSettings
from tests.certificates import make_certificates
from tests.ports import free_port

MAIL_ACCOUNT = "caseapp-imap-test"  # the system account the server runs as under root
MIN_MAIL_UID = 500  # Dovecot's first_valid_uid default; mail as root is refused
START_TIMEOUT_S = 20
_users = itertools.count(1)


def _dovecot_binary() -> str:
    found = shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)
    if found is None:
        raise RuntimeError(
            "Dovecot is not installed (no dovecot binary). Run the README's test command, "
            "which installs dovecot-imapd, or: apt-get install dovecot-imapd"
        )
    return found


def ensure_mail_account() -> pwd.struct_passwd:
    """The system account for test mail (uid ≥ 500), made if missing. Needs root."""
    try:
        account = pwd.getpwnam(MAIL_ACCOUNT)
    except KeyError:
        result = subprocess.run(
            ["useradd", "--system", "-K", f"SYS_UID_MIN={MIN_MAIL_UID}",
             "-K", f"SYS_GID_MIN={MIN_MAIL_UID}", "--no-create-home",
             "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
             "--comment", "caseapp test mail (private Dovecot in tests)", MAIL_ACCOUNT],
            capture_output=True, text=True, check=False,
        )
        try:  # another pytest-xdist worker may have made it at the same moment
            account = pwd.getpwnam(MAIL_ACCOUNT)
        except KeyError:
            raise RuntimeError(
                f"Could not create the test mail account {MAIL_ACCOUNT}: "
                f"{result.stderr.strip() or result.stdout.strip()}"
            ) from None
    if account.pw_uid < MIN_MAIL_UID or account.pw_gid < MIN_MAIL_UID:
        raise RuntimeError(
            f"The test mail account {MAIL_ACCOUNT} has uid/gid {account.pw_uid}/"
            f"{account.pw_gid}; Dovecot needs {MIN_MAIL_UID} or more. Remove it "
            f"(userdel {MAIL_ACCOUNT}) and run .ci/setup again."
        )
    return account


@dataclass
class ImapAccount:
    """A mail user on the test server; its mailbox is filled with :meth:`append`."""

    server: ImapServer
    user: str
    password: str

    def client(self) -> IMAPClient:
        """A logged-in plain connection (no folder selected); close it with logout()."""
        client = IMAPClient(self.server.host, port=self.server.port, ssl=False, timeout=10)
        client.login(self.user, self.password)
        return client

    @contextlib.contextmanager
    def session(self) -> Iterator[IMAPClient]:
        client = self.client()
        try:
            yield client
        finally:
            client.logout()

    def append(self, raw: bytes, folder: str = "INBOX", flags: tuple[str, ...] = ()) -> int:
        """Store one message by IMAP APPEND; its UID."""
        with self.session() as client:
            answer = client.append(folder, raw, flags=flags)
        found = re.search(rb"APPENDUID (\d+) (\d+)", answer or b"")
        if not found:
            raise RuntimeError(f"Dovecot did not answer APPEND with APPENDUID: {answer!r}")
        return int(found.group(2))

    def create_folder(self, folder: str) -> None:
        with self.session() as client:
            client.create_folder(folder)

    def flags(self, uid: int, folder: str = "INBOX") -> set[str]:
        """The flags of message ``uid`` as another mail program would see them."""
        with self.session() as client:
            client.select_folder(folder, readonly=True)
            data = client.fetch([uid], ["FLAGS"])
        return {flag.decode() if isinstance(flag, bytes) else str(flag)
                for flag in data[uid][b"FLAGS"]}

    def uidvalidity(self, folder: str = "INBOX") -> int:
        with self.session() as client:
            return int(client.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"])

    def settings(self, *, security: MailSecurity = "none", folder: str = "INBOX",
                 host: str | None = None) -> MailSettings:
        """Mail settings for this account: plain port for "none"/"starttls", else TLS."""
        port = self.server.tls_port if security == "ssl" else self.server.port
        return MailSettings(imap_host=host or self.server.host, imap_port=port,
                            imap_user=self.user, imap_folder=folder, imap_security=security)


@dataclass
class ImapServer:
    base: Path
    port: int
    tls_port: int
    ca_file: Path
    mail_uid: int
    mail_gid: int
    process: subprocess.Popen[bytes] | None = None
    host: str = "127.0.0.1"
    _stopped: bool = field(default=False, repr=False)

    @property
    def users_dir(self) -> Path:
        """One passwd-file per user: Dovecot reads a new file at the user's first login
        (one shared file would be re-read at most once a second)."""
        return self.base / "users"

    @property
    def log_file(self) -> Path:
        return self.base / "dovecot.log"

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts the run's own CA (and checks the host name)."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def add_user(self, user: str | None = None, password: str | None = None) -> ImapAccount:
        """A new mail user (a fresh, empty mailbox)."""
        user = user or f"user{os.getpid()}x{next(_users)}"
        password = password or secrets.token_urlsafe(12)
        home = self.base / "home" / user
        line = f"{user}:{{PLAIN}}{password}:{self.mail_uid}:{self.mail_gid}::{home}::\n"
        (self.users_dir / user).write_text(line, encoding="utf-8")
        return ImapAccount(server=self, user=user, password=password)

    def stop(self) -> None:
        """Stop this server (by its PID only) and remove its folder."""
        if self._stopped:
            return
        self._stopped = True
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        shutil.rmtree(self.base, ignore_errors=True)


_CONFIG = """\
# caseapp tests: a private Dovecot; nothing here touches /etc/dovecot or system mail.
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
instance_name = caseapp-test-{port}
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{base}/tls/server.crt
ssl_key = <{base}/tls/server.key
# Plain login on the non-TLS port is for tests on 127.0.0.1 only.
disable_plaintext_auth = no
auth_mechanisms = plain login
# No 2 s pause after a wrong password: keeps the login-failure tests quick.
auth_failure_delay = 0
# "Rootless": every process runs as the one account that started the server.
default_internal_user = {account}
default_internal_group = {group}
default_login_user = {account}
first_valid_uid = {uid}
first_valid_gid = {gid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {base}/users/%u
}}
userdb {{
  driver = passwd-file
  args = {base}/users/%u
}}
mail_location = maildir:{base}/mail/%u
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
  # No growing delay (up to 15 s) for logins from an IP after failed ones: the tests
  # with wrong passwords would slow every later login of the run.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
protocol imap {{
  mail_max_userip_connections = 50
}}
"""


def start() -> ImapServer:
    """Start a private Dovecot on two free ports of 127.0.0.1 and wait until it answers."""
    binary = _dovecot_binary()
    if os.geteuid() == 0:
        account = ensure_mail_account()
        run_as: str | None = account.pw_name
        name, uid, gid = account.pw_name, account.pw_uid, account.pw_gid
        group = _group_name(gid)
    else:
        run_as = None
        name, uid, gid = getpass.getuser(), os.getuid(), os.getgid()
        group = _group_name(gid)
    base = Path(tempfile.mkdtemp(prefix="caseapp-imap-"))
    try:
        ca_file = make_certificates(base / "tls")
        for folder in ("run", "state", "mail", "home", "users"):
            (base / folder).mkdir()
        last_error = ""
        for _attempt in range(3):  # a free port can be taken between probe and bind
            port, tls_port = free_port(), free_port()
            config = base / "dovecot.conf"
            config.write_text(_CONFIG.format(base=base, port=port, tls_port=tls_port,
                                             account=name, group=group, uid=uid, gid=gid))
            if run_as:
                _chown_tree(base, uid, gid)
            server = ImapServer(base=base, port=port, tls_port=tls_port, ca_file=ca_file,
                                mail_uid=uid, mail_gid=gid)
            with (base / "stderr").open("wb") as stderr:
                server.process = subprocess.Popen(
                    [binary, "-F", "-c", str(config)],
                    stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr,
                    **({"user": uid, "group": gid, "extra_groups": []} if run_as else {}),
                )
            if _wait_until_listening(server):
                atexit.register(server.stop)  # if the fixture's teardown never runs
                return server
            said = (base / "stderr").read_text(errors="replace").strip()
            last_error = f"{said}\n{server.log_tail()}"
            _stop_process(server.process)
            server.log_file.unlink(missing_ok=True)
        raise RuntimeError(f"Dovecot did not start on 127.0.0.1:\n{last_error}")
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise


def _group_name(gid: int) -> str:
    import grp

    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _chown_tree(base: Path, uid: int, gid: int) -> None:
    os.chown(base, uid, gid)
    for root, dirs, files in os.walk(base):
        for entry in (*dirs, *files):
            os.chown(os.path.join(root, entry), uid, gid)


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _wait_until_listening(server: ImapServer) -> bool:
    deadline = time.monotonic() + START_TIMEOUT_S
    assert server.process is not None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            for port in (server.port, server.tls_port):
                socket.create_connection((server.host, port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.02)
    return False


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def dovecot() -> Iterator[ImapServer]:
    """A private Dovecot for this test process (each pytest-xdist worker has its own)."""
    server = start()
    yield server
    server.stop()


@pytest.fixture
def imap_account(dovecot: ImapServer) -> ImapAccount:
    """A new mail user with an empty INBOX on the session's Dovecot."""
    return dovecot.add_user()
