"""The ``idp`` command: a Flask CLI group (``idp db upgrade``, ``idp run``) and ours, each
group living with its package; this module only registers them (their shared helpers are in
``idp.cli_support``)."""

import os
import sys

import click
from flask.cli import FlaskGroup

from config import ConfigError
from idp import devenv


def _create_app():
    from idp import create_app

    return create_app()


def main():
    # load_dotenv=False: no .env or .flaskenv picked up from the working directory; a
    # development checkout's own settings come from its instance folder (idp.devenv).
    cli = FlaskGroup(create_app=_create_app, add_version_option=False, load_dotenv=False,
                     help="Unified identity authentication provider.")
    try:
        devenv.load()
        if os.environ.get("IDP_PORT"):  # `idp run` serves on IDP_PORT unless --port says
            os.environ.setdefault("FLASK_RUN_PORT", os.environ["IDP_PORT"])
        cli.main(prog_name="idp")
    except ConfigError as exc:
        click.echo(f"configuration error: {exc}", err=True)
        sys.exit(2)


def register_commands(app):
    from clients.cli import clients
    from idp.accounts.cli import users
    from idp.accounts.outbox_cli import groups as outbox_groups
    from idp.admin.cli import USERS_COMMANDS
    from idp.admin.cli import admins
    from idp.audit.cli import audit
    from idp.dev_cli import dev
    from idp.enterprise.cli import enterprises
    from idp.federation.cli import upstreams
    from idp.keys.cli import keys
    from idp.logout.cli import logout
    from idp.realname.cli import realname

    for command in USERS_COMMANDS:
        users.add_command(command)
    for group in (users, clients, keys, dev, audit, admins, realname, enterprises, upstreams,
                  logout, *outbox_groups()):
        app.cli.add_command(group)
