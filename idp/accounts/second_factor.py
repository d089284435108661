"""The routes of a login's second-factor step: one pair for every factor plugin (start, then
check), and "I cannot" (``idp.interaction.factors`` does the work). The older per-factor paths
(``…/sms/send``, ``…/webauthn/options``) are kept: pages and scripts post to them."""

from flask import current_app
from flask import request

from idp.accounts.views import bp
from idp.extensions import limiter
from idp.interaction import factors
from idp.interaction.journey import Journey

login_limit = limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"])


@login_limit
def factor_begin(uid, kind):
    return factors.begin(Journey.load(uid), kind)


# one view; the pages name the path that reads best for each kind
for path, endpoint in (("/interaction/<uid>/mfa/<kind>/begin", "factor_begin"),
                       ("/interaction/<uid>/mfa/<any(sms, email):kind>/send", "code_send"),
                       ("/interaction/<uid>/mfa/<any(webauthn):kind>/options",
                        "webauthn_options")):
    bp.add_url_rule(path, endpoint, factor_begin, methods=["POST"])


@bp.route("/interaction/<uid>/mfa/<kind>", methods=["POST"])
@login_limit
def factor_verify(uid, kind):
    return factors.verify(Journey.load(uid), kind, request)


@bp.route("/interaction/<uid>/mfa/cancel", methods=["POST"])
def cancel(uid):
    """The citizen cannot (or will not) add a factor: the platform hears
    ``unmet_authentication_requirements``."""
    journey = Journey.load(uid)
    journey.pending_user()  # only while a second factor is being asked for
    return journey.give_up()
