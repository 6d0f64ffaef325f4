"""Letters by email: the message built with the standard ``email`` package, sent with
``smtplib``.

The message is plain text (the letter's text) with the letter's PDF attached; its
subject carries the case reference and, when the requester wrote to us, it answers
their last message (In-Reply-To/References), so a reply threads back to the case
either way. :func:`build_letter_message` returns the exact bytes that are sent, which
the case thread keeps.

Sending uses TLS with certificate and host name checks (``starttls`` or ``ssl``); plain
SMTP is allowed only to a server on this machine (``SmtpSettings`` refuses it
elsewhere). Every failure is a typed error with a message for staff:
:class:`SmtpUnavailable` (no connection, timeout, TLS, connection lost),
:class:`SmtpLoginFailed`, :class:`SmtpRefused` (recipient, sender or message refused),
or :class:`~caseapp.errors.ConfigError`. No message and no log line carries the
password; ``smtplib``'s debug output stays off.
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from caseapp.config import SmtpSettings
from caseapp.errors import ConfigError, EnvironmentProblem, InvalidInput, UserError

DEFAULT_TIMEOUT_S = 30.0
MAX_REFERENCES = 20
"""Message-IDs kept in References: enough for threading, short enough for any server."""


class SmtpUnavailable(EnvironmentProblem):
    """The SMTP server cannot be reached, TLS failed, or the connection broke."""


class SmtpLoginFailed(UserError):
    """The server refused the user name or password (or offers no login)."""


class SmtpRefused(UserError):
    """The server refused the recipient, the sender address or the message."""


@dataclass(frozen=True)
class OutgoingLetter:
    """What goes into the email: addresses, texts and the PDF."""

    to: str
    to_name: str
    subject: str
    text: str
    pdf: bytes
    filename: str
    in_reply_to: str = ""
    """The Message-ID (``<…>``) of the message this answers, "" for none."""
    references: tuple[str, ...] = ()
    """The thread's Message-IDs before ``in_reply_to`` (oldest first)."""


@dataclass(frozen=True)
class BuiltMessage:
    raw: bytes
    """The message exactly as sent (CRLF line ends)."""
    message_id: str
    references: tuple[str, ...]


def check_address(address: str, what: str = "The email address") -> str:
    """``address`` stripped, or :class:`InvalidInput` saying why it cannot be used."""
    value = address.strip()
    local, at, domain = value.rpartition("@")
    if (not at or not local or "." not in domain.strip(".")
            or any(c.isspace() or c in '<>,;"()' for c in value)):
        raise InvalidInput(f"{what} {value!r} is not one email address such as "
                           "name@example.com.")
    try:
        Address(addr_spec=value)
    except (ValueError, IndexError):
        raise InvalidInput(f"{what} {value!r} is not a valid email address.") from None
    return value


def build_letter_message(settings: SmtpSettings, letter: OutgoingLetter, *,
                         now: datetime) -> BuiltMessage:
    """The letter as an email: text body, PDF attached, threading headers.

    ``now`` is naive UTC (as the clock gives it); the Date header is written in UTC.
    """
    if not settings.configured:
        raise not_configured()
    to = check_address(letter.to)
    sender_domain = settings.from_address.rpartition("@")[2]
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = Address(settings.from_name, addr_spec=settings.from_address)
    message["To"] = Address(letter.to_name.replace("\n", " ").strip(), addr_spec=to)
    message["Subject"] = " ".join(letter.subject.split())
    message["Date"] = format_datetime(now.replace(tzinfo=UTC))
    message_id = make_msgid(idstring="letter", domain=sender_domain)
    message["Message-ID"] = message_id
    references: tuple[str, ...] = ()
    if letter.in_reply_to:
        chain = [ref for ref in letter.references if ref != letter.in_reply_to]
        references = (*chain[-(MAX_REFERENCES - 1):], letter.in_reply_to)
        message["In-Reply-To"] = letter.in_reply_to
        message["References"] = " ".join(references)
    message.set_content(letter.text, charset="utf-8", cte="quoted-printable")
    message.add_attachment(letter.pdf, maintype="application", subtype="pdf",
                           filename=letter.filename)
    return BuiltMessage(message.as_bytes(policy=policy.SMTP), message_id, references)


@dataclass(frozen=True)
class SmtpCheck:
    """What a test connection found."""

    where: str
    security: str
    user: str

    def sentence(self) -> str:
        how = {"starttls": "with STARTTLS", "ssl": "over TLS",
               "none": "without encryption (this machine only)"}[self.security]
        login = f"logged in as {self.user}" if self.user else "no login needed"
        return f"Connected to {self.where} {how}, {login}: letters can be emailed."


def check_server(settings: SmtpSettings, password: str | None, *,
                 ssl_context: ssl.SSLContext | None = None,
                 timeout_s: float = DEFAULT_TIMEOUT_S) -> SmtpCheck:
    """Connect, secure the connection and log in; nothing is sent."""
    with _session(settings, password, ssl_context, timeout_s):
        return SmtpCheck(settings.where, settings.security, settings.user)


def send_raw(settings: SmtpSettings, password: str | None, raw: bytes,
             recipients: Sequence[str], *, ssl_context: ssl.SSLContext | None = None,
             timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
    """Hand ``raw`` to the server for ``recipients``; returns once the server accepted it
    for every one of them (else raises, and the message is not to be recorded as sent)."""
    secret = password or ""
    with _session(settings, password, ssl_context, timeout_s) as client:
        options = ["SMTPUTF8"] if not all(r.isascii() for r in recipients) else []
        if options and not client.has_extn("smtputf8"):
            raise SmtpRefused(f"The SMTP server {settings.where} cannot send to an address "
                              f"with non-English letters ({', '.join(recipients)}).")
        try:
            refused = client.sendmail(settings.from_address, list(recipients), raw,
                                      mail_options=options)
        except smtplib.SMTPRecipientsRefused as error:
            raise _recipients_refused(settings, error.recipients, secret) from None
        except smtplib.SMTPSenderRefused as error:
            raise SmtpRefused(
                f"The SMTP server {settings.where} refused the sender address "
                f"{settings.from_address} ({_reply(error.smtp_code, error.smtp_error, secret)}"
                "). Check the from address in Settings → Outgoing mail: the server may "
                "allow this login to send only as its own address.") from None
        except smtplib.SMTPDataError as error:
            raise SmtpRefused(
                f"The SMTP server {settings.where} refused the message "
                f"({_reply(error.smtp_code, error.smtp_error, secret)}).") from None
        except UserError:
            raise
        except Exception as error:
            raise _unavailable(error, settings, timeout_s, secret) from None
        if refused:  # some recipients refused, others accepted: we only ever send to one
            raise _recipients_refused(settings, refused, secret)


# --- the connection ------------------------------------------------------------------------


@contextlib.contextmanager
def _session(settings: SmtpSettings, password: str | None,
             ssl_context: ssl.SSLContext | None, timeout_s: float) -> Iterator[smtplib.SMTP]:
    if not settings.configured:
        raise not_configured()
    if settings.user and not password:
        raise ConfigError(f"No password is stored for {settings.user} at {settings.host}. "
                          "Store it in Settings → Outgoing mail, or run: caseapp smtp "
                          "password")
    secret = password or ""
    context = ((ssl_context or ssl.create_default_context())
               if settings.security != "none" else None)
    client: smtplib.SMTP
    try:
        if settings.security == "ssl":
            client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout_s,
                                      context=context)
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=timeout_s)
    except Exception as error:
        raise _unavailable(error, settings, timeout_s, secret) from None
    try:
        try:
            client.ehlo()
            if settings.security == "starttls":
                if not client.has_extn("starttls"):
                    raise SmtpUnavailable(
                        f"The SMTP server {settings.where} does not offer STARTTLS, so "
                        "letters cannot be sent to it safely. Use security \"ssl\" (usually "
                        "port 465) if the server supports it.")
                client.starttls(context=context)
                client.ehlo()
        except UserError:
            raise
        except Exception as error:
            raise _unavailable(error, settings, timeout_s, secret) from None
        if settings.user:
            _login(client, settings, secret, timeout_s)
        yield client
    finally:
        _quit_quietly(client)


def _login(client: smtplib.SMTP, settings: SmtpSettings, password: str,
           timeout_s: float) -> None:
    try:
        client.login(settings.user, password)
    except smtplib.SMTPAuthenticationError as error:
        said = _reply(error.smtp_code, error.smtp_error, password)
        raise SmtpLoginFailed(
            f"The SMTP server {settings.where} refused the login of {settings.user!r} "
            f"({said}): the user name or the password is wrong, or the account may not "
            "send mail. Check the user in Settings → Outgoing mail and enter the password "
            "again.") from None
    except smtplib.SMTPNotSupportedError:
        raise SmtpLoginFailed(
            f"The SMTP server {settings.where} offers no login on this connection. Leave "
            "the user empty if it accepts mail without one, or use security \"starttls\" "
            "or \"ssl\": many servers offer a login only over TLS.") from None
    except smtplib.SMTPException as error:
        if isinstance(error, smtplib.SMTPServerDisconnected | smtplib.SMTPResponseException):
            raise _unavailable(error, settings, timeout_s, password) from None
        raise SmtpLoginFailed(  # "No suitable authentication method found."
            f"The SMTP server {settings.where} offers no login method caseapp can use "
            f"({_scrub(str(error), password)}).") from None
    except Exception as error:
        raise _unavailable(error, settings, timeout_s, password) from None


def _quit_quietly(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except Exception:
        with contextlib.suppress(Exception):
            client.close()


# --- messages for staff ----------------------------------------------------------------------


def not_configured() -> ConfigError:
    """The error for sending with no server or from address set."""
    return ConfigError("Outgoing mail is not set up: give the SMTP server and the from "
                       "address in Settings → Outgoing mail, or run: caseapp smtp set "
                       "--host HOST --from ADDRESS")


def _scrub(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


def _reply(code: int, text: bytes | str, secret: str) -> str:
    said = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    said = " ".join(_scrub(said, secret).split())[:300]
    return f"{code} {said}".strip()


def _recipients_refused(settings: SmtpSettings, refused: dict[str, tuple[int, bytes]],
                        secret: str) -> SmtpRefused:
    said = "; ".join(f"{address}: {_reply(code, text, secret)}"
                     for address, (code, text) in refused.items())
    return SmtpRefused(f"The SMTP server {settings.where} refused the recipient ({said}). "
                       "Check the email address on the case; nothing was sent.")


def _unavailable(error: BaseException, settings: SmtpSettings, timeout_s: float,
                 secret: str) -> UserError:
    where = settings.where
    underlying = error.__cause__ or error.__context__
    if isinstance(error, smtplib.SMTPServerDisconnected) and isinstance(underlying, OSError):
        error = underlying  # smtplib reports a read timeout as "unexpectedly closed"
    hint = ("Check the server name, port and security in Settings → Outgoing mail and the "
            "network connection.")
    if isinstance(error, ssl.SSLCertVerificationError):
        reason = (f"the server's certificate could not be verified "
                  f"({error.verify_message or error.reason})")
        hint = ("The server may not be who it claims to be; ask IT whether its certificate "
                "(or the company CA) should be trusted on this workstation.")
    elif isinstance(error, ssl.SSLError):
        reason = f"the TLS handshake failed ({error.reason or error})"
        hint = ("Check the security: \"ssl\" is for a port that starts with TLS (usually "
                "465), \"starttls\" for one that starts plain (usually 587).")
    elif isinstance(error, TimeoutError | socket.timeout):
        reason = f"no answer within {timeout_s:g} seconds"
        if settings.security != "ssl":
            hint += " If that port expects TLS from the start (465), use security \"ssl\"."
    elif isinstance(error, ConnectionRefusedError):
        reason = "the connection was refused (no mail server is listening on that port)"
    elif isinstance(error, socket.gaierror):
        reason = "the server name cannot be found"
    elif isinstance(error, smtplib.SMTPServerDisconnected):
        reason = "the server closed the connection"
        if settings.security == "ssl":
            hint += " If that port starts plain (587 or 25), use security \"starttls\"."
    elif isinstance(error, smtplib.SMTPResponseException):
        reason = (f"the server answered unexpectedly "
                  f"({_reply(error.smtp_code, error.smtp_error, secret)})")
    elif isinstance(error, OSError):
        reason = error.strerror or _scrub(str(error), secret) or type(error).__name__
    else:
        reason = f"{type(error).__name__}: {_scrub(str(error), secret)}"
    return SmtpUnavailable(f"Cannot send through the SMTP server {where}: {reason}. {hint}")
