"""The interaction record: one login journey's state, typed, kept in the shared store.

A record is created when a journey first needs a page (an SSO login that needs nothing more
never writes one) and lives at most ``INTERACTION_TTL`` seconds under ``ix:<uid>``. Every
field is listed here; beside it the store keeps only the count of its second-factor answers
(``count_try``). The protocol layer's request (``params``) is opaque to the journey: it is
kept only so the protocol layer can resume it.
"""

import secrets
import time
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field

from flask import current_app

from idp.store import store


@dataclass(frozen=True)
class Needs:
    """What the platform asked of this login, decided by the protocol layer once:
    ``prompts`` (OIDC ``prompt`` values), ``max_age`` (seconds, or None), ``level`` (the level
    of assurance it needs, 1-4), ``mfa`` (its policy demands two factors), ``scopes`` (what it
    asked to see), ``skip_consent`` (a first-party platform that asks for nothing the citizen
    must always agree to), ``login_hint``, ``ui_locales`` and ``destination``: the host (or
    app scheme) the citizen returns to, the one thing about the platform it has proved.
    ``enterprise``: it asked for an enterprise identity (the person chooses who they act for);
    ``matters`` and ``credit_code``: what its ``authorization_details`` asked the login to be
    able to do, and for which enterprise (``idp.enterprise.details``)."""

    prompts: tuple[str, ...] = ()
    max_age: int | None = None
    level: int = 1
    mfa: bool = False
    scopes: tuple[str, ...] = ()
    skip_consent: bool = False
    login_hint: str = ""
    ui_locales: str = ""
    destination: str = ""
    enterprise: bool = False
    matters: tuple[str, ...] = ()
    credit_code: str = ""

    @property
    def silent(self) -> bool:
        """``prompt=none``: the journey may show no page at all."""
        return "none" in self.prompts


@dataclass(frozen=True)
class Login:
    """What a journey established, and all that the protocol layer receives: the citizen, when
    and how they authenticated (OIDC ``auth_time``, ``amr``, ``acr``), the SSO session and
    the enterprise they act for (its credit code; None: themselves). ``vouched``: for a login
    through a regional identity provider, the level it vouched for (capped by what it is
    trusted for); None for a login here."""

    user_id: int
    auth_time: int
    amr: tuple[str, ...]
    acr: str
    sid: str
    vouched: int | None = None
    acting_for: str | None = None


@dataclass(frozen=True)
class Pending:
    """A citizen part-way through logging in: the factors proved so far (``amr``), whether
    this strengthens the browser's existing session (``step_up``) instead of starting one, and
    the level a regional provider vouched for (``vouched``, as in :class:`Login`). A new login
    is bound to the ``browser`` that proved its first factor (``this_browser``); a step-up to
    the session it strengthens (the journey's pinned ``login``)."""

    user_id: int
    amr: tuple[str, ...]
    step_up: bool = False
    vouched: int | None = None
    browser: str = ""


@dataclass(frozen=True)
class Federated:
    """A verified answer of a regional identity provider (``idp.federation``) in this journey:
    the provider (``upstream``, its slug) and who it says logged in (``subject``, its ``sub``),
    the level it vouched for (capped), the claims it gave that we use (``claims``: ``name``,
    ``phone_number``, ``phone_number_verified``), its ID token sealed (``id_token``, the hint
    for logging out there), the national account it is linked to (``user_id``, once known),
    what the citizen chose at a first login (``choice``: "create", "link" or "skip"), the
    number being confirmed by a text message when creating an account (``phone``) and the
    browser that logged in there (``browser``, ``this_browser``): only it answers the first
    login."""

    upstream: str
    subject: str
    vouched: int
    id_token: str
    claims: dict = field(default_factory=dict)
    user_id: int | None = None
    choice: str | None = None
    phone: str | None = None
    browser: str = ""


@dataclass
class Interaction:
    uid: str
    expires_at: int
    client_id: str | None = None
    #: the protocol layer's request parameters, replayed when it resumes
    params: dict = field(default_factory=dict)
    needs: Needs = field(default_factory=Needs)
    #: the protocol layer's endpoint (taking ``uid``) that resumes a platform's journey
    resume: str | None = None
    #: account pages: the path of ours to return to once logged in (no platform involved)
    return_to: str | None = None
    #: the step whose page the browser was last sent to
    step: str = ""
    login: Login | None = None
    pending: Pending | None = None
    #: ``prompt=select_account`` answered: "continue" (this session) or "other"
    account_choice: str | None = None
    #: the consent step's answer: "allow" or "deny"
    consent: str | None = None
    #: the citizen gave up on a step the platform requires
    unmet: bool = False
    #: per-factor ceremony state: a WebAuthn state id, which codes were sent …
    factor_state: dict = field(default_factory=dict)
    #: a login at a regional identity provider made in this journey
    federated: Federated | None = None
    #: who the login acts for: "self" or an enterprise's credit code (None: not chosen yet)
    act_as: str | None = None

    def to_store(self) -> dict:
        return asdict(self)

    @classmethod
    def from_store(cls, data: dict) -> "Interaction":
        """The record as stored (JSON: tuples come back as lists)."""
        needs = data["needs"]
        data = {**data, "needs": Needs(**{**needs, "prompts": tuple(needs["prompts"]),
                                          "scopes": tuple(needs["scopes"]),
                                          "matters": tuple(needs.get("matters", ()))})}
        for name, kind in (("login", Login), ("pending", Pending)):
            if data[name] is not None:
                data[name] = kind(**{**data[name], "amr": tuple(data[name]["amr"])})
        if data.get("federated") is not None:
            data["federated"] = Federated(**data["federated"])
        return cls(**data)


def new(**values) -> Interaction:
    """A fresh record (not yet saved)."""
    ttl = current_app.config["INTERACTION_TTL"]
    return Interaction(uid=secrets.token_urlsafe(24), expires_at=int(time.time()) + ttl,
                       **values)


def load(uid) -> Interaction | None:
    if not isinstance(uid, str) or len(uid) > 64:
        return None
    data = store().get("ix:" + uid)
    if data is None or data["expires_at"] <= time.time():
        return None
    try:
        return Interaction.from_store(data)
    except (KeyError, TypeError):  # written by an older release: start again
        return None


def save(record: Interaction) -> None:
    ttl = max(1, int(record.expires_at - time.time()))
    store().set("ix:" + record.uid, record.to_store(), ttl)


def finish(record: Interaction) -> None:
    # the count of answers stays until the record would have expired: an answer posted at
    # the same moment as the one that ended the journey must not find it back at zero
    store().delete("ix:" + record.uid)


def count_try(record: Interaction) -> int:
    """Count one second-factor answer of this journey before it is checked and return its
    number. Kept beside the record, not in it: the count is one atomic increment, so answers
    posted at once each get their own number (a record read and written back by each request
    would lose all but one of them)."""
    ttl = max(1, int(record.expires_at - time.time()))
    return store().incr("ix-tries:" + record.uid, ttl)


def reset_tries(record: Interaction) -> None:
    """A right answer: the journey's count starts again (for a later step-up in it)."""
    store().delete("ix-tries:" + record.uid)
