"""Signals the account pages send, so that other layers react without being imported here
(the protocol layer revokes a platform's tokens when the citizen withdraws consent)."""

from blinker import Namespace

_signals = Namespace()

#: sender: the app; kwargs: user_id, client_id
consent_revoked = _signals.signal("consent-revoked")
