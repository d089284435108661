"""The steps of a login journey, in order. Each says whether it is needed now, what
``prompt=none`` answers when it is, prepares the record before its page is shown, and renders
that page; the views that complete a step (a form post) live beside their templates and call
back into the :class:`~idp.interaction.journey.Journey`.

    select_account  the platform asked to choose; the browser has a session
    federated       a first login through a regional identity provider: create a national
                    account or link one (after logging in to it)
    login           no login satisfies the request: identify and a first factor (a password)
    mfa             a second factor: to finish a login, or to step up an existing one
    identity        the platform needs a higher level of assurance than the account has
    step_up         (page ``mfa``) the platform's policy or level needs a second factor the
                    login lacks
    act_as          the platform asked for an enterprise identity: who the person acts for
    consent         the citizen has not yet allowed what the platform asks for

New kinds of step (choosing who one acts for, a login at a regional provider) join
:data:`STEPS` at their place in the order.
"""

from flask import redirect
from flask import render_template
from flask import url_for
from flask_babel import gettext as _

from idp.accounts import assurance
from idp.accounts import sessions
from idp.accounts.models import Consent
from idp.accounts.models import User
from idp.enterprise import choosing
from idp.errors import UserFacingError
from idp.extensions import db
from idp.federation.models import Upstream
from idp.interaction.journey import JourneyError
from idp.interaction.record import Pending
from mfa import base as mfa
from mfa.email import mask as email_mask
from mfa.sms import mask as sms_mask

#: Headers of the pages of a login: never cached or framed, and no ``form-action`` limit,
#: because their forms end in a redirect to the platform, whose scheme may be a native app's.
INTERACTION_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                       "Content-Security-Policy": "frame-ancestors 'none'"}


def render_page(template, journey, status=200, **context):
    html = render_template(template, record=journey.record, client=journey.client, **context)
    return html, status, INTERACTION_HEADERS


class Step:
    #: the page's name (``Interaction.step``)
    name = ""
    #: the OIDC error ``prompt=none`` gets when this step would need a page
    silent_error = "interaction_required"

    def needed(self, journey) -> bool:
        raise NotImplementedError

    def enter(self, journey) -> None:
        """Prepare the record before the browser is sent to the page."""

    def page(self, journey, **context):
        raise NotImplementedError


class SelectAccount(Step):
    """OIDC ``prompt=select_account``: continue with this browser's session or use another."""

    name = "select_account"
    silent_error = "account_selection_required"

    def needed(self, journey):
        record = journey.record
        return ("select_account" in journey.needs.prompts and record.account_choice is None
                and record.login is None and record.pending is None
                and sessions.current() is not None)

    def page(self, journey, **context):
        user = db.session.get(User, sessions.current()["user_id"])
        return render_page("accounts/select_account.html", journey, user=user)


class FederatedLogin(Step):
    """The first login through a regional identity provider: the citizen creates a national
    account (confirming a phone number the provider did not vouch for) or links the account
    they have, after logging in to it (``idp.federation.views`` completes it)."""

    name = "federated"

    def needed(self, journey):
        federated = journey.record.federated
        if federated is None or federated.user_id is not None or federated.choice == "skip":
            return False
        if federated.choice == "link":  # once they have logged in to the account to link
            return journey.login() is not None
        return True

    def page(self, journey, error=None, status=200):
        federated = journey.federated()
        upstream = Upstream.query.filter_by(slug=federated.upstream).first()
        if upstream is None:
            raise UserFacingError("invalid_request", _(
                "This regional identity provider is no longer available. Return to the "
                "service and start again."))
        user = journey.user() if federated.choice == "link" else None
        return render_page("federation/first_login.html", journey, status=status, error=error,
                           upstream=upstream, federated=federated, user=user,
                           masked_phone=sms_mask(user.phone) if user else "")


class Password(Step):
    """Identify and prove a first factor (``accounts.login`` completes it)."""

    name = "login"
    silent_error = "login_required"

    def needed(self, journey):
        return journey.record.pending is None and journey.login() is None

    def page(self, journey, error=None, username=None, status=200):
        if username is None:
            username = journey.needs.login_hint
        return render_page("accounts/login.html", journey, status=status, error=error,
                           username=username[:254])


class SecondFactor(Step):
    """A second factor for the pending login (``idp.interaction.factors`` verifies it)."""

    name = "mfa"

    def needed(self, journey):
        return journey.record.pending is not None

    def page(self, journey, error=None, status=200):
        user = journey.pending_user()
        kinds = [plugin.kind for plugin in mfa.factors_for(user)]
        if not kinds:
            return render_page("accounts/mfa_unavailable.html", journey, status=status)
        sent = [kind for kind, state in journey.record.factor_state.items()
                if state.get("sent")]
        return render_page("accounts/mfa.html", journey, status=status, kinds=kinds,
                           error=error, sent=sent,
                           masked_phone=sms_mask(user.phone),
                           masked_email=email_mask(user.email) if user.email else "")


class Identity(Step):
    """The account's identity level is below what the platform needs: verify on the way
    (``idp.realname.views`` completes it)."""

    name = "identity"

    def needed(self, journey):
        user = journey.user()
        return user is not None and assurance.identity_level(
            user, journey.login().vouched) < journey.needs.level

    def enter(self, journey):
        journey.pin_login()

    def page(self, journey, **context):
        return redirect(url_for("realname.page", uid=journey.uid), code=303)


class StepUp(SecondFactor):
    """The login lacks the second factor the platform's policy or level calls for: only that
    factor is asked for, and the session stands (strengthened, with a new secret)."""

    def needed(self, journey):
        user = journey.user()
        login = journey.login()
        return user is not None and assurance.second_factor_needed(
            user, list(login.amr), require_mfa=journey.needs.mfa, level=journey.needs.level,
            vouched=login.vouched)

    def enter(self, journey):
        login = journey.pin_login()
        journey.record.pending = Pending(user_id=login.user_id, amr=login.amr, step_up=True,
                                         vouched=login.vouched)


class ActAs(Step):
    """The platform asked for an enterprise identity: the person acts for themselves or for
    an enterprise (``idp.enterprise.choosing`` says when no page is needed;
    ``idp.enterprise.views`` completes it)."""

    name = "act_as"

    def needed(self, journey):
        if not journey.needs.enterprise or journey.record.act_as is not None:
            return False
        user = journey.user()
        offered = choosing.options(user, journey.needs)
        if not offered:
            raise JourneyError("invalid_authorization_details")
        return not choosing.automatic(journey, user, offered)

    def enter(self, journey):
        journey.pin_login()

    def page(self, journey, error=None, status=200):
        user = journey.user()
        return render_page("enterprise/act_as.html", journey, status=status, user=user,
                           offered=choosing.options(user, journey.needs), error=error)


#: Plain-language descriptions of what each scope lets a service see.
SCOPE_TEXT = {
    "openid": lambda: _("Know who you are (a login identifier for this service)"),
    "profile": lambda: _("Your name (with your date of birth and gender once your identity "
                         "is verified)"),
    "id_number": lambda: _("Your identity document type and number"),
    "admin": lambda: _("Administer this identity provider with your staff roles"),
    "phone": lambda: _("Your mobile phone number"),
    "email": lambda: _("Your email address"),
    "offline_access": lambda: _("Keep you signed in to this service when you are away"),
    "enterprise": lambda: _("Know which enterprise you act for, your role there and the "
                            "matters you may handle for it"),
}
#: Scopes the citizen agrees to themselves even for a first-party platform.
ALWAYS_ASK = {"id_number"}


class ConsentStep(Step):
    """The citizen allows the platform what it asks for (remembered per platform); a
    first-party platform skips it, except for what the citizen always decides
    (``accounts.consent`` completes it)."""

    name = "consent"
    silent_error = "consent_required"

    def needed(self, journey):
        record, needs = journey.record, journey.needs
        if not journey.for_platform or record.consent == "allow":
            return False
        if record.consent == "deny":
            raise JourneyError("access_denied")
        if "consent" in needs.prompts:
            return True
        if needs.skip_consent and not set(needs.scopes) & ALWAYS_ASK:
            return False
        remembered = Consent.query.filter_by(user_id=journey.login().user_id,
                                             client_id=record.client_id).first()
        return remembered is None or not remembered.covers(needs.scopes)

    def enter(self, journey):
        journey.pin_login()

    def page(self, journey, **context):
        descriptions = [SCOPE_TEXT[s]() for s in journey.needs.scopes if s in SCOPE_TEXT]
        # hosts are stored in their ASCII form: no look-alike letters reach the page
        return render_page("accounts/consent.html", journey, descriptions=descriptions,
                           destination=journey.needs.destination)


SELECT_ACCOUNT, PASSWORD, SECOND_FACTOR = SelectAccount(), Password(), SecondFactor()
IDENTITY, STEP_UP, ACT_AS, CONSENT = Identity(), StepUp(), ActAs(), ConsentStep()
FEDERATED = FederatedLogin()
STEPS = (SELECT_ACCOUNT, FEDERATED, PASSWORD, SECOND_FACTOR, IDENTITY, STEP_UP, ACT_AS,
         CONSENT)


def next_step(journey) -> Step | None:
    """The first step still needed, or None when the login is complete."""
    for step in STEPS:
        if step.needed(journey):
            return step
    return None


def page_of(journey):
    """The page of the step the browser was sent to, while it is still the one needed; once
    it is done (a reload, the back button) the journey moves on."""
    step = next_step(journey)
    if step is None or step.name != journey.record.step:
        return journey.advance()
    return step.page(journey)
