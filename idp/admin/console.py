"""The admin console, ``/admin``: clients, initial access tokens, citizens' accounts, signing
keys and the audit log, for staff with a role (``idp.admin.roles``).

Every page and every action checks, on the server, that the browser's SSO session belongs to
an active staff member, that the login used two factors (``amr`` has ``mfa``), and that one of
the member's roles allows it; the act is then done — and audited — in the narrowest such
role. Forms carry a CSRF token (Flask-WTF, global); answers are ``Cache-Control: no-store``.
Secrets (a new client's, a rotated one, an initial access token) are shown on the page that
answers the act, once, and never again.
"""

import functools
from dataclasses import dataclass

from flask import Blueprint
from flask import Response
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
from clients.validation import AUTH_METHODS
from clients.validation import GRANT_TYPES
from clients.validation import ClientValidationError
from idp.accounts import sessions
from idp.accounts.assurance import is_multi_factor
from idp.accounts.models import User
from idp.accounts.views import login_for_account
from idp.admin import roles
from idp.admin import service
from idp.audit import service as audit
from idp.errors import UserFacingError
from idp.extensions import db

bp = Blueprint("admin", __name__, url_prefix="/admin")

#: Permissions that open the console (``counter`` alone opens only /counter).
CONSOLE = frozenset(roles.PERMISSIONS) - {"counter"}
PER_PAGE = 25


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
FILTER_LABELS = {"action": lambda: _("Action (or its beginning)"), "actor": lambda: _("By"),
                 "role": lambda: _("Role"), "target": lambda: _("Target"),
                 "user_id": lambda: _("Account id"), "outcome": lambda: _("Outcome"),
                 "since": lambda: _("From (date or time)"),
                 "until": lambda: _("Until (date or time)")}


def _labeller(labels):
    def label(value):
        found = labels.get(value)
        return found() if found else value
    return label


for _name, _labels in (("role_label", ROLE_LABELS), ("account_status_label",
                                                      ACCOUNT_STATUS_LABELS),
                       ("key_state_label", KEY_STATE_LABELS), ("filter_label", FILTER_LABELS)):
    bp.add_app_template_global(_labeller(_labels), _name)


@bp.route("")
@staff_only(None)
def home(staff):
    return page("admin/home.html", staff)


@bp.route("/login-again", methods=["POST"])
def login_again():
    """Log out and in again (with the second factor now enrolled)."""
    sessions.end()
    return login_for_account(url_for(".home"))


# --- Clients ------------------------------------------------------------------------------------

STATUS_LABELS = {"pending": lambda: _("Awaiting approval"), "active": lambda: _("Active"),
                 "suspended": lambda: _("Suspended")}
bp.add_app_template_global(_labeller(STATUS_LABELS), "client_status_label")


def _lines(name):
    return [line.strip() for line in request.form.get(name, "").splitlines() if line.strip()]


def _client_form(new):
    """Metadata and policy from the console's client form."""
    form = request.form
    data = {
        "client_name": form.get("client_name", ""),
        "redirect_uris": _lines("redirect_uris"),
        "post_logout_redirect_uris": _lines("post_logout_redirect_uris"),
        "scope": " ".join(form.get("scope", "").split()) or None,
        "require_mfa": form.get("require_mfa") == "yes",
        "skip_consent": form.get("skip_consent") == "yes",
        "min_loa": form.get("min_loa", type=int) or 1,
    }
    if new:
        data["token_endpoint_auth_method"] = form.get("token_endpoint_auth_method")
        data["grant_types"] = [g for g in form.getlist("grant_types") if g in GRANT_TYPES] or [
            "authorization_code"]
        data["subject_type"] = form.get("subject_type") or "pairwise"
    return data


def _form_page(staff, form, error=None, status=200):
    return page("admin/client_new.html", staff, status=status, form=form, error=error,
                auth_methods=AUTH_METHODS, grant_types=GRANT_TYPES)


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
    data = _client_form(new=True)
    status = "pending" if request.form.get("pending") == "yes" else "active"
    try:
        role = service.client_write_role(staff.roles, staff.role, None, data["scope"])
        client, secret = registry.register_client(data, actor=staff.actor, role=role,
                                                  status=status)
    except ClientValidationError as exc:
        return _form_page(staff, data, _("The client was not registered: %(reason)s",
                                         reason=exc.description), 400)
    except service.AdminError as exc:
        return _form_page(staff, data, exc.description, 403)
    return page("admin/secret.html", staff, kind="client", client=client, secret=secret)


def _client(client_id):
    try:
        return registry.client_row(client_id)
    except registry.ClientNotFound:
        raise UserFacingError("not_found", _("There is no such client."), 404) from None


@bp.route("/clients/<client_id>")
@staff_only("clients.read")
def client(staff, client_id):
    row = _client(client_id)
    days = _int_arg("days", 14, 1, 366)
    return page("admin/client.html", staff, client=row, days=days,
                usage=list(reversed(registry.usage(client_id, days))),
                client_roles=sorted(roles.client_roles_of(client_id)))


@bp.route("/clients/<client_id>/edit", methods=["POST"])
@staff_only("clients.write")
def client_edit(staff, client_id):
    row = _client(client_id)
    changes = _client_form(new=False)
    try:
        role = service.client_write_role(staff.roles, staff.role, row, changes["scope"])
        registry.update_client(client_id, changes, actor=staff.actor, role=role)
    except ClientValidationError as exc:
        return done(_("Nothing was changed: %(reason)s", reason=exc.description),
                    ".client", client_id=client_id)
    except service.AdminError as exc:
        return done(exc.description, ".client", client_id=client_id)
    return done(_("The client was saved."), ".client", client_id=client_id)


STATUS_DONE = {"approve": lambda: _("The client was approved."),
               "suspend": lambda: _("The client was suspended."),
               "activate": lambda: _("The client was activated again.")}


@bp.route("/clients/<client_id>/status", methods=["POST"])
@staff_only("clients.write")
def client_status(staff, client_id):
    row = _client(client_id)
    action = request.form.get("action")
    if action not in service.TRANSITIONS:
        return done(_("Nothing was changed."), ".client", client_id=client_id)
    reason = " ".join(request.form.get("reason", "").split())[:500] or None
    try:
        role = service.client_write_role(staff.roles, staff.role, row)
        service.change_status(client_id, action, actor=staff.actor, role=role, reason=reason)
    except service.AdminError as exc:
        return done(exc.description, ".client", client_id=client_id)
    except service.Conflict:
        return done(_("Nothing was changed: the client's status does not allow it."),
                    ".client", client_id=client_id)
    return done(STATUS_DONE[action](), ".client", client_id=client_id)


@bp.route("/clients/<client_id>/rotate-secret", methods=["POST"])
@staff_only("clients.write")
def client_rotate(staff, client_id):
    row = _client(client_id)
    try:
        role = service.client_write_role(staff.roles, staff.role, row)
        secret = registry.rotate_secret(client_id, actor=staff.actor, role=role)
    except service.AdminError as exc:
        return done(exc.description, ".client", client_id=client_id)
    except ClientValidationError:
        return done(_("This client has no secret to rotate."), ".client", client_id=client_id)
    return page("admin/secret.html", staff, kind="rotated", client=row, secret=secret)


@bp.route("/clients/<client_id>/delete", methods=["POST"])
@staff_only("clients.write")
def client_delete(staff, client_id):
    row = _client(client_id)
    if request.form.get("confirm") != "yes":
        return done(_("Tick the box to confirm the deletion."), ".client", client_id=client_id)
    try:
        role = service.client_write_role(staff.roles, staff.role, row)
    except service.AdminError as exc:
        return done(exc.description, ".client", client_id=client_id)
    service.delete_client(client_id, actor=staff.actor, role=role)
    return done(_("The client was deleted."), ".clients")


# --- Initial access tokens ----------------------------------------------------------------------

@bp.route("/initial-access-tokens")
@staff_only("iat.read")
def iats(staff):
    return page("admin/iats.html", staff, tokens=registry.list_initial_access_tokens())


@bp.route("/initial-access-tokens/issue", methods=["POST"])
@staff_only("iat.write")
def iat_issue(staff):
    form = request.form
    scopes = " ".join(form.get("scopes", "").split()) or None
    try:
        role = service.client_write_role(staff.roles, staff.role, None, scopes)
        iat, token = registry.issue_initial_access_token(
            actor=staff.actor, role=role, label=form.get("label", ""),
            expires_in=(form.get("expires_days", type=int) or 7) * 86400,
            max_uses=form.get("max_uses", type=int) or None, scopes=scopes,
            auto_approve=form.get("auto_approve") == "yes")
    except (ClientValidationError, service.AdminError) as exc:
        return done(_("No token was issued: %(reason)s", reason=exc.description), ".iats")
    return page("admin/secret.html", staff, kind="iat", iat=iat, secret=token)


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


def _user(user_id):
    try:
        return service.get_user(user_id)
    except service.NotFound:
        raise UserFacingError("not_found", _("There is no such account."), 404) from None


@bp.route("/users/<int:user_id>")
@staff_only("users.read")
def user(staff, user_id):
    account = _user(user_id)
    return page("admin/user.html", staff, account=account,
                detail=service.user_detail(account),
                events=service.user_events(account.id, limit=50)["events"])


USER_ACTS = {
    "lock": (service.lock, lambda: _("The account was locked; its sessions ended.")),
    "unlock": (service.unlock, lambda: _("The account was unlocked.")),
    "reset-factors": (service.reset_factors,
                      lambda: _("The account's second factors and recovery codes were "
                                "removed.")),
}


def _user_act(staff, user_id, act, **extra):
    _user(user_id)
    function, message = USER_ACTS[act]
    try:
        function(user_id, actor=staff.actor, role=staff.role, acting_user_id=staff.user.id,
                 **extra)
    except service.Forbidden as exc:
        return done(_("Nothing was changed: %(reason)s", reason=exc.description), ".user",
                    user_id=user_id)
    return done(message(), ".user", user_id=user_id)


@bp.route("/users/<int:user_id>/lock", methods=["POST"])
@staff_only("users.write")
def user_lock(staff, user_id):
    return _user_act(staff, user_id, "lock", reason=request.form.get("reason", ""))


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
@staff_only("users.write")
def user_unlock(staff, user_id):
    return _user_act(staff, user_id, "unlock")


@bp.route("/users/<int:user_id>/reset-factors", methods=["POST"])
@staff_only("users.write")
def user_reset_factors(staff, user_id):
    if request.form.get("confirm") != "yes":
        return done(_("Tick the box to confirm the reset."), ".user", user_id=user_id)
    return _user_act(staff, user_id, "reset-factors")


# --- Keys ---------------------------------------------------------------------------------------

@bp.route("/keys")
@staff_only("keys.read")
def keys(staff):
    return page("admin/keys.html", staff, keys=service.list_keys())


@bp.route("/keys/rotate", methods=["POST"])
@staff_only("keys.write")
def keys_rotate(staff):
    service.rotate_keys(actor=staff.actor, role=staff.role)
    return done(_("The signing keys were rotated."), ".keys")


# --- Audit --------------------------------------------------------------------------------------

FILTER_NAMES = ("action", "actor", "role", "target", "user_id", "outcome", "since", "until")


def _filters():
    return {name: request.args.get(name, "")[:100].strip() for name in FILTER_NAMES
            if request.args.get(name, "").strip()}


@bp.route("/audit")
@staff_only("audit.read")
def audit_log(staff):
    filters = _filters()
    after_id = request.args.get("after_id", type=int)
    try:
        found = audit.events(filters, after_id=after_id if after_id and after_id > 0 else None,
                             limit=50, newest_first=True)
        error = None
    except audit.AuditQueryError as exc:
        found, error = {"events": [], "next_after_id": None}, exc
    return page("admin/audit.html", staff, status=400 if error else 200, filters=filters,
                events=found["events"], next_after_id=found["next_after_id"],
                error=_("The filter is not valid: %(reason)s", reason=str(error)) if error
                else None, names=FILTER_NAMES)


@bp.route("/audit/export")
@staff_only("audit.read")
def audit_export(staff):
    filters = _filters()
    try:
        lines = audit.export_lines(filters)
    except audit.AuditQueryError as exc:
        flash(_("The filter is not valid: %(reason)s", reason=str(exc)))
        return redirect(url_for(".audit_log", **filters), code=303)
    audit.record("audit.exported", actor=staff.actor, role=staff.role,
                 detail={"filters": filters})
    return Response(stream_with_context(lines), mimetype="application/x-ndjson", headers={
        "Content-Disposition": 'attachment; filename="audit.jsonl"'})
