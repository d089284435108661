"""``idp admins …``: staff roles for the administration and the service counter, and the roles
of clients at the admin API; ``idp users lock|unlock|reset-factors``.
Every change is audited with the actor ``cli:<OS user>``."""

import json

import click
from flask.cli import with_appcontext

from idp.admin.models import CLIENT_ROLES
from idp.admin.models import ROLES
from idp.cli_support import cli_actor

admins = click.Group("admins", help="Staff accounts and their roles.")


def _account(phone):
    from idp.accounts.models import User
    from idp.accounts.service import AccountError
    from idp.accounts.service import normalise_phone

    try:
        user = User.query.filter_by(phone=normalise_phone(phone)).first()
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    if user is None:
        raise click.ClickException(f"no account has the number {phone}")
    return user


@admins.command("grant")
@click.option("--phone", required=True, help="The staff member's account (mobile number).")
@click.option("--role", required=True, type=click.Choice(ROLES))
@with_appcontext
def grant(phone, role):
    """Give an account a staff role (it must log in with two factors to use it)."""
    from idp.admin import roles

    user = _account(phone)
    changed = roles.grant(user, role, actor=cli_actor())
    click.echo(f"{user.phone}: {role} {'granted' if changed else 'already held'}")


@admins.command("revoke")
@click.option("--phone", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@with_appcontext
def revoke(phone, role):
    from idp.admin import roles

    user = _account(phone)
    changed = roles.revoke(user, role, actor=cli_actor())
    click.echo(f"{user.phone}: {role} {'revoked' if changed else 'was not held'}")


@admins.command("grant-client")
@click.option("--client-id", required=True)
@click.option("--role", required=True, type=click.Choice(CLIENT_ROLES))
@with_appcontext
def grant_client(client_id, role):
    """Let a client's own tokens (client_credentials, scope admin) act in a role at the admin
    API."""
    from clients.service import ClientNotFound
    from clients.service import client_row
    from idp.admin import roles

    try:
        client = client_row(client_id)
    except ClientNotFound as exc:
        raise click.ClickException(str(exc)) from None
    changed = roles.grant_client(client_id, role, actor=cli_actor())
    click.echo(f"{client_id}: {role} {'granted' if changed else 'already held'}")
    if roles.ADMIN_SCOPE not in client.scope.split() or (
            "client_credentials" not in client.grant_types):
        click.echo(f"warning: the client needs the client_credentials grant and the "
                   f"{roles.ADMIN_SCOPE} scope to obtain admin API tokens", err=True)


@admins.command("revoke-client")
@click.option("--client-id", required=True)
@click.option("--role", required=True, type=click.Choice(CLIENT_ROLES))
@with_appcontext
def revoke_client(client_id, role):
    from idp.admin import roles

    changed = roles.revoke_client(client_id, role, actor=cli_actor())
    click.echo(f"{client_id}: {role} {'revoked' if changed else 'was not held'}")


@admins.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def list_staff(as_json):
    """Staff members and clients with their roles."""
    from idp.accounts.models import User
    from idp.admin.models import ClientRole
    from idp.admin.models import StaffRole

    rows = [{"phone": user.phone, "role": role.role, "granted_by": role.granted_by,
             "granted_at": role.granted_at}
            for role, user in StaffRole.query.join(User, User.id == StaffRole.user_id)
            .with_entities(StaffRole, User).order_by(StaffRole.user_id, StaffRole.role)]
    rows += [{"client_id": r.client_id, "role": r.role, "granted_by": r.granted_by,
              "granted_at": r.granted_at}
             for r in ClientRole.query.order_by(ClientRole.client_id, ClientRole.role)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        who = row.get("phone") or f"client {row['client_id']}"
        click.echo(f"{who:16} {row['role']:18} granted by {row['granted_by']}")


# --- ``idp users lock|unlock|reset-factors`` --------------------------------------------------

@click.command("lock")
@click.option("--phone", required=True)
@click.option("--reason", default=None, help="Why (kept with the account and in the audit log).")
@with_appcontext
def users_lock(phone, reason):
    """Lock an account until it is unlocked (status disabled); its sessions end and its
    tokens are revoked."""
    from idp.admin import service

    user = _account(phone)
    service.lock(user.id, actor=cli_actor(), role=None, reason=reason)
    click.echo(f"locked {user.phone}")


@click.command("reset-factors")
@click.option("--phone", required=True)
@click.option("--yes", is_flag=True, help="The citizen's identity was checked.")
@with_appcontext
def users_reset_factors(phone, yes):
    """Remove every second factor and recovery code of an account (its password stays)."""
    from idp.admin import service

    if not yes:
        raise click.ClickException("check the citizen's identity first, then add --yes")
    user = _account(phone)
    removed = service.reset_factors(user.id, actor=cli_actor(), role=None)
    click.echo(f"{user.phone}: {removed} second factor(s) removed, recovery codes cleared")


@click.command("unlock")
@click.option("--phone", required=True)
@with_appcontext
def users_unlock(phone):
    """Unlock an account locked after failed logins (or re-enable a disabled one)."""
    from idp.admin import service

    user = _account(phone)
    service.unlock(user.id, actor=cli_actor(), role=None)
    click.echo(f"unlocked {user.phone}")


#: Commands of ``idp users`` that act on an account as an administrator.
USERS_COMMANDS = (users_lock, users_unlock, users_reset_factors)
