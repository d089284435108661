"""OpenID Connect RP-Initiated Logout 1.0 at ``/logout`` (the ``end_session_endpoint``), and
``/logout/done/<uid>``, where a logged-out browser loads the platforms' front-channel logout
pages before it goes back to the platform (``idp.logout.browser``).

A request tied to this browser's session (an ``id_token_hint`` of ours, expired or not, whose
``sid`` is the session's) logs out at once; otherwise the citizen is asked (form contract:
``<button name="logout" value="yes">`` / ``value="no"``), so that a third-party page cannot
log citizens out. The browser is sent back only to a ``post_logout_redirect_uri`` registered,
exactly, for the platform named by the hint or by ``client_id``; anything else is an error
page, never a redirect.
"""

from dataclasses import dataclass

from authlib.common.urls import add_params_to_uri
from flask import Blueprint
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask_babel import gettext as _

from clients.service import get_client
from idp.accounts import sessions
from idp.errors import UserFacingError
from idp.extensions import csrf
from idp.logout import browser as plans
from idp.logout import service
from idp.oauth import tokens

bp = Blueprint("logout", __name__)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
#: The request's parameters a confirmation form carries along.
CARRIED = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales")


@dataclass(frozen=True)
class LogoutRequest:
    """What the platform asked, checked: the ``id_token_hint``'s claims, the platform (from
    the hint or ``client_id``) and where to return (registered for it), with ``state``."""

    claims: dict | None
    client: object | None
    target: str | None
    state: str | None

    def tied_to(self, session) -> bool:
        return bool(self.claims and session and self.claims.get("sid") == session["sid"])

    def back_to_platform(self):
        """The verified return address with ``state``, or None."""
        if self.target is None:
            return None
        return add_params_to_uri(self.target, [("state", self.state)] if self.state else [])


def _invalid(description):
    return UserFacingError("invalid_request", description)


def id_token_claims(hint):
    """The claims of an ID token this provider signed (signature and issuer checked; an
    expired one is accepted, RP-Initiated Logout 1.0 2), or None. Access and logout tokens
    (``typ`` ``at+jwt``, ``logout+jwt``) are no ID tokens."""
    decoded = tokens.verify_jwt(hint)
    if decoded is None or str(decoded.header.get("typ", "JWT")).upper() != "JWT":
        return None
    claims = decoded.claims
    if not isinstance(claims.get("aud"), str) or not isinstance(claims.get("sub"), str):
        return None
    return claims


def read_request(params) -> LogoutRequest:
    claims = None
    if params.get("id_token_hint"):
        claims = id_token_claims(params["id_token_hint"])
        if claims is None:
            raise _invalid(_("The logout request is not valid."))
    client_id = params.get("client_id") or None
    if claims and client_id and client_id != claims["aud"]:
        raise _invalid(_("The logout request is not valid."))
    client_id = client_id or (claims or {}).get("aud")
    client = get_client(client_id) if client_id else None
    target = params.get("post_logout_redirect_uri") or None
    if target is not None and (client is None or not client.is_active
                               or target not in client.post_logout_redirect_uris):
        raise _invalid(_("The address to return to after logout is not registered for this "
                         "service."))
    return LogoutRequest(claims, client, target, params.get("state") or None)


@bp.route("/logout", methods=["GET", "POST"])
@csrf.exempt  # a platform may POST the request; only the citizen's answer needs the token
def end_session():
    params = request.args if request.method == "GET" else request.form
    g.ui_locales = params.get("ui_locales")
    logout = read_request(params)
    session = sessions.current()
    answer = params.get("logout") if request.method == "POST" else None
    if answer is not None:
        csrf.protect()
        if answer not in ("yes", "no"):
            raise _invalid(_("The logout request is not valid."))
        if answer == "no":
            return _stay(logout)
    elif session is not None and not logout.tied_to(session):
        carried = {key: params[key] for key in CARRIED if params.get(key)}
        return render_template("logout/confirm.html", params=carried,
                               client=logout.client), 200, NO_STORE
    if session is not None:
        sessions.end()
    plan = plans.current()
    plan.ui_locales = params.get("ui_locales") or ""
    plan.then = logout.back_to_platform()
    if plan.has_pages:
        return redirect(plan.resume_url, code=303)
    if plan.then:
        return redirect(plan.then, code=303)
    return render_template("logout/logged_out.html"), 200, NO_STORE


def _stay(logout):
    """The citizen chose to stay logged in: back to the platform only at a verified address."""
    target = logout.back_to_platform()
    if target:
        return redirect(target, code=303)
    return render_template("logout/kept.html"), 200, NO_STORE


@bp.route("/logout/done/<uid>")
def done(uid):
    """Play the logged-out browser's plan: the front-channel frames, then each stop, then the
    platform (or our logged-out page)."""
    plan = plans.load(uid)
    if plan is None:
        return render_template("logout/logged_out.html"), 200, NO_STORE
    g.ui_locales = plan.ui_locales
    if plan.frames and not plan.frames_shown:
        plan.frames_shown = True
        next_url = plan.resume_url if plan.stops or plan.then else None
        if next_url:
            plan.save()
        else:
            plan.finish()
        g.frame_origins = service.frame_origins(plan.frames)
        return render_template("logout/logged_out.html", frames=plan.frames,
                               next_url=next_url), 200, NO_STORE
    if plan.stops:
        stop = plan.stops.pop(0)
        plan.save()
        return redirect(stop, code=303)
    plan.finish()
    if plan.then:
        return redirect(plan.then, code=303)
    return render_template("logout/logged_out.html"), 200, NO_STORE
