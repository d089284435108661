"""The citizen's optional email address: confirmed by a code (``/account/email``), then usable
to log in and, for citizens without an authenticator app or passkey, as a fallback second
factor (the login step in ``second_factor.py``), plus the development outbox
(``/dev/email-outbox``).

Confirming: the citizen types an address, a code goes to it, the citizen types the code; only
then does the address join the account (``user.email``, ``email_verified``). Until then it is
kept in the store, bound to the account, for as long as the code lives. Sending a code and
removing the address need a recent login; typing the code proves the mailbox.

No enumeration: asking for a code answers the same whether or not another account uses the
address; only whoever reads the mailbox and types its code learns that it cannot be added.
An address another account holds *unconfirmed* (set by an operator, never proved) goes to
whoever proves it.
"""

import re
import time

from flask import current_app
from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from idp.accounts.models import User
from idp.accounts.self_service import EVENT_LABELS
from idp.accounts.self_service import account_page
from idp.accounts.self_service import bp as account_bp
from idp.accounts.self_service import done
from idp.accounts.self_service import signed_in
from idp.audit import service as audit
from idp.extensions import db
from idp.extensions import limiter
from idp.store import store
from mfa import email
from mfa.codes import DeliveryError
from mfa.codes import RateLimited

EVENT_LABELS.update({
    "email.added": lambda: _("Email address confirmed"),
    "email.removed": lambda: _("Email address removed"),
    "email.add": lambda: _("Email address refused"),
})


def _confirm_purpose(user):
    # a code asked for by one account never confirms the address for another
    return f"confirm-{user.id}"


def _pending_key(user):
    return f"email:pending:{user.id}"


def _pending_address(user):
    entry = store().get(_pending_key(user))
    # the time is checked too: the store's own expiry may lag (or, in tests, not see frozen time)
    return entry["email"] if entry and entry.get("expires_at", 0) > time.time() else None


def _email_page(user, status=200, error=None, typed=""):
    return account_page("account/email.html", status, user=user, pending=_pending_address(user),
                 error=error, typed=typed[:254])


@account_bp.route("/email")
@signed_in()
def email_page(user, session):
    return _email_page(user)


@account_bp.route("/email/code", methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"])
@signed_in(fresh=True)
def email_code(user, session):
    raw = request.form.get("email", "")
    address = email.normalise(raw)
    if address is None:
        return _email_page(user, 400, typed=raw, error=_(
            "Enter a valid email address, such as name@example.cn."))
    if address == user.email and user.email_verified:
        return _email_page(user, 400, typed=raw, error=_(
            "This address is already confirmed on your account."))
    try:
        email.send_code(address, _confirm_purpose(user), str(get_locale()))
    except RateLimited as exc:
        if exc.scope == "address_interval":
            error = _("A code was sent to this address a moment ago. Wait %(seconds)d seconds "
                      "before asking for another one.", seconds=exc.retry_after)
        else:
            error = _("Too many codes have been requested. Try again in %(minutes)d minutes.",
                      minutes=(exc.retry_after + 59) // 60)
        return _email_page(user, 429, typed=raw, error=error)
    except DeliveryError:
        return _email_page(user, 503, typed=raw, error=_(
            "We could not send the email just now. Try again in a few minutes."))
    store().set(_pending_key(user), {"email": address,
                                      "expires_at": int(time.time()) + email.CODES.ttl()},
                email.CODES.ttl())
    flash(_("An email with a code is on its way to %(email)s. The code is valid for "
            "%(minutes)d minutes. Also look in the spam folder.", email=address,
            minutes=max(1, email.CODES.ttl() // 60)))
    return redirect(url_for("account.email_page"), code=303)


@account_bp.route("/email/confirm", methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"])
@signed_in()
def email_confirm(user, session):
    address = _pending_address(user)
    if address is None:
        return _email_page(user, 400, error=_(
            "That request has expired. Enter your email address again."))
    code = request.form.get("code", "").strip()
    if not re.fullmatch(r"\d{6}", code):
        return _email_page(user, 400, error=_("Enter the 6-digit code from the email."))
    if not email.CODES.verify(address, _confirm_purpose(user), code):
        return _email_page(user, 400, error=_(
            "The code is wrong or has expired. Check it, or ask for a new code."))
    store().delete(_pending_key(user))
    before = user.email if user.email_verified else None
    if not _take(user, address):
        audit.record("email.add", "failure", user_id=user.id,
                     detail={"email": email.mask(address), "reason": "taken"})
        return _email_page(user, 409, error=_(
            "This email address cannot be added to your account. Use another one."))
    audit.record("email.added", user_id=user.id, detail={
        "email": email.mask(address), "replaced": email.mask(before) if before else None})
    return done(_("Your email address is confirmed. You can also log in with it."))


def _take(user, address):
    """Put the proved ``address`` on ``user``; False when another account has confirmed it."""
    other = User.query.filter(User.email == address, User.id != user.id).first()
    if other is not None:
        if other.email_verified:
            return False
        # never proved by that account: whoever proves the mailbox gets the address
        other.email = None
        db.session.flush()  # before the unique address moves to this account
    user.email, user.email_verified = address, True
    try:
        db.session.commit()
    except IntegrityError:
        # another account confirmed it meanwhile
        db.session.rollback()
        return False
    if other is not None:
        audit.record("email.removed", user_id=other.id,
                     detail={"email": email.mask(address), "reason": "confirmed_elsewhere"})
    return True


@account_bp.route("/email/remove", methods=["POST"])
@signed_in(fresh=True)
def email_remove(user, session):
    store().delete(_pending_key(user))
    if not user.email:
        return done(_("Nothing was changed."))
    before = user.email
    user.email, user.email_verified = None, False
    db.session.commit()
    audit.record("email.removed", user_id=user.id, detail={"email": email.mask(before)})
    return done(_("Your email address was removed."))
