"""``idp audit verify`` and ``idp audit export``: prove the chain intact; export it as JSON
Lines. Both stream the table in batches, so they work the same on millions of events."""

import json

import click
from flask.cli import with_appcontext

from idp.audit import service

audit = click.Group("audit", help="The append-only, hash-chained audit log.")


class _Time(click.ParamType):
    name = "ISO-DATE|EPOCH"

    def convert(self, value, param, ctx):
        try:
            return service.parse_time(value)
        except service.AuditQueryError as exc:
            self.fail(str(exc), param, ctx)


_batch_size = click.option("--batch-size", default=service.BATCH_SIZE, hidden=True,
                           type=click.IntRange(min=1), help="Rows read per query.")


@audit.command("verify")
@click.option("--json", "as_json", is_flag=True, help="The result as one JSON object.")
@_batch_size
@with_appcontext
def verify(as_json, batch_size):
    """Prove the chain intact (exit status 0), or name the first broken event (exit status 1):
    altered content, a deleted event (gap), a broken link, or a head not naming the newest
    event (events deleted at the end)."""
    result = service.verify(batch_size=batch_size)
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    elif result.ok:
        click.echo(f"audit chain intact: {result.count} events, head {result.head}")
    else:
        b = result.broken
        where = (f"event {b.id} ({service.iso(b.at)}, {b.action})" if b.id is not None
                 else "the chain head")
        click.echo(f"audit chain BROKEN at {where}: {b.reason}: {b.message}")
        click.echo(f"{result.count} events before it are intact, up to head {result.head}")
    if not result.ok:
        click.get_current_context().exit(1)


@audit.command("export")
@click.option("--since", type=_Time(), help="From this time on (inclusive).")
@click.option("--until", type=_Time(), help="Before this time (exclusive).")
@click.option("--action", help="An action or its prefix (login. is every login event).")
@click.option("--actor", help='Who acted, exactly: "user:7", "admin:3", "system".')
@click.option("--role", help="The staff role the actor acted in.")
@click.option("--target", help='What an administrative act concerned: "client:…", "user:7".')
@click.option("--user-id", type=int, help="The citizen the events concern.")
@click.option("--outcome", help="success, failure, …")
@click.option("--output", "-o", default="-", type=click.Path(dir_okay=False, allow_dash=True),
              help="File to write (replaced only once complete); default standard output.")
@_batch_size
@with_appcontext
def export(since, until, action, actor, role, target, user_id, outcome, output, batch_size):
    """The events, oldest first, as JSON Lines: one object per line with every stored field,
    prev_hash and hash included; "at" in ISO 8601 UTC, "at_epoch" the Unix time.
    Times are ISO 8601 dates or times (UTC unless they say otherwise) or Unix times."""
    filters = {"since": since, "until": until, "action": action, "actor": actor, "role": role,
               "target": target, "user_id": user_id, "outcome": outcome}
    try:
        lines = service.export_lines(filters, batch_size=batch_size)
    except service.AuditQueryError as exc:
        raise click.ClickException(str(exc)) from None
    count = 0
    with click.open_file(output, "w", encoding="utf-8", atomic=output != "-") as out:
        for line in lines:
            out.write(line)
            count += 1
    if output != "-":
        click.echo(f"exported {count} events to {output}", err=True)
