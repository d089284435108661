"""What the command groups share: who acts (for the audit log) and how a result is printed.
The ``idp`` aggregator (``idp.cli``) only registers the groups; each group lives with its
package (``clients.cli``, ``idp.accounts.cli``, ``idp.admin.cli``, ``idp.keys.cli`` …) and
imports these helpers from here, never from the aggregator."""

import getpass
import json
import os

import click


def cli_actor():
    """Who acts from the command line, for the audit log: ``cli:<OS user>``."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = f"uid-{os.getuid()}"
    return f"cli:{user}"[:100]


def account_by_phone(phone, option="--phone"):
    """The account that a command's ``option`` names by its mobile number; a message and exit
    status 1 when the number is not one or no account has it."""
    from idp.accounts.service import AccountError
    from idp.accounts.service import find_by_phone

    try:
        person = find_by_phone(phone)
    except AccountError as exc:
        raise click.ClickException(f"{option}: {exc}") from None
    if person is None:
        raise click.ClickException(f"{option}: no account has the number {phone}")
    return person


def emit(data, as_json):
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
    else:
        for key, value in data.items():
            click.echo(f"{key}: {value}")
