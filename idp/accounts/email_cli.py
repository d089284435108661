"""``idp email``: development helpers for email."""

import json
import time

import click
from flask import current_app
from flask.cli import with_appcontext

email = click.Group("email", help="Email (one-time codes).")


@email.command("outbox")
@click.option("--json", "as_json", is_flag=True, help="One JSON array, newest first.")
@with_appcontext
def outbox(as_json):
    """The emails the development sender kept instead of sending, newest first."""
    from mfa.email import outbox as read_outbox

    cfg = current_app.config
    if cfg["ENV_NAME"] == "production" or cfg["EMAIL_SENDER"] != "outbox":
        raise click.ClickException("the email outbox exists only with IDP_EMAIL_SENDER=outbox "
                                   "(development and testing)")
    messages = read_outbox()
    if as_json:
        click.echo(json.dumps(messages, ensure_ascii=False))
        return
    if not messages and not cfg["REDIS_URL"]:
        click.echo("no messages; without IDP_REDIS_URL the server keeps its outbox in its own "
                   "process: open /dev/email-outbox instead", err=True)
        return
    if not messages:
        click.echo("no messages")
    for m in messages:
        at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(m["at"]))
        click.echo(f"{at}Z  {m['to']}  {m['subject']}  {' '.join(m['text'].split())}")
