"""``idp keys list`` and ``idp keys rotate``: the token signing keys."""

import json
import time

import click
from flask.cli import with_appcontext

keys = click.Group("keys", help="Token signing keys.")


@keys.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def keys_list(as_json):
    from idp.keys.models import SigningKey

    now = int(time.time())
    rows = [{"kid": k.kid, "alg": k.alg, "state": k.state, "age_seconds": now - k.created_at,
             "published_until": k.publish_until}
            for k in SigningKey.query.order_by(SigningKey.alg, SigningKey.id)]
    if as_json:
        click.echo(json.dumps(rows))
        return
    if not rows:
        click.echo("no signing keys: run `idp keys rotate`")
    for r in rows:
        age = f"{r['age_seconds'] // 86400}d {r['age_seconds'] % 86400 // 3600}h"
        click.echo(f"{r['alg']:6} {r['state']:8} age {age:>8}  {r['kid']}")


@keys.command("rotate")
@with_appcontext
def keys_rotate():
    """Promote the pre-published key, retire the signing one, publish a new next key."""
    from idp.keys.service import rotate

    for alg, state, kid in rotate():
        click.echo(f"{alg:6} -> {state:8} {kid}")
