"""``idp clients …``: the client registry from the command line. Acts are audited with the
actor ``cli:<OS user>``; bad input is a message and a non-zero exit status."""

import datetime
import functools
import json

import click
from flask.cli import with_appcontext

from clients.models import CLIENT_STATES
from clients.validation import AUTH_METHODS
from clients.validation import GRANT_TYPES
from clients.validation import SUBJECT_TYPES
from idp.cli_support import cli_actor
from idp.cli_support import emit

clients = click.Group("clients", help="Relying parties (regional platforms).")
iat = click.Group("iat", help="Initial access tokens for dynamic registration (RFC 7591).")
clients.add_command(iat)


def _registry_errors(func):
    """Service errors become a message and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from clients.service import ClientNotFound
        from clients.service import ClientValidationError
        from clients.service import InitialAccessTokenNotFound

        try:
            return func(*args, **kwargs)
        except ClientValidationError as exc:
            raise click.ClickException(f"{exc.error}: {exc.description}") from None
        except (ClientNotFound, InitialAccessTokenNotFound) as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


def _when(ts):
    if not ts:
        return "never"
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


@clients.command("create")
@click.option("--name", required=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True)
@click.option("--post-logout-redirect-uri", "post_logout_uris", multiple=True,
              help="Where the platform's RP-initiated logout may return (repeatable).")
@click.option("--backchannel-logout-uri", default=None,
              help="Where logout tokens are posted (OIDC Back-Channel Logout).")
@click.option("--backchannel-logout-session-required", is_flag=True,
              help="Logout tokens must carry sid (they always do).")
@click.option("--frontchannel-logout-uri", default=None,
              help="Page loaded in a frame at logout (OIDC Front-Channel Logout), on the "
                   "host of a redirect URI.")
@click.option("--frontchannel-logout-session-required", is_flag=True,
              help="The front-channel page must get iss and sid (it always does).")
@click.option("--public", is_flag=True, help="A public client (no secret; auth method none).")
@click.option("--auth-method", default=None,
              help=f"{AUTH_METHODS[0]} (default), {', '.join(AUTH_METHODS[1:])}.")
@click.option("--grant-type", "grant_types", multiple=True,
              help=f"{', '.join(GRANT_TYPES)} (repeatable).")
@click.option("--scope", default="openid profile")
@click.option("--jwks", "jwks_file", type=click.File(), default=None,
              help="File with the client's public JWK Set (private_key_jwt).")
@click.option("--jwks-uri", default=None)
@click.option("--subject-type", default="pairwise", type=click.Choice(SUBJECT_TYPES))
@click.option("--sector-identifier", default=None,
              help="Host name keying pairwise subjects (default: the redirect URIs' host).")
@click.option("--sector-identifier-uri", default=None,
              help="https URL of a JSON array listing every redirect URI (OIDC Registration).")
@click.option("--id-token-alg", default=None)
@click.option("--native", is_flag=True,
              help="application_type native (private-use URI schemes need --public too).")
@click.option("--require-mfa", is_flag=True, help="Logins for this platform need a 2nd factor.")
@click.option("--pending", is_flag=True, help="Register it pending (awaiting approval).")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_registry_errors
def clients_create(name, redirect_uris, post_logout_uris, backchannel_logout_uri,
                   backchannel_logout_session_required, frontchannel_logout_uri,
                   frontchannel_logout_session_required, public, auth_method, grant_types,
                   scope, jwks_file, jwks_uri, subject_type, sector_identifier,
                   sector_identifier_uri, id_token_alg, native, require_mfa, pending, as_json):
    """Register a client; prints its client_id and (once) its client_secret."""
    from clients.service import register_client

    if public and auth_method not in (None, "none"):
        raise click.ClickException("--public goes with --auth-method none only")
    method = "none" if public else (auth_method or "client_secret_basic")
    try:
        jwks = json.load(jwks_file) if jwks_file else None
    except ValueError as exc:
        raise click.ClickException(f"--jwks is not JSON: {exc}") from None
    metadata = {
        "client_name": name, "redirect_uris": list(redirect_uris),
        "post_logout_redirect_uris": list(post_logout_uris),
        "backchannel_logout_uri": backchannel_logout_uri,
        "backchannel_logout_session_required": backchannel_logout_session_required,
        "frontchannel_logout_uri": frontchannel_logout_uri,
        "frontchannel_logout_session_required": frontchannel_logout_session_required,
        "token_endpoint_auth_method": method,
        "grant_types": list(grant_types or ("authorization_code", "refresh_token")),
        "scope": scope, "jwks": jwks, "jwks_uri": jwks_uri, "subject_type": subject_type,
        "sector_identifier": sector_identifier, "sector_identifier_uri": sector_identifier_uri,
        "id_token_signed_response_alg": id_token_alg,
        "application_type": "native" if native else "web", "require_mfa": require_mfa,
    }
    client, secret = register_client(metadata, actor=cli_actor(),
                                     status="pending" if pending else "active")
    data = {"client_id": client.client_id}
    if secret:
        data["client_secret"] = secret
    data.update({"name": client.name, "redirect_uris": client.redirect_uris,
                 "post_logout_redirect_uris": client.post_logout_redirect_uris,
                 "backchannel_logout_uri": client.backchannel_logout_uri,
                 "frontchannel_logout_uri": client.frontchannel_logout_uri,
                 "grant_types": client.grant_types, "scope": client.scope,
                 "token_endpoint_auth_method": client.token_endpoint_auth_method,
                 "status": client.status})
    emit(data, as_json)


@clients.command("list")
@click.option("--status", type=click.Choice(CLIENT_STATES), default=None)
@click.option("--query", default=None, help="Part of the name, or the start of the client_id.")
@click.option("--page", default=1, type=click.IntRange(min=1))
@click.option("--per-page", default=50, type=click.IntRange(1, 500))
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_registry_errors
def clients_list(status, query, page, per_page, as_json):
    """Clients, newest first."""
    from clients.service import list_clients

    rows, total = list_clients(query=query, status=status, page=page, per_page=per_page)
    if as_json:
        click.echo(json.dumps({"total": total, "page": page, "clients": [
            {"client_id": c.client_id, "name": c.name, "status": c.status,
             "token_endpoint_auth_method": c.token_endpoint_auth_method,
             "created_at": c.created_at} for c in rows]}, ensure_ascii=False))
        return
    if not rows:
        click.echo("no clients")
    for c in rows:
        click.echo(f"{c.client_id:24} {c.status:9} {_when(c.created_at):20} {c.name}")
    if total > len(rows):
        click.echo(f"({len(rows)} of {total}; --page for more)")


@clients.command("show")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_registry_errors
def clients_show(client_id, as_json):
    """A client's metadata and policy (no secret)."""
    from clients.service import client_metadata
    from clients.service import client_row

    data = client_metadata(client_row(client_id))
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
    else:
        emit({k: json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v
               for k, v in data.items()}, False)


def _status_command(name, status, help_text, from_status, with_reason=False):
    @click.argument("client_id")
    @with_appcontext
    @_registry_errors
    def command(client_id, reason=None):
        from clients.service import client_row
        from clients.service import set_status

        before = client_row(client_id).status
        if before not in (from_status, status):
            raise click.ClickException(f"{client_id} is {before}, not {from_status}")
        client = set_status(client_id, status, actor=cli_actor(), reason=reason)
        if before == status:
            click.echo(f"{client_id} is already {status}")
        else:
            click.echo(f"{client_id}: {before} -> {client.status}")

    command.__name__ = f"clients_{name}"
    if with_reason:
        command = click.option("--reason", default=None, help="Why (kept and audited).")(command)
    return clients.command(name, help=help_text)(command)


_status_command("approve", "active", "Approve a pending client (it becomes active).", "pending")
_status_command("activate", "active", "Re-activate a suspended client.", "suspended")
_status_command("suspend", "suspended",
                "Suspend a client: no logins, no tokens, its tokens inactive (nothing revoked).",
                "active", with_reason=True)


@clients.command("rotate-secret")
@click.argument("client_id")
@click.option("--overlap", type=click.IntRange(min=0), default=None,
              help="Seconds the old secret keeps working (default: "
                   "CLIENT_SECRET_ROTATION_OVERLAP, 86400).")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_registry_errors
def clients_rotate_secret(client_id, overlap, as_json):
    """A new client secret, printed once."""
    from clients.service import client_row
    from clients.service import rotate_secret

    secret = rotate_secret(client_id, actor=cli_actor(), overlap_seconds=overlap)
    client = client_row(client_id)
    emit({"client_id": client_id, "client_secret": secret,
           "client_secret_expires_at": client.client_secret_expires_at,
           "previous_secret_valid_until": client.previous_secret_expires_at}, as_json)


@clients.command("delete")
@click.argument("client_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
@_registry_errors
def clients_delete(client_id, yes):
    """Delete a client and revoke every token issued to it."""
    from clients.service import client_row
    from clients.service import delete_client

    client = client_row(client_id)
    if not yes:
        click.confirm(f"Delete {client.name!r} ({client_id}) and revoke its tokens?",
                      abort=True)
    delete_client(client_id, actor=cli_actor())
    click.echo(f"deleted {client_id}")


@clients.command("set-policy")
@click.argument("client_id")
@click.option("--min-loa", type=int, default=None, help="Lowest level of assurance, 1 to 4.")
@click.option("--require-mfa/--no-require-mfa", default=None)
@click.option("--skip-consent/--no-skip-consent", default=None,
              help="First-party platform: citizens are not asked for consent.")
@click.option("--enterprise/--no-enterprise", "enterprise_allowed", default=None,
              help="Every login asks whom the person acts for (an enterprise identity), "
                   "as the enterprise scope does.")
@click.option("--access-token-ttl", type=int, default=None,
              help="Seconds (60 to 86400); 0 = the server default.")
@click.option("--refresh-token-ttl", type=int, default=None,
              help="Seconds (300 to 31536000); 0 = the server default.")
@click.option("--scope", default=None, help='Scopes it may ask for, e.g. "openid profile".')
@click.option("--allowed-claims", default=None,
              help='Claims it may receive, e.g. "name phone_number"; "*" = all of its scopes\'.')
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_registry_errors
def clients_set_policy(client_id, min_loa, require_mfa, skip_consent, enterprise_allowed,
                       access_token_ttl, refresh_token_ttl, scope, allowed_claims, as_json):
    """Change a client's policy; options not given stay as they are."""
    from clients.service import client_metadata
    from clients.service import update_client

    changes = {}
    for key, value in (("min_loa", min_loa), ("require_mfa", require_mfa),
                       ("skip_consent", skip_consent), ("enterprise_allowed", enterprise_allowed),
                       ("scope", scope)):
        if value is not None:
            changes[key] = value
    for key, value in (("access_token_ttl", access_token_ttl),
                       ("refresh_token_ttl", refresh_token_ttl)):
        if value is not None:
            changes[key] = value or None
    if allowed_claims is not None:
        changes["allowed_claims"] = None if allowed_claims.strip() == "*" else (
            allowed_claims.split())
    if not changes:
        raise click.ClickException("nothing to change: give at least one option")
    client = update_client(client_id, changes, actor=cli_actor())
    data = client_metadata(client)
    emit({k: data.get(k) for k in ("client_id", *changes)}, as_json)


@iat.command("create")
@click.option("--label", required=True, help="Who it is for (shown to registrars).")
@click.option("--expires-in", required=True, type=int, help="Seconds it stays valid.")
@click.option("--max-uses", type=int, default=None, help="Registrations it allows (default 1).")
@click.option("--unlimited", is_flag=True, help="Any number of registrations until it expires.")
@click.option("--scope", "scopes", default=None,
              help="The most a registered client may get (default: any known scope but "
                   "admin, id_number and enterprise, which a token must name).")
@click.option("--auto-approve", is_flag=True,
              help="A trusted issuer: its registrations are active at once.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_registry_errors
def iat_create(label, expires_in, max_uses, unlimited, scopes, auto_approve, as_json):
    """Issue an initial access token; it is printed once."""
    from clients.service import issue_initial_access_token

    if unlimited and max_uses is not None:
        raise click.ClickException("--max-uses and --unlimited exclude each other")
    token_row, token = issue_initial_access_token(
        actor=cli_actor(), label=label, expires_in=expires_in,
        max_uses=None if unlimited else (1 if max_uses is None else max_uses),
        scopes=scopes, auto_approve=auto_approve)
    emit({"id": token_row.id, "initial_access_token": token, "label": token_row.label,
           "expires_at": token_row.expires_at, "max_uses": token_row.max_uses,
           "scopes": token_row.scopes, "auto_approve": token_row.auto_approve}, as_json)


@iat.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def iat_list(as_json):
    """Initial access tokens (never their values)."""
    from clients.service import list_initial_access_tokens

    rows = [{"id": t.id, "label": t.label, "issued_by": t.issued_by, "expires_at": t.expires_at,
             "uses": t.uses, "max_uses": t.max_uses, "scopes": t.scopes,
             "auto_approve": t.auto_approve, "revoked_at": t.revoked_at, "usable": t.usable()}
            for t in list_initial_access_tokens()]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        click.echo("no initial access tokens")
    for r in rows:
        uses = f"{r['uses']}/{r['max_uses'] or '∞'}"
        state = "usable" if r["usable"] else ("revoked" if r["revoked_at"] else "spent/expired")
        click.echo(f"{r['id']:5} {state:13} uses {uses:7} expires {_when(r['expires_at'])}  "
                   f"{r['label']}")


@iat.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
@_registry_errors
def iat_revoke(token_id):
    """Revoke an initial access token (clients it registered stay)."""
    from clients.service import revoke_initial_access_token

    revoke_initial_access_token(token_id, actor=cli_actor())
    click.echo(f"revoked initial access token {token_id}")
