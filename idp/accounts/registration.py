"""Self-registration with a mobile number proved by a text-message code, and the development
SMS outbox.

Steps: the number (``POST /register/code`` sends a code), then the code, a password and an
optional name (``POST /register``) -> the account, logged in, on to ``/account`` or back to
``/authorize`` when the login page sent the person here (``next``).

No enumeration: asking for a code answers the same for new and registered numbers (both get
a code, within the same limits); only whoever holds the phone and types its code learns that
the number is taken.
"""

import re
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import phonenumbers
from flask import Blueprint
from flask import current_app
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from idp.accounts import assurance
from idp.accounts import password_policy
from idp.accounts import sessions
from idp.accounts.models import User
from idp.accounts.service import AccountError
from idp.accounts.service import create_user
from idp.accounts.service import normalise_phone
from idp.audit import service as audit
from idp.extensions import db
from idp.extensions import limiter
from mfa import sms
from mfa.codes import DeliveryError
from mfa.codes import RateLimited

bp = Blueprint("registration", __name__)

PURPOSE = "register"
AMR = ["pwd", "sms"]
AFTER_REGISTRATION = "/account"
MAX_NAME = 100


def display_phone(e164):
    return phonenumbers.format_number(phonenumbers.parse(e164),
                                      phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def safe_next(value):
    """``next`` when it is a same-origin path into the authorization endpoint, else None."""
    if not value or len(value) > 4096 or "\\" in value:
        return None
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.fragment:
        return None
    if parts.path != "/authorize" and not parts.path.startswith("/authorize/"):
        return None
    return value


@bp.before_request
def _language_of_the_login():
    """Coming from a platform's login page, speak the language it asked for (``ui_locales``)."""
    target = safe_next(request.values.get("next"))
    if target:
        g.ui_locales = (parse_qs(urlsplit(target).query).get("ui_locales") or [None])[0]


def _page(step, status=200, error=None, notice=None, phone="", headers=None, **context):
    html = render_template("registration/register.html", step=step, error=error, notice=notice,
                           phone=phone, next=safe_next(request.values.get("next")), **context)
    return html, status, {"Cache-Control": "no-store", **(headers or {})}


@bp.route("/register")
def register_page():
    return _page("phone", phone=request.args.get("phone", "")[:32])


@bp.route("/register/code", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
def send_code():
    if request.method == "GET":
        # the language links of a page answering a POST point here
        return redirect(url_for("registration.register_page", **request.args), code=303)
    raw = request.form.get("phone", "")
    try:
        phone = normalise_phone(raw)
    except AccountError:
        return _page("phone", 400, phone=raw[:32],
                     error=_("Enter a valid mobile phone number."))
    try:
        sms.send_code(phone, PURPOSE)
    except RateLimited as exc:
        headers = {"Retry-After": str(exc.retry_after)}
        if exc.scope == "phone_interval":
            return _page("code", 429, phone=phone, shown_phone=display_phone(phone),
                         headers=headers, error=_(
                             "A code was sent to this number a moment ago. Wait %(seconds)d "
                             "seconds before asking for another one.", seconds=exc.retry_after))
        minutes = (exc.retry_after + 59) // 60
        return _page("phone", 429, phone=raw[:32], headers=headers, error=_(
            "Too many codes have been requested. Try again in %(minutes)d minutes.",
            minutes=minutes))
    except DeliveryError:
        return _page("phone", 503, phone=raw[:32], error=_(
            "We could not send the text message just now. Try again in a few minutes."))
    minutes = max(1, current_app.config["SMS_CODE_TTL"] // 60)
    return _page("code", phone=phone, shown_phone=display_phone(phone), notice=_(
        "If this number can be registered, a text message with a code is on its way. The code "
        "is valid for %(minutes)d minutes.", minutes=minutes))


@bp.route("/register", methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"])
def register():
    form = request.form
    raw = form.get("phone", "")
    try:
        phone = normalise_phone(raw)
    except AccountError:
        return _page("phone", 400, phone=raw[:32],
                     error=_("Enter a valid mobile phone number."))
    name = " ".join(form.get("name", "").split())

    def again(error, status=400):
        return _page("code", status, error=error, phone=phone, shown_phone=display_phone(phone),
                     name=name[:MAX_NAME])

    password = form.get("password", "")
    if password != form.get("password_confirm", ""):
        return again(_("The two passwords do not match."))
    reason = password_policy.problem(password, phone)
    if reason:
        return again(reason)
    if len(name) > MAX_NAME:
        return again(_("The name can have at most %(num)d characters.", num=MAX_NAME))
    code = form.get("code", "").strip()
    if not re.fullmatch(r"\d{6}", code):
        return again(_("Enter the 6-digit code from the text message."))
    if not sms.CODES.verify(phone, PURPOSE, code):
        return again(_("The code is wrong or has expired. Check it, or ask for a new code."))
    user = _create(phone, password, name)
    if user is None:
        return _page("taken", 409, phone=phone, error=_(
            "An account with this mobile number already exists. Log in with it, or reset its "
            "password."))
    audit.record("account.registered", "success", user_id=user.id, detail={"method": "sms"})
    sessions.start(user, amr=list(AMR), acr=assurance.acr_for(user, AMR))
    return redirect(safe_next(form.get("next")) or AFTER_REGISTRATION, code=303)


def _create(phone, password, name):
    """The new account, or None when the number is taken (told only after its code)."""
    existing = User.query.filter_by(phone=phone).first()
    if existing is None:
        try:
            user = create_user(phone=phone, password=password, name=name or None)
        except (AccountError, IntegrityError):
            # another request may have registered the number meanwhile
            db.session.rollback()
            existing = User.query.filter_by(phone=phone).first()
            if existing is None:
                raise
        else:
            user.phone_verified = True
            db.session.commit()
            return user
    audit.record("account.registration_refused", "failure", user_id=existing.id,
                 detail={"reason": "phone_taken"})
    return None
