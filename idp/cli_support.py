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


def emit(data, as_json):
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
    else:
        for key, value in data.items():
            click.echo(f"{key}: {value}")
