"""Protocol endpoints. Views stay thin: validation lives in Authlib grants and
``idp.oauth.checks``; login and consent happen in the login journey (``idp.interaction``)."""

from urllib.parse import urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import AccessDeniedError
from authlib.oidc.core.errors import AccountSelectionRequiredError
from authlib.oidc.core.errors import ConsentRequiredError
from authlib.oidc.core.errors import InteractionRequiredError
from authlib.oidc.core.errors import LoginRequiredError
from flask import Blueprint
from flask import current_app
from flask import g
from flask import jsonify
from flask import redirect
from flask import request

from idp.accounts import assurance
from idp.accounts import sessions
from idp.accounts.models import User
from idp.bearer import BearerGuard
from idp.bearer import insufficient_scope
from idp.bearer import invalid_token
from idp.enterprise import choosing as enterprise_choosing
from idp.enterprise import details as enterprise_details
from idp.enterprise import service as enterprise
from idp.errors import UserFacingError
from idp.extensions import csrf
from idp.extensions import db
from idp.interaction.journey import Journey
from idp.interaction.journey import JourneyError
from idp.interaction.record import Login
from idp.interaction.record import Needs
from idp.oauth import tokens
from idp.oauth.checks import InvalidAuthorizationDetails
from idp.oauth.checks import requested_max_age
from idp.oauth.checks import requested_prompts
from idp.oauth.claims import essential_acr_values
from idp.oauth.claims import parse_claims_request
from idp.oauth.claims import userinfo as userinfo_claims
from idp.oauth.server import StoredRequest
from idp.oauth.server import authorization_server

bp = Blueprint("oauth", __name__)


NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@bp.route("/authorize", methods=["GET", "POST"])
@csrf.exempt
def authorize():
    """OIDC Core 3.1.2. GET and POST (form-encoded) are both accepted."""
    params = request.args if request.method == "GET" else request.form
    return _authorize(params.to_dict(), datalist=params.to_dict(flat=False))


@bp.route("/authorize/resume/<uid>")
def resume(uid):
    """Where a login journey hands the browser back once a page completed its step."""
    journey = Journey.load(uid)
    return _authorize(journey.record.params, journey=journey)


def _authorize(params, journey=None, datalist=None):
    """Validate the request (Authlib's grant and our named checks), run the login journey,
    then answer with a code. The journey needs nothing of OAuth but :func:`needs_of`."""
    g.ui_locales = params.get("ui_locales")
    server = authorization_server()
    oauth_request = StoredRequest(params, datalist)
    try:
        grant = server.get_consent_grant(oauth_request, end_user=None)
    except OAuth2Error as error:
        return _error_response(error, params)
    client = oauth_request.client
    if journey is None:
        journey = Journey.start(client, needs_of(params, client), params, resume="oauth.resume")
    try:
        login = journey.proceed()
    except JourneyError as exc:
        journey.finish()
        error = JOURNEY_ERRORS[exc.code](redirect_uri=params["redirect_uri"],
                                         state=params.get("state"))
        return _error_response(error, params)
    if not isinstance(login, Login):
        return login  # the page of the next step
    journey.finish()
    sessions.touch(client.client_id)
    oauth_request.login = login
    user = db.session.get(User, login.user_id)
    oauth_request.acting = None
    if login.acting_for:  # what acting for the enterprise carries into the tokens
        oauth_request.acting = enterprise.acting(
            user, login.acting_for, enterprise_choosing.asked_of(journey.needs))
        if oauth_request.acting is None:  # the authority ended during the login
            return _error_response(AccessDeniedError(
                "The authority to act for this enterprise has ended.",
                redirect_uri=params["redirect_uri"], state=params.get("state")), params)
    response = server.create_authorization_response(oauth_request, grant_user=user, grant=grant)
    response.headers.update(NO_STORE)
    return response


def needs_of(params, client) -> Needs:
    """What this authorization request asks of the login, decided once: ``prompt`` and
    ``max_age``; the level of assurance from the platform's minimum, ``acr_values`` and an
    essential ``acr`` in the ``claims`` parameter; the platform's MFA and consent policies;
    an enterprise identity (the ``enterprise`` scope, the platform's policy or
    ``authorization_details``, which consent then covers as the ``enterprise`` scope)."""
    essential = essential_acr_values(parse_claims_request(params.get("claims")))
    target = urlsplit(params["redirect_uri"])
    level = max(assurance.required_level(client, (params.get("acr_values") or "").split()),
                assurance.required_level(client, essential))
    scopes = tuple((params.get("scope") or "").split())
    asked = enterprise_details.parse(params.get("authorization_details"))  # checked already
    acting = "enterprise" in scopes or bool(client.enterprise_allowed) or asked is not None
    if acting and "enterprise" not in scopes:
        scopes += ("enterprise",)
    return Needs(prompts=tuple(requested_prompts(params)), max_age=requested_max_age(params),
                 level=level, mfa=bool(client.require_mfa), scopes=scopes,
                 skip_consent=bool(client.skip_consent),
                 login_hint=(params.get("login_hint") or "")[:254],
                 ui_locales=params.get("ui_locales") or "",
                 destination=target.hostname or target.scheme, enterprise=acting,
                 matters=asked.matters if asked else (),
                 credit_code=asked.credit_code if asked else "")


class UnmetAuthenticationRequirements(OAuth2Error):
    """OpenID Connect Core Unmet Authentication Requirements 1.0: the citizen could not
    meet what the platform asked for (a second factor, a verified identity)."""

    error = "unmet_authentication_requirements"


#: How each way a journey can end is answered (OIDC Core 3.1.2.6).
JOURNEY_ERRORS = {
    "login_required": LoginRequiredError,
    "interaction_required": InteractionRequiredError,
    "consent_required": ConsentRequiredError,
    "account_selection_required": AccountSelectionRequiredError,
    "access_denied": AccessDeniedError,
    "unmet_authentication_requirements": UnmetAuthenticationRequirements,
    "invalid_authorization_details": InvalidAuthorizationDetails,
}


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
                             token.record.claims_request, acting=token.record.acting)
    return jsonify(claims), 200, NO_STORE
