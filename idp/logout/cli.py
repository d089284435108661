"""``idp logout …``: the back-channel logout queue from the command line. ``worker`` is what
production runs beside the web processes (any number of nodes may run one); ``deliver`` is
one pass (for a timer); ``deliveries`` shows the record."""

import datetime
import json
import signal
import threading

import click
from flask import current_app
from flask.cli import with_appcontext

from idp.logout.models import DELIVERY_STATES

logout = click.Group("logout", help="Back-channel logout deliveries to the platforms.")


@logout.command("deliver")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def logout_deliver(as_json):
    """One pass: attempt the deliveries that are due, give up those past their window."""
    from idp.logout.service import deliver_due

    counts = deliver_due()
    if as_json:
        click.echo(json.dumps(counts))
    else:
        click.echo(", ".join(f"{state}: {n}" for state, n in counts.items()))


@logout.command("forget")
@with_appcontext
def logout_forget():
    """Delete finished deliveries older than LOGOUT_RECORD_RETENTION (the worker does it
    hourly; for setups that run `idp logout deliver` from a timer instead)."""
    from idp.logout.service import forget_finished

    click.echo(f"forgotten: {forget_finished()}")


@logout.command("worker")
@click.option("--interval", type=click.FloatRange(0.1, 3600), default=None,
              help="Seconds between passes (default LOGOUT_WORKER_INTERVAL, 5).")
@with_appcontext
def logout_worker(interval):
    """Deliver back-channel logouts until stopped (SIGTERM or Ctrl-C)."""
    from idp.logout.service import run_worker

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_args: stop.set())
    click.echo("logout worker started; SIGTERM or Ctrl-C stops it", err=True)
    run_worker(current_app._get_current_object(), stop, interval)
    click.echo("logout worker stopped", err=True)


def _when(ts):
    if not ts:
        return "-"
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@logout.command("deliveries")
@click.option("--client-id", default=None, help="Only this platform's.")
@click.option("--status", type=click.Choice(DELIVERY_STATES), default=None)
@click.option("--page", default=1, type=click.IntRange(min=1))
@click.option("--per-page", default=50, type=click.IntRange(1, 500))
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def logout_deliveries(client_id, status, page, per_page, as_json):
    """Deliveries, newest first: status, attempts, the platform's last answer."""
    from idp.logout.service import delivery_view
    from idp.logout.service import list_deliveries

    rows, total = list_deliveries(client_id=client_id, status=status, page=page,
                                  per_page=per_page)
    if as_json:
        click.echo(json.dumps({"total": total, "page": page,
                               "deliveries": [delivery_view(r) for r in rows]}))
        return
    if not rows:
        click.echo("no deliveries")
    for r in rows:
        answer = f"HTTP {r.last_status}" if r.last_status else (r.last_error or "-")
        click.echo(f"{r.id:6} {_when(r.created_at):23} {r.client_id:24} {r.status:9} "
                   f"attempts {r.attempts:<3} {answer}")
    if total > len(rows):
        click.echo(f"({len(rows)} of {total}; --page for more)")
