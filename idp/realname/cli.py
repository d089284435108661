"""``idp realname …``: the development registry and key rotation of sealed identity data."""

import click
from flask.cli import with_appcontext

from idp.realname.devregistry import dev_registry_command

realname = click.Group("realname", help="Real-name binding (identity documents).")
realname.add_command(dev_registry_command)


@realname.command("reencrypt")
@with_appcontext
def reencrypt():
    """Reseal identity data under the first key of IDP_PII_KEYS (after adding a new key);
    then the old key can be removed."""
    from idp.realname.pii import current_key_id
    from idp.realname.service import reencrypt as run

    resealed, total = run()
    click.echo(f"resealed {resealed} of {total} identity bindings under key {current_key_id()}")
