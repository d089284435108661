"""What administrators do besides the client registry (``clients.service``): find citizens'
accounts, lock and unlock them, reset their second factors, read their security events; list
and rotate the signing keys; and the guards the console and the API share.

Every change is audited with who (``actor``), the role acted in, the target and the values
before and after; the audit event is committed with the change (``idp.audit.service.record``).
Identity documents appear only masked (``idp.realname.service.summary``). A no-op (locking a
locked account) changes nothing and records nothing.
"""

import datetime
import re
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func
from sqlalchemy import literal_column
from sqlalchemy import or_
from sqlalchemy import select

from clients import service as registry
from idp.accounts import sessions
from idp.accounts.models import User
from idp.accounts.service import AccountError
from idp.accounts.service import find_by_phone
from idp.accounts.service import normalise_phone
from idp.admin import roles
from idp.audit import service as audit
from idp.audit.models import AuditEvent
from idp.extensions import db
from idp.ids import MAX_ROW_ID
from idp.keys.models import SigningKey
from idp.oauth.models import OAuthToken
from mfa.models import Factor
from mfa.models import RecoveryCode

MAX_ID = MAX_ROW_ID
MAX_PER_PAGE = 100


class AdminError(Exception):
    """An act that cannot be done; ``error`` and ``status`` as the API answers it."""

    status = 400
    error = "invalid_request"

    def __init__(self, description):
        super().__init__(description)
        self.description = description


class NotFound(AdminError):
    status = 404
    error = "not_found"


class Conflict(AdminError):
    status = 409
    error = "conflict"


class Forbidden(AdminError):
    status = 403
    error = "forbidden"


# --- Accounts ---------------------------------------------------------------------------------

def get_user(user_id) -> User:
    user = None
    if isinstance(user_id, int) and not isinstance(user_id, bool) and 0 < user_id <= MAX_ID:
        user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"no account {user_id!r}")
    return user


def search_users(query=None, *, page=1, per_page=20) -> tuple[list[User], int]:
    """Accounts (newest first) matching ``query``: a mobile number (exact, any format), part
    of one (digits), an email address (exact) or a username (exact or its beginning); no
    query lists every account."""
    query = (query or "").strip()[:254]
    condition = None
    if query:
        try:
            condition = User.phone == normalise_phone(query)
        except AccountError:
            if "@" in query:
                condition = User.email == query.lower()
            elif re.fullmatch(r"\+?\d{3,15}", query):
                condition = User.phone.contains(query.lstrip("+"), autoescape=True)
            else:
                condition = or_(User.username == query,
                                User.username.startswith(query, autoescape=True))
    conditions = [] if condition is None else [condition]
    total = db.session.execute(select(func.count()).select_from(User).where(*conditions)
                               ).scalar_one()
    rows = db.session.execute(
        select(User).where(*conditions).order_by(User.id.desc())
        .offset((page - 1) * per_page).limit(per_page)).scalars().all()
    return list(rows), total


def user_summary(user) -> dict:
    return {"id": user.id, "phone": user.phone, "username": user.username, "name": user.name,
            "email": user.email, "status": user.status, "loa": user.loa,
            "created_at": user.created_at}


def identity_of(user) -> dict | None:
    """The identity binding, masked: never a full document number or name."""
    from idp.realname import service as realname

    found = realname.summary(user)
    if found is None:
        return None
    return {key: found[key] for key in ("level", "source", "doc_type", "masked_name",
                                        "masked_number", "verified_at")}


def user_detail(user) -> dict:
    factors = Factor.query.filter_by(user_id=user.id, confirmed=True).order_by(Factor.id)
    codes = RecoveryCode.query.filter_by(user_id=user.id, used_at=None).count()
    return {
        **user_summary(user),
        "uuid": user.uuid,
        "email_verified": bool(user.email_verified),
        "locked_until": user.locked_until,
        "lock_reason": user.lock_reason,
        "failed_logins": user.failed_logins,
        "failed_factors": user.failed_factors,
        "roles": sorted(roles.roles_of(user.id)),
        "factors": [{"id": f.id, "kind": f.kind, "name": f.name, "created_at": f.created_at,
                     "last_used_at": f.last_used_at} for f in factors],
        "recovery_codes_left": codes,
        "identity": identity_of(user),
    }


def _guard(user, role, acting_user_id):
    """Nobody locks or resets their own account here (the account pages are for that), and
    only a super administrator touches a staff member's account. ``role`` None: the operator
    at the command line."""
    if acting_user_id is not None and user.id == acting_user_id:
        raise Forbidden("administrators cannot lock, unlock or reset their own account")
    if role not in (None, "super_admin") and roles.roles_of(user.id):
        raise Forbidden("only a super administrator may change a staff member's account")


def _end_sign_ins(user):
    """The account's browser sessions end and its tokens stop."""
    from idp.oauth.models import OAuthToken
    from idp.oauth.tokens import revoke_family

    sessions.end_for(user.id, reason="account_locked")
    families = {row.family_id for row in OAuthToken.query.filter_by(user_id=user.id,
                                                                    revoked_at=None)}
    for family in families:
        revoke_family(family)
    return len(families)


def lock(user_id, *, actor, role, reason=None, acting_user_id=None) -> User:
    """Stop the account from logging in until an administrator unlocks it (status
    ``disabled``); its sessions end and its tokens are revoked."""
    user = get_user(user_id)
    _guard(user, role, acting_user_id)
    reason = " ".join((reason or "").split())[:200] or "locked by an administrator"
    if user.status == "disabled":
        return user
    before = {"status": user.status, "lock_reason": user.lock_reason}
    families = _end_sign_ins(user)
    user.status, user.locked_until, user.lock_reason = "disabled", None, reason
    audit.record("account.locked", user_id=user.id, actor=actor, role=role,
                 target=f"user:{user.id}",
                 detail={"before": before, "after": {"status": "disabled", "lock_reason": reason},
                         "token_families_revoked": families})
    return user


def unlock(user_id, *, actor, role, acting_user_id=None) -> User:
    """The account may log in again, its failure count cleared (as ``idp users unlock``)."""
    user = get_user(user_id)
    _guard(user, role, acting_user_id)
    if user.status == "active" and not user.failed_logins and not user.failed_factors:
        return user
    before = {"status": user.status, "lock_reason": user.lock_reason,
              "failed_logins": user.failed_logins, "failed_factors": user.failed_factors}
    user.status, user.locked_until, user.lock_reason = "active", None, None
    user.failed_logins = user.failed_factors = 0
    audit.record("account.unlocked", user_id=user.id, actor=actor, role=role,
                 target=f"user:{user.id}",
                 detail={"before": before, "after": {"status": "active", "lock_reason": None,
                                                     "failed_logins": 0, "failed_factors": 0}})
    return user


def reset_factors(user_id, *, actor, role, acting_user_id=None) -> int:
    """Remove every second factor and recovery code (a citizen who lost them, after their
    identity was checked); the password remains. Returns how many factors were removed."""
    user = get_user(user_id)
    _guard(user, role, acting_user_id)
    factors = Factor.query.filter_by(user_id=user.id).all()
    codes = RecoveryCode.query.filter_by(user_id=user.id, used_at=None).count()
    if not factors and not codes:
        return 0
    before = {"factors": [{"id": f.id, "kind": f.kind, "name": f.name} for f in factors
                          if f.confirmed], "recovery_codes_left": codes}
    for factor in factors:
        db.session.delete(factor)
    RecoveryCode.query.filter_by(user_id=user.id).delete()
    audit.record("mfa.factors.reset", user_id=user.id, actor=actor, role=role,
                 target=f"user:{user.id}",
                 detail={"before": before, "after": {"factors": [], "recovery_codes_left": 0}})
    return len(before["factors"])


def user_events(user_id, *, after_id=None, limit=50) -> dict:
    """The account's security events, newest first (``audit.events`` page)."""
    user = get_user(user_id)
    return audit.events({"user_id": user.id}, after_id=after_id, limit=limit,
                        newest_first=True)


# --- Signing keys -----------------------------------------------------------------------------

def key_view(key) -> dict:
    return {"kid": key.kid, "alg": key.alg, "state": key.state, "created_at": key.created_at,
            "activated_at": key.activated_at, "retired_at": key.retired_at,
            "publish_until": key.publish_until}


def list_keys() -> list[dict]:
    rows = SigningKey.query.order_by(SigningKey.alg, SigningKey.id).all()
    return [key_view(k) for k in rows]


def rotate_keys(*, actor, role) -> list[dict]:
    """``idp keys rotate``: promote each pre-published key, retire the signing one, publish a
    new next key. Returns the changes as [{alg, state, kid}]."""
    from idp.keys.service import rotate

    before = {k.kid: k.state for k in SigningKey.query.all()}
    changes = [{"alg": alg, "state": state, "kid": kid} for alg, state, kid in rotate()]
    after = {k.kid: k.state for k in SigningKey.query.all()}
    audit.record("keys.rotated", actor=actor, role=role, target="keys",
                 detail={"before": before, "after": after})
    return changes


# --- Clients: what the registry leaves to the administration ---------------------------------

def client_write_role(held, role, client=None, new_scope=None) -> str:
    """The role in which a change to ``client`` (None: a new client) is made. Giving a client
    the ``admin`` scope, and any change to a client that administers (the scope, or a client
    role), are a super administrator's acts: anyone else could take such a client over (a new
    secret, a new redirect URI) and act in its roles."""
    old = set(str(client.scope or "").split()) if client is not None else set()
    gains = roles.ADMIN_SCOPE in str(new_scope or "").split() and roles.ADMIN_SCOPE not in old
    administers = client is not None and (
        roles.ADMIN_SCOPE in old or bool(roles.client_roles_of(client.client_id)))
    if not (gains or administers):
        return role
    if "super_admin" not in held:
        raise Forbidden("only a super administrator may change a client that administers or "
                        "give a client the admin scope")
    return "super_admin"


def client_view(client) -> dict:
    return {**registry.client_metadata(client), "updated_at": client.updated_at,
            "roles": sorted(roles.client_roles_of(client.client_id))}


#: action -> (the statuses it applies to, the status it sets)
TRANSITIONS = {"approve": (("pending",), "active"), "activate": (("suspended",), "active"),
               "suspend": (("pending", "active"), "suspended")}


def change_status(client_id, action, *, actor, role, reason=None):
    """Approve a pending client, suspend one, or re-activate a suspended one; any other
    move is a ``Conflict``."""
    client = registry.client_row(client_id)
    needs, status = TRANSITIONS[action]
    if client.status not in needs:
        raise Conflict(f"a {client.status} client cannot be {action}d "
                       f"(it must be {' or '.join(needs)})")
    return registry.set_status(client_id, status, actor=actor, role=role, reason=reason)


def delete_client(client_id, *, actor, role):
    """The registry's delete, with the client's admin roles (each revocation audited)."""
    registry.client_row(client_id)
    for held in sorted(roles.client_roles_of(client_id)):
        roles.revoke_client(client_id, held, actor=actor, actor_role=role)
    registry.delete_client(client_id, actor=actor, role=role)



# --- Staff roles (the console's page; ``idp admins`` at the command line) -------------------

def staff_members() -> list[tuple[User, list]]:
    """Accounts holding a staff role, with their roles (``StaffRole`` rows), by account."""
    from idp.admin.models import StaffRole

    rows = db.session.execute(
        select(StaffRole, User).join(User, User.id == StaffRole.user_id)
        .order_by(StaffRole.user_id, StaffRole.role)).all()
    members = {}
    for role, user in rows:
        members.setdefault(user.id, (user, []))[1].append(role)
    return list(members.values())


def client_role_holders() -> list:
    """``ClientRole`` rows: clients acting at the admin API with their own tokens."""
    from idp.admin.models import ClientRole

    return ClientRole.query.order_by(ClientRole.client_id, ClientRole.role).all()


def grant_role(phone, role, *, actor) -> tuple[User, bool]:
    """A super administrator gives the account with this mobile number a staff role (as
    ``idp admins grant``). Returns (the account, whether anything changed)."""
    try:
        user = find_by_phone(phone)
    except AccountError as exc:
        raise AdminError(str(exc)) from None
    if user is None:
        raise NotFound("no account has this mobile number")
    try:
        return user, roles.grant(user, role, actor=actor, actor_role="super_admin")
    except roles.RoleError as exc:
        raise AdminError(str(exc)) from None


def revoke_role(user_id, role, *, actor, acting_user_id) -> bool:
    """Take a staff role away (as ``idp admins revoke``); nobody gives up their own super
    administrator role here, so the console always keeps one."""
    user = get_user(user_id)
    if user.id == acting_user_id and role == "super_admin":
        raise Forbidden("you cannot take away your own super administrator role")
    return roles.revoke(user, role, actor=actor, actor_role="super_admin")


# --- Who: actors and targets of audit events, by name --------------------------------------

def who(codes) -> dict[str, dict]:
    """``user:<id>``, ``client:<client_id>``, ``iat:<id>`` codes (as in audit events) with what
    they name: ``{"kind": "user", "id": 3, "user": User | None}``, ``{"kind": "client",
    "id": …, "client": Client | None}``, ``{"kind": "iat", "id": 5, "iat": … | None}``; other
    codes (``cli:root``, ``keys``, ``anonymous``) as ``{"kind": prefix, "id": rest}``. Looked
    up in one query per kind."""
    from clients.models import Client
    from clients.models import InitialAccessToken

    found, wanted = {}, {"user": set(), "client": set(), "iat": set()}
    for code in {c for c in codes if c}:
        kind, _sep, rest = code.partition(":")
        if kind in ("user", "iat"):
            rest = int(rest) if rest.isdigit() and int(rest) <= MAX_ID else None
            if rest is None:
                kind = "other"
        found[code] = {"kind": kind, "id": rest}
        if kind in wanted:
            wanted[kind].add(rest)
    models = {"user": (User, User.id), "client": (Client, Client.client_id),
              "iat": (InitialAccessToken, InitialAccessToken.id)}
    for kind, ids in wanted.items():
        if not ids:
            continue
        model, column = models[kind]
        rows = {getattr(row, column.key): row
                for row in db.session.execute(select(model).where(column.in_(ids))).scalars()}
        for entry in found.values():
            if entry["kind"] == kind:
                entry[kind] = rows.get(entry["id"])
    return found


def actor_code(value) -> str:
    """A mobile number typed in an audit filter as the ``user:<id>`` code of its account;
    anything else (``user:3``, ``client:…``, ``cli:root``) unchanged."""
    try:
        phone = normalise_phone(value)
    except AccountError:
        return value
    user_id = db.session.execute(select(User.id).where(User.phone == phone)).scalar()
    return f"user:{user_id}" if user_id is not None else value


# --- Usage ------------------------------------------------------------------------------------

def usage(client_id: str, days: int = 30) -> list[dict]:
    """Per day (in ``BABEL_DEFAULT_TIMEZONE``), oldest first, the last ``days`` days including
    today: logins (audit events ``login.success`` for this client) and tokens (issuances to
    citizens recorded by the protocol layer: code exchanges and refreshes).
    ``ClientNotFound`` for an unknown client."""
    registry.client_row(client_id)
    days = min(max(1, int(days)), 366)
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "UTC")
    now = datetime.datetime.now(zone)
    offset = int(now.utcoffset().total_seconds())
    today = (int(now.timestamp()) + offset) // 86400
    first = today - days + 1
    since = first * 86400 - offset
    logins = _per_day(AuditEvent.at, offset, AuditEvent.action == "login.success",
                      AuditEvent.at >= since,
                      AuditEvent.detail["client_id"].as_string() == client_id)
    tokens = _per_day(OAuthToken.issued_at, offset, OAuthToken.client_id == client_id,
                      OAuthToken.issued_at >= since)
    epoch = datetime.date(1970, 1, 1)
    return [{"date": (epoch + datetime.timedelta(days=n)).isoformat(),
             "logins": int(logins.get(n, 0)), "tokens": int(tokens.get(n, 0))}
            for n in range(first, today + 1)]


def _per_day(column, utc_offset, *conditions) -> dict:
    """{day number: rows} where the day number is (``column`` + ``utc_offset``) // 86400."""
    # inline numbers: PostgreSQL must see the same expression in SELECT and GROUP BY
    day = (column + literal_column(str(int(utc_offset)))) // literal_column("86400")
    return dict(db.session.execute(
        select(day, func.count()).where(*conditions).group_by(day)).all())
