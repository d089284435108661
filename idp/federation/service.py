"""Regional identity providers: registering them (the console, the admin API and ``idp
upstreams`` all come here), what their answers mean here (claims, levels), and the national
accounts linked to them.

Every change is audited with the actor and the role, the values before and after — never the
client secret, which is sealed at rest (``idp.crypto.seal``) and never shown again.
"""

import re
import time
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from clients.fetch import check_fetchable
from idp.accounts.models import User
from idp.audit import service as audit
from idp.crypto import seal
from idp.extensions import db
from idp.federation.models import Upstream
from idp.federation.models import UpstreamLink
from idp.federation.models import secret_context

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
#: How we authenticate at its token endpoint.
AUTH_METHODS = ("client_secret_basic", "client_secret_post")
#: Our claims an upstream may give (``claim_map`` keys); the rest of what it says is not kept.
CLAIMS = ("name", "phone_number", "phone_number_verified")
DEFAULT_SCOPE = "openid profile phone"
#: The fields an administrator sets, in the order the forms show them.
FIELDS = ("slug", "name", "issuer", "client_id", "client_secret", "auth_method", "scope",
          "claim_map", "acr_map", "max_level", "enabled")
#: Fields that never change once registered: the slug is in the callback address.
FIXED = ("slug",)


class UpstreamError(ValueError):
    """Input an administrator must correct; ``field`` names it, the message says why."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field
        self.description = message


class UpstreamNotFound(LookupError):
    pass


def _text(field, value, limit, required=True):
    if value is None or value == "":
        if required:
            raise UpstreamError(field, f"{field} is required")
        return None
    if not isinstance(value, str) or len(value) > limit or any(
            ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise UpstreamError(field, f"{field} must be text of at most {limit} characters, "
                                   "without control characters")
    return value


def _issuer(value):
    value = _text("issuer", value, 255)
    problem = check_fetchable(value)  # first: it refuses what urlsplit cannot read
    if problem:
        raise UpstreamError("issuer", f"issuer {problem}")
    parts = urlsplit(value)
    if parts.query or parts.fragment:
        raise UpstreamError("issuer", "issuer must not have a query or fragment (OpenID "
                                      "Connect Discovery 4.3)")
    return value


def _scope(value):
    value = " ".join((_text("scope", value, 255, required=False) or DEFAULT_SCOPE).split())
    if "openid" not in value.split():
        raise UpstreamError("scope", "scope must include openid")
    if not re.fullmatch(r"[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*", value):
        raise UpstreamError("scope", "scope holds characters a scope cannot have (RFC 6749 3.3)")
    return value


def _claim_map(value):
    value = value or {}
    if not isinstance(value, dict):
        raise UpstreamError("claim_map", "claim_map must map our claims to the upstream's")
    for ours, theirs in value.items():
        if ours not in CLAIMS:
            raise UpstreamError("claim_map", f"claim_map: {ours!r} is not one of "
                                             f"{', '.join(CLAIMS)}")
        _text("claim_map", theirs, 100)
    return dict(value)


def _level(field, value):
    levels = len(current_app.config["ACR_VALUES"])
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= levels:
        raise UpstreamError(field, f"{field} must be a level from 1 to {levels}")
    return value


def _acr_map(value):
    value = value or {}
    if not isinstance(value, dict):
        raise UpstreamError("acr_map", "acr_map must map the upstream's acr values to levels")
    for theirs, level in value.items():
        _text("acr_map", theirs, 255)
        _level("acr_map", level)
    return dict(value)


def _checked(data, new):
    """The validated values of ``data`` (only the fields it has, unless ``new``)."""
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise UpstreamError(sorted(unknown)[0], f"unknown field {sorted(unknown)[0]!r}")
    if not new:
        for name in FIXED:
            if name in data:
                raise UpstreamError(name, f"{name} cannot change once registered")
    checks = {
        "slug": lambda v: v if isinstance(v, str) and SLUG.fullmatch(v) else _bad_slug(),
        "name": lambda v: _text("name", v, 100),
        "issuer": _issuer,
        "client_id": lambda v: _text("client_id", v, 255),
        "client_secret": lambda v: _text("client_secret", v, 512),
        "auth_method": lambda v: v if v in AUTH_METHODS else _bad_choice("auth_method",
                                                                          AUTH_METHODS),
        "scope": _scope,
        "claim_map": _claim_map,
        "acr_map": _acr_map,
        "max_level": lambda v: _level("max_level", v),
        "enabled": lambda v: v if isinstance(v, bool) else _bad_bool(),
    }
    if new:
        for name in ("slug", "name", "issuer", "client_id", "client_secret", "max_level"):
            if data.get(name) in (None, ""):
                raise UpstreamError(name, f"{name} is required")
    return {name: checks[name](value) for name, value in data.items()}


def _bad_slug():
    raise UpstreamError("slug", "slug must be 1 to 32 lowercase letters, digits or hyphens, "
                                "starting with a letter or digit")


def _bad_choice(field, choices):
    raise UpstreamError(field, f"{field} must be one of {', '.join(choices)}")


def _bad_bool():
    raise UpstreamError("enabled", "enabled must be true or false")


def view(upstream) -> dict:
    """An upstream as the API, the command line and the console show it (never the secret)."""
    return {"slug": upstream.slug, "name": upstream.name, "issuer": upstream.issuer,
            "client_id": upstream.client_id, "auth_method": upstream.auth_method,
            "scope": upstream.scope, "claim_map": upstream.claim_map,
            "acr_map": upstream.acr_map, "max_level": upstream.max_level,
            "enabled": upstream.enabled, "callback_url": upstream.callback_url,
            "links": UpstreamLink.query.filter_by(upstream_id=upstream.id).count(),
            "created_at": upstream.created_at, "updated_at": upstream.updated_at}


def _audited(upstream) -> dict:
    return {name: getattr(upstream, name) for name in FIELDS if name != "client_secret"}


def get(slug) -> Upstream:
    upstream = Upstream.query.filter_by(slug=slug).first() if isinstance(slug, str) else None
    if upstream is None:
        raise UpstreamNotFound(f"no upstream provider {str(slug)[:40]!r}")
    return upstream


def list_all() -> list[Upstream]:
    return Upstream.query.order_by(Upstream.name, Upstream.slug).all()


def offered() -> list[Upstream]:
    """The providers the login page offers."""
    return Upstream.query.filter_by(enabled=True).order_by(Upstream.name, Upstream.slug).all()


def add(data, *, actor, role=None) -> Upstream:
    values = _checked(dict(data), new=True)
    if Upstream.query.filter_by(slug=values["slug"]).first():
        raise UpstreamError("slug", f"an upstream provider {values['slug']!r} already exists")
    secret = values.pop("client_secret")
    upstream = Upstream(**values, created_by=actor,
                        client_secret_sealed=seal(secret.encode(),
                                                  secret_context(values["slug"])))
    db.session.add(upstream)
    try:
        db.session.flush()
    except IntegrityError:  # another request registered the slug meanwhile
        db.session.rollback()
        raise UpstreamError("slug", f"an upstream provider {values['slug']!r} already "
                                    "exists") from None
    audit.record("upstream.added", actor=actor, role=role, target=f"upstream:{upstream.slug}",
                 detail={"before": {}, "after": _audited(upstream)})
    return upstream


def update(slug, changes, *, actor, role=None) -> Upstream:
    upstream = get(slug)
    values = _checked(dict(changes), new=False)
    if values.get("issuer", upstream.issuer) != upstream.issuer and (
            UpstreamLink.query.filter_by(upstream_id=upstream.id).first() is not None):
        raise UpstreamError("issuer", "issuer cannot change while accounts are linked to this "
                                      "provider: register the new issuer as another provider")
    before = _audited(upstream)
    secret = values.pop("client_secret", None)
    for name, value in values.items():
        setattr(upstream, name, value)
    if secret is not None:
        upstream.client_secret_sealed = seal(secret.encode(), secret_context(upstream.slug))
    after = _audited(upstream)
    detail = {"before": {k: v for k, v in before.items() if after[k] != v},
              "after": {k: v for k, v in after.items() if before[k] != v}}
    if secret is not None:
        detail["client_secret_changed"] = True
    audit.record("upstream.updated", actor=actor, role=role, target=f"upstream:{slug}",
                 detail=detail)
    return upstream


def set_enabled(slug, enabled, *, actor, role=None) -> Upstream:
    return update(slug, {"enabled": enabled}, actor=actor, role=role)


def remove(slug, *, actor, role=None) -> int:
    """Delete the provider and its links (the accounts stay); returns how many links went."""
    upstream = get(slug)
    links = UpstreamLink.query.filter_by(upstream_id=upstream.id).delete()
    before = _audited(upstream)
    db.session.delete(upstream)
    audit.record("upstream.removed", actor=actor, role=role, target=f"upstream:{slug}",
                 detail={"before": before, "after": {}, "links_removed": links})
    return links


# --- What an answer means here ---------------------------------------------------------------

def vouched_level(upstream, acr) -> int:
    """The level a login there counts for here: what its ``acr`` maps to (``acr_map``; when
    empty, our own acr values, as a provider of the same national scheme uses them; unknown or
    none: 1), never above ``max_level``."""
    mapping = upstream.acr_map or {value: level for level, value in
                                   enumerate(current_app.config["ACR_VALUES"], start=1)}
    asserted = mapping.get(acr, 1) if isinstance(acr, str) else 1
    return max(1, min(asserted, upstream.max_level))


def vouched_for(user, vouched, claims) -> int:
    """The level a login there counts for on ``user``'s account: ``vouched`` when the name the
    provider gave is the name this account gives platforms (its document's once verified here,
    else the one it holds) or the account holds none; else 1. A link proves that one person
    holds both logins, not that the identity the provider verified is the one this account
    shows: an account under another name stands on its own level."""
    from idp.realname.service import verified_claims

    ours = verified_claims(user).get("name") or user.name
    if vouched <= 1 or not ours:
        return vouched
    return vouched if " ".join(ours.split()) == claims.get("name") else 1


def mapped_claims(upstream, claims) -> dict:
    """Ours from its claims (``claim_map``; a claim not mapped is read under its own name):
    ``name``, ``phone_number`` and ``phone_number_verified``, when well-formed: a name with a
    control or invisible character (NUL, a bidi override, a zero-width space) is left out."""
    found = {ours: claims.get((upstream.claim_map or {}).get(ours, ours)) for ours in CLAIMS}
    mapped = {}
    name = " ".join(found["name"].split())[:100] if isinstance(found["name"], str) else ""
    if name and name.isprintable():
        mapped["name"] = name
    if isinstance(found["phone_number"], str) and len(found["phone_number"]) <= 32:
        mapped["phone_number"] = found["phone_number"]
        mapped["phone_number_verified"] = found["phone_number_verified"] is True
    return mapped


# --- Links ---------------------------------------------------------------------------------

def linked_user(upstream, subject) -> User | None:
    link = UpstreamLink.query.filter_by(upstream_id=upstream.id, subject=subject).first()
    return db.session.get(User, link.user_id) if link else None


def link(upstream, subject, user) -> UpstreamLink | None:
    """Link ``user`` to ``subject`` at ``upstream``; None when either is already linked there
    (to someone else). Audited (commits)."""
    row = UpstreamLink(upstream_id=upstream.id, subject=subject, user_id=user.id,
                       last_login_at=int(time.time()))
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return None
    audit.record("upstream.linked", user_id=user.id, target=f"upstream:{upstream.slug}",
                 detail={"upstream": upstream.slug})
    return row


def noted_login(upstream, subject):
    """Remember when the link was last used (shown on the account page). Commits."""
    UpstreamLink.query.filter_by(upstream_id=upstream.id, subject=subject).update(
        {"last_login_at": int(time.time())})
    db.session.commit()


def links_of(user) -> list[UpstreamLink]:
    return (UpstreamLink.query.filter_by(user_id=user.id)
            .order_by(UpstreamLink.created_at).all())


class OnlyWayIn(Exception):
    """The link is the account's only way to log in: it has no password and no other link to
    an enabled provider."""


def unlink(user, link_id) -> UpstreamLink | None:
    """Remove one of the citizen's links; None when there is no such link of theirs;
    ``OnlyWayIn`` when it is the account's only way to log in. The account's row is held
    from the check to the removal, so two unlinks at once cannot both pass the check."""
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    row = db.session.get(UpstreamLink, link_id) if link_id else None
    if row is None or row.user_id != user.id:
        return None
    usable = [link.id for link in links_of(user) if link.upstream.enabled]
    if user.password_hash is None and usable == [row.id]:
        raise OnlyWayIn
    slug = row.upstream.slug
    db.session.delete(row)
    audit.record("upstream.unlinked", user_id=user.id, target=f"upstream:{slug}",
                 detail={"upstream": slug})
    return row


def create_account(upstream, subject, phone, name) -> User | None:
    """A national account for someone a regional provider vouched for, with the mobile
    number ``phone`` (E.164, verified: by the provider or by a code), linked to ``subject``
    there; None when the number already has an account. It has no password: it logs in
    through the provider (and may add second factors on its account page). Audited
    (commits)."""
    if User.query.filter_by(phone=phone).first():
        return None
    user = User(phone=phone, phone_verified=True, name=name)
    db.session.add(user)
    try:
        db.session.flush()
        db.session.add(UpstreamLink(upstream_id=upstream.id, subject=subject, user_id=user.id,
                                    last_login_at=int(time.time())))
        db.session.flush()
    except IntegrityError:  # the number or the person there was registered meanwhile
        db.session.rollback()
        return None
    audit.record("account.registered", user_id=user.id,
                 detail={"method": "upstream", "upstream": upstream.slug})
    audit.record("upstream.linked", user_id=user.id, target=f"upstream:{upstream.slug}",
                 detail={"upstream": upstream.slug})
    return user
