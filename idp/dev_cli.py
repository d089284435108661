"""``idp dev bootstrap``: signing keys, a demo citizen and a demo client for ``make run``
(refused in production)."""

import os
import shlex
import sys
from urllib.parse import urlsplit

import click
from flask import current_app
from flask.cli import with_appcontext

from idp import devenv

dev = click.Group("dev", help="Development helpers (refused in production).")


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
