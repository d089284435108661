"""Time-based one-time passwords (RFC 6238): 6 digits, 30-second steps, HMAC-SHA1.

The secret is 160 bits (RFC 4226 section 4, R6) sealed at rest with the associated data
``"totp:<factor id>"`` (the row is flushed first to learn its id), so a sealed secret copied
to another row does not open there. Each factor remembers the last accepted time step; a code
whose step is not newer is refused, so no code is accepted twice (RFC 6238 section 5.2: "the
verifier MUST NOT accept the second attempt of the OTP after the successful validation has
been issued for the first OTP"). The step is advanced with a conditional ``UPDATE``, so two
workers checking the same code at the same moment cannot both accept it.
"""

import base64
import secrets
import time
from urllib.parse import urlsplit

import pyotp
import segno
from flask import current_app
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from idp.crypto import open_sealed
from idp.crypto import seal
from idp.extensions import db
from mfa.base import SecondFactor
from mfa.base import factor_name
from mfa.models import Factor

KIND = "totp"
ISSUER_NAME = "统一身份认证"
#: One step either side of now: RFC 6238 section 5.2 recommends at most one step of delay.
VALID_WINDOW = 1


class Totp(SecondFactor):
    """The TOTP plugin (see :mod:`mfa.base`)."""

    kind = KIND
    strong = True

    def amr(self, factor):
        """RFC 8176 section 2: ``otp``, one-time password (RFC 6238)."""
        return ["otp"]

    def available_for(self, user):
        return db.session.execute(
            _confirmed(user.id).with_only_columns(Factor.id).limit(1)).first() is not None

    def verify(self, user, state, submission):
        return verify(user, submission.get("code", ""))


def begin_enrolment(user, name: str | None) -> tuple[Factor, str, str, str]:
    """Start enrolling an authenticator app: ``(factor, otpauth_uri, qr_svg, secret_text)``.

    The factor stays unconfirmed (unusable) until :func:`confirm` sees its first code; an
    earlier enrolment of ``user`` that was never confirmed is dropped. ``qr_svg`` is an inline
    ``<svg>`` element built here (no external service sees the secret); ``secret_text`` is the
    base32 secret in groups of four, for typing in by hand. Commits.
    """
    db.session.execute(db.delete(Factor).where(
        Factor.user_id == user.id, Factor.kind == KIND, Factor.confirmed.is_(False)))
    secret = base64.b32encode(secrets.token_bytes(20)).decode()  # 160 bits, 32 characters
    factor = Factor(user_id=user.id, kind=KIND, name=factor_name(name, "身份验证器"),
                    confirmed=False)
    db.session.add(factor)
    db.session.flush()
    factor.secret_sealed = seal(secret.encode(), _context(factor))
    db.session.commit()
    uri = pyotp.TOTP(secret).provisioning_uri(name=_account_name(user), issuer_name=ISSUER_NAME)
    qr_svg = segno.make(uri, error="m").svg_inline(scale=4, title="TOTP")
    secret_text = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return factor, uri, qr_svg, secret_text


def confirm(factor: Factor, code: str) -> bool:
    """Confirm a pending enrolment with the app's first code; True when it matched. The code's
    time step is recorded, so the same code cannot then be used to log in. Commits."""
    if factor.kind != KIND or factor.confirmed:
        return False
    timecode = _match(factor, code)
    if timecode is None:
        return False
    factor.confirmed = True
    factor.last_timecode = timecode
    db.session.commit()
    return True


def verify(user, code: str) -> Factor | None:
    """The confirmed TOTP factor of ``user`` that accepts ``code`` now, or None.

    A code is accepted at most once: its time step must be newer than the factor's last
    accepted one (RFC 6238 section 5.2), which also refuses the previous window's code once a
    newer one was used. Records the step and ``last_used_at``; commits.
    """
    for factor in db.session.execute(_confirmed(user.id)).scalars().all():
        timecode = _match(factor, code)
        if timecode is None:
            continue
        claimed = db.session.execute(
            update(Factor)
            .where(Factor.id == factor.id,
                   or_(Factor.last_timecode.is_(None), Factor.last_timecode < timecode))
            .values(last_timecode=timecode, last_used_at=int(time.time()))
            .execution_options(synchronize_session=False))
        db.session.commit()
        if claimed.rowcount == 1:
            return factor
    return None


def _match(factor, code):
    """The time step at which ``code`` is valid for ``factor`` (within ``VALID_WINDOW``), or
    None. Only exactly 6 digits (spaces ignored) are considered (RFC 6238 section 4, the
    Digit parameter of RFC 4226 section 5.3)."""
    code = "".join(str(code or "").split())
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    secret = open_sealed(factor.secret_sealed, _context(factor)).decode()
    try:
        return pyotp.TOTP(secret).verify_and_get_timecode(
            code, for_time=time.time(), valid_window=VALID_WINDOW)
    except pyotp.OTPVerificationError:
        return None


def _confirmed(user_id):
    return select(Factor).where(Factor.user_id == user_id, Factor.kind == KIND,
                                Factor.confirmed.is_(True)).order_by(Factor.id)


def _context(factor):
    return f"totp:{factor.id}"


def _account_name(user):
    """The label shown in the app: the masked phone number and this provider's host, so test
    and production entries can be told apart."""
    host = urlsplit(current_app.config["ISSUER"]).hostname
    return f"****{user.phone[-4:]} ({host})"
