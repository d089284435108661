"""``idp upstreams …``: the regional identity providers logins may go through. Acts are
audited with the actor ``cli:<OS user>``; bad input is a message and a non-zero exit status.
The client secret is sealed at rest and never printed."""

import functools
import json

import click
from flask.cli import with_appcontext

from idp.cli_support import cli_actor
from idp.cli_support import emit

upstreams = click.Group("upstreams", help="Regional identity providers (brokered logins).")


def _service_errors(func):
    """Service errors become a message and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from idp.federation.service import UpstreamError
        from idp.federation.service import UpstreamNotFound

        try:
            return func(*args, **kwargs)
        except UpstreamError as exc:
            raise click.ClickException(exc.description) from None
        except UpstreamNotFound as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


def _pairs(values, option, convert=str):
    """``--claim ours=theirs`` / ``--acr theirs=level`` as a dict."""
    found = {}
    for value in values:
        key, sep, target = value.partition("=")
        if not sep or not key or not target:
            raise click.ClickException(f"{option} takes NAME=VALUE, not {value!r}")
        try:
            found[key] = convert(target)
        except ValueError:
            raise click.ClickException(f"{option} {value!r}: the level must be a whole "
                                       "number") from None
    return found


def _emit(upstream, as_json):
    from idp.federation.service import view

    data = view(upstream)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    emit({k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else v
          for k, v in data.items()}, False)


@upstreams.command("add")
@click.option("--slug", required=True, help="Short name in its callback address.")
@click.option("--name", required=True, help="Shown on the login page.")
@click.option("--issuer", required=True, help="Its issuer (discovery: /.well-known/…).")
@click.option("--client-id", required=True, help="Our client_id there.")
@click.option("--client-secret", required=True, help="Our client secret there (sealed).")
@click.option("--max-level", required=True, type=int,
              help="The highest level of assurance its logins count for.")
@click.option("--scope", default=None, help="What we ask of it (default openid profile phone).")
@click.option("--auth-method", default=None,
              type=click.Choice(("client_secret_basic", "client_secret_post")),
              help="How we authenticate at its token endpoint (default client_secret_basic).")
@click.option("--claim", "claims", multiple=True, metavar="OURS=THEIRS",
              help="Which of its claims gives ours: name, phone_number, "
                   "phone_number_verified (repeatable).")
@click.option("--acr", "acrs", multiple=True, metavar="ACR=LEVEL",
              help="The level one of its acr values counts for (repeatable; default: our own "
                   "acr values).")
@click.option("--disabled", is_flag=True, help="Register it without offering it yet.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_service_errors
def upstreams_add(slug, name, issuer, client_id, client_secret, max_level, scope, auth_method,
                  claims, acrs, disabled, as_json):
    """Register a regional identity provider. Register our callback there first:
    {issuer}/upstream/{slug}/callback (also as a post-logout redirect URI)."""
    from idp.federation.service import add

    data = {"slug": slug, "name": name, "issuer": issuer, "client_id": client_id,
            "client_secret": client_secret, "max_level": max_level,
            "claim_map": _pairs(claims, "--claim"), "acr_map": _pairs(acrs, "--acr", int),
            "enabled": not disabled}
    for key, value in (("scope", scope), ("auth_method", auth_method)):
        if value is not None:
            data[key] = value
    _emit(add(data, actor=cli_actor()), as_json)


@upstreams.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def upstreams_list(as_json):
    from idp.federation.service import list_all
    from idp.federation.service import view

    rows = [view(u) for u in list_all()]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        click.echo("no upstream providers: add one with `idp upstreams add`")
    for r in rows:
        state = "enabled" if r["enabled"] else "disabled"
        click.echo(f"{r['slug']:16} {state:8} level<={r['max_level']}  {r['issuer']}  "
                   f"{r['name']}")


@upstreams.command("show")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_service_errors
def upstreams_show(slug, as_json):
    from idp.federation.service import get

    _emit(get(slug), as_json)


@upstreams.command("enable")
@click.argument("slug")
@with_appcontext
@_service_errors
def upstreams_enable(slug):
    """Offer it on the login page again."""
    from idp.federation.service import set_enabled

    set_enabled(slug, True, actor=cli_actor())
    click.echo(f"{slug}: enabled")


@upstreams.command("disable")
@click.argument("slug")
@with_appcontext
@_service_errors
def upstreams_disable(slug):
    """Stop logins through it (links stay)."""
    from idp.federation.service import set_enabled

    set_enabled(slug, False, actor=cli_actor())
    click.echo(f"{slug}: disabled")


@upstreams.command("remove")
@click.argument("slug")
@click.option("--yes", is_flag=True, help="Do not ask.")
@with_appcontext
@_service_errors
def upstreams_remove(slug, yes):
    """Delete it and every account's link to it (the accounts stay)."""
    from idp.federation.service import get
    from idp.federation.service import remove

    get(slug)
    if not yes:
        click.confirm(f"Remove {slug} and every link to it?", abort=True)
    links = remove(slug, actor=cli_actor())
    click.echo(f"{slug}: removed ({links} links)")
