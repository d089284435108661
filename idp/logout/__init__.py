"""Logout that reaches every platform: RP-initiated logout at ``/logout`` (``views``),
back-channel logout tokens delivered from a durable queue (``service``, ``models``, the
``idp logout`` commands in ``cli``) and front-channel logout frames (``browser``).

Everything starts from ``idp.accounts.signals.session_ended``, which ``idp.accounts.sessions``
sends for every session that ends, wherever it ended: ``init_app`` connects the receiver.
Other modules may receive it too: a receiver that has a page for the logged-out browser to
visit (an upstream provider's own logout) adds it to ``idp.logout.browser.current()`` when
``browser`` is true.
"""


def init_app(app):
    from flask import current_app

    from idp.accounts.signals import session_ended
    from idp.logout import service

    session_ended.connect(service.on_session_ended, sender=app)
    if app.config["LOGOUT_WORKER_THREAD"]:
        # started by the first request, so that only a serving process runs it (never a
        # command such as `idp db upgrade`)
        app.before_request(lambda: service.start_worker_thread(
            current_app._get_current_object()))
