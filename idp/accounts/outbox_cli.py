"""``idp sms outbox`` and ``idp email outbox``: what the development senders kept instead of
sending (the codes), newest first."""

import json
import time

import click
from flask import current_app
from flask.cli import with_appcontext


def _outbox_group(name, help_text, sender_key, read, line):
    group = click.Group(name, help=help_text)

    @group.command("outbox")
    @click.option("--json", "as_json", is_flag=True, help="One JSON array, newest first.")
    @with_appcontext
    def outbox(as_json):
        """The messages the development sender kept instead of sending, newest first."""
        cfg = current_app.config
        if cfg["ENV_NAME"] == "production" or cfg[sender_key] != "outbox":
            raise click.ClickException(f"the {name} outbox exists only with IDP_{sender_key}"
                                       "=outbox (development and testing)")
        messages = read()
        if as_json:
            click.echo(json.dumps(messages, ensure_ascii=False))
            return
        if not messages and not cfg["REDIS_URL"]:
            click.echo("no messages; without IDP_REDIS_URL the server keeps its outbox in its "
                       f"own process: open /dev/{name}-outbox instead", err=True)
            return
        if not messages:
            click.echo("no messages")
        for m in messages:
            at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(m["at"]))
            click.echo(f"{at}Z  {m['to']}  {line(m)}")

    return group


def groups():
    from mfa import email
    from mfa import sms

    return (
        _outbox_group("sms", "Text messages (one-time codes).", "SMS_SENDER", sms.outbox,
                      lambda m: m["text"]),
        _outbox_group("email", "Email (one-time codes).", "EMAIL_SENDER", email.outbox,
                      lambda m: f"{m['subject']}  {' '.join(m['text'].split())}"),
    )
