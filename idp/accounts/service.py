"""Citizen accounts: creation and password authentication."""

import hashlib
import time
from dataclasses import dataclass

import phonenumbers
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from idp.accounts import password_policy
from idp.accounts import sessions
from idp.accounts.models import Consent
from idp.accounts.models import User
from idp.accounts.passwords import hash_password
from idp.accounts.passwords import hasher
from idp.accounts.passwords import verify_password
from idp.accounts.signals import consent_revoked
from idp.audit import service as audit
from idp.extensions import db
from idp.store import store

#: Numbers that receive text messages (mainland numbers are "fixed line or mobile").
MOBILE_TYPES = (phonenumbers.PhoneNumberType.MOBILE,
                phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
MAX_PHONE = 32


class AccountError(ValueError):
    pass


def normalise_phone(phone: str) -> str:
    """The E.164 form of a mobile number, as accounts store it; ``AccountError`` for anything
    else (not a number, not a valid one, a landline). National numbers are read in
    ``SMS_DEFAULT_REGION`` (mainland China by default: ``138 0013 8000``, ``86138…``); others
    need their country code (``+852 5123 4567``, ``00852…``). The one reading of a phone number:
    registration, login, the command line, the service counter and the administration."""
    raw = phone.strip() if isinstance(phone, str) else ""
    number = None
    if raw and len(raw) <= MAX_PHONE:
        try:
            number = phonenumbers.parse(raw, current_app.config["SMS_DEFAULT_REGION"])
        except phonenumbers.NumberParseException:
            number = None
    if number is None or not phonenumbers.is_valid_number(number) or (
            phonenumbers.number_type(number) not in MOBILE_TYPES):
        raise AccountError(f"{str(phone)[:MAX_PHONE]!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def create_user(*, phone, password, name=None, email=None, username=None, common_ok=False):
    """A citizen account (the phone counts as verified). The password policy applies in full;
    ``common_ok`` lets an operator's tool accept a listed common password on purpose."""
    phone = normalise_phone(phone)
    problem = password_policy.problem(password or "", phone, check_common=not common_ok)
    if problem:
        raise AccountError(str(problem))
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


def find_by_phone(phone: str):
    """The account with this mobile number, or None; ``AccountError`` when it is not one."""
    return User.query.filter_by(phone=normalise_phone(phone)).first()


def find_by_identifier(identifier: str):
    identifier = (identifier or "").strip()
    if not identifier or len(identifier) > 254:
        return None
    if "@" in identifier:  # only an address the citizen proved is theirs logs in
        return User.query.filter_by(email=identifier.lower(), email_verified=True).first()
    try:
        return User.query.filter_by(phone=normalise_phone(identifier)).first()
    except AccountError:
        return User.query.filter_by(username=identifier).first()


@dataclass
class LoginResult:
    """``user`` when the password is right and the account may log in; otherwise ``problem``:
    "invalid" (unknown account or wrong password: one answer for both), "throttled" (wait
    ``retry_after`` seconds), "locked" or "disabled" (told only after a correct password)."""

    user: User | None = None
    problem: str | None = None
    retry_after: int = 0


#: Seconds one login attempt may hold its account's turn (it takes one argon2 hash), and how
#: long another waits for it (polls x seconds) before it is told to wait.
ATTEMPT_SECONDS = 10
TURN_POLLS, TURN_POLL_SECONDS = 20, 0.05


def _throttle_key(identifier, user):
    """The key of the delay: one per account however its identifier is typed (every
    spelling of the number, the address in any case, the username); for an identifier that
    names no account, one per its normalised form, so both are delayed alike."""
    if user is not None:
        name = f"user:{user.id}"
    else:
        try:
            name = normalise_phone(identifier)
        except AccountError:
            name = identifier.strip().lower()
    return "login-throttle:" + hashlib.sha256(name.encode()).hexdigest()


def authenticate(identifier: str, password: str) -> LoginResult:
    """Check a password login, with brute-force defences that hold across workers:

    * per account (or unknown identifier, in the shared store), whatever spelling of it was
      typed: after ``LOGIN_THROTTLE_AFTER`` failures each further attempt must wait 2, 4, 8 …
      seconds (at most 5 minutes); one attempt at a time: an attempt sent while another is
      being checked waits for it (up to a second, then is told to wait), so attempts sent at
      once cannot all be checked before the first failure is counted;
    * per account (in the database, so it survives restarts): ``LOCKOUT_THRESHOLD``
      consecutive failures lock the account for ``LOCKOUT_SECONDS``; time or an administrator
      unlocks it.

    Unknown identifiers cost the same argon2 work as wrong passwords."""
    now = int(time.time())
    identifier = (identifier or "")[:254]
    user = find_by_identifier(identifier)
    key = _throttle_key(identifier, user)
    if not _take_turn(key):
        return LoginResult(problem="throttled", retry_after=1)
    try:
        if user is not None:
            db.session.refresh(user)  # as the attempt before this one left it
        return _check_password(key, user, password, now)
    finally:
        store().delete(key + ":busy")


def _take_turn(key) -> bool:
    """Wait (briefly: a double click, another tab) until no other attempt for ``key`` is
    being checked, and take the turn; False when it is still taken."""
    for _attempt in range(TURN_POLLS):
        if store().add(key + ":busy", 1, ATTEMPT_SECONDS):
            return True
        time.sleep(TURN_POLL_SECONDS)
    return False


def _check_password(key, user, password, now) -> LoginResult:
    hold = store().get(key + ":until")
    if hold and hold > now:
        return LoginResult(problem="throttled", retry_after=int(hold - now))
    hasher()
    ok, new_hash = verify_password(user.password_hash if user else None, password or "")
    if not ok or not user:
        _note_failure(key, user, now)
        return LoginResult(problem="invalid")
    if user.status == "locked" and user.locked_until and user.locked_until <= now:
        user.status, user.locked_until, user.lock_reason = "active", None, None
        # a run of wrong second-factor answers that locked the account: the next answer is
        # checked (and, wrong, locks it again at once), not refused as one beyond the run
        limit = current_app.config["FACTOR_LOCKOUT_THRESHOLD"]
        user.failed_factors = min(user.failed_factors, limit - 1)
    if user.status in ("locked", "disabled"):
        db.session.commit()
        audit.record("login.failure", "failure", user_id=user.id,
                     detail={"reason": user.status})
        return LoginResult(problem=user.status,
                           retry_after=max(0, (user.locked_until or now) - now))
    user.failed_logins, user.last_failed_at = 0, None
    if new_hash:
        user.password_hash = new_hash
    db.session.commit()
    store().delete(key + ":count")
    store().delete(key + ":until")
    return LoginResult(user=user)


def _note_failure(key, user, now):
    cfg = current_app.config
    count = store().incr(key + ":count", 3600)
    if count >= cfg["LOGIN_THROTTLE_AFTER"]:
        delay = min(2 ** (count - cfg["LOGIN_THROTTLE_AFTER"] + 1), 300)
        store().set(key + ":until", now + delay, delay)
    if user is None:
        return
    user.failed_logins += 1
    user.last_failed_at = now
    detail = {"reason": "password", "consecutive": user.failed_logins}
    if user.failed_logins >= cfg["LOCKOUT_THRESHOLD"] and user.status == "active":
        user.status, user.locked_until = "locked", now + cfg["LOCKOUT_SECONDS"]
        user.lock_reason = "too many failed logins"
        audit.record("account.locked", "success", user_id=user.id, actor="system",
                     detail={"until": user.locked_until})
    audit.record("login.failure", "failure", user_id=user.id, detail=detail)


def count_factor_answer(user) -> int:
    """Count an answer to a second factor against the account before it is checked, in one
    atomic ``UPDATE``, and return the count: answers posted at once each get their own
    number, so no more than ``FACTOR_LOCKOUT_THRESHOLD`` of a run are ever checked (a
    number read, increased and written back by each request lost all but one of them). A
    right answer ends the run (``factor_succeeded``). Commits."""
    count = db.session.execute(
        update(User).where(User.id == user.id)
        .values(failed_factors=User.failed_factors + 1)
        .returning(User.failed_factors)).scalar_one()
    db.session.commit()
    return count


def note_factor_failure(user, answers) -> bool:
    """A wrong (or unchecked) second-factor answer, the ``answers``-th of the run
    (``count_factor_answer``; a right password does not end the run, a right second factor
    does). True when the account is locked: by this answer (the
    ``FACTOR_LOCKOUT_THRESHOLD``-th or later; audited once) or already. Commits."""
    cfg = current_app.config
    if answers >= cfg["FACTOR_LOCKOUT_THRESHOLD"]:
        until = int(time.time()) + cfg["LOCKOUT_SECONDS"]
        locked_now = db.session.execute(
            update(User).where(User.id == user.id, User.status == "active")
            .values(status="locked", locked_until=until,
                    lock_reason="too many wrong second-factor answers")).rowcount == 1
        if locked_now:
            audit.record("account.locked", "success", user_id=user.id, actor="system",
                         detail={"until": until, "reason": "second_factor"})  # commits
    db.session.commit()
    return user.status == "locked"


def factor_succeeded(user):
    """A right second factor ends the run of wrong ones. Commits only when there was one."""
    if user.failed_factors:
        user.failed_factors = 0
        db.session.commit()


def change_password(user, current, new, confirm, keep_sid=None):
    """Change the citizen's password: the current one, the new one twice, and the policy. On
    success every other session ends (all but ``keep_sid``). Returns the problem to show, or
    None once changed. Audited either way; commits."""
    ok, _unused = verify_password(user.password_hash, current)
    if not ok:
        problem = _("The current password is not correct.")
    elif new != confirm:
        problem = _("The two passwords do not match.")
    else:
        problem = password_policy.problem(new, user.phone)
    if problem:
        audit.record("password.change", "failure", user_id=user.id)
        return problem
    user.password_hash = hash_password(new)
    db.session.commit()
    ended = sessions.end_for(user.id, keep_sid=keep_sid, reason="password_changed")
    audit.record("password.changed", user_id=user.id, detail={"other_sessions_ended": ended})
    return None


def withdraw_consent(user, client_id) -> bool:
    """The citizen withdraws a platform's access: the consent goes and its tokens stop
    (``consent_revoked``). False when there was none. Audited; commits."""
    consent = Consent.query.filter_by(user_id=user.id, client_id=client_id).first()
    if consent is None:
        return False
    db.session.delete(consent)
    db.session.commit()
    consent_revoked.send(current_app._get_current_object(), user_id=user.id,
                         client_id=client_id)
    audit.record("consent.revoked", user_id=user.id, detail={"client_id": client_id})
    return True


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


def forget_client(_sender, client_id, **_kw):
    """A deleted platform's consents go with it (``clients.signals.client_deleted``)."""
    Consent.query.filter_by(client_id=client_id).delete()
    db.session.commit()
