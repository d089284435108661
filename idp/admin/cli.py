"""``idp admins …``: staff roles for the administration and the service counter, and the roles
of clients at the admin API; ``idp users lock|unlock|reset-factors``.
Every change is audited with the actor ``cli:<OS user>``."""

import functools
import json

import click
from flask.cli import with_appcontext

from clients.service import ClientNotFound
from clients.service import client_row
from idp.accounts.models import User
from idp.admin import roles
from idp.admin import service
from idp.admin.models import CLIENT_ROLES
from idp.admin.models import ROLES
from idp.admin.models import ClientRole
from idp.admin.models import StaffRole
from idp.cli_support import account_by_phone
from idp.cli_support import cli_actor

admins = click.Group("admins", help="Staff accounts and their roles.")


def _on_account(command):
    """Decorator: ``command`` (a click command decorator) acting on the account that
    ``--phone`` names; the function receives the account in place of the number."""

    def decorate(func):
        @functools.wraps(func)
        def run(phone, **kwargs):
            return func(account_by_phone(phone), **kwargs)

        phone = click.option("--phone", required=True, help="The account's mobile number.")
        return command(phone(with_appcontext(run)))

    return decorate


@_on_account(admins.command("grant"))
@click.option("--role", required=True, type=click.Choice(ROLES))
def grant(user, role):
    """Give an account a staff role (it must log in with two factors to use it)."""
    changed = roles.grant(user, role, actor=cli_actor())
    click.echo(f"{user.phone}: {role} {'granted' if changed else 'already held'}")


@_on_account(admins.command("revoke"))
@click.option("--role", required=True, type=click.Choice(ROLES))
def revoke(user, role):
    """Take a staff role from an account."""
    changed = roles.revoke(user, role, actor=cli_actor())
    click.echo(f"{user.phone}: {role} {'revoked' if changed else 'was not held'}")


@admins.command("grant-client")
@click.option("--client-id", required=True)
@click.option("--role", required=True, type=click.Choice(CLIENT_ROLES))
@with_appcontext
def grant_client(client_id, role):
    """Let a client's own tokens (client_credentials, scope admin) act in a role at the admin
    API."""
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
    changed = roles.revoke_client(client_id, role, actor=cli_actor())
    click.echo(f"{client_id}: {role} {'revoked' if changed else 'was not held'}")


@admins.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def list_staff(as_json):
    """Staff members and clients with their roles."""
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

@_on_account(click.command("lock"))
@click.option("--reason", default=None, help="Why (kept with the account and in the audit log).")
def users_lock(user, reason):
    """Lock an account until it is unlocked (status disabled); its sessions end and its
    tokens are revoked."""
    service.lock(user.id, actor=cli_actor(), role=None, reason=reason)
    click.echo(f"locked {user.phone}")


@_on_account(click.command("reset-factors"))
@click.option("--yes", is_flag=True, help="The citizen's identity was checked.")
def users_reset_factors(user, yes):
    """Remove every second factor and recovery code of an account (its password stays)."""
    if not yes:
        raise click.ClickException("check the citizen's identity first, then add --yes")
    removed = service.reset_factors(user.id, actor=cli_actor(), role=None)
    click.echo(f"{user.phone}: {removed} second factor(s) removed, recovery codes cleared")


@_on_account(click.command("unlock"))
def users_unlock(user):
    """Unlock an account locked after failed logins (or re-enable a disabled one)."""
    service.unlock(user.id, actor=cli_actor(), role=None)
    click.echo(f"unlocked {user.phone}")


#: Commands of ``idp users`` that act on an account as an administrator.
USERS_COMMANDS = (users_lock, users_unlock, users_reset_factors)
