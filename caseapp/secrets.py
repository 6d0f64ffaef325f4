"""Secrets (the mailbox password) in the operating system's keyring, never in a file.

All secrets live under the keyring service ``caseapp``; the name says what a secret is
for, e.g. ``imap:privacy@mail.example.com`` (see ``MailSettings.secret_name``).

The keyring library picks a backend by itself, and on a machine without a desktop
keyring that can be a file that stores passwords in plain text (keyrings.alt's
``PlaintextKeyring``) or a backend that can store nothing. Such backends are refused
here with :class:`SecretStoreUnavailable`, whose message tells staff what to do; so is
a locked keyring or any other keyring failure. Nothing in this module writes a secret
to a file or a log, and no error message carries one.
"""

from __future__ import annotations

import keyring
import keyring.backends.chainer
import keyring.backends.fail
import keyring.backends.null
import keyring.errors
from keyring.backend import KeyringBackend

from caseapp.errors import EnvironmentProblem

SERVICE = "caseapp"

_WHAT_TO_DO = (
    "Install/unlock the desktop keyring (GNOME Keyring or KWallet: log in to the desktop "
    "session, or unlock the keyring when asked) and try again, or ask IT to set up a "
    "secure keyring for this account."
)


class SecretStoreUnavailable(EnvironmentProblem):
    """No secure keyring can be used now (none installed, only a plaintext one, locked)."""


def store_secret(name: str, value: str, *, backend: KeyringBackend | None = None) -> None:
    """Keep ``value`` under ``name`` in the secure keyring (replacing an older value)."""
    if not name:
        raise ValueError("a secret needs a name")
    store = _secure_backend(backend, doing="the password was not stored")
    try:
        store.set_password(SERVICE, name, value)
    except Exception as error:  # any backend failure: a clear message, never a traceback
        raise _failure(error, store, "the password was not stored", value) from None


def get_secret(name: str, *, backend: KeyringBackend | None = None) -> str | None:
    """The secret stored under ``name``, or None if there is none."""
    store = _secure_backend(backend, doing="the password could not be read")
    try:
        return store.get_password(SERVICE, name)
    except Exception as error:
        raise _failure(error, store, "the password could not be read", None) from None


def delete_secret(name: str, *, backend: KeyringBackend | None = None) -> None:
    """Forget the secret stored under ``name``; nothing happens if there is none."""
    store = _secure_backend(backend, doing="the password was not removed")
    try:
        if store.get_password(SERVICE, name) is None:
            return
        store.delete_password(SERVICE, name)
    except keyring.errors.PasswordDeleteError:
        # Gone in the meantime (another window removed it): the wanted end state.
        if _still_there(store, name):
            raise SecretStoreUnavailable(
                f"The keyring ({_name(store)}) refused to remove the password. "
                + _WHAT_TO_DO
            ) from None
    except Exception as error:
        raise _failure(error, store, "the password was not removed", None) from None


def keyring_description(backend: KeyringBackend | None = None) -> str:
    """Which keyring secrets would go to, for a settings page or a diagnostics line."""
    return _name(_secure_backend(backend, doing="no password can be stored"))


# --- which backends are acceptable -------------------------------------------------------


def is_secure_backend(backend: KeyringBackend) -> bool:
    """True for a backend that keeps secrets safe: not plaintext, not a no-op or failure."""
    if isinstance(backend, keyring.backends.chainer.ChainerBackend):
        return bool(_secure_members(backend))
    if isinstance(backend, keyring.backends.fail.Keyring | keyring.backends.null.Keyring):
        return False
    cls = type(backend)
    if "plaintext" in f"{cls.__module__}.{cls.__name__}".lower():
        return False
    try:
        priority = float(backend.priority)
    except Exception:  # a backend that cannot even say its priority is not viable
        return False
    return priority >= 1


def _secure_members(chainer: keyring.backends.chainer.ChainerBackend) -> list[KeyringBackend]:
    try:
        members: list[KeyringBackend] = list(chainer.backends)
    except Exception:
        return []
    return [member for member in members if is_secure_backend(member)]


def _secure_backend(backend: KeyringBackend | None, *, doing: str) -> KeyringBackend:
    if backend is None:
        try:
            backend = keyring.get_keyring()
        except Exception as error:  # e.g. PYTHON_KEYRING_BACKEND names a missing module
            raise SecretStoreUnavailable(
                f"No secure keyring is available on this workstation (the keyring could not "
                f"be opened: {type(error).__name__}: {error}); {doing}. {_WHAT_TO_DO}"
            ) from None
    if isinstance(backend, keyring.backends.chainer.ChainerBackend):
        # Use only the secure members: a chain that also holds a plaintext file would fall
        # through to it when the secure one fails, and write the password there.
        members = _secure_members(backend)
        if members:
            return max(members, key=lambda member: float(member.priority))
        found = ", ".join(_name(m) for m in _members_or_empty(backend)) or "none"
        raise SecretStoreUnavailable(
            f"No secure keyring is available on this workstation (found: {found}); "
            f"{doing}. {_WHAT_TO_DO}"
        )
    if not is_secure_backend(backend):
        raise SecretStoreUnavailable(
            f"No secure keyring is available on this workstation (found: {_name(backend)}); "
            f"{doing}. {_WHAT_TO_DO}"
        )
    return backend


def _members_or_empty(chainer: keyring.backends.chainer.ChainerBackend) -> list[KeyringBackend]:
    try:
        return list(chainer.backends)
    except Exception:
        return []


def _name(backend: KeyringBackend) -> str:
    cls = type(backend)
    # keyring's own backends are all called "Keyring": name their module too.
    return f"{cls.__module__}.{cls.__name__}" if cls.__name__ == "Keyring" else cls.__name__


def _still_there(store: KeyringBackend, name: str) -> bool:
    try:
        return store.get_password(SERVICE, name) is not None
    except Exception:
        return True


def _failure(
    error: Exception, store: KeyringBackend, doing: str, secret: str | None
) -> SecretStoreUnavailable:
    if isinstance(error, keyring.errors.KeyringLocked):
        reason = "the keyring is locked"
    else:
        detail = str(error)
        if secret and secret in detail:  # never let a password reach a message or a log
            detail = detail.replace(secret, "***")
        reason = f"{type(error).__name__}: {detail}" if detail else type(error).__name__
    return SecretStoreUnavailable(f"The keyring ({_name(store)}) failed: {reason}; {doing}. "
                                  + _WHAT_TO_DO)
