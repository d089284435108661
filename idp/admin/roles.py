"""Staff roles: who may do what in the administration (``ROLES``). Staff act only with a
multi-factor login.

``ROLE_PERMISSIONS`` is the one map from roles to permissions that the admin console, the
admin API and the service counter check; ``role_for`` names the role an act is done (and
audited) in. Clients reach the admin API in roles of their own (``client_roles``)."""

from idp.accounts.assurance import is_multi_factor
from idp.admin.models import CLIENT_ROLES
from idp.admin.models import ROLES
from idp.admin.models import ClientRole
from idp.admin.models import StaffRole
from idp.audit import service as audit
from idp.extensions import db


class RoleError(ValueError):
    pass


def roles_of(user_id) -> set[str]:
    return {r.role for r in StaffRole.query.filter_by(user_id=user_id)}


def has_role(user_id, role) -> bool:
    """``super_admin`` holds every role."""
    held = roles_of(user_id)
    return role in held or "super_admin" in held


def acting_staff(session, role) -> bool:
    """Whether this SSO session may act in ``role``: the role, and two factors at login."""
    return bool(session) and is_multi_factor(session["amr"]) and has_role(session["user_id"],
                                                                           role)


def grant(user, role, *, actor, actor_role=None):
    """``actor_role``: the role the grant is made in (the console's super administrator; None
    for the operator at the command line)."""
    if role not in ROLES:
        raise RoleError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if role in roles_of(user.id):
        return False
    db.session.add(StaffRole(user_id=user.id, role=role, granted_by=actor))
    audit.record("staff.role.granted", actor=actor, role=actor_role, target=f"user:{user.id}",
                 detail={"after": {"role": role}})
    return True


def revoke(user, role, *, actor, actor_role=None):
    row = StaffRole.query.filter_by(user_id=user.id, role=role).first()
    if row is None:
        return False
    db.session.delete(row)
    audit.record("staff.role.revoked", actor=actor, role=actor_role, target=f"user:{user.id}",
                 detail={"before": {"role": role}})
    return True


# --- What each role may do ------------------------------------------------------------------

#: The scope an access token needs at the admin API (``/admin/api``).
ADMIN_SCOPE = "admin"

#: Every permission the administration checks. ``*.read`` are the read-only lists and views.
PERMISSIONS = (
    "clients.read", "clients.write",   # relying parties: list, view, usage / register, change
    "iat.read", "iat.write",           # initial access tokens for dynamic registration
    "users.read", "users.write",       # citizens' accounts: search, view, events / lock, reset
    "keys.read", "keys.write",         # signing keys: list / rotate
    "audit.read",                      # the audit log: filter, export
    "enterprises.read", "enterprises.write",  # enterprises: search, view / change status
    "staff.write",                     # give or take roles; a client's admin scope
    "upstreams.read", "upstreams.write",  # regional identity providers logins may go through
    "counter",                         # the service counter (/counter)
)

#: Role -> permissions: the one place that says who may do what.
ROLE_PERMISSIONS = {
    "super_admin": frozenset(PERMISSIONS),
    "client_registrar": frozenset({"clients.read", "clients.write", "iat.read", "iat.write"}),
    "user_admin": frozenset({"users.read", "users.write", "enterprises.read",
                             "enterprises.write"}),
    "auditor": frozenset({"audit.read", "clients.read", "iat.read", "users.read",
                          "keys.read", "upstreams.read", "enterprises.read"}),
    "counter_clerk": frozenset({"counter"}),
}

#: When several held roles allow an act, the narrowest one is the role it is done (and
#: audited) in.
NARROWEST_FIRST = ("counter_clerk", "auditor", "user_admin", "client_registrar", "super_admin")


def permissions_of(roles) -> set[str]:
    return set().union(*(ROLE_PERMISSIONS.get(r, ()) for r in roles))


def role_for(roles, permission) -> str | None:
    """The role among ``roles`` in which ``permission`` is exercised, or None."""
    if permission not in PERMISSIONS:
        raise RoleError(f"unknown permission {permission!r}")
    return next((r for r in NARROWEST_FIRST if r in roles and permission in ROLE_PERMISSIONS[r]),
                None)


# --- Roles of clients (the admin API with client_credentials tokens) ------------------------

def client_roles_of(client_id) -> set[str]:
    return {r.role for r in ClientRole.query.filter_by(client_id=client_id)}


def grant_client(client_id, role, *, actor, actor_role=None):
    """Let a client's own tokens (client_credentials, scope ``admin``) act in ``role``."""
    from clients.service import client_row

    if role not in CLIENT_ROLES:
        raise RoleError(f"a client cannot hold {role!r}; roles: {', '.join(CLIENT_ROLES)}")
    client_row(client_id)  # ClientNotFound
    if role in client_roles_of(client_id):
        return False
    db.session.add(ClientRole(client_id=client_id, role=role, granted_by=actor))
    audit.record("client.role.granted", actor=actor, role=actor_role,
                 target=f"client:{client_id}", detail={"before": {}, "after": {"role": role}})
    return True


def revoke_client(client_id, role, *, actor, actor_role=None):
    row = ClientRole.query.filter_by(client_id=client_id, role=role).first()
    if row is None:
        return False
    db.session.delete(row)
    audit.record("client.role.revoked", actor=actor, role=actor_role,
                 target=f"client:{client_id}", detail={"before": {"role": role}, "after": {}})
    return True
