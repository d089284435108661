"""``/dev/sms-outbox`` and ``/dev/email-outbox``: what the development senders kept instead
of sending — whole numbers, addresses and codes — so these pages exist only in development
and testing."""

import time

from flask import abort
from flask import current_app
from flask import render_template
from flask_babel import gettext as _

from idp.accounts.views import bp
from mfa import email
from mfa import sms

TITLES = {"sms": lambda: _("Text messages (development)"),
          "email": lambda: _("Emails (development)")}


@bp.route("/dev/<any(sms, email):kind>-outbox")
def outbox(kind):
    if current_app.config["ENV_NAME"] not in ("development", "testing"):
        abort(404)
    read = sms.outbox if kind == "sms" else email.outbox
    messages = [{**m, "time": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(m["at"]))}
                for m in read()]
    html = render_template("dev/outbox.html", kind=kind, title=TITLES[kind](),
                           messages=messages)
    return html, 200, {"Cache-Control": "no-store"}
