"""The login journey: from "a platform (or the account pages) needs this person logged in" to
``Login(user_id, auth_time, amr, acr, sid)``.

The protocol layer starts a journey with what the platform asked for (:class:`Needs`) and
calls :meth:`Journey.proceed`: either the login is complete and it gets the
:class:`~idp.interaction.record.Login`, or the browser is sent to the page of the first step
still needed, or the journey ends with a :class:`JourneyError` the protocol layer answers the
platform with. Pages complete their step and call :meth:`Journey.advance`, which hands the
browser back to the protocol layer (that resumes and asks again) or, for the account pages,
straight to where the citizen was going. The steps and their order live in
:mod:`idp.interaction.steps`.
"""

import secrets
import time

from flask import g
from flask import redirect
from flask import session as cookie_session
from flask import url_for
from flask_babel import gettext as _

from clients.service import get_client
from idp.accounts import assurance
from idp.accounts import sessions
from idp.accounts.models import User
from idp.audit import service as audit
from idp.errors import UserFacingError
from idp.extensions import db
from idp.interaction import record as records
from idp.interaction.record import Login
from idp.interaction.record import Needs
from idp.interaction.record import Pending

#: The errors a journey can end with (OIDC Core 3.1.2.6, Unmet Authentication Requirements
#: 1.0, RFC 9396 5); the protocol layer maps each to its error response.
ERRORS = ("login_required", "interaction_required", "consent_required",
          "account_selection_required", "access_denied", "unmet_authentication_requirements",
          "invalid_authorization_details")


class JourneyError(Exception):
    """The journey ends without a login for the platform; ``code`` is one of :data:`ERRORS`."""

    def __init__(self, code):
        assert code in ERRORS
        super().__init__(code)
        self.code = code


class AccountConsole:
    """Stands in for a relying party when the citizen logs in to their own account pages."""

    client_id = None
    require_mfa = False
    min_loa = 1

    @property
    def name(self):
        return _("your account")


def expired():
    return UserFacingError("invalid_request", _(
        "This login request has expired. Return to the service and start again."))


def another_browser():
    return UserFacingError("invalid_request", _(
        "Your browser did not keep the login session (are cookies blocked?). "
        "Return to the service and start again."))


def this_browser() -> str:
    """A random id of this browser, kept in its signed cookie session (Flask's, which also
    holds the CSRF token): it binds a first factor to the browser that proved it, so the
    journey's address alone never lets another browser finish the login."""
    return cookie_session.setdefault("browser", secrets.token_urlsafe(16))


class Journey:
    """One journey: its record and the platform (or :class:`AccountConsole`) it serves."""

    def __init__(self, record, client):
        self.record = record
        self.client = client

    # --- starting and finding journeys ---------------------------------------------------

    @classmethod
    def start(cls, client, needs: Needs, params: dict, resume: str) -> "Journey":
        """A journey for ``client``: ``params`` are the protocol layer's request, handed back
        to it at the endpoint ``resume`` (which takes ``uid``). Nothing is stored until a page
        is needed."""
        return cls(records.new(client_id=client.client_id, params=params, needs=needs,
                               resume=resume), client)

    @classmethod
    def for_account(cls, return_to) -> "Journey":
        """A login for the account pages, then back to ``return_to`` (a path of ours). The
        citizen always logs in afresh: an account journey starts because the session was
        missing or too old."""
        return cls(records.new(needs=Needs(prompts=("login",)), return_to=return_to),
                   AccountConsole())

    @classmethod
    def load(cls, uid) -> "Journey":
        """The journey of ``uid``; an expired one, or one whose platform is no longer
        available, is a page telling the citizen to start again."""
        record = records.load(uid)
        if record is None:
            raise expired()
        if record.client_id is None:
            client = AccountConsole()
        else:
            client = get_client(record.client_id)
            if client is None or not client.is_active:
                raise UserFacingError("invalid_client", _("This service is not available."))
        g.ui_locales = record.needs.ui_locales
        return cls(record, client)

    @property
    def uid(self):
        return self.record.uid

    @property
    def needs(self) -> Needs:
        return self.record.needs

    @property
    def for_platform(self) -> bool:
        return self.record.client_id is not None

    # --- who is logging in ----------------------------------------------------------------

    def login(self) -> Login | None:
        """The login this journey stands on: the one made in it, or the browser's SSO session
        when it satisfies ``prompt`` and ``max_age`` (and the citizen did not ask to switch)."""
        session = sessions.current()
        if self.record.login is not None:
            if session is None or session["sid"] != self.record.login.sid:
                raise another_browser()
            return self.record.login
        if self.record.pending is not None or not self.session_satisfies(session):
            return None
        return Login(user_id=session["user_id"], auth_time=session["auth_time"],
                     amr=tuple(session["amr"]), acr=session["acr"], sid=session["sid"],
                     vouched=session.get("vouched"))

    def session_satisfies(self, session) -> bool:
        needs = self.needs
        if session is None or "login" in needs.prompts or self.record.account_choice == "other":
            return False
        return needs.max_age is None or time.time() - session["auth_time"] <= needs.max_age

    def pin_login(self) -> Login:
        """Keep the login the journey stands on in its record, so the pages that follow are
        answered only by the browser (session) that made it."""
        self.record.login = self.login()
        return self.record.login

    def user(self) -> User | None:
        """The citizen of the journey's login, or None before there is one. A login whose
        account was locked or deleted meanwhile ends the browser's session."""
        login = self.login()
        if login is None:
            return None
        user = db.session.get(User, login.user_id)
        if user is None or not user.is_active:
            sessions.end()
            self.record.login = None
            raise JourneyError("login_required")
        return user

    def pending_user(self) -> User:
        """The citizen part-way through logging in (a second factor is asked for), to the
        browser that proved the first factor only: for a step-up, the one whose session it
        strengthens; else the one that typed the password."""
        pending = self.record.pending
        user = db.session.get(User, pending.user_id) if pending else None
        if user is None or not user.is_active:
            raise expired()
        if pending.step_up:
            self.login()
        elif pending.browser != cookie_session.get("browser"):
            raise another_browser()
        return user

    def federated(self):
        """The regional provider's answer this journey holds, to the browser that logged in
        there only: the first-login page's address alone never lets another browser link
        that provider's account to its own, or create an account from it."""
        federated = self.record.federated
        if federated is not None and federated.browser != cookie_session.get("browser"):
            raise another_browser()
        return federated

    # --- moving along ---------------------------------------------------------------------

    def proceed(self):
        """The protocol layer's entry: the completed :class:`Login`, or a redirect to the page
        of the next step still needed; :class:`JourneyError` when the journey cannot succeed
        (with ``prompt=none``, as soon as a page would be needed)."""
        from idp.interaction.steps import next_step

        if self.record.unmet:
            raise JourneyError("unmet_authentication_requirements")
        step = next_step(self)
        if step is not None:
            if self.needs.silent:
                raise JourneyError(step.silent_error)
            step.enter(self)
            self.record.step = step.name
            records.save(self.record)
            return redirect(url_for("accounts.interaction_page", uid=self.uid), code=303)
        login, user = self.login(), self.user()
        # the level is the account's as it is now (it may have been raised in the journey)
        acting_for = self.record.act_as if self.record.act_as != "self" else None
        return Login(user_id=login.user_id, auth_time=login.auth_time, amr=login.amr,
                     acr=assurance.acr_for(user, list(login.amr), login.vouched), sid=login.sid,
                     vouched=login.vouched, acting_for=acting_for)

    def advance(self):
        """After a page completed its step: back to the protocol layer, which resumes and
        asks :meth:`proceed` again; for the account pages, on to the next page or to where
        the citizen was going."""
        records.save(self.record)
        if self.for_platform:
            return redirect(url_for(self.record.resume, uid=self.uid), code=303)
        outcome = self.proceed()
        if not isinstance(outcome, Login):
            return outcome
        self.finish()
        return redirect(self.record.return_to, code=303)

    def finish(self):
        records.finish(self.record)

    def first_factor(self, user, amr, vouched=None):
        """The citizen proved a first factor (a password, or a login at a regional provider
        that vouched for the level ``vouched``): a second is asked for when their account, the
        platform or the level it needs calls for one; else the login is made."""
        if assurance.second_factor_needed(user, list(amr), require_mfa=self.needs.mfa,
                                          level=self.needs.level, vouched=vouched):
            self.record.pending = Pending(user_id=user.id, amr=tuple(amr), vouched=vouched,
                                          browser=this_browser())
            return self.advance()
        return self.establish(user, amr, vouched)

    def establish(self, user, amr, vouched=None):
        """Start the browser's session (or strengthen it, on a step-up) and go on. The level a
        regional provider vouched for comes with the pending login, or as ``vouched``."""
        pending = self.record.pending
        if pending is not None:
            vouched = pending.vouched
        acr = assurance.acr_for(user, list(amr), vouched)
        session = sessions.current()
        if pending is not None and pending.step_up and session and session["user_id"] == user.id:
            session = sessions.step_up(list(amr), acr)
        else:
            session = sessions.start(user, amr=list(amr), acr=acr,
                                     extra=self._session_fields(vouched))
        self.record.pending = None
        records.reset_tries(self.record)
        self.record.factor_state = {}
        self.record.login = Login(user_id=user.id, auth_time=session["auth_time"],
                                  amr=tuple(amr), acr=acr, sid=session["sid"], vouched=vouched)
        audit.record("login.success", user_id=user.id,
                     detail={"client_id": self.record.client_id, "amr": list(amr), "acr": acr})
        return self.advance()

    def _session_fields(self, vouched):
        """What the new session keeps besides the login: the level a regional provider
        vouched for, and — whenever this journey logged in there — how to log out there."""
        fields = {} if vouched is None else {"vouched": vouched}
        federated = self.record.federated
        if federated is not None:
            fields["upstream"] = {"slug": federated.upstream, "id_token": federated.id_token}
        return fields

    def give_up(self):
        """The citizen cannot (or will not) do what the platform requires: it hears
        ``unmet_authentication_requirements``."""
        self.record.unmet = True
        return self.advance()


def login_for_account(return_to):
    """Send the browser through the login pages, then back to ``return_to`` (a path of ours)."""
    return Journey.for_account(return_to).proceed()
