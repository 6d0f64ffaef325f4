"""The privacy mailbox over IMAP, against a real Dovecot (tests/imap_server.py), and the
mail settings that point at it (caseapp.config)."""

from __future__ import annotations

import os
import socket
import stat
import time
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caseapp.config import (
    MailSettings,
    Paths,
    Settings,
    current_os_user,
    load_settings,
    save_settings,
    settings_toml,
)
from caseapp.errors import ConfigError, EnvironmentProblem, UserError
from caseapp.intake.imap import (
    PROCESSED_KEYWORD,
    SEEN,
    Mailbox,
    MailboxFolderMissing,
    MailboxLoginFailed,
    MailboxUnavailable,
    OversizedMessage,
    choose_processed_flag,
)
from tests.imap_server import ImapAccount, ImapServer


def message(subject: str, body: str = "Please delete my data.", size: int = 0) -> bytes:
    text = (
        "From: Pat Doe <pat@example.net>\r\n"
        "To: privacy@brand.example\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '.')}@example.net>\r\n"
        "Date: Wed, 04 Mar 2026 10:00:00 -0500\r\n"
        "\r\n"
        f"{body}\r\n"
    )
    if size > len(text):
        text += "x" * (size - len(text) - 2) + "\r\n"
    return text.encode()


def connect(account: ImapAccount, **kwargs: object) -> Mailbox:
    return Mailbox.connect(account.settings(), account.password, timeout_s=10,
                           **kwargs)  # type: ignore[arg-type]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the mailbox -------------------------------------------------------------------------


def test_pending_fetch_mark_processed_round_trip(imap_account: ImapAccount) -> None:
    raws = [message(f"request {n}") for n in range(3)]
    uids = [imap_account.append(raw) for raw in raws]
    with connect(imap_account) as mailbox:
        assert mailbox.uses_custom_keyword
        assert mailbox.processed_flag == PROCESSED_KEYWORD == "$CaseappProcessed"
        assert mailbox.pending_uids() == uids
        fetched = list(mailbox.fetch(mailbox.pending_uids()))
        assert fetched == list(zip(uids, raws, strict=True))
        mailbox.mark_processed(uids[:2])
        assert mailbox.pending_uids() == uids[2:]
        assert mailbox.oversized == []
    with connect(imap_account) as again:  # the mark is on the server, not in the object
        assert again.pending_uids() == uids[2:]
    assert PROCESSED_KEYWORD in imap_account.flags(uids[0])


def test_fetch_does_not_set_seen_and_staff_reading_does_not_hide_mail(
    imap_account: ImapAccount,
) -> None:
    unread = imap_account.append(message("unread"))
    read_by_staff = imap_account.append(message("read in Outlook"), flags=(SEEN,))
    with connect(imap_account) as mailbox:
        assert mailbox.pending_uids() == [unread, read_by_staff]
        assert len(list(mailbox.fetch([unread, read_by_staff]))) == 2
        assert SEEN not in imap_account.flags(unread)
        mailbox.mark_processed([unread])
    assert imap_account.flags(unread) == {PROCESSED_KEYWORD}  # still unread for staff
    assert imap_account.flags(read_by_staff) == {SEEN}


def test_uidvalidity_is_stable_and_key_names_the_mailbox(imap_account: ImapAccount) -> None:
    imap_account.append(message("one"))
    with connect(imap_account) as first:
        validity, key = first.uidvalidity, first.key
    with connect(imap_account) as second:
        assert second.uidvalidity == validity == imap_account.uidvalidity()
        assert second.key == key
    server = imap_account.server
    assert key == f"{imap_account.user}@{server.host}:{server.port}/INBOX"


def test_new_messages_after_a_fetch_are_pending(imap_account: ImapAccount) -> None:
    first = imap_account.append(message("first"))
    with connect(imap_account) as mailbox:
        assert [uid for uid, _ in mailbox.fetch(mailbox.pending_uids())] == [first]
        mailbox.mark_processed([first])
        second = imap_account.append(message("second"))  # arrives while connected
        assert mailbox.pending_uids() == [second]
        assert [uid for uid, _ in mailbox.fetch(mailbox.pending_uids())] == [second]
    third = imap_account.append(message("third"))
    with connect(imap_account) as mailbox:
        assert mailbox.pending_uids() == [second, third]


def test_fetch_in_batches_keeps_uid_order_and_skips_vanished(imap_account: ImapAccount) -> None:
    uids = [imap_account.append(message(f"m{n}")) for n in range(7)]
    with imap_account.session() as client:  # another program deletes one for good
        client.select_folder("INBOX")
        client.delete_messages([uids[3]])
        client.expunge()
    with connect(imap_account) as mailbox:
        got = [uid for uid, _ in mailbox.fetch(reversed(uids), batch=2)]
    assert got == uids[:3] + uids[4:]
    with pytest.raises(ValueError):
        next(mailbox.fetch(uids, batch=0))


def test_oversized_message_is_reported_not_fetched(imap_account: ImapAccount) -> None:
    small = imap_account.append(message("small"))
    big_raw = message("big", size=5000)
    big = imap_account.append(big_raw)
    with connect(imap_account, max_message_bytes=2000) as mailbox:
        fetched = list(mailbox.fetch(mailbox.pending_uids()))
        assert [uid for uid, _ in fetched] == [small]
        assert mailbox.oversized == [OversizedMessage(uid=big, size=len(big_raw))]
        list(mailbox.fetch([big]))  # asked again: reported once
        assert mailbox.oversized == [OversizedMessage(uid=big, size=len(big_raw))]
        mailbox.mark_processed([small])
        assert mailbox.pending_uids() == [big]  # left for staff to deal with
    assert SEEN not in imap_account.flags(big)


def test_another_folder(imap_account: ImapAccount) -> None:
    imap_account.create_folder("Privacy")
    in_inbox = imap_account.append(message("inbox"))
    in_folder = imap_account.append(message("privacy"), folder="Privacy")
    settings = imap_account.settings(folder="Privacy")
    with Mailbox.connect(settings, imap_account.password) as mailbox:
        assert mailbox.pending_uids() == [in_folder]
        assert mailbox.key.endswith("/Privacy")
        assert mailbox.uidvalidity == imap_account.uidvalidity("Privacy")
    with connect(imap_account) as inbox:
        assert inbox.pending_uids() == [in_inbox]


def test_wrong_password_is_login_failed_without_echoing_it(imap_account: ImapAccount) -> None:
    with pytest.raises(MailboxLoginFailed) as caught:
        Mailbox.connect(imap_account.settings(), "Wr0ng-Passw0rd", timeout_s=10)
    message_text = caught.value.message
    assert imap_account.user in message_text
    assert "password is wrong" in message_text
    assert "Wr0ng-Passw0rd" not in message_text and imap_account.password not in message_text
    assert isinstance(caught.value, UserError)
    with pytest.raises(MailboxLoginFailed):
        Mailbox.connect(imap_account.settings(), "", timeout_s=10)


def test_unknown_user_is_login_failed(dovecot: ImapServer) -> None:
    settings = MailSettings(imap_host=dovecot.host, imap_port=dovecot.port,
                            imap_user="nobody-here", imap_security="none")
    with pytest.raises(MailboxLoginFailed, match="nobody-here"):
        Mailbox.connect(settings, "whatever", timeout_s=10)


def test_closed_port_is_unavailable_quickly() -> None:
    port = closed_port()
    settings = MailSettings(imap_host="127.0.0.1", imap_port=port, imap_user="privacy",
                            imap_security="none")
    started = time.monotonic()
    with pytest.raises(MailboxUnavailable) as caught:
        Mailbox.connect(settings, "pw", timeout_s=10)
    assert time.monotonic() - started < 2
    assert f"127.0.0.1:{port}" in caught.value.message
    assert "refused" in caught.value.message
    assert isinstance(caught.value, EnvironmentProblem)


def test_silent_server_is_unavailable_after_the_timeout(imap_account: ImapAccount) -> None:
    """Plain IMAP to the TLS port: the server waits for a TLS hello that never comes."""
    settings = imap_account.settings(security="none")
    settings = MailSettings(imap_host=settings.imap_host, imap_port=imap_account.server.tls_port,
                            imap_user=settings.imap_user, imap_security="none")
    started = time.monotonic()
    with pytest.raises(MailboxUnavailable, match=r"no answer within 0\.5 seconds") as caught:
        Mailbox.connect(settings, imap_account.password, timeout_s=0.5)
    assert time.monotonic() - started < 5
    assert 'imap_security = "ssl"' in caught.value.message


def test_missing_folder(imap_account: ImapAccount) -> None:
    with pytest.raises(MailboxFolderMissing) as caught:
        Mailbox.connect(imap_account.settings(folder="Privacy Requests"),
                        imap_account.password, timeout_s=10)
    assert "'Privacy Requests'" in caught.value.message
    assert "INBOX" in caught.value.message  # what there is instead


def test_unconfigured_settings_are_refused_before_connecting() -> None:
    with pytest.raises(ConfigError, match="not set up"):
        Mailbox.connect(MailSettings(), "pw")


def test_closed_mailbox_says_so(imap_account: ImapAccount) -> None:
    with connect(imap_account) as mailbox:
        pass
    with pytest.raises(RuntimeError, match="closed"):
        mailbox.pending_uids()
    mailbox.close()  # twice is fine


def test_connection_lost_midway_is_unavailable(imap_account: ImapAccount) -> None:
    imap_account.append(message("one"))
    with connect(imap_account) as mailbox:
        mailbox._live().shutdown()  # the network goes away under the open session
        with pytest.raises(MailboxUnavailable, match="failed while trying to list"):
            mailbox.pending_uids()


# --- TLS ---------------------------------------------------------------------------------


def test_tls_with_the_test_ca(imap_account: ImapAccount, dovecot: ImapServer) -> None:
    uid = imap_account.append(message("over tls"))
    for host in ("localhost", "127.0.0.1"):
        settings = imap_account.settings(security="ssl", host=host)
        assert settings.imap_port == dovecot.tls_port
        with Mailbox.connect(settings, imap_account.password, timeout_s=10,
                             ssl_context=dovecot.ssl_context()) as mailbox:
            assert [u for u, _ in mailbox.fetch(mailbox.pending_uids())] == [uid]


def test_starttls_with_the_test_ca(imap_account: ImapAccount, dovecot: ImapServer) -> None:
    uid = imap_account.append(message("starttls"))
    settings = imap_account.settings(security="starttls", host="localhost")
    with Mailbox.connect(settings, imap_account.password, timeout_s=10,
                         ssl_context=dovecot.ssl_context()) as mailbox:
        assert mailbox.pending_uids() == [uid]


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_untrusted_certificate_is_refused(imap_account: ImapAccount, security: str) -> None:
    settings = imap_account.settings(security=security, host="localhost")  # type: ignore[arg-type]
    with pytest.raises(MailboxUnavailable, match="certificate could not be verified"):
        Mailbox.connect(settings, imap_account.password, timeout_s=10)  # system CAs only


def test_tls_to_the_plain_port_names_the_setting(imap_account: ImapAccount) -> None:
    plain = imap_account.settings()
    settings = MailSettings(imap_host="localhost", imap_port=plain.imap_port,
                            imap_user=plain.imap_user, imap_security="ssl")
    with pytest.raises(MailboxUnavailable, match="TLS handshake failed") as caught:
        Mailbox.connect(settings, imap_account.password, timeout_s=10,
                        ssl_context=imap_account.server.ssl_context())
    assert "imap_security" in caught.value.message


def test_processed_flag_falls_back_to_seen_without_custom_keywords() -> None:
    # Dovecot always allows keywords, so the fallback is decided from PERMANENTFLAGS here.
    dovecot_flags = (b"\\Answered", b"\\Flagged", b"\\Deleted", b"\\Seen", b"\\Draft", b"\\*")
    assert choose_processed_flag(dovecot_flags) == PROCESSED_KEYWORD
    assert choose_processed_flag(dovecot_flags[:-1]) == SEEN
    assert choose_processed_flag([b"\\Seen", b"$caseappprocessed"]) == PROCESSED_KEYWORD
    assert choose_processed_flag(None) == PROCESSED_KEYWORD  # RFC 3501: all permanent
    assert choose_processed_flag([]) == SEEN


# --- mail settings -----------------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CASEAPP_HOME", str(tmp_path))
    return tmp_path


def write_settings(home: Path, text: str) -> Path:
    file = home / "config" / "settings.toml"
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text, encoding="utf-8")
    return file


def test_mail_settings_are_read_from_the_mail_table(home: Path) -> None:
    write_settings(home, """
[mail]
imap_host = "imap.brand.example"
imap_user = "privacy@brand.example"
imap_folder = "Privacy"
poll_minutes = 5
""")
    mail = load_settings().mail
    assert mail == MailSettings(imap_host="imap.brand.example", imap_port=993,
                                imap_user="privacy@brand.example", imap_folder="Privacy",
                                imap_security="ssl", poll_minutes=5)
    assert mail.configured
    assert mail.secret_name == "imap:privacy@brand.example@imap.brand.example"


def test_default_port_follows_security(home: Path) -> None:
    write_settings(home, '[mail]\nimap_host = "h.example"\nimap_user = "u"\n'
                         'imap_security = "starttls"\n')
    assert load_settings().mail.imap_port == 143
    write_settings(home, '[mail]\nimap_host = "h.example"\nimap_user = "u"\n'
                         'imap_security = "starttls"\nimap_port = 1143\n')
    assert load_settings().mail.imap_port == 1143


def test_no_mail_table_means_not_set_up(home: Path) -> None:
    assert not load_settings().mail.configured
    write_settings(home, 'timezone = "America/Chicago"\n')
    assert load_settings().mail == MailSettings()


@pytest.mark.parametrize(("table", "expected"), [
    ('imap_host = "h"\nimap_user = "u"\nimap_port = 0', "imap_port must be a whole number from 1"),
    ('imap_host = "h"\nimap_user = "u"\nimap_port = "993"', "'imap_port' must be a whole number"),
    ('imap_host = "h"\nimap_user = "u"\nimap_port = true', "'imap_port' must be a whole number"),
    ('imap_host = "h"\nimap_user = "u"\nimap_security = "tls"',
     'imap_security must be "ssl", "starttls" or "none"'),
    ('imap_host = "mail.brand.example"\nimap_user = "u"\nimap_security = "none"',
     "only for a server on this machine (127.0.0.1 or localhost), not for mail.brand.example"),
    ('imap_host = "h"\nimap_user = "u"\npoll_minutes = -1', "poll_minutes must be"),
    ('imap_host = "h"\nimap_user = "u"\npoll_minutes = 1.5', "'poll_minutes' must be a whole"),
    ('imap_host = "h"\nimap_user = "u"\nimap_folder = " "', "imap_folder must name a folder"),
    ('imap_host = "h"\nimap_user = "u"\npassword = "x"', "unknown setting(s): password"),
    ('imap_user = "u"', "needs 'imap_host'"),
    ('imap_host = "h"', "needs 'imap_user'"),
    ('imap_host = "imaps://h.example"\nimap_user = "u"', "without a scheme"),
    ('imap_host = "h"\nimap_user = 5', "'imap_user' must be a string"),
])
def test_bad_mail_settings_are_named(home: Path, table: str, expected: str) -> None:
    file = write_settings(home, f"[mail]\n{table}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.message.startswith(f"{file}: ")
    assert expected in caught.value.message


def test_mail_must_be_a_table(home: Path) -> None:
    write_settings(home, 'mail = "imap.example.com"\n')
    with pytest.raises(ConfigError, match="'mail' must be a table"):
        load_settings()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST", "::1"])
def test_plain_imap_is_allowed_on_this_machine(host: str) -> None:
    MailSettings(imap_host=host, imap_port=143, imap_user="u", imap_security="none")


def test_save_settings_round_trips_atomically(home: Path) -> None:
    paths = Paths.for_user()
    settings = Settings(
        paths=paths,
        database_url='postgresql+psycopg://de"sk\\x@db.example/cases',  # TOML escapes
        timezone="America/Los_Angeles",
        user="Zoë Tab\tName",
        mail=MailSettings(imap_host="imap.brand.example", imap_port=993,
                          imap_user="privacy@brand.example", imap_folder="Privacy/Ünïcode",
                          imap_security="ssl", poll_minutes=10),
    )
    file = save_settings(settings)
    assert file == paths.settings_file
    assert load_settings() == settings
    assert stat.S_IMODE(file.stat().st_mode) == 0o600  # private to the account
    assert os.listdir(file.parent) == ["settings.toml"]  # no temporary file left over
    # A password in database_url is never written (it belongs in the keyring): refused,
    # and the file is left as it was.
    before = file.read_bytes()
    with_password = replace(settings,
                            database_url="postgresql+psycopg://desk:pw@db.example/cases")
    with pytest.raises(ConfigError, match="database_url holds a password"):
        save_settings(with_password)
    assert file.read_bytes() == before
    assert os.listdir(file.parent) == ["settings.toml"]
    changed = Settings(paths=paths, mail=MailSettings())
    save_settings(changed)
    assert load_settings() == changed
    text = file.read_text()
    assert "[mail]" not in text and "user" not in text


def test_saved_settings_never_hold_the_password(home: Path) -> None:
    settings = Settings(paths=Paths.for_user(), mail=MailSettings(
        imap_host="127.0.0.1", imap_port=1143, imap_user="privacy", imap_security="none"))
    text = settings_toml(settings)
    data = tomllib.loads(text)
    assert not [key for key in (*data, *data["mail"]) if "password" in key]
    assert 'imap_security = "none"' in text
    assert "user =" not in text.split("[mail]")[0]  # the login name is not frozen in
    assert settings.user == current_os_user()


def test_save_settings_to_a_read_only_folder_is_a_config_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        folder = tmp_path / "not-a-folder"
        folder.write_text("a file where the folder should be")
        target = folder / "settings.toml"
    else:
        folder = tmp_path / "ro"
        folder.mkdir(mode=0o500)
        target = folder / "settings.toml"
    with pytest.raises(ConfigError, match="cannot be written"):
        save_settings(Settings(paths=Paths.for_user()), target)


_toml_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@given(database_url=_toml_text, timezone=_toml_text, user=_toml_text.filter(bool),
       folder=_toml_text.filter(lambda s: bool(s.strip())))
def test_any_text_survives_the_toml_writer(
    database_url: str, timezone: str, user: str, folder: str
) -> None:
    settings = Settings(paths=Paths(Path("/d"), Path("/c")), database_url=database_url,
                        timezone=timezone, user=user,
                        mail=MailSettings(imap_host="h.example", imap_user="u",
                                          imap_folder=folder))
    data = tomllib.loads(settings_toml(settings))
    assert data.get("database_url", "") == database_url
    assert data["mail"]["imap_folder"] == folder
    if user != current_os_user():
        assert data["user"] == user

