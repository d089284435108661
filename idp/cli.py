"""The ``idp`` command: a Flask CLI group (``idp db upgrade``, ``idp run``, and ours below)."""

import json
import sys
import time

import click
from flask import current_app
from flask.cli import FlaskGroup
from flask.cli import with_appcontext

from config import ConfigError


def _create_app():
    from idp import create_app

    return create_app()


def main():
    cli = FlaskGroup(create_app=_create_app, add_version_option=False,
                     help="Unified identity authentication provider.")
    try:
        cli.main(prog_name="idp")
    except ConfigError as exc:
        click.echo(f"configuration error: {exc}", err=True)
        sys.exit(2)


def _emit(data, as_json):
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
    else:
        for key, value in data.items():
            click.echo(f"{key}: {value}")


users = click.Group("users", help="Citizen accounts.")
clients = click.Group("clients", help="Relying parties (regional platforms).")
keys = click.Group("keys", help="Token signing keys.")
dev = click.Group("dev", help="Development helpers (refused in production).")


@users.command("create")
@click.option("--phone", required=True, help="Mobile number (E.164 or a mainland number).")
@click.option("--password", required=True)
@click.option("--name", default=None)
@click.option("--email", default=None)
@click.option("--username", default=None)
@click.option("--id-number", default=None,
              help="Resident ID number (bound and verified by the real-name module).")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def users_create(phone, password, name, email, username, id_number, as_json):
    from idp.accounts.service import AccountError
    from idp.accounts.service import create_user

    if id_number:
        raise click.ClickException(
            "--id-number needs the real-name module, which this version does not have yet")
    from idp.accounts.password_policy import is_common

    if is_common(password):
        click.echo("warning: this password is on the common-password list; citizens could not "
                   "choose it themselves", err=True)
    try:
        user = create_user(phone=phone, password=password, name=name, email=email,
                           username=username, common_ok=True)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    _emit({"id": user.id, "uuid": user.uuid, "phone": user.phone, "name": user.name}, as_json)


@users.command("unlock")
@click.option("--phone", required=True)
@with_appcontext
def users_unlock(phone):
    """Unlock an account locked after failed logins (or re-enable a disabled one)."""
    from idp.accounts.service import AccountError
    from idp.accounts.service import unlock

    try:
        user = unlock(phone)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"unlocked {user.phone}")


@clients.command("create")
@click.option("--name", required=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True)
@click.option("--post-logout-redirect-uri", "post_logout_uris", multiple=True)
@click.option("--public", is_flag=True, help="A public client (no secret; auth method none).")
@click.option("--auth-method", default=None,
              help="client_secret_basic (default), client_secret_post, private_key_jwt, none.")
@click.option("--grant-type", "grant_types", multiple=True,
              help="authorization_code, refresh_token, client_credentials (repeatable).")
@click.option("--scope", default="openid profile")
@click.option("--jwks", "jwks_file", type=click.File(), default=None,
              help="File with the client's public JWK Set (private_key_jwt).")
@click.option("--jwks-uri", default=None)
@click.option("--subject-type", default="pairwise", type=click.Choice(["pairwise", "public"]))
@click.option("--sector-identifier", default=None)
@click.option("--id-token-alg", default=None)
@click.option("--require-mfa", is_flag=True, help="Logins for this platform need a 2nd factor.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def clients_create(name, redirect_uris, post_logout_uris, public, auth_method, grant_types,
                   scope, jwks_file, jwks_uri, subject_type, sector_identifier, id_token_alg,
                   require_mfa, as_json):
    from clients.service import ClientValidationError
    from clients.service import create_client

    if public and auth_method not in (None, "none"):
        raise click.ClickException("--public goes with --auth-method none only")
    method = "none" if public else (auth_method or "client_secret_basic")
    try:
        jwks = json.load(jwks_file) if jwks_file else None
    except ValueError as exc:
        raise click.ClickException(f"--jwks is not JSON: {exc}") from None
    try:
        client, secret = create_client(
            name=name, redirect_uris=redirect_uris, auth_method=method,
            grant_types=grant_types or ("authorization_code", "refresh_token"), scope=scope,
            jwks=jwks, jwks_uri=jwks_uri, subject_type=subject_type,
            sector_identifier=sector_identifier, id_token_alg=id_token_alg,
            post_logout_redirect_uris=post_logout_uris, require_mfa=require_mfa)
    except ClientValidationError as exc:
        raise click.ClickException(f"{exc.error}: {exc.description}") from None
    data = {"client_id": client.client_id}
    if secret:
        data["client_secret"] = secret
    data.update({"name": client.name, "redirect_uris": client.redirect_uris,
                 "grant_types": client.grant_types, "scope": client.scope,
                 "token_endpoint_auth_method": client.token_endpoint_auth_method})
    _emit(data, as_json)


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
@click.option("--port", default=None, type=int)
@with_appcontext
def dev_bootstrap(port):
    """Signing keys, a demo citizen and a demo client for ``make run``."""
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
    click.echo(f"""
  Issuer (discovery):  {issuer}/.well-known/openid-configuration
  Demo citizen:        phone {phone}  password {password}
  Demo client:         client_id {client.client_id}
                       client_secret {secret}
                       redirect_uri {redirect_uri}
  Try a login:         {issuer}/authorize?response_type=code&client_id={client.client_id}\
&redirect_uri={redirect_uri}&scope=openid%20profile&state=demo&nonce=demo\
&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256
                       (code_verifier dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk)
""")


def register_commands(app):
    from idp.accounts.outbox_cli import groups as outbox_groups

    for group in (users, clients, keys, dev, *outbox_groups()):
        app.cli.add_command(group)
