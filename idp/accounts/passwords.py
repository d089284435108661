"""argon2id password hashing with parameters from the configuration.

Parameters default to OWASP's login-service choice (m=19 MiB, t=2, p=1); a stored hash made
with other parameters is re-hashed at the next successful login. Unknown accounts are checked
against a dummy hash so that both failures cost the same work.
"""

import contextlib

from argon2 import PasswordHasher
from argon2 import Type
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError
from flask import current_app

_EXT = "idp.password_hasher"


def hasher() -> PasswordHasher:
    ext = current_app.extensions
    if _EXT not in ext:
        c = current_app.config
        ph = PasswordHasher(time_cost=c["ARGON2_TIME_COST"], memory_cost=c["ARGON2_MEMORY_COST"],
                            parallelism=c["ARGON2_PARALLELISM"], type=Type.ID)
        ext[_EXT] = (ph, ph.hash("dummy password for unknown accounts"))
    return ext[_EXT][0]


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> tuple[bool, str | None]:
    """Return (ok, new_hash); new_hash is set when the stored hash should be replaced."""
    ph = hasher()
    if not stored_hash:
        _burn(password)
        return False, None
    try:
        ph.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False, None
    return True, (ph.hash(password) if ph.check_needs_rehash(stored_hash) else None)


def _burn(password):
    ph, dummy = current_app.extensions[_EXT]
    with contextlib.suppress(VerificationError):
        ph.verify(dummy, password)
