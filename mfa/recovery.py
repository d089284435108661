"""Recovery codes: ten single-use codes for when the usual second factor is lost.

NIST SP 800-63B section 5.1.2 calls them look-up secrets: at least 20 bits of entropy each
from an approved random generator, stored hashed, each used once. Ours are 10 characters of
Crockford's base32 (32 symbols, 50 bits), shown as ``xxxx-xxxx-xx``; on input case, spaces and
dashes are ignored and the look-alikes ``i``/``l`` and ``o`` read as ``1`` and ``0``.
They are stored as SHA-256 over the user id and the normalised code (a random 50-bit secret
needs no slow hash; the user id keeps one guess from testing every account's codes at once),
and compared by looking the hash up, never by comparing strings in Python.
"""

import hashlib
import secrets
import time

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from idp.audit.service import record
from idp.extensions import db
from mfa.base import SecondFactor
from mfa.models import RecoveryCode

KIND = "recovery"
COUNT = 10
LENGTH = 10
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford's base32: no i, l, o, u
_LOOK_ALIKES = str.maketrans({"i": "1", "l": "1", "o": "0", " ": None, "-": None})


class RecoveryCodes(SecondFactor):
    """The recovery-code plugin (see :mod:`mfa.base`)."""

    kind = KIND

    def amr(self, factor):
        """RFC 8176 section 2: ``otp``. A recovery code is a one-time password (a look-up
        secret, "something you have" in NIST SP 800-63B section 5.1.2), not ``kba``, which
        RFC 8176 ties to knowledge-based authentication such as security questions."""
        return ["otp"]

    def available_for(self, user):
        return remaining(user) > 0

    def verify(self, user, state, submission):
        return use(user, submission.get("code", ""))

    def notice(self, user):
        """A recovery code stands in for a lost or missing factor: the citizen is told how many
        are left and to review their factors."""
        return "accounts/recovery_used.html", {"remaining": remaining(user)}


def generate(user) -> list[str]:
    """Ten new codes for ``user``, replacing every earlier one (used or not). The codes are
    returned once, to be shown once; only their hashes are kept. Commits and audits."""
    codes = ["".join(secrets.choice(ALPHABET) for _ in range(LENGTH)) for _ in range(COUNT)]
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash(user.id, code))
                       for code in codes)
    record("mfa.recovery_codes.generated", user_id=user.id)  # commits
    return [f"{code[:4]}-{code[4:8]}-{code[8:]}" for code in codes]


def use(user, code: str) -> bool:
    """Spend one of ``user``'s codes; True when ``code`` was an unused one. The code is marked
    used by a conditional ``UPDATE``, so of two concurrent uses only one succeeds. Well-formed
    attempts are audited (``mfa.recovery_code.used``, success or failure). Commits."""
    normalised = str(code or "").lower().translate(_LOOK_ALIKES)
    if len(normalised) != LENGTH or not set(normalised) <= set(ALPHABET):
        return False
    spent = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id,
               RecoveryCode.code_hash == _hash(user.id, normalised),
               RecoveryCode.used_at.is_(None))
        .values(used_at=int(time.time()))
        .execution_options(synchronize_session=False))
    ok = spent.rowcount == 1
    record("mfa.recovery_code.used", "success" if ok else "failure", user_id=user.id,
           detail={"remaining": remaining(user)} if ok else None)  # commits
    return ok


def remaining(user) -> int:
    """How many unused codes ``user`` has."""
    return db.session.execute(
        select(func.count()).select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))).scalar_one()


def _hash(user_id, normalised):
    return hashlib.sha256(f"{user_id}:{normalised}".encode()).hexdigest()
