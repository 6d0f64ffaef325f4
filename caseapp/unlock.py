"""The passphrase that unlocks the window after the screen lock (ui/screen_lock.py).

Each member of staff chooses their own. Only a scrypt hash of it is kept, in the secure
keyring of their account (caseapp.secrets refuses a plaintext keyring), under
``unlock:<user name>``: not in the settings file, not in the case database. Checking it
takes a noticeable fraction of a second on purpose (scrypt), so the window checks in
the background.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as random

from keyring.backend import KeyringBackend

from caseapp.errors import InvalidInput
from caseapp.secrets import delete_secret, get_secret, store_secret

MIN_LENGTH = 6
MAX_LENGTH = 200
_SCHEME = "scrypt"
_N, _R, _P = 2**14, 8, 1  # about 50 ms and 16 MB here: slow to guess, quick to type


def secret_name(username: str) -> str:
    return f"unlock:{username}"


def _hash(passphrase: str, salt: bytes) -> bytes:
    return hashlib.scrypt(passphrase.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P,
                          maxmem=64 * 1024 * 1024, dklen=32)


def _encode(salt: bytes, digest: bytes) -> str:
    return "$".join((_SCHEME, f"{_N},{_R},{_P}", base64.b64encode(salt).decode(),
                     base64.b64encode(digest).decode()))


def check_new_passphrase(passphrase: str, repeated: str) -> None:
    """Raise InvalidInput saying what is wrong with a passphrase being chosen."""
    if len(passphrase) < MIN_LENGTH:
        raise InvalidInput(f"The passphrase needs at least {MIN_LENGTH} characters.")
    if len(passphrase) > MAX_LENGTH:
        raise InvalidInput(f"The passphrase can have at most {MAX_LENGTH} characters.")
    if passphrase != repeated:
        raise InvalidInput("The two passphrases are not the same: type it again.")


def set_passphrase(username: str, passphrase: str, repeated: str, *,
                   backend: KeyringBackend | None = None) -> None:
    """Choose (or change) ``username``'s unlock passphrase."""
    check_new_passphrase(passphrase, repeated)
    salt = random.token_bytes(16)
    store_secret(secret_name(username), _encode(salt, _hash(passphrase, salt)),
                 backend=backend)


def has_passphrase(username: str, *, backend: KeyringBackend | None = None) -> bool:
    return get_secret(secret_name(username), backend=backend) is not None


def forget_passphrase(username: str, *, backend: KeyringBackend | None = None) -> None:
    delete_secret(secret_name(username), backend=backend)


def passphrase_matches(username: str, passphrase: str, *,
                       backend: KeyringBackend | None = None) -> bool:
    """Whether ``passphrase`` is ``username``'s; False when none is set or the stored
    value is not one this module wrote."""
    stored = get_secret(secret_name(username), backend=backend)
    if stored is None or len(passphrase) > MAX_LENGTH:
        return False
    try:
        scheme, params, salt_text, digest_text = stored.split("$")
        n, r, p = (int(value) for value in params.split(","))
        salt, digest = base64.b64decode(salt_text), base64.b64decode(digest_text)
    except ValueError:
        return False
    if scheme != _SCHEME or (n, r, p) != (_N, _R, _P):
        return False
    return hmac.compare_digest(_hash(passphrase, salt), digest)
