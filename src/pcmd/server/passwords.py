"""Web users' passwords: argon2 hashes of the NFC form, and the minimum length."""

from __future__ import annotations

import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pcmd.errors import PcmdError

MIN_PASSWORD = 10

_hasher = PasswordHasher()


def check_password(password: str) -> None:
    if len(normalised(password)) < MIN_PASSWORD:
        raise PcmdError(
            f"Mật khẩu phải có ít nhất {MIN_PASSWORD} ký tự (the password needs at least "
            f"{MIN_PASSWORD} characters)."
        )


def normalised(text: str) -> str:
    """The NFC form: a password typed on a keyboard that sends decomposed letters is the same."""
    return unicodedata.normalize("NFC", text)


def hash_password(password: str) -> str:
    """The argon2 hash of the password's NFC form: "mật khẩu" typed on a keyboard that sends
    decomposed letters (a + combining marks) is the same password as its composed form."""
    return _hasher.hash(normalised(password))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_password(password_hash: str, password: str) -> bool:
    """The NFC form first; then, for hashes made before passwords were normalised, the text as
    typed and its decomposed form (more argon2 checks only for text with such letters)."""
    tries = dict.fromkeys((normalised(password), password, unicodedata.normalize("NFD", password)))
    return any(_verify(password_hash, text) for text in tries)
