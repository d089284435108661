"""``idp enterprises …``: an operator's acts on enterprises, in force at once and audited with
the actor ``cli:<OS user>`` in the role ``operator``.

    create   --credit-code C --name N --legal-representative-phone P [--entity-type T] --json
    appoint  --credit-code C --phone P --role administrator|handler [--matter M ...]
             [--until YYYY-MM-DD] --json
    revoke   --credit-code C --phone P [--role R]     end the person's appointments
    status   --credit-code C --set operating|cancelled|revoked [--reason R]
    show     --credit-code C [--json]
    list     [--q Q] [--status S] [--json]

Bad input (a code that fails GB 32100, an unknown number, a refused appointment) is a clear
message and exit status 1, and nothing is changed.
"""

import click
from flask.cli import with_appcontext

from idp.cli_support import account_by_phone
from idp.cli_support import cli_actor
from idp.cli_support import emit

enterprises = click.Group("enterprises", help="Enterprises (legal persons) and who acts for "
                                               "them.")


def _enterprise(credit_code):
    from idp.enterprise import service

    try:
        service.parse_code(credit_code)
        return service.get(credit_code)
    except service.EnterpriseError as exc:
        raise click.ClickException(f"--credit-code: {exc.message}") from None


def _operator():
    from idp.enterprise import service

    return service.Actor.operator(cli_actor())


def _fail(exc):
    raise click.ClickException(exc.message) from None


@enterprises.command("create")
@click.option("--credit-code", required=True, help="Unified social credit code (18 "
                                                   "characters, GB 32100).")
@click.option("--name", required=True, help="The enterprise's registered name.")
@click.option("--legal-representative-phone", required=True,
              help="Mobile number of the legal representative's account.")
@click.option("--entity-type", default=None,
              help="Entity type (default: what positions 1-2 of the code say).")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def create(credit_code, name, legal_representative_phone, entity_type, as_json):
    """Register an enterprise as the operator declares it (no registry call)."""
    from idp.enterprise import codes
    from idp.enterprise import service
    from idp.enterprise.admin_api import enterprise_view

    if entity_type is not None and entity_type not in codes.ENTITY_TYPES:
        raise click.ClickException(f"--entity-type: unknown; one of "
                                   f"{', '.join(codes.ENTITY_TYPES)}")
    try:
        service.parse_code(credit_code)
    except service.EnterpriseError as exc:
        raise click.ClickException(f"--credit-code: {exc.message}") from None
    person = account_by_phone(legal_representative_phone, "--legal-representative-phone")
    try:
        enterprise = service.declare(credit_code, name, person, entity_type, actor=_operator())
    except service.EnterpriseError as exc:
        _fail(exc)
    emit(enterprise_view(enterprise), as_json)


@enterprises.command("appoint")
@click.option("--credit-code", required=True)
@click.option("--phone", required=True, help="Mobile number of the person's account.")
@click.option("--role", required=True, type=click.Choice(("administrator", "handler")))
@click.option("--matter", "matters", multiple=True,
              help="A matter the handler may handle (repeat; none: all matters).")
@click.option("--until", default=None, help="Last day of the appointment, YYYY-MM-DD "
                                            "(none: until ended).")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def appoint(credit_code, phone, role, matters, until, as_json):
    """Appoint an administrator or a handler, in force at once."""
    from idp.enterprise import details
    from idp.enterprise import service

    enterprise = _enterprise(credit_code)
    person = account_by_phone(phone)
    try:
        cleaned = details.clean_matters(list(matters))
    except ValueError as exc:
        raise click.ClickException(f"--matter: {exc}") from None
    try:
        ends_at = service.day_end(until) if until else None
        appointment = service.appoint(enterprise, person, role, actor=_operator(),
                                      matters=cleaned, ends_at=ends_at)
    except service.EnterpriseError as exc:
        _fail(exc)
    emit({"id": appointment.id, "credit_code": enterprise.credit_code,
          "user_id": person.id, "role": role, "matters": details.written(cleaned),
          "starts_at": appointment.starts_at, "ends_at": appointment.ends_at,
          "status": appointment.status}, as_json)


@enterprises.command("revoke")
@click.option("--credit-code", required=True)
@click.option("--phone", required=True)
@click.option("--role", type=click.Choice(("administrator", "handler")), default=None,
              help="Only this role (default: every appointment of the person).")
@with_appcontext
def revoke(credit_code, phone, role):
    """End a person's appointments (and, for an administrator, what they granted)."""
    from idp.enterprise import service

    enterprise = _enterprise(credit_code)
    person = account_by_phone(phone)
    ended = service.end_for_person(enterprise, person, actor=_operator(), role=role)
    if not ended:
        raise click.ClickException(f"{person.phone} has no open appointment at "
                                   f"{enterprise.credit_code}")
    click.echo(f"{enterprise.credit_code}: {ended} appointment(s) of {person.phone} ended")


@enterprises.command("status")
@click.option("--credit-code", required=True)
@click.option("--set", "status", required=True,
              type=click.Choice(("operating", "cancelled", "revoked")))
@click.option("--reason", default=None)
@with_appcontext
def status(credit_code, status, reason):
    """Record the registry's status: cancelled or revoked enterprises act for nobody."""
    from idp.enterprise import service

    enterprise = _enterprise(credit_code)
    changed = service.set_status(enterprise, status, actor=_operator(), reason=reason)
    click.echo(f"{enterprise.credit_code}: {status}{'' if changed else ' (unchanged)'}")


@enterprises.command("show")
@click.option("--credit-code", required=True)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def show(credit_code, as_json):
    """An enterprise, its people and its authorisations."""
    from idp.enterprise.admin_api import enterprise_detail

    emit(enterprise_detail(_enterprise(credit_code)), as_json)


@enterprises.command("list")
@click.option("--q", "query", default=None, help="Credit code beginning or part of the name.")
@click.option("--status", type=click.Choice(("operating", "cancelled", "revoked")),
              default=None)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def list_(query, status, as_json):
    """Enterprises, newest first (at most 100)."""
    from idp.enterprise import service
    from idp.enterprise.admin_api import enterprise_view

    rows, total = service.search(query, status, page=1, per_page=100)
    if as_json:
        emit({"items": [enterprise_view(e) for e in rows], "total": total}, True)
        return
    for enterprise in rows:
        click.echo(f"{enterprise.credit_code}  {enterprise.status:<9}  {enterprise.name}")
