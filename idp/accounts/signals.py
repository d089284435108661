"""Signals the account pages send, so that other layers react without being imported here
(the protocol layer revokes a platform's tokens when the citizen withdraws consent; the
federation module logs the browser out at the regional provider a session came from)."""

from blinker import Namespace

_signals = Namespace()

#: sender: the app; kwargs: user_id, client_id
consent_revoked = _signals.signal("consent-revoked")

#: A single sign-on session ended: this browser logged out, another login replaced it, or it
#: was ended from elsewhere (the citizen's account pages, a password change, an administrator).
#: ``idp.accounts.sessions`` is the one place that sends it, once per ended session, after the
#: session is gone. sender: the app; kwargs: ``user_id``, ``sid``, ``clients`` (client_ids the
#: session logged in to), ``amr``, ``session`` (a copy of the session record, with the fields
#: other modules keep in it) and ``browser`` (True when this request's browser is the one
#: logged out, so a receiver may still send it somewhere).
session_ended = _signals.signal("session-ended")
