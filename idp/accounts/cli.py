"""``idp users create``: a citizen account from the command line (the administrator's
``idp users lock|unlock|reset-factors`` join this group from ``idp.admin.cli``)."""

import click
from flask.cli import with_appcontext

from idp.cli_support import cli_actor
from idp.cli_support import emit

users = click.Group("users", help="Citizen accounts.")


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
