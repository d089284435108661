"""Protocol endpoints. Views stay thin: validation lives in Authlib grants and
``idp.oauth.checks``; login and consent happen in ``idp.accounts`` through interactions."""

import time

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import AccessDeniedError
from authlib.oidc.core.errors import ConsentRequiredError
from authlib.oidc.core.errors import InteractionRequiredError
from authlib.oidc.core.errors import LoginRequiredError
from flask import Blueprint
from flask import current_app
from flask import g
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _

from idp import interaction
from idp.accounts import assurance
from idp.accounts import sessions
from idp.accounts.models import Consent
from idp.accounts.models import User
from idp.bearer import BearerGuard
from idp.bearer import insufficient_scope
from idp.bearer import invalid_token
from idp.errors import UserFacingError
from idp.extensions import csrf
from idp.extensions import db
from idp.oauth import tokens
from idp.oauth.checks import requested_max_age
from idp.oauth.claims import essential_acr_values
from idp.oauth.claims import parse_claims_request
from idp.oauth.claims import userinfo as userinfo_claims
from idp.oauth.server import StoredRequest
from idp.oauth.server import authorization_server

bp = Blueprint("oauth", __name__)


class UnmetAuthenticationRequirements(OAuth2Error):
    """OpenID Connect Core Unmet Authentication Requirements 1.0: the citizen could not
    meet what the platform asked for (here: a second factor)."""

    error = "unmet_authentication_requirements"

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
#: Scopes the citizen consents to even for a first-party platform (``skip_consent``).
ALWAYS_ASK = {"id_number"}


@bp.route("/authorize", methods=["GET", "POST"])
@csrf.exempt
def authorize():
    """OIDC Core 3.1.2. GET and POST (form-encoded) are both accepted."""
    params = request.args if request.method == "GET" else request.form
    return _authorize(params.to_dict(), datalist=params.to_dict(flat=False))


@bp.route("/authorize/resume/<uid>")
def resume(uid):
    record = interaction.load(uid)
    if record is None:
        raise UserFacingError("invalid_request", _("This login request has expired. "
                                                   "Return to the service and start again."))
    return _authorize(record["params"], record=record)


def _authorize(params, record=None, datalist=None):
    g.ui_locales = params.get("ui_locales")
    server = authorization_server()
    oauth_request = StoredRequest(params, datalist)
    try:
        grant = server.get_consent_grant(oauth_request, end_user=None)
    except OAuth2Error as error:
        return _error_response(error, params)
    redirect_uri = params["redirect_uri"]
    client = oauth_request.client
    try:
        login = _establish_login(params, record, client, redirect_uri)
        if not isinstance(login, dict):
            return login  # an interaction page
        user = db.session.get(User, login["user_id"])
        if user is None or not user.is_active:
            sessions.end()
            raise LoginRequiredError(redirect_uri=redirect_uri)
        step = _assurance_step(params, record, client, user, login, redirect_uri)
        if step is not None:
            return step
        # the level is the account's as it is now (it may have been raised in this flow)
        login = {**login, "acr": assurance.acr_for(user, login["amr"])}
        decision = _consent(params, record, user, client, login, redirect_uri)
        if decision is not True:
            return decision
    except OAuth2Error as error:
        if record:
            interaction.finish(record)
        error.state = params.get("state")
        return _error_response(error, params)
    if record:
        interaction.finish(record)
    sessions.touch(client.client_id)
    oauth_request.login = login
    response = server.create_authorization_response(oauth_request, grant_user=user, grant=grant)
    response.headers.update(NO_STORE)
    return response


def _establish_login(params, record, client, redirect_uri):
    """The login this request stands on: one just made in the interaction, or the browser's
    SSO session if it satisfies ``prompt`` and ``max_age``; else an interaction page."""
    prompts = set((params.get("prompt") or "").split())
    session = sessions.current()
    if record and record.get("unmet"):
        raise UnmetAuthenticationRequirements(redirect_uri=redirect_uri)
    if record and record.get("login"):
        if session is None or session["sid"] != record["login"]["sid"]:
            raise UserFacingError("invalid_request", _(
                "Your browser did not keep the login session (are cookies blocked?). "
                "Return to the service and start again."))
        return record["login"]
    max_age = requested_max_age(params)
    need_login = (
        session is None
        or "login" in prompts
        or (max_age is not None and time.time() - session["auth_time"] > max_age)
    )
    if need_login:
        if "none" in prompts:
            raise LoginRequiredError(redirect_uri=redirect_uri)
        return _interaction(params, client, "login", record)
    if "select_account" in prompts and not (record and record.get("selected")):
        return _interaction(params, client, "select_account", record)
    return {k: session[k] for k in ("user_id", "auth_time", "amr", "acr", "sid")}


def _assurance_step(params, record, client, user, login, redirect_uri):
    """What the platform needs beyond the login: a verified identity at its level (through
    ``idp.realname``), then the second factor that level or its policy asks for (a step-up:
    the session stands, only the missing factor is asked for). None when nothing is missing."""
    prompts = set((params.get("prompt") or "").split())
    level = assurance.required_level(client, (params.get("acr_values") or "").split())
    essential = essential_acr_values(parse_claims_request(params.get("claims")))
    level = max(level, assurance.required_level(client, essential))
    if user.loa < level:
        if "none" in prompts:
            raise InteractionRequiredError(redirect_uri=redirect_uri)
        record = _interaction(params, client, "identity", record, login=login, save=False)
        record["required_level"] = level
        return _show(record)
    if assurance.second_factor_needed(user, login["amr"], require_mfa=client.require_mfa,
                                      level=level):
        if "none" in prompts:
            raise InteractionRequiredError(redirect_uri=redirect_uri)
        return _interaction(params, client, "mfa", record, login=login, pending={
            "user_id": user.id, "amr": login["amr"], "step_up": True})
    return None


def _consent(params, record, user, client, login, redirect_uri):
    scopes = (params.get("scope") or "").split()
    prompts = set((params.get("prompt") or "").split())
    if record and record.get("consent"):
        if record["consent"] != "allow":
            raise AccessDeniedError(redirect_uri=redirect_uri)
        return True
    remembered = Consent.query.filter_by(user_id=user.id, client_id=client.client_id).first()
    # a first-party platform skips the page, except for the identity document: the citizen
    # always agrees to that one themselves
    first_party = client.skip_consent and not set(scopes) & ALWAYS_ASK
    if "consent" not in prompts and (first_party or (
            remembered is not None and remembered.covers(scopes))):
        return True
    if "none" in prompts:
        raise ConsentRequiredError(redirect_uri=redirect_uri)
    return _interaction(params, client, "consent", record, login=login)


def _interaction(params, client, stage, record, login=None, pending=None, save=True):
    """Hand the browser to an interaction page at ``stage`` (or, with ``save=False``, return
    the record for the caller to complete and pass to ``_show``)."""
    if record is None:
        record = interaction.create(params, client.client_id, stage)
    record["stage"] = stage
    if login is not None:
        record["login"] = login
    if pending is not None:
        record["pending"] = pending
    return _show(record) if save else record


def _show(record):
    interaction.save(record)
    return redirect(url_for("accounts.interaction_page", uid=record["uid"]), code=303)


def _error_response(error, params):
    """Redirect the error to a verified redirect URI (with ``state`` and RFC 9207 ``iss``);
    otherwise show an error page and never redirect (RFC 6749 4.1.2.1)."""
    if error.redirect_uri:
        fields = [("error", error.error)]
        if error.description:
            fields.append(("error_description", error.description))
        if params.get("state"):
            fields.append(("state", params["state"]))
        fields.append(("iss", current_app.config["ISSUER"]))
        response = redirect(add_params_to_uri(error.redirect_uri, fields), code=302)
        response.headers.update(NO_STORE)
        return response
    raise UserFacingError(error.error, error.description or error.error)


@bp.route("/token", methods=["POST"])
@csrf.exempt
def token():
    return authorization_server().create_token_response()


@bp.route("/introspect", methods=["POST"])
@csrf.exempt
def introspect():
    return authorization_server().create_endpoint_response("introspection")


@bp.route("/revoke", methods=["POST"])
@csrf.exempt
def revoke():
    return authorization_server().create_endpoint_response("revocation")


USERINFO = BearerGuard("userinfo", form_parameter=True)
USERINFO.init_blueprint(bp)


@bp.route("/userinfo", methods=["GET", "POST"])
@csrf.exempt
def userinfo():
    """OIDC Core 5.3 behind the bearer-token guard (RFC 6750, ``idp.bearer``): a citizen's
    access token with the ``openid`` scope."""
    token = USERINFO.authenticate(tokens.access_token)
    if token.is_machine:
        raise invalid_token("A client's own access token has no userinfo.")
    if "openid" not in token.scopes:
        raise insufficient_scope("The token lacks the openid scope.")
    claims = userinfo_claims(token.user, token.client, token.claims["scope"],
                             token.record.claims_request)
    return jsonify(claims), 200, NO_STORE


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    """OpenID Connect RP-Initiated Logout 1.0. With a valid ``id_token_hint`` for this browser's
    session the session ends at once; otherwise the person confirms (a CSRF-protected form),
    so a third-party page cannot log citizens out."""
    params = request.values
    hint = params.get("id_token_hint")
    claims = None
    if hint:
        decoded = tokens.verify_jwt(hint)
        if decoded is None:
            raise UserFacingError("invalid_request", _("The logout request is not valid."))
        claims = decoded.claims
    client_id = params.get("client_id") or (claims or {}).get("aud")
    if claims and params.get("client_id") and params["client_id"] != claims.get("aud"):
        raise UserFacingError("invalid_request", _("The logout request is not valid."))
    target = params.get("post_logout_redirect_uri")
    client = authorization_server().query_client(client_id) if client_id else None
    if target and (client is None or target not in client.post_logout_redirect_uris):
        raise UserFacingError("invalid_request", _(
            "The address to return to after logout is not registered for this service."))
    session = sessions.current()
    hinted = bool(claims and session and claims.get("sid") == session["sid"])
    confirmed = request.method == "POST" and params.get("confirm") == "yes"
    if session is not None and not (hinted or confirmed):
        return render_template("oauth/logout.html", params=params.to_dict(), client=client)
    if confirmed:
        csrf.protect()
    sessions.end()
    if target:
        fields = [("state", params["state"])] if params.get("state") else []
        return redirect(add_params_to_uri(target, fields), code=303)
    return render_template("oauth/logged_out.html")
