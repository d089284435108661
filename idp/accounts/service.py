"""Citizen accounts: creation and password authentication."""

import re
import time

from flask import current_app
from sqlalchemy.exc import IntegrityError

from idp.accounts.models import Consent
from idp.accounts.models import User
from idp.accounts.passwords import hash_password
from idp.accounts.passwords import hasher
from idp.accounts.passwords import verify_password
from idp.extensions import db

PHONE_RE = re.compile(r"^\+[1-9]\d{6,14}$")
MIN_PASSWORD_LENGTH = 8


class AccountError(ValueError):
    pass


def normalise_phone(phone: str) -> str:
    """E.164. Mainland numbers may be given without +86 (11 digits starting with 1)."""
    digits = re.sub(r"[\s\-()]", "", phone or "")
    if re.fullmatch(r"1[3-9]\d{9}", digits):
        digits = "+86" + digits
    elif re.fullmatch(r"(0086|86)1[3-9]\d{9}", digits):
        digits = "+86" + digits[-11:]
    if not PHONE_RE.match(digits):
        raise AccountError(f"{phone!r} is not a valid phone number")
    return digits


def create_user(*, phone, password, name=None, email=None, username=None):
    phone = normalise_phone(phone)
    if not password or len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if User.query.filter_by(phone=phone).first():
        raise AccountError(f"an account with phone {phone} already exists")
    if email and User.query.filter_by(email=email.lower()).first():
        raise AccountError("an account with this email already exists")
    if username and User.query.filter_by(username=username).first():
        raise AccountError("an account with this username already exists")
    user = User(phone=phone, phone_verified=True, name=name, email=email.lower() if email else None,
                username=username, password_hash=hash_password(password))
    db.session.add(user)
    db.session.commit()
    return user


def find_by_identifier(identifier: str):
    identifier = (identifier or "").strip()
    if not identifier or len(identifier) > 254:
        return None
    if "@" in identifier:
        return User.query.filter_by(email=identifier.lower()).first()
    try:
        return User.query.filter_by(phone=normalise_phone(identifier)).first()
    except AccountError:
        return User.query.filter_by(username=identifier).first()


def authenticate(identifier: str, password: str):
    """The user when the identifier and password match an account that may log in, else None.

    Unknown identifier, wrong password and a locked or disabled account all cost one argon2
    verification and answer the same way; the caller shows one generic message."""
    hasher()
    user = find_by_identifier(identifier)
    ok, new_hash = verify_password(user.password_hash if user else None, password or "")
    if not ok or not user:
        return None
    if user.status == "locked" and user.locked_until and user.locked_until <= time.time():
        user.status, user.locked_until, user.lock_reason = "active", None, None
    if new_hash:
        user.password_hash = new_hash
    db.session.commit()
    return user if user.is_active else None


def acr_for(user) -> str:
    """The ``acr`` a login of this account achieves: its level of assurance as a URN
    (``ACR_VALUES``, lowest first). Multi-factor logins raise it in a later issue."""
    values = current_app.config["ACR_VALUES"]
    return values[max(1, min(user.loa, len(values))) - 1]


def remember_consent(user_id, client_id, scopes):
    """Add ``scopes`` to what the citizen has allowed ``client_id``. Two tabs allowing the same
    platform at once both succeed: the loser of the insert race updates the winner's row."""
    for _attempt in range(2):
        row = Consent.query.filter_by(user_id=user_id, client_id=client_id).first()
        if row is None:
            row = Consent(user_id=user_id, client_id=client_id, scope="", granted_at=0)
            db.session.add(row)
        row.scope = " ".join(sorted(set(scopes) | set(row.scope.split())))
        row.granted_at = int(time.time())
        try:
            db.session.commit()
            return row
        except IntegrityError:
            db.session.rollback()
    raise RuntimeError("could not record consent")
