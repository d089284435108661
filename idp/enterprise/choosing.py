"""Choosing who a login acts for: the person themselves (``self``) or an enterprise (its
credit code), for a platform that asked for an enterprise identity (the login journey's
``act_as`` step, ``idp.interaction.steps.ActAs``).

* The choices: ``self`` — unless the platform asked for matters or an enterprise
  (``authorization_details``), which only an enterprise can be — then every enterprise whose
  authority covers what was asked (``service.choices``). No choice at all: the platform hears
  ``invalid_authorization_details``.
* No page when the choice is made already: the one this browser's session made for this
  platform earlier (kept with the session, while it is still a choice), or the only choice
  there is. A platform that sends ``prompt=select_account`` has the person choose every time
  (that is also how a person switches: a new authorization, no password). With
  ``prompt=none`` the same rules apply: a choice that needs the page is
  ``interaction_required``.
"""

from flask import current_app

from idp.enterprise import details
from idp.enterprise import service
from idp.store import store

SELF = "self"


def asked_of(needs) -> details.Asked | None:
    """What the platform asked the login to be able to do (``authorization_details``)."""
    if not needs.matters and not needs.credit_code:
        return None
    return details.Asked(tuple(needs.matters), needs.credit_code)


def options(user, needs) -> dict:
    """``{value: Authority or None}``, in the order the page offers them (``self`` first)."""
    asked = asked_of(needs)
    found = {} if asked is not None else {SELF: None}
    for authority in service.choices(user, asked):
        found[authority.enterprise.credit_code] = authority
    return found


def _key(sid, client_id):
    return f"act-as:{sid}:{client_id}"


def automatic(journey, user, offered) -> bool:
    """Make the choice without a page when the rules above allow it; whether it was made."""
    needs = journey.needs
    if "select_account" in needs.prompts:
        return False
    remembered = store().get(_key(journey.login().sid, journey.record.client_id))
    if remembered in offered:
        decide(journey, user, remembered, offered, "remembered")
        return True
    if len(offered) == 1:
        decide(journey, user, next(iter(offered)), offered, "only_choice")
        return True
    return False


def decide(journey, user, value, offered, how):
    """Record the choice in the journey (and, chosen on the page, for this session and
    platform); a choice of an enterprise is audited."""
    journey.record.act_as = value
    if how == "chosen":
        store().set(_key(journey.login().sid, journey.record.client_id), value,
                    current_app.config["SSO_SESSION_TTL"])
    if offered[value] is not None:
        service.record_acting(user, offered[value], journey.record.client_id, how)
