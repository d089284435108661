"""The admin console, ``/admin``: clients, initial access tokens, citizens' accounts, signing
keys, staff roles and the audit log, for staff with a role (``idp.admin.roles``).

Every page and every action checks, on the server, that the browser's SSO session belongs to
an active staff member, that the login used two factors (``amr`` has ``mfa``), and that one of
the member's roles allows it; the act is then done — and audited — in the narrowest such
role. Forms carry a CSRF token (Flask-WTF, global); answers are ``Cache-Control: no-store``.

Safe to reload: every act answers with a redirect (303) to a page that only shows, so a
reload never repeats it. Forms that create or rotate something also carry a one-use token
(``once``), so a double click or a form sent again from the history does nothing the second
time. A secret (a new client's, a rotated one, an initial access token) is shown once, by a
page that takes it from the store (``idp.accounts.shown_once``). Rotating a secret or the
keys, suspending, locking and deleting first ask for confirmation on a page of their own.
"""

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import flash
from flask import get_flashed_messages
from flask import redirect
from flask import render_template
from flask import request
from flask import stream_with_context
from flask import url_for
from flask_babel import gettext as _

from clients import service as registry
from clients.models import CLIENT_STATES
from clients.models import InitialAccessToken
from clients.validation import APPLICATION_TYPES
from clients.validation import AUTH_METHODS
from clients.validation import GRANT_TYPES
from clients.validation import ClientValidationError
from idp import json_input
from idp.accounts import sessions
from idp.accounts import shown_once
from idp.accounts.assurance import is_multi_factor
from idp.accounts.models import User
from idp.accounts.self_service import EVENT_LABELS
from idp.admin import readable
from idp.admin import roles
from idp.admin import service
from idp.audit import service as audit
from idp.errors import error_page
from idp.extensions import db
from idp.interaction.journey import login_for_account
from idp.logout import service as logout_service
from idp.logout.models import DELIVERY_STATES
from idp.store import store

bp = Blueprint("admin", __name__, url_prefix="/admin")

#: Permissions that open the console (``counter`` alone opens only /counter).
CONSOLE = frozenset(roles.PERMISSIONS) - {"counter"}
PER_PAGE = 25
#: How long a form's one-use token is remembered once used (seconds).
ONCE_TTL = 24 * 3600


@bp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@dataclass(frozen=True)
class Staff:
    user: User
    roles: frozenset
    role: str | None

    @property
    def actor(self):
        return f"user:{self.user.id}"

    @property
    def permissions(self):
        return roles.permissions_of(self.roles)


def _refused(template, status=403, **context):
    return render_template(template, **context), status


def staff_only(permission):
    """View decorator: the staff member of this browser, with two factors and a role that
    allows ``permission`` (None: any console permission); the view gets a ``Staff``."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(**kwargs):
            session = sessions.current()
            user = db.session.get(User, session["user_id"]) if session else None
            if user is None or not user.is_active:
                back = request.full_path if request.method == "GET" else url_for(".home")
                return login_for_account(back.rstrip("?"))
            held = frozenset(roles.roles_of(user.id))
            if not roles.permissions_of(held) & CONSOLE:
                return _refused("admin/refused.html", reason="no_role")
            if not is_multi_factor(session["amr"]):
                return _refused("admin/refused.html", reason="mfa")
            role = roles.role_for(held, permission) if permission else None
            if permission and role is None:
                if request.method == "POST":
                    audit.record("admin.denied", "failure", actor=f"user:{user.id}",
                                 detail={"permission": permission, "method": "POST",
                                         "path": request.path[:200]})
                return _refused("admin/refused.html", reason="permission", staff=Staff(
                    user, held, None))
            return view(Staff(user, held, role), **kwargs)

        return wrapper

    return decorate


def page(template, staff, status=200, **context):
    return render_template(template, staff=staff, messages=get_flashed_messages(),
                           **context), status


def done(message, endpoint, **values):
    flash(message)
    return redirect(url_for(endpoint, **values), code=303)


def _int_arg(name, default, low, high):
    value = request.args.get(name, type=int)
    return default if value is None else min(max(value, low), high)


ROLE_LABELS = {"super_admin": lambda: _("Super administrator"),
               "client_registrar": lambda: _("Client registrar"),
               "user_admin": lambda: _("Account administrator"),
               "auditor": lambda: _("Auditor"),
               "counter_clerk": lambda: _("Counter clerk")}
ACCOUNT_STATUS_LABELS = {"active": lambda: _("Active"),
                         "locked": lambda: _("Locked (failed logins)"),
                         "disabled": lambda: _("Locked by an administrator")}
KEY_STATE_LABELS = {"next": lambda: _("Published, signs next"), "active": lambda: _("Signing"),
                    "retired": lambda: _("Retired")}
FILTER_LABELS = {"action": lambda: _("Action (or its beginning)"),
                 "actor": lambda: _("By (mobile number, user:…, client:…)"),
                 "role": lambda: _("Role"),
                 "target": lambda: _("Target (mobile number, user:…, client:…)"),
                 "user_id": lambda: _("Account id"), "outcome": lambda: _("Outcome"),
                 "since": lambda: _("From (your local time)"),
                 "until": lambda: _("Until (your local time)")}


def _labeller(*tables):
    def label(value):
        found = next((t[value] for t in tables if value in t), None)
        return found() if found else value
    return label


for _name, _labels in (("role_label", ROLE_LABELS), ("account_status_label",
                                                      ACCOUNT_STATUS_LABELS),
                       ("key_state_label", KEY_STATE_LABELS), ("filter_label", FILTER_LABELS)):
    bp.add_app_template_global(_labeller(_labels), _name)
bp.add_app_template_global(_labeller(readable.ACTION_LABELS, EVENT_LABELS), "action_label")
bp.add_app_template_filter(audit.iso, "iso")


@bp.route("")
@staff_only(None)
def home(staff):
    return page("admin/home.html", staff)


@bp.route("/login-again", methods=["POST"])
def login_again():
    """Log out and in again (with the second factor now enrolled)."""
    sessions.end()
    return login_for_account(url_for(".home"))


# --- Forms sent once, secrets shown once ------------------------------------------------------

@bp.app_template_global()
def once_token():
    """A fresh one-use token for a form that creates or rotates something."""
    return secrets.token_urlsafe(18)


def _once_key():
    token = request.form.get("once", "")
    if not re.fullmatch(r"[A-Za-z0-9_-]{16,64}", token):
        return None
    return "admin-once:" + hashlib.sha256(token.encode()).hexdigest()


def _first_sending():
    """Whether this form is sent for the first time (its ``once`` token is then spent); else
    the message to show."""
    key = _once_key()
    if key is None:
        return _("The form is incomplete. Open the page again and fill it in.")
    if not store().add(key, 1, ONCE_TTL):
        return _("This form was already sent. Nothing was done again.")
    return None


def _sending_failed():
    """The act was refused: the form may be corrected and sent again with the same token."""
    key = _once_key()
    if key is not None:
        store().delete(key)


def _reveal(what, secret, **context):
    """Redirect to the page that shows ``secret`` once."""
    view_id = shown_once.keep("admin-secret", secret, what=what, **context)
    return redirect(url_for(".secret_shown", view_id=view_id), code=303)


@bp.route("/secrets/<view_id>")
@staff_only(None)
def secret_shown(staff, view_id):
    found = shown_once.take(view_id, "admin-secret")
    if found is None:
        return page("admin/secret.html", staff, status=410, found=None)
    client = iat = None
    if found.get("client_id"):
        try:
            client = registry.client_row(found["client_id"])
        except registry.ClientNotFound:
            client = None
    if found.get("iat_id"):
        iat = db.session.get(InitialAccessToken, found["iat_id"])
    return page("admin/secret.html", staff, found=found, client=client, iat=iat)


def _confirm(staff, *, title, question, action, button, back, reason=None, once=False,
             fields=None):
    """A page that asks before an act: its form posts ``confirm=yes`` (and ``fields``) to
    ``action``; ``reason``: the label of an optional reason field; ``once``: the form carries
    a one-use token."""
    return page("admin/confirm.html", staff, title=title, question=question, action=action,
                button=button, back=back, reason=reason, once=once, fields=fields or {})


def _confirmed():
    return request.form.get("confirm") == "yes"


def _asked_first(staff, endpoint, values, **question):
    """None once the act is confirmed (a POST with ``confirm=yes`` to ``endpoint``); else the
    page that asks (GET), or a redirect to it (a POST without the confirmation)."""
    if request.method == "POST":
        return None if _confirmed() else redirect(url_for(endpoint, **values), code=303)
    return _confirm(staff, action=url_for(endpoint, **values), **question)


# --- Clients ------------------------------------------------------------------------------------

STATUS_LABELS = {"pending": lambda: _("Awaiting approval"), "active": lambda: _("Active"),
                 "suspended": lambda: _("Suspended")}
bp.add_app_template_global(_labeller(STATUS_LABELS), "client_status_label")
DELIVERY_LABELS = {"pending": lambda: _("Being delivered (retrying)"),
                   "delivered": lambda: _("Delivered"),
                   "refused": lambda: _("Refused by the platform"),
                   "failed": lambda: _("Given up")}
bp.add_app_template_global(_labeller(DELIVERY_LABELS), "delivery_status_label")

#: The client form's fields, in the order a validation message is attributed to them.
FORM_FIELDS = (
    "client_name", "application_type", "redirect_uris", "post_logout_redirect_uris",
    "token_endpoint_auth_method", "grant_types", "scope", "jwks", "jwks_uri",
    "id_token_signed_response_alg", "subject_type", "sector_identifier",
    "sector_identifier_uri", "contacts", "logo_uri", "client_uri", "policy_uri", "tos_uri",
    "software_id", "software_version", "allowed_claims", "min_loa", "require_mfa",
    "enterprise_allowed", "skip_consent", "access_token_ttl", "refresh_token_ttl",
    "backchannel_logout_uri", "backchannel_logout_session_required", "frontchannel_logout_uri",
    "frontchannel_logout_session_required",
)
TEXT_FIELDS = ("client_name", "application_type", "token_endpoint_auth_method", "jwks_uri",
               "id_token_signed_response_alg", "subject_type", "sector_identifier",
               "sector_identifier_uri", "logo_uri", "client_uri", "policy_uri", "tos_uri",
               "software_id", "software_version", "backchannel_logout_uri",
               "frontchannel_logout_uri")
LINE_FIELDS = ("redirect_uris", "post_logout_redirect_uris", "contacts")
CHECK_FIELDS = ("require_mfa", "enterprise_allowed", "skip_consent",
                "backchannel_logout_session_required", "frontchannel_logout_session_required")
#: Fields fixed at registration: the pairwise sector never changes.
NEW_ONLY = ("sector_identifier",)


def _lines(name):
    return [line.strip() for line in request.form.get(name, "").splitlines() if line.strip()]


def _client_form(new):
    """(metadata and policy, {field: message}) from the console's client form; the messages
    are for what the form itself cannot read (JSON, numbers)."""
    form, errors = request.form, {}
    data = {name: form.get(name, "").strip() or None for name in TEXT_FIELDS}
    data.update({name: _lines(name) for name in LINE_FIELDS})
    data.update({name: form.get(name) == "yes" for name in CHECK_FIELDS})
    data["client_name"] = form.get("client_name", "")
    data["grant_types"] = form.getlist("grant_types")
    data["scope"] = " ".join(form.get("scope", "").split()) or None
    claims = form.get("allowed_claims", "").split()
    data["allowed_claims"] = None if claims in ([], ["*"]) else claims
    data["min_loa"] = form.get("min_loa", type=int) or 1
    for name in ("access_token_ttl", "refresh_token_ttl"):
        text = form.get(name, "").strip()
        number = text.isascii() and text.isdigit()  # str.isdigit alone also takes "³"
        data[name] = int(text) if number else None
        if text and not number:
            errors[name] = _("Enter a whole number of seconds, or nothing for the server's "
                             "default.")
    jwks = form.get("jwks", "").strip()
    data["jwks"] = None
    if jwks:
        try:
            data["jwks"] = json_input.loads(jwks)
        except ValueError as exc:
            errors["jwks"] = _("This is not JSON: %(reason)s", reason=str(exc))
    if not new:
        for name in NEW_ONLY:
            data.pop(name)
    return data, errors


def _field_of(exc, data):
    """The form field a registry message is about: the field whose value it quotes, else the
    first field it names, else what its error code or wording says; None: the whole form."""
    text = exc.description
    for name in LINE_FIELDS:
        if any(repr(value) in text for value in data.get(name) or []):
            return name
    named = [(found.start(), name) for name in FORM_FIELDS
             for found in [re.search(rf"(?<![\w]){name}(?![\w])", text)] if found]
    if named:
        return min(named)[1]
    if exc.error == "invalid_redirect_uri":
        return "redirect_uris"
    if re.search(r"grant type|client_credentials|authorization_code|refresh_token", text):
        return "grant_types"
    return None


def _form_page(staff, form, client=None, errors=None, error=None, status=200):
    return page("admin/client_form.html", staff, status=status, form=form, client=client,
                errors=errors or {}, error=error, auth_methods=AUTH_METHODS,
                grant_types=GRANT_TYPES, application_types=APPLICATION_TYPES,
                algs=current_app.config["ID_TOKEN_SIGNING_ALGS"])


def _refused_form(staff, data, client, exc, refusal):
    """The form again (400, or 403 for a role's refusal) with the registry's message at its
    field."""
    _sending_failed()
    if isinstance(exc, service.AdminError):
        return _form_page(staff, data, client, error=refusal(exc.description), status=403)
    field = _field_of(exc, data)
    errors = {field: exc.description} if field else {}
    return _form_page(staff, data, client, errors=errors, status=400,
                      error=refusal(_("correct the marked field.") if field else exc.description))


@bp.route("/clients")
@staff_only("clients.read")
def clients(staff):
    q = request.args.get("q", "")[:200].strip()
    status = request.args.get("status") if request.args.get("status") in CLIENT_STATES else None
    number = _int_arg("page", 1, 1, 10_000)
    rows, total = registry.list_clients(query=q or None, status=status, page=number,
                                        per_page=PER_PAGE)
    return page("admin/clients.html", staff, rows=rows, total=total, q=q, status=status,
                number=number, pages=max(1, (total + PER_PAGE - 1) // PER_PAGE),
                states=CLIENT_STATES)


@bp.route("/clients/new", methods=["GET", "POST"])
@staff_only("clients.write")
def client_new(staff):
    if request.method == "GET":
        return _form_page(staff, {"scope": "openid profile", "grant_types": [
            "authorization_code", "refresh_token"], "min_loa": 1})
    data, errors = _client_form(new=True)
    status = "pending" if request.form.get("pending") == "yes" else "active"
    if errors:
        return _form_page(staff, data, errors=errors, status=400, error=_(
            "The client was not registered: %(reason)s", reason=_("correct the marked field.")))
    refused = _first_sending()
    if refused:
        return done(refused, ".clients")
    try:
        role = service.client_write_role(staff.roles, staff.role, None, data["scope"])
        client, secret = registry.register_client(data, actor=staff.actor, role=role,
                                                  status=status)
    except (ClientValidationError, service.AdminError) as exc:
        return _refused_form(staff, data, None, exc, lambda reason: _(
            "The client was not registered: %(reason)s", reason=reason))
    if secret is None:
        return done(_("The client was registered. It authenticates without a shared secret."),
                    ".client", client_id=client.client_id)
    return _reveal("client", secret, client_id=client.client_id)


@bp.errorhandler(registry.ClientNotFound)
def _no_such_client(_exc):
    return error_page("not_found", _("There is no such client."), 404)


@bp.errorhandler(service.NotFound)
def _no_such_account(_exc):
    return error_page("not_found", _("There is no such account."), 404)


@bp.route("/clients/<client_id>")
@staff_only("clients.read")
def client(staff, client_id):
    row = registry.client_row(client_id)
    days = _int_arg("days", 14, 1, 366)
    return page("admin/client.html", staff, client=row, days=days,
                usage=list(reversed(service.usage(client_id, days))),
                client_roles=sorted(roles.client_roles_of(client_id)))


def _form_of(client):
    """The client's values as the form shows them."""
    values = registry.client_metadata(client)
    values["client_name"] = client.name
    return values


@bp.route("/clients/<client_id>/edit", methods=["GET", "POST"])
@staff_only("clients.write")
def client_edit(staff, client_id):
    row = registry.client_row(client_id)
    if request.method == "GET":
        return _form_page(staff, _form_of(row), row)
    changes, errors = _client_form(new=False)
    if errors:
        return _form_page(staff, changes, row, errors=errors, status=400, error=_(
            "Nothing was changed: %(reason)s", reason=_("correct the marked field.")))
    try:
        role = service.client_write_role(staff.roles, staff.role, row, changes["scope"])
        registry.update_client(client_id, changes, actor=staff.actor, role=role)
    except (ClientValidationError, service.AdminError) as exc:
        db.session.rollback()
        row = registry.client_row(client_id)
        return _refused_form(staff, changes, row, exc, lambda reason: _(
            "Nothing was changed: %(reason)s", reason=reason))
    return done(_("The client was saved."), ".client", client_id=client_id)


@bp.route("/clients/<client_id>/logout-deliveries")
@staff_only("clients.read")
def client_logouts(staff, client_id):
    """The back-channel logouts owed to the platform: status, attempts, its last answer."""
    row = registry.client_row(client_id)
    status = request.args.get("status")
    status = status if status in DELIVERY_STATES else None
    number = _int_arg("page", 1, 1, 10_000)
    rows, total = logout_service.list_deliveries(client_id=client_id, status=status,
                                                 page=number, per_page=PER_PAGE)
    return page("admin/logout_deliveries.html", staff, client=row, rows=rows, total=total,
                status=status, states=DELIVERY_STATES, number=number,
                pages=max(1, (total + PER_PAGE - 1) // PER_PAGE))


STATUS_DONE = {"approve": lambda: _("The client was approved."),
               "suspend": lambda: _("The client was suspended."),
               "activate": lambda: _("The client was activated again.")}


@bp.route("/clients/<client_id>/suspend")
@staff_only("clients.write")
def client_suspend(staff, client_id):
    row = registry.client_row(client_id)
    return _confirm(
        staff, title=_("Suspend %(name)s?", name=row.name),
        question=_("Logins at this platform stop, its token requests are refused and its "
                   "access tokens stop working until it is activated again. Nothing is "
                   "revoked."),
        action=url_for(".client_status", client_id=client_id), fields={"action": "suspend"},
        button=_("Suspend"), back=url_for(".client", client_id=client_id),
        reason=_("Reason (optional; kept with the client and in the audit log)"))


@bp.route("/clients/<client_id>/status", methods=["POST"])
@staff_only("clients.write")
def client_status(staff, client_id):
    row = registry.client_row(client_id)
    action = request.form.get("action")
    if action not in service.TRANSITIONS:
        return done(_("Nothing was changed."), ".client", client_id=client_id)
    if action == "suspend" and not _confirmed():
        return redirect(url_for(".client_suspend", client_id=client_id), code=303)
    reason = " ".join(request.form.get("reason", "").split())[:500] or None
    try:
        role = service.client_write_role(staff.roles, staff.role, row)
        service.change_status(client_id, action, actor=staff.actor, role=role, reason=reason)
    except service.Conflict:
        return done(_("Nothing was changed: the client's status does not allow it."),
                    ".client", client_id=client_id)
    except service.AdminError as exc:
        return done(exc.description, ".client", client_id=client_id)
    return done(STATUS_DONE[action](), ".client", client_id=client_id)


@bp.route("/clients/<client_id>/rotate-secret", methods=["GET", "POST"])
@staff_only("clients.write")
def client_rotate(staff, client_id):
    row = registry.client_row(client_id)
    hours = current_app.config["CLIENT_SECRET_ROTATION_OVERLAP"] // 3600
    asking = _asked_first(
        staff, ".client_rotate", {"client_id": client_id},
        title=_("Rotate the secret of %(name)s?", name=row.name),
        question=_("A new secret is made and shown once. The current one keeps working for "
                   "%(hours)s hours, time for the platform to switch.", hours=hours),
        button=_("Rotate"), back=url_for(".client", client_id=client_id), once=True)
    if asking:
        return asking
    refused = _first_sending()
    if refused:
        return done(refused, ".client", client_id=client_id)
    try:
        role = service.client_write_role(staff.roles, staff.role, row)
        secret = registry.rotate_secret(client_id, actor=staff.actor, role=role)
    except service.AdminError as exc:
        return done(exc.description, ".client", client_id=client_id)
    except ClientValidationError:
        return done(_("This client has no secret to rotate."), ".client", client_id=client_id)
    return _reveal("rotated", secret, client_id=client_id)


@bp.route("/clients/<client_id>/delete", methods=["GET", "POST"])
@staff_only("clients.write")
def client_delete(staff, client_id):
    row = registry.client_row(client_id)
    asking = _asked_first(
        staff, ".client_delete", {"client_id": client_id},
        title=_("Delete %(name)s?", name=row.name),
        question=_("Every token issued to it is revoked and the citizens' consents go with "
                   "it. This cannot be undone."),
        button=_("Delete"), back=url_for(".client", client_id=client_id))
    if asking:
        return asking
    try:
        role = service.client_write_role(staff.roles, staff.role, row)
    except service.AdminError as exc:
        return done(exc.description, ".client", client_id=client_id)
    service.delete_client(client_id, actor=staff.actor, role=role)
    return done(_("The client was deleted."), ".clients")


# --- Initial access tokens ----------------------------------------------------------------------

def _iats_page(staff, form=None, errors=None, status=200):
    tokens = registry.list_initial_access_tokens()
    return page("admin/iats.html", staff, status=status, tokens=tokens, form=form or {},
                errors=errors or {}, who=service.who(t.issued_by for t in tokens),
                describe=readable.describe)


@bp.route("/initial-access-tokens")
@staff_only("iat.read")
def iats(staff):
    return _iats_page(staff)


#: Which field of the form a refusal of ``issue_initial_access_token`` concerns.
IAT_FIELDS = (("label", "label"), ("expires_in", "expires_days"), ("max_uses", "max_uses"))


@bp.route("/initial-access-tokens/issue", methods=["POST"])
@staff_only("iat.write")
def iat_issue(staff):
    form = request.form
    scopes = " ".join(form.get("scopes", "").split()) or None
    refused = _first_sending()
    if refused:
        return done(refused, ".iats")
    try:
        role = service.client_write_role(staff.roles, staff.role, None, scopes)
        iat, token = registry.issue_initial_access_token(
            actor=staff.actor, role=role, label=form.get("label", ""),
            expires_in=(form.get("expires_days", type=int) or 7) * 86400,
            max_uses=form.get("max_uses", type=int) or None, scopes=scopes,
            auto_approve=form.get("auto_approve") == "yes")
    except (ClientValidationError, service.AdminError) as exc:
        _sending_failed()
        field = next((f for word, f in IAT_FIELDS if word in exc.description), "scopes")
        return _iats_page(staff, form=form, status=403 if isinstance(
            exc, service.AdminError) else 400, errors={field: exc.description})
    return _reveal("iat", token, iat_id=iat.id)


@bp.route("/initial-access-tokens/<int:token_id>/revoke", methods=["POST"])
@staff_only("iat.write")
def iat_revoke(staff, token_id):
    try:
        registry.revoke_initial_access_token(token_id, actor=staff.actor, role=staff.role)
    except registry.InitialAccessTokenNotFound:
        return done(_("Nothing was changed."), ".iats")
    return done(_("The token was revoked."), ".iats")


# --- Accounts -----------------------------------------------------------------------------------

@bp.route("/users")
@staff_only("users.read")
def users(staff):
    q = request.args.get("q", "")[:200].strip()
    number = _int_arg("page", 1, 1, 10_000)
    rows, total = service.search_users(q, page=number, per_page=PER_PAGE)
    return page("admin/users.html", staff, rows=rows, total=total, q=q, number=number,
                pages=max(1, (total + PER_PAGE - 1) // PER_PAGE))


@bp.route("/users/<int:user_id>")
@staff_only("users.read")
def user(staff, user_id):
    account = service.get_user(user_id)
    events = service.user_events(account.id, limit=50)["events"]
    return page("admin/user.html", staff, account=account,
                detail=service.user_detail(account), events=events,
                sessions=sessions.list_for(account.id),
                who=service.who(e["actor"] for e in events), describe=readable.describe)


USER_ACTS = {
    "lock": (service.lock, lambda: _("The account was locked; its sessions ended.")),
    "unlock": (service.unlock, lambda: _("The account was unlocked.")),
    "reset-factors": (service.reset_factors,
                      lambda: _("The account's second factors and recovery codes were "
                                "removed.")),
}


def _user_act(staff, user_id, act, **extra):
    service.get_user(user_id)
    function, message = USER_ACTS[act]
    try:
        function(user_id, actor=staff.actor, role=staff.role, acting_user_id=staff.user.id,
                 **extra)
    except service.Forbidden as exc:
        return done(_("Nothing was changed: %(reason)s", reason=exc.description), ".user",
                    user_id=user_id)
    return done(message(), ".user", user_id=user_id)


@bp.route("/users/<int:user_id>/lock", methods=["GET", "POST"])
@staff_only("users.write")
def user_lock(staff, user_id):
    account = service.get_user(user_id)
    asking = _asked_first(
        staff, ".user_lock", {"user_id": user_id},
        title=_("Lock the account %(phone)s?", phone=account.phone),
        question=_("Nobody can log in to it until it is unlocked; its sessions end and its "
                   "tokens are revoked at once."),
        button=_("Lock the account"), back=url_for(".user", user_id=user_id),
        reason=_("Reason for locking"))
    if asking:
        return asking
    return _user_act(staff, user_id, "lock", reason=request.form.get("reason", ""))


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
@staff_only("users.write")
def user_unlock(staff, user_id):
    return _user_act(staff, user_id, "unlock")


@bp.route("/users/<int:user_id>/reset-factors", methods=["POST"])
@staff_only("users.write")
def user_reset_factors(staff, user_id):
    if not _confirmed():
        return done(_("Tick the box to confirm the reset."), ".user", user_id=user_id)
    return _user_act(staff, user_id, "reset-factors")


# --- Staff roles --------------------------------------------------------------------------------

@bp.route("/staff")
@staff_only("users.read")
def staff_roles(staff):
    members, client_roles = service.staff_members(), service.client_role_holders()
    granters = [r.granted_by for _user, held in members for r in held]
    return page("admin/staff.html", staff, members=members, client_roles=client_roles,
                roles_all=roles.ROLES, describe=readable.describe,
                who=service.who(granters + [r.granted_by for r in client_roles]))


@bp.route("/staff/grant", methods=["POST"])
@staff_only("staff.write")
def staff_grant(staff):
    try:
        user, changed = service.grant_role(request.form.get("phone", ""),
                                           request.form.get("role", ""), actor=staff.actor)
    except service.AdminError as exc:
        return done(_("Nothing was changed: %(reason)s", reason=exc.description),
                    ".staff_roles")
    if not changed:
        return done(_("%(phone)s already holds this role.", phone=user.phone), ".staff_roles")
    return done(_("%(phone)s now holds the role %(role)s.", phone=user.phone, role=ROLE_LABELS[
        request.form["role"]]()), ".staff_roles")


@bp.route("/staff/<int:user_id>/revoke", methods=["POST"])
@staff_only("staff.write")
def staff_revoke(staff, user_id):
    account = service.get_user(user_id)
    role = request.form.get("role", "")
    try:
        changed = service.revoke_role(account.id, role, actor=staff.actor,
                                      acting_user_id=staff.user.id)
    except service.AdminError as exc:
        return done(_("Nothing was changed: %(reason)s", reason=exc.description),
                    ".staff_roles")
    if not changed:
        return done(_("Nothing was changed."), ".staff_roles")
    return done(_("%(phone)s no longer holds the role %(role)s.", phone=account.phone,
                  role=ROLE_LABELS[role]()), ".staff_roles")


# --- Keys ---------------------------------------------------------------------------------------

@bp.route("/keys")
@staff_only("keys.read")
def keys(staff):
    return page("admin/keys.html", staff, keys=service.list_keys())


@bp.route("/keys/rotate", methods=["GET", "POST"])
@staff_only("keys.write")
def keys_rotate(staff):
    asking = _asked_first(
        staff, ".keys_rotate", {}, title=_("Rotate the signing keys?"),
        question=_("The published next key starts signing, the signing key retires (it stays "
                   "published until the tokens it signed expire) and a new next key is "
                   "published. Rotate again only once relying parties have fetched the new "
                   "key."),
        button=_("Rotate the keys"), back=url_for(".keys"), once=True)
    if asking:
        return asking
    refused = _first_sending()
    if refused:
        return done(refused, ".keys")
    service.rotate_keys(actor=staff.actor, role=staff.role)
    return done(_("The signing keys were rotated."), ".keys")


# --- Audit --------------------------------------------------------------------------------------

FILTER_NAMES = ("action", "actor", "role", "target", "user_id", "outcome", "since", "until")
OUTCOMES = ("success", "failure", "error")


def _filters():
    """The filters as typed (to show them again) and as the audit log reads them: a mobile
    number as ``user:<id>``, a time without a zone in the administrator's (``tz``)."""
    typed = {name: request.args.get(name, "")[:100].strip() for name in FILTER_NAMES
             if request.args.get(name, "").strip()}
    tz = readable.zone(request.args.get("tz"))
    query = dict(typed)
    for name in ("actor", "target"):
        if name in query:
            query[name] = service.actor_code(query[name])
    for name in ("since", "until"):
        if name in query:
            query[name] = readable.in_zone(query[name], tz)
    return typed, query, tz


@bp.route("/audit")
@staff_only("audit.read")
def audit_log(staff):
    typed, query, tz = _filters()
    after_id = request.args.get("after_id", type=int)
    try:
        found = audit.events(query, after_id=after_id if after_id and after_id > 0 else None,
                             limit=50, newest_first=True)
        error = None
    except audit.AuditQueryError as exc:
        found, error = {"events": [], "next_after_id": None}, exc
    events = found["events"]
    for event in events:
        event["rows"] = readable.changes(event["detail"])
    who = service.who([e["actor"] for e in events] + [e["target"] for e in events])
    return page("admin/audit.html", staff, status=400 if error else 200, filters=typed,
                tz=tz.key, events=events, next_after_id=found["next_after_id"], who=who,
                describe=readable.describe, summary=readable.summary, outcomes=OUTCOMES,
                roles_all=roles.ROLES,
                actions=sorted({*readable.ACTION_LABELS, *EVENT_LABELS}),
                error=_("The filter is not valid: %(reason)s", reason=str(error)) if error
                else None)


@bp.route("/audit/export")
@staff_only("audit.read")
def audit_export(staff):
    typed, query, tz = _filters()
    try:
        lines = audit.export_lines(query)
    except audit.AuditQueryError as exc:
        flash(_("The filter is not valid: %(reason)s", reason=str(exc)))
        return redirect(url_for(".audit_log", tz=tz.key, **typed), code=303)
    audit.record("audit.exported", actor=staff.actor, role=staff.role,
                 detail={"filters": query})
    return Response(stream_with_context(lines), mimetype="application/x-ndjson", headers={
        "Content-Disposition": 'attachment; filename="audit.jsonl"'})
