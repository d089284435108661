"""Signals the account pages send, so that other layers react without being imported here
(the protocol layer revokes a platform's tokens when the citizen withdraws consent; the logout
module tells platforms that a session ended; the federation module logs the browser out
at the regional provider a session came from)."""

from blinker import Namespace

_signals = Namespace()

#: sender: the app; kwargs: user_id, client_id
consent_revoked = _signals.signal("consent-revoked")

#: A single sign-on session ended, however it ended: this browser logged out (``/logout``,
#: ``/account/logout``), another login replaced it, the citizen ended it from ``/account``, a
#: password change ended the other sessions, an administrator locked the account.
#: ``idp.accounts.sessions`` is the one place that sends it; ``idp.logout`` tells the session's
#: platforms (back-channel and front-channel logout), and a receiver may end what the session
#: started elsewhere (an upstream provider's session). Sent after the session is gone.
#: sender: the app; kwargs: ``user_id``, ``sid``, ``clients`` (client_ids the session logged
#: in to, in order), ``amr``, ``session`` (a copy of the whole session record, for fields
#: other modules keep in it), ``reason`` (``logout``, ``replaced``, ``ended``,
#: ``password_changed``, ``account_locked``) and ``browser`` (True when this request's
#: browser is the one logged out, so a receiver may show it pages: ``idp.logout.browser``).
session_ended = _signals.signal("session-ended")
