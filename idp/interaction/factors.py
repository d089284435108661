"""The second-factor step: one path for every factor plugin (``mfa.base.SecondFactor``).

Every factor is started with ``begin`` and checked with ``verify`` here, so all of them share:

* one try counter per journey: ``MAX_TRIES`` wrong answers end the login;
* answers are counted before they are checked, atomically (``record.count_try``,
  ``accounts.service.count_factor_answer``), so answers posted at once are each counted;
* the account's second-factor lockout (``accounts.service.note_factor_failure``): wrong
  answers count across logins and client addresses until a right one, and
  ``FACTOR_LOCKOUT_THRESHOLD`` of them lock the account as wrong passwords do (told only to
  someone who got past the password);
* one audit path (``mfa.success`` / ``mfa.failure`` with the factor's kind and reason);
* the per-address rate limit, applied to their routes (``idp.accounts.second_factor``).

Form factors answer with the step's page; script factors (WebAuthn) with JSON.
"""

from flask import current_app
from flask import jsonify
from flask_babel import gettext as _

from idp.accounts import assurance
from idp.accounts import service as accounts
from idp.audit import service as audit
from idp.errors import UserFacingError
from idp.interaction import record as records
from idp.interaction.steps import SECOND_FACTOR
from idp.interaction.steps import render_page
from mfa import base as mfa
from mfa.codes import DeliveryError
from mfa.codes import RateLimited

#: Wrong second-factor answers one login may give before it ends.
MAX_TRIES = 5


def _available(user, kind):
    try:
        plugin = mfa.plugin(kind)
    except KeyError:
        return None
    return plugin if plugin.available_for(user) else None


def _state(journey, kind):
    return journey.record.factor_state.setdefault(kind, {})


def begin(journey, kind):
    """Start ``kind``'s verification (send a code, make a WebAuthn challenge)."""
    user = journey.pending_user()
    plugin = _available(user, kind)
    if plugin is None:
        return SECOND_FACTOR.page(journey, status=400)
    try:
        answer = plugin.begin(user, _state(journey, kind))
    except RateLimited as exc:
        return SECOND_FACTOR.page(journey, status=429, error=_(
            "A code was sent a moment ago. Wait %(seconds)s seconds before asking for "
            "another one.", seconds=exc.retry_after))
    except DeliveryError:
        return SECOND_FACTOR.page(journey, status=503, error=plugin.undelivered())
    records.save(journey.record)
    if plugin.script:
        return current_app.response_class(answer, mimetype="application/json",
                                          headers={"Cache-Control": "no-store"})
    return SECOND_FACTOR.page(journey)


def verify(journey, kind, request):
    """Check the citizen's answer for ``kind`` (the form posted, or a script's JSON): on
    success the login is made (or the session strengthened) and the journey goes on.

    The answer is counted, for the journey and then for the account, before it is checked,
    each in one atomic step: answers posted at once cannot all be checked before the first
    wrong one is counted. One beyond either limit is refused unchecked (reason
    ``too_many``); one beyond the journey's does not count for the account."""
    user = journey.pending_user()
    plugin = _available(user, kind)
    tries = records.count_try(journey.record)
    answers = accounts.count_factor_answer(user) if tries <= MAX_TRIES else 0
    factor, reason = None, None
    if tries > MAX_TRIES or answers > current_app.config["FACTOR_LOCKOUT_THRESHOLD"]:
        reason = "too_many"
    elif plugin is not None:
        submission = request.get_data(as_text=True) if plugin.script else request.form
        try:
            factor = plugin.verify(user, _state(journey, kind), submission)
        except mfa.Rejected as exc:
            reason = exc.code
    if not factor:
        return _failed(journey, user, kind, plugin, reason, tries, answers)
    accounts.factor_succeeded(user)
    audit.record("mfa.success", user_id=user.id, detail={"factor": kind})
    amr = assurance.combine(list(journey.record.pending.amr),
                            plugin.amr(factor if factor is not True else None))
    response = journey.establish(user, amr)
    if plugin.script:
        return jsonify(redirect=response.headers["Location"])
    notice = plugin.notice(user)
    if notice is not None:
        template, context = notice
        return render_page(template, journey, resume=response.headers["Location"], **context)
    return response


def _failed(journey, user, kind, plugin, reason, tries, answers):
    record = journey.record
    audit.record("mfa.failure", "failure", user_id=user.id,
                 detail={"factor": kind, **({"reason": reason} if reason else {})})
    locked = accounts.note_factor_failure(user, answers)
    if locked or tries >= MAX_TRIES:
        journey.finish()
        message = _(
            "This account is locked after repeated wrong codes. Try again in %(minutes)s "
            "minutes, or ask the service desk to unlock it.",
            minutes=max(1, current_app.config["LOCKOUT_SECONDS"] // 60)) if locked else _(
            "Too many wrong codes. Return to the service and log in again.")
        if plugin is not None and plugin.script:
            return jsonify(error="access_denied", message=message), 403
        raise UserFacingError("access_denied", message, 403)
    records.save(record)
    if plugin is not None and plugin.script:
        return jsonify(error=reason or "rejected", message=plugin.rejected()), 400
    return SECOND_FACTOR.page(journey, status=401,
                              error=(plugin or mfa.SecondFactor()).rejected())
