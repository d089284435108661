"""Signals of the client registry, so that the protocol layer reacts to its events without
being imported here (``clients`` never imports ``idp.oauth``; ``idp.oauth.server`` connects
the receivers). Events only: a question is asked by a plain call where both sides are known
(``idp.admin.service.usage``)."""

from blinker import Namespace

_signals = Namespace()

#: A client was deleted: its tokens must stop. sender: the app; kwargs: client_id
client_deleted = _signals.signal("client-deleted")
