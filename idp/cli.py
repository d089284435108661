"""The ``idp`` command: a Flask CLI group (``idp db upgrade``, ``idp run``, and ours below)."""

import getpass
import json
import os
import shlex
import sys
import time
from urllib.parse import urlsplit

import click
from flask import current_app
from flask.cli import FlaskGroup
from flask.cli import with_appcontext

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


users = click.Group("users", help="Citizen accounts.")
keys = click.Group("keys", help="Token signing keys.")
dev = click.Group("dev", help="Development helpers (refused in production).")


@users.command("create")
@click.option("--phone", required=True, help="Mobile number (E.164 or a mainland number).")
@click.option("--password", required=True)
@click.option("--name", default=None)
@click.option("--email", default=None)
@click.option("--username", default=None)
@click.option("--id-number", default=None,
              help="Identity document number, bound as declared (level 1; needs --name).")
@click.option("--id-type", default="resident_id", show_default=True,
              help="Document type of --id-number (see README, Real-name binding).")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def users_create(phone, password, name, email, username, id_number, id_type, as_json):
    from idp.accounts.service import AccountError
    from idp.accounts.service import create_user
    from idp.realname import service as realname

    if id_number:
        if not name:
            raise click.ClickException("--id-number needs --name (as on the document)")
        try:
            realname.parse_document(id_type, id_number)
        except realname.RealNameError as exc:
            raise click.ClickException(f"--id-number: {exc.message}") from None
    from idp.accounts.password_policy import is_common

    if is_common(password):
        click.echo("warning: this password is on the common-password list; citizens could not "
                   "choose it themselves", err=True)
    try:
        user = create_user(phone=phone, password=password, name=name, email=email,
                           username=username, common_ok=True)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    if id_number:
        try:
            realname.declare(user, id_type, name, id_number, actor=cli_actor())
        except realname.RealNameError as exc:
            from idp.extensions import db

            db.session.delete(user)
            db.session.commit()
            raise click.ClickException(f"--id-number: {exc.message}") from None
    emit({"id": user.id, "uuid": user.uuid, "phone": user.phone, "name": user.name,
           "loa": user.loa}, as_json)


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


@dev.command("bootstrap")
@click.option("--port", default=None, type=int,
              help="The port the development server listens on (default: IDP_PORT).")
@with_appcontext
def dev_bootstrap(port):
    """Signing keys, a demo citizen and a demo client for ``make run``, and its banner."""
    from clients.models import Client
    from clients.service import create_client
    from clients.service import new_secret
    from idp.accounts.models import User
    from idp.accounts.service import create_user
    from idp.keys.service import ensure_keys

    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException("dev bootstrap is refused in production")
    ensure_keys()
    phone, password = "+8613800138000", "Demo-Passw0rd!"
    if User.query.filter_by(phone=phone).first() is None:
        create_user(phone=phone, password=password, name="张三")
    redirect_uri = "http://127.0.0.1:8080/callback"
    client = Client.query.filter_by(name="Demo platform").first()
    if client is None:
        client, secret = create_client(name="Demo platform", redirect_uris=[redirect_uri],
                                       scope="openid profile phone offline_access",
                                       post_logout_redirect_uris=["http://127.0.0.1:8080/"])
    else:
        secret = new_secret(client)
    issuer = current_app.config["ISSUER"]
    port = port or current_app.config["PORT"]
    idp = _idp_command()
    click.echo(f"""
  Serving on:          http://127.0.0.1:{port}{_issuer_note(issuer, port)}
  Issuer (discovery):  {issuer}/.well-known/openid-configuration
  Demo citizen:        phone {phone}  password {password}
  Demo client:         client_id {client.client_id}
                       client_secret {secret}
                       redirect_uri {redirect_uri}
  Try a login:         {issuer}/authorize?response_type=code&client_id={client.client_id}\
&redirect_uri={redirect_uri}&scope=openid%20profile&state=demo&nonce=demo\
&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256
                       (code_verifier dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk)
  Level 2 or 3:        add &acr_values=urn:cn:gov:idp:loa:2 to the login, or open
                       {issuer}/account/identity; the development registry knows
                       张三 11010119800101031X (its face check has Pass / Fail buttons)
  Administration:      make the demo citizen a super administrator (in another terminal):
                         $ {idp} admins grant --phone {phone} --role super_admin
                       staff log in with a second factor: add an authenticator app at
                       {issuer}/account, then open {issuer}/admin
  Command line:        in another terminal opened in this folder, with no exports (idp
                       reads {_here(os.path.join(devenv.instance_dir(), devenv.RUN_FILE))}):
                         $ {idp} audit verify
                         $ {idp} clients list
""")


def _here(path):
    """``path`` as typed from the current folder: relative inside it, else absolute."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def _idp_command():
    """This ``idp`` as one pastes it into another terminal opened in the current folder
    (no virtual environment active there), with the instance folder if it is not the default."""
    command = shlex.quote(_here(os.path.join(os.path.dirname(sys.executable), "idp")))
    if os.environ.get("IDP_INSTANCE_DIR"):
        command = f"IDP_INSTANCE_DIR={shlex.quote(devenv.instance_dir())} {command}"
    return command


def _issuer_note(issuer, port):
    """A warning when the issuer names another port than the one served (a proxy in front,
    or a typo): browsers and relying parties follow the issuer."""
    parts = urlsplit(issuer)
    issuer_port = parts.port or (443 if parts.scheme == "https" else 80)
    if issuer_port == port:
        return ""
    return (f"\n  Note:                the issuer says port {issuer_port}; browsers and "
            "relying parties\n                       go there, not to this server's port")


def register_commands(app):
    from clients.cli import clients
    from idp.accounts.outbox_cli import groups as outbox_groups
    from idp.admin.cli import USERS_COMMANDS
    from idp.admin.cli import admins
    from idp.audit.cli import audit
    from idp.realname.cli import realname

    for command in USERS_COMMANDS:
        users.add_command(command)
    for group in (users, clients, keys, dev, audit, admins, realname, *outbox_groups()):
        app.cli.add_command(group)
