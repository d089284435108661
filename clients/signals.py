"""Signals of the client registry, so that the protocol layer reacts without being imported
here (``clients`` never imports ``idp.oauth``; ``idp.oauth.server`` connects the receivers)."""

from blinker import Namespace

_signals = Namespace()

#: A client was deleted: its tokens must stop. sender: the app; kwargs: client_id
client_deleted = _signals.signal("client-deleted")

#: How many tokens a client was issued per day. sender: the app; kwargs: client_id, since
#: (epoch seconds), utc_offset (seconds). A receiver returns {day number: count}, the day
#: number being (issued_at + utc_offset) // 86400.
token_usage = _signals.signal("client-token-usage")
