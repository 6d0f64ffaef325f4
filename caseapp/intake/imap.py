"""The privacy mailbox over IMAP: which messages are new, their raw bytes, and marking them.

    with Mailbox.connect(settings.mail, password) as mailbox:
        for uid, raw in mailbox.fetch(mailbox.pending_uids()):
            ...  # parse and store the message (caseapp.intake), then
        mailbox.mark_processed(uids_stored)

A message counts as done when it carries the keyword flag ``$CaseappProcessed``; staff
reading the mailbox in a mail program neither hide a message from caseapp nor see it
marked read by caseapp (fetching uses ``BODY.PEEK[]``, which leaves ``\\Seen`` alone).
Only if the server refuses custom keywords does ``\\Seen`` serve as the mark instead
(:attr:`Mailbox.processed_flag` says which).

For dedupe, a message is identified by (:attr:`Mailbox.key`, :attr:`Mailbox.uidvalidity`,
UID): UIDs are only unique within one UIDVALIDITY of one folder.

Messages larger than the size limit are not downloaded: :meth:`Mailbox.fetch` skips
them and lists them in :attr:`Mailbox.oversized` (UID and RFC822.SIZE) for staff.

Every failure becomes a typed error with a message for staff: :class:`MailboxUnavailable`
(cannot connect, TLS failure, connection lost), :class:`MailboxLoginFailed`,
:class:`MailboxFolderMissing`. The password never appears in a message.
"""

from __future__ import annotations

import contextlib
import imaplib
import socket
import ssl
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import imapclient  # type: ignore[import-untyped]  # no type information shipped
from imapclient.exceptions import (  # type: ignore[import-untyped]
    CapabilityError,
    LoginError,
)

from caseapp.config import MailSettings
from caseapp.errors import ConfigError, EnvironmentProblem, UserError

PROCESSED_KEYWORD = "$CaseappProcessed"
SEEN = "\\Seen"
DEFAULT_MAX_MESSAGE_BYTES = 25 * 1024 * 1024
# One FETCH of bodies asks for at most this many bytes (but always for one message).
_BODY_BYTES_PER_FETCH = 32 * 1024 * 1024
_FLAG_BATCH = 500


class MailboxUnavailable(EnvironmentProblem):
    """The mail server cannot be reached, the TLS handshake failed, or the link broke."""


class MailboxLoginFailed(UserError):
    """The server refused the user name or password."""


class MailboxFolderMissing(UserError):
    """The configured folder does not exist in the mailbox."""


@dataclass(frozen=True)
class OversizedMessage:
    """A message over the size limit: not downloaded, to be looked at by staff."""

    uid: int
    size: int


def choose_processed_flag(permanent_flags: Iterable[bytes | str] | None) -> str:
    """The flag that marks a message as processed, from the folder's PERMANENTFLAGS.

    ``$CaseappProcessed`` when the server keeps custom keywords (``\\*``, or the keyword
    itself listed; no PERMANENTFLAGS at all means every flag is permanent, RFC 3501),
    else ``\\Seen``.
    """
    if permanent_flags is None:
        return PROCESSED_KEYWORD
    flags = {
        (flag.decode("ascii", "replace") if isinstance(flag, bytes) else flag).lower()
        for flag in permanent_flags
    }
    if "\\*" in flags or PROCESSED_KEYWORD.lower() in flags:
        return PROCESSED_KEYWORD
    return SEEN


class Mailbox:
    """One selected IMAP folder, logged in. Use :meth:`connect`, as a context manager."""

    def __init__(
        self,
        client: Any,
        settings: MailSettings,
        *,
        uidvalidity: int,
        processed_flag: str,
        max_message_bytes: int,
    ) -> None:
        self._client = client
        self._settings = settings
        self._uidvalidity = uidvalidity
        self._processed_flag = processed_flag
        self._max_message_bytes = max_message_bytes
        self._where = f"{settings.imap_host}:{settings.imap_port}"
        self.oversized: list[OversizedMessage] = []
        """Messages :meth:`fetch` skipped for their size, in the order met."""
        self._arrivals: dict[int, datetime] = {}

    # --- connecting ----------------------------------------------------------------------

    @classmethod
    def connect(
        cls,
        settings: MailSettings,
        password: str,
        *,
        timeout_s: float = 30,
        ssl_context: ssl.SSLContext | None = None,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> Mailbox:
        """Connect, log in and select ``settings.imap_folder`` for reading and flagging.

        ``ssl_context`` replaces the default one (system CAs, host name checked), e.g. to
        trust a company CA; it is not used with ``imap_security = "none"``.
        """
        if not settings.configured:
            raise ConfigError(
                "The mailbox is not set up: the mail settings need the IMAP server and the "
                "user name (Settings → Mail, or [mail] in settings.toml)."
            )
        where = f"{settings.imap_host}:{settings.imap_port}"
        use_tls = settings.imap_security != "none"
        context = (ssl_context or ssl.create_default_context()) if use_tls else None
        try:
            client = imapclient.IMAPClient(
                settings.imap_host,
                port=settings.imap_port,
                ssl=settings.imap_security == "ssl",
                ssl_context=context,
                timeout=timeout_s,
            )
        except Exception as error:
            raise _unavailable(error, where, settings, timeout_s) from None
        try:
            if settings.imap_security == "starttls":
                _starttls(client, context, where, settings, timeout_s)
            _login(client, settings, password, where, timeout_s)
            uidvalidity, flag = _select(client, settings, where, timeout_s)
        except BaseException:
            _close_quietly(client)
            raise
        return cls(client, settings, uidvalidity=uidvalidity, processed_flag=flag,
                   max_message_bytes=max_message_bytes)

    def close(self) -> None:
        """Log out and close the connection (never raises)."""
        if self._client is not None:
            _close_quietly(self._client)
            self._client = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- what it is ----------------------------------------------------------------------

    @property
    def uidvalidity(self) -> int:
        return self._uidvalidity

    @property
    def key(self) -> str:
        """Names the folder for dedupe: ``user@host:port/folder``."""
        s = self._settings
        return f"{s.imap_user}@{s.imap_host}:{s.imap_port}/{s.imap_folder}"

    @property
    def processed_flag(self) -> str:
        """``$CaseappProcessed``, or ``\\Seen`` if the server refuses custom keywords."""
        return self._processed_flag

    @property
    def uses_custom_keyword(self) -> bool:
        return self._processed_flag == PROCESSED_KEYWORD

    @property
    def max_message_bytes(self) -> int:
        return self._max_message_bytes

    # --- reading and marking -------------------------------------------------------------

    def all_uids(self) -> list[int]:
        """UIDs of every message in the folder (not deleted), ascending."""
        with self._guard("list the messages"):
            client = self._live()
            client.noop()
            found = client.search(["UNDELETED"])
        return sorted(int(uid) for uid in found)

    def pending_uids(self) -> list[int]:
        """UIDs of the messages not yet marked processed (and not deleted), ascending."""
        if self.uses_custom_keyword:
            criteria = ["UNKEYWORD", PROCESSED_KEYWORD, "UNDELETED"]
        else:
            criteria = ["UNSEEN", "UNDELETED"]
        with self._guard("list the new messages"):
            client = self._live()
            # NOOP first: a server reports mail that arrived during the session at a
            # command, and SEARCH alone may answer from the session's older view.
            client.noop()
            found = client.search(criteria)
        return sorted(int(uid) for uid in found)

    def fetch(self, uids: Iterable[int], batch: int = 50) -> Iterator[tuple[int, bytes]]:
        """(UID, raw RFC 822 bytes) for each of ``uids`` still there, in UID order.

        Sizes are asked first (cheap); a message over the limit is not downloaded but
        added to :attr:`oversized`. Fetching does not set ``\\Seen``.
        """
        if batch < 1:
            raise ValueError("batch must be at least 1")
        wanted = sorted({int(uid) for uid in uids})
        for start in range(0, len(wanted), batch):
            chunk = wanted[start:start + batch]
            with self._guard("read the message sizes"):
                sizes = self._live().fetch(chunk, ["RFC822.SIZE", "INTERNALDATE"])
            small: list[tuple[int, int]] = []
            for uid in chunk:
                size = _size(sizes.get(uid))
                if size is None:  # expunged since it was listed
                    continue
                arrived = _internal_date(sizes.get(uid))
                if arrived is not None:
                    self._arrivals[uid] = arrived
                if size > self._max_message_bytes:
                    self._note_oversized(uid, size)
                else:
                    small.append((uid, size))
            for group in _groups_by_bytes(small, _BODY_BYTES_PER_FETCH):
                with self._guard("download messages"):
                    bodies = self._live().fetch(group, ["BODY.PEEK[]"])
                for uid in group:
                    body = _body(bodies.get(uid))
                    if body is not None:
                        yield uid, body

    def arrived_at(self, uid: int) -> datetime | None:
        """When the server received a message :meth:`fetch` has listed (its INTERNALDATE),
        in UTC without a zone: when the legal clock starts for mail."""
        return self._arrivals.get(uid)

    def mark_processed(self, uids: Iterable[int]) -> None:
        """Flag ``uids`` with :attr:`processed_flag` so they are not pending any more."""
        wanted = sorted({int(uid) for uid in uids})
        for start in range(0, len(wanted), _FLAG_BATCH):
            chunk = wanted[start:start + _FLAG_BATCH]
            with self._guard("mark messages as processed"):
                self._live().add_flags(chunk, [self._processed_flag], silent=True)

    # --- helpers -------------------------------------------------------------------------

    def _live(self) -> Any:
        if self._client is None:
            raise RuntimeError("the mailbox connection is closed")
        return self._client

    def _note_oversized(self, uid: int, size: int) -> None:
        if all(item.uid != uid for item in self.oversized):
            self.oversized.append(OversizedMessage(uid=uid, size=size))

    @contextlib.contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        try:
            yield
        except (imaplib.IMAP4.error, OSError) as error:
            self.close()
            raise MailboxUnavailable(
                f"The connection to the mail server {self._where} failed while trying to "
                f"{doing}: {_describe(error)}. Nothing was marked as processed that was not "
                f"stored; try again."
            ) from None


def _size(data: Any) -> int | None:
    if not data:
        return None
    value = data.get(b"RFC822.SIZE")
    return int(value) if value is not None else None


def _internal_date(data: Any) -> datetime | None:
    value = data.get(b"INTERNALDATE") if data else None
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:  # imapclient's normalised form: local time of this machine
        value = value.astimezone()
    return value.astimezone(UTC).replace(tzinfo=None)


def _body(data: Any) -> bytes | None:
    if not data:
        return None
    value = data.get(b"BODY[]")
    if value is None:
        return None
    return bytes(value)


def _groups_by_bytes(items: Sequence[tuple[int, int]], limit: int) -> Iterator[list[int]]:
    group: list[int] = []
    total = 0
    for uid, size in items:
        if group and total + size > limit:
            yield group
            group, total = [], 0
        group.append(uid)
        total += size
    if group:
        yield group


def _starttls(client: Any, context: ssl.SSLContext | None, where: str,
              settings: MailSettings, timeout_s: float) -> None:
    try:
        if not client.has_capability("STARTTLS"):
            raise CapabilityError("STARTTLS")
        client.starttls(context)
    except CapabilityError:
        raise MailboxUnavailable(
            f"The mail server {where} does not offer STARTTLS, so the password cannot be "
            f"sent safely. Use imap_security = \"ssl\" (usually port 993) if the server "
            f"supports it."
        ) from None
    except Exception as error:
        raise _unavailable(error, where, settings, timeout_s) from None


def _login(client: Any, settings: MailSettings, password: str, where: str,
           timeout_s: float) -> None:
    try:
        client.login(settings.imap_user, password)
    except LoginError as error:
        said = _server_text(error, password)
        raise MailboxLoginFailed(
            f"The mail server {where} refused the login of {settings.imap_user!r}"
            + (f" ({said})" if said else "")
            + ": the user name or the password is wrong, or the account is locked. Check the "
            "user name in the mail settings and enter the password again."
        ) from None
    except Exception as error:
        raise _unavailable(error, where, settings, timeout_s) from None


def _select(client: Any, settings: MailSettings, where: str,
            timeout_s: float) -> tuple[int, str]:
    folder = settings.imap_folder
    try:
        if not client.folder_exists(folder):
            names = sorted(str(entry[2]) for entry in client.list_folders())
            shown = ", ".join(names[:20]) + (" …" if len(names) > 20 else "")
            raise MailboxFolderMissing(
                f"The mailbox {settings.imap_user} on {where} has no folder {folder!r}. "
                f"Folders there: {shown or 'none'}. Correct imap_folder in the mail settings."
            )
        selected = client.select_folder(folder)
    except UserError:
        raise
    except Exception as error:
        raise _unavailable(error, where, settings, timeout_s) from None
    uidvalidity = selected.get(b"UIDVALIDITY")
    if uidvalidity is None:
        raise MailboxUnavailable(
            f"The mail server {where} did not say the UIDVALIDITY of folder {folder!r}, so "
            f"caseapp cannot tell new messages from ones it already took in."
        )
    return int(uidvalidity), choose_processed_flag(selected.get(b"PERMANENTFLAGS"))


def _close_quietly(client: Any) -> None:
    try:
        client.logout()
    except Exception:
        with contextlib.suppress(Exception):
            client.shutdown()


def _server_text(error: BaseException, secret: str) -> str:
    text = str(error.args[0] if error.args else "")
    if text.startswith(("b'", 'b"')):
        text = text[2:-1]
    if secret and secret in text:
        text = text.replace(secret, "***")
    return text.strip()


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError | socket.timeout):
        return "no answer in time"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _unavailable(error: BaseException, where: str, settings: MailSettings,
                 timeout_s: float) -> MailboxUnavailable:
    hint = "Check the server name and port in the mail settings and the network connection."
    if isinstance(error, ssl.SSLCertVerificationError):
        reason = (f"the server's certificate could not be verified "
                  f"({error.verify_message or error.reason})")
        hint = ("The server may not be who it claims to be; ask IT whether its certificate "
                "(or the company CA) should be trusted on this workstation.")
    elif isinstance(error, ssl.SSLError):
        reason = f"the TLS handshake failed ({error.reason or error})"
        hint = ("Check imap_security: \"ssl\" is for a port that starts with TLS (usually "
                "993), \"starttls\" for one that starts plain (usually 143).")
    elif isinstance(error, TimeoutError | socket.timeout):
        reason = f"no answer within {timeout_s:g} seconds"
        if settings.imap_security != "ssl":
            hint += (" If that port expects TLS from the start (993), set "
                     "imap_security = \"ssl\".")
    elif isinstance(error, ConnectionRefusedError):
        reason = "the connection was refused (no mail server is listening on that port)"
    elif isinstance(error, socket.gaierror):
        reason = "the server name cannot be found"
    elif isinstance(error, OSError):
        reason = error.strerror or str(error) or type(error).__name__
    elif isinstance(error, imaplib.IMAP4.error):
        reason = f"the server answered unexpectedly ({_server_text(error, '')})"
    else:
        reason = f"{type(error).__name__}: {error}"
    return MailboxUnavailable(f"Cannot use the mail server {where}: {reason}. {hint}")
