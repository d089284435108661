"""``idp sms``: development helpers for text messages."""

import json
import time

import click
from flask import current_app
from flask.cli import with_appcontext

sms = click.Group("sms", help="Text messages (one-time codes).")


@sms.command("outbox")
@click.option("--json", "as_json", is_flag=True, help="One JSON array, newest first.")
@with_appcontext
def outbox(as_json):
    """The messages the development sender kept instead of sending, newest first."""
    from mfa.sms import outbox as read_outbox

    cfg = current_app.config
    if cfg["ENV_NAME"] == "production" or cfg["SMS_SENDER"] != "outbox":
        raise click.ClickException("the SMS outbox exists only with IDP_SMS_SENDER=outbox "
                                   "(development and testing)")
    messages = read_outbox()
    if as_json:
        click.echo(json.dumps(messages, ensure_ascii=False))
        return
    if not messages and not cfg["REDIS_URL"]:
        click.echo("no messages; without IDP_REDIS_URL the server keeps its outbox in its own "
                   "process: open /dev/sms-outbox instead", err=True)
        return
    if not messages:
        click.echo("no messages")
    for m in messages:
        at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(m["at"]))
        click.echo(f"{at}Z  {m['to']}  {m['text']}")
