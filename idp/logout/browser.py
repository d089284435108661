"""What the logged-out browser still has to do after the session ended: load the platforms'
front-channel logout pages in frames (OpenID Connect Front-Channel Logout 1.0), visit pages
other modules add (``add_stop``: an upstream provider's logout), then go back to the platform
that asked (its verified ``post_logout_redirect_uri``).

The plan is made while the session ends (``current()`` in the request that ends it, filled by
the receivers of ``session_ended``), kept in the shared store for ``TTL`` seconds, and played
by ``/logout/done/<uid>`` (``idp.logout.views``): frames first, then each stop, then the
platform. A stop must send the browser back to ``resume_url`` when it is done.
"""

import secrets
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field

from flask import after_this_request
from flask import g
from flask import has_request_context
from flask import url_for

from idp.accounts import sessions
from idp.store import store

TTL = 600


@dataclass
class BrowserLogout:
    uid: str
    #: front-channel logout URLs (with ``iss`` and ``sid``), loaded in frames
    frames: list = field(default_factory=list)
    #: pages the browser visits next, in order (each comes back to ``resume_url``)
    stops: list = field(default_factory=list)
    #: where the browser ends: a platform's verified return address, or None (our page)
    then: str | None = None
    #: the platform's ``ui_locales``, for our pages
    ui_locales: str = ""
    frames_shown: bool = False

    @property
    def resume_url(self):
        return url_for("logout.done", uid=self.uid)

    @property
    def has_pages(self):
        return bool(self.frames and not self.frames_shown) or bool(self.stops)

    def add_frame(self, url):
        self.frames.append(url)
        sessions.continue_logout_at(self.resume_url)

    def add_stop(self, url):
        """Send the browser to ``url`` after this provider's logout pages; the page there must
        send it back to ``resume_url`` (for an upstream provider's RP-initiated logout: carry
        ``uid`` in its ``state`` and redirect from the callback)."""
        self.stops.append(url)
        sessions.continue_logout_at(self.resume_url)

    def save(self):
        store().set(_key(self.uid), asdict(self), TTL)

    def finish(self):
        store().delete(_key(self.uid))


def _key(uid):
    return "logout-browser:" + uid


def current() -> BrowserLogout | None:
    """This request's plan (made on first use and saved with the response when it has pages
    to show); None outside a request."""
    if not has_request_context():
        return None
    if g.get("browser_logout") is None:
        g.browser_logout = BrowserLogout(uid=secrets.token_urlsafe(18))

        @after_this_request
        def _keep(response):
            if g.browser_logout.has_pages:
                g.browser_logout.save()
            return response
    return g.browser_logout


def load(uid) -> BrowserLogout | None:
    if not isinstance(uid, str) or len(uid) > 64:
        return None
    data = store().get(_key(uid))
    return BrowserLogout(**data) if data else None
