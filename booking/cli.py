"""The ``booking`` command line (a Flask CLI group; ``flask --app booking`` works too).

``booking db upgrade`` comes from Flask-Migrate; the rest is here. A configuration error prints one
line and exits with status 2, never a traceback.
"""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from booking.config import ConfigError
from booking.extensions import db
from booking.vocabulary import Plan, Tier


def _upgrade() -> None:
    from flask_migrate import upgrade

    upgrade()


def _refuse(message: str) -> NoReturn:
    """Bad input on the command line: one line on stderr and exit status 2 (as for a configuration error).

    Click's own usage errors print several lines; an operator scripting ``booking agent add`` wants
    the reason the API would have given, alone.
    """
    click.echo(f"booking: {message}", err=True)
    sys.exit(2)


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, type=int, show_default=True)
@click.option("--threads", default=8, type=int, show_default=True)
@click.option("--scheduler/--no-scheduler", default=True, help="run the jobs in this process")
@with_appcontext
def serve_command(host: str, port: int, threads: int, scheduler: bool) -> None:
    """Run the web app with waitress (multi-threaded), migrating the schema first.

    Logs one access line per request; SIGTERM lets in-flight requests finish (booking.serving).
    """
    from booking.jobs import build_scheduler
    from booking.observability import configure_logging
    from booking.security import server_body_limit
    from booking.serving import serve_gracefully

    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    app.config["BOOKING_ACCESS_LOG"] = True
    _upgrade()
    configure_logging(app.extensions["booking.settings"])  # again: Alembic's fileConfig replaced the handlers
    sched = None
    if scheduler and app.extensions["booking.settings"].scheduler_enabled:
        sched = build_scheduler(app)
        sched.start()
    click.echo(f"booking: serving on http://{host}:{port}/ (API doc at /api/openapi.json)")
    try:
        # Waitress buffers bodies before the app sees them: it must refuse oversized ones itself.
        serve_gracefully(app, host=host, port=port, threads=threads, max_request_body_size=server_body_limit(app))
    finally:
        if sched is not None:
            sched.shutdown(wait=True)  # a job already running finishes


@click.command("worker")
@click.option("--list", "list_only", is_flag=True, help="print the events, handlers and jobs, then exit")
def worker_command(list_only: bool) -> None:
    """Run the scheduler alone (calendar sync, outbox: e-mails, SMS, CalDAV pushes).

    Its app has no routes (``create_app(web=False)``): handlers and jobs are declared in
    ``booking.effects``, so the worker runs exactly what ``booking serve`` runs, with nothing imported
    from the web side.
    """
    from booking import effects
    from booking.jobs import build_scheduler, registered_jobs

    app = _background_app()
    if list_only:
        with app.app_context():
            wiring = effects.describe()
            wiring["jobs"] = [job.name for job in registered_jobs(app)]
        _echo_json(wiring)
        return
    names = ", ".join(job.name for job in registered_jobs(app))
    click.echo(f"booking worker: jobs {names}")
    scheduler = build_scheduler(app, blocking=True)
    from booking.inbound.imap_idle import worker_watcher
    from booking.serving import on_stop_signals

    watcher = worker_watcher(app)  # BOOKING_IMAP_URL: IDLE runs the poll job as soon as mail arrives

    def stop() -> None:
        if watcher is not None:
            watcher.stop()
        scheduler.shutdown(wait=True)  # SIGTERM: the running job finishes first

    on_stop_signals(stop)
    if watcher is not None:
        watcher.start()
    scheduler.start()
    click.echo("booking worker: stopped")


@click.group("outbox")
def outbox_group() -> None:
    """The outbox of side effects (CalDAV pushes, e-mails, SMS)."""


@outbox_group.command("drain")
@click.option("--lane", type=click.Choice(["caldav", "email", "sms"]), default=None, help="only this destination")
@click.option(
    "--wait",
    "wait_seconds",
    type=click.FloatRange(min=0),
    default=0.0,
    help="keep going up to this many seconds while rows are still pending (leased or waiting to retry)",
)
def outbox_drain_command(lane: str | None, wait_seconds: float) -> None:
    """Run every due row now, as the worker would; print what was done; exit 1 if rows are left.

    Safe beside running workers: rows are claimed one at a time under a lease.
    """
    import time

    from booking.services import outbox

    app = _background_app()
    built = app.extensions["booking.adapters"]
    total = outbox.DrainResult()
    deadline = time.monotonic() + wait_seconds
    with app.app_context():
        while True:
            result = outbox.drain(db.session, built.now(), adapters=built, lane=lane, limit=1000)
            total.done += result.done
            total.retried += result.retried
            total.failed += result.failed
            left = outbox.pending_count(db.session, lane)
            if not left or time.monotonic() >= deadline:
                break
            if not (result.done or result.retried or result.failed):
                time.sleep(0.2)  # what is left is leased or backing off: look again shortly
    _echo_json({**total.as_dict(), "pending": left})
    if left:
        sys.exit(1)


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load idempotent demo data (agents, customers) and print the booking links."""
    from booking.demo import load_demo

    _upgrade()
    for line in load_demo(db.session, current_app.extensions["booking.settings"]):
        click.echo(line)


@click.group("agent")
def agent_group() -> None:
    """Manage agents."""


@agent_group.command("add")
@click.option("--slug", required=True)
@click.option("--name", required=True)
@click.option("--email", required=True)
@click.option("--phone", required=True, help="international format, e.g. +33612345678 or '+33 6 12 34 56 78'")
@click.option("--timezone", default=None, help="IANA zone (default: BOOKING_TIMEZONE)")
@click.option("--tier", default=Tier.DEDICATED.value, show_default=True, help=" or ".join(tier.value for tier in Tier))
@click.option("--on-call", is_flag=True, help="senior agent paged for after-hours critical calls")
@click.option("--admin", is_flag=True, help="may see every queue, the triage queue and the SLA report")
@click.option("--language", default="en", show_default=True, help="language of the agent's e-mails and SMS: en or fr")
@with_appcontext
def agent_add(
    slug: str,
    name: str,
    email: str,
    phone: str,
    timezone: str | None,
    tier: str,
    on_call: bool,
    admin: bool,
    language: str,
) -> None:
    """Create an agent; refuses (exit 2, one line) what ``POST /api/agents`` refuses."""
    from booking.services import directory
    from booking.services.errors import ServiceError

    try:
        agent = directory.create_agent(
            db.session,
            current_app.extensions["booking.settings"],
            slug=slug,
            name=name,
            email=email,
            phone=phone,
            timezone=timezone,
            tier=tier,
            on_call=on_call,
            admin=admin,
            language=language,
        )
    except ServiceError as exc:
        _refuse(exc.message)
    click.echo(f"agent {agent.slug} created ({agent.tier}, {agent.timezone})")


@click.group("customer")
def customer_group() -> None:
    """Manage customers."""


@customer_group.command("add")
@click.option("--name", required=True)
@click.option("--plan", default=Plan.ALL_INCLUSIVE.value, show_default=True, help=" or ".join(Plan))
@click.option("--dedicated-support/--no-dedicated-support", default=True, show_default=True)
@click.option("--agent", "agent_slug", default=None)
@click.option("--backup-agent", "backup_slug", default=None, help="covers while the dedicated agent is away")
@click.option(
    "--phone", "phones", multiple=True, help="e.g. '06 12 34 56 78' (BOOKING_PHONE_REGION) or +33...; repeatable"
)
@click.option("--email", "emails", multiple=True)
@with_appcontext
def customer_add(
    name: str,
    plan: str,
    dedicated_support: bool,
    agent_slug: str | None,
    phones: tuple[str, ...],
    emails: tuple[str, ...],
    backup_slug: str | None = None,
) -> None:
    """Create a customer and print its booking link; refuses (exit 2, one line) what the API refuses."""
    from booking.demo import booking_link
    from booking.services import directory
    from booking.services.errors import ServiceError

    try:
        customer = directory.create_customer(
            db.session,
            name=name,
            plan=plan,
            dedicated_support=dedicated_support,
            agent_slug=agent_slug,
            phones=phones,
            emails=emails,
            phone_region=current_app.extensions["booking.settings"].phone_region,
            backup_agent_slug=backup_slug,
        )
    except ServiceError as exc:
        _refuse(exc.message)
    link = booking_link(current_app.extensions["booking.settings"], customer)
    click.echo(f"customer {customer.id} {customer.name}: {link or 'not eligible for dedicated support'}")


def _import(kind: str, path: str, dry_run: bool) -> None:
    """Shared by ``agent import`` and ``customer import``: every bad row on its own line, exit 2 if any."""
    from booking.services import importing

    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        _refuse(f"cannot read {path}: {exc}")
    run = importing.import_agents if kind == "agent" else importing.import_customers
    result = run(db.session, current_app.extensions["booking.settings"], text, dry_run=dry_run)
    if result.errors:
        for line, message in result.errors:
            click.echo(f"{path}:{line}: {message}", err=True)
        click.echo(f"booking: {len(result.errors)} bad row(s); nothing was imported", err=True)
        sys.exit(2)
    if dry_run:
        click.echo(f"{result.rows} {kind}(s) would be imported (dry run: nothing written)")
    else:
        click.echo(f"{result.created} {kind}(s) imported")


@agent_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="check every row, write nothing")
@with_appcontext
def agent_import(path: str, dry_run: bool) -> None:
    """Create the agents of a CSV file (slug,name,email,phone[,timezone,tier,on_call,language]): all or none."""
    _import("agent", path, dry_run)


@customer_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="check every row, write nothing")
@with_appcontext
def customer_import(path: str, dry_run: bool) -> None:
    """Create the customers of a CSV file (name,plan[,dedicated_support,agent,phones,emails]): all or none."""
    _import("customer", path, dry_run)


@click.command("sync")
@click.option("--agent", "slug", default=None, help="only this agent (default: every agent with a calendar)")
@with_appcontext
def sync_command(slug: str | None) -> None:
    """One calendar sync pass now, with progress; exits 1 if any agent's calendar failed."""
    from sqlalchemy import func, select

    from booking import clock
    from booking.calendar_sync.sync import SyncCounts, sync_all
    from booking.models import Agent, CalendarConnection
    from booking.services import directory
    from booking.services.errors import ServiceError

    settings = current_app.extensions["booking.settings"]
    if slug is not None:
        try:
            agent = directory.agent_by_slug(db.session, slug)
        except ServiceError as exc:
            raise click.ClickException(exc.message) from exc
        if agent.calendar is None:
            raise click.ClickException(f"agent {slug!r} has no CalDAV calendar")
        total = 1
    else:
        total = (
            db.session.scalar(
                select(func.count(Agent.id)).join(CalendarConnection, CalendarConnection.agent_id == Agent.id)
            )
            or 0
        )
    if total == 0:
        click.echo("no agent has a CalDAV calendar")
        return
    failures = 0
    lines: list[str] = []
    passes = sync_all(db.session, settings, clock.now(), None if slug is None else [slug])
    with click.progressbar(passes, length=total, label="syncing calendars", file=sys.stderr) as bar:
        for agent, outcome in bar:
            if isinstance(outcome, SyncCounts):
                lines.append(
                    f"{agent.slug}: ok ({outcome.mode}) {outcome.changed} changed, {outcome.deleted} deleted, "
                    f"{outcome.objects} events, {outcome.malformed} malformed, {outcome.duration_ms} ms"
                )
            else:
                failures += 1
                lines.append(f"{agent.slug}: {outcome.code}: {outcome.message}")
    for line in lines:
        click.echo(line)
    if failures:
        sys.exit(1)


@click.command("mail-gateway")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=2525, type=int, show_default=True)
@with_appcontext
def mail_gateway_command(host: str, port: int) -> None:
    """Accept mail for BOOKING_SUPPORT_EMAIL over SMTP; each message becomes a request (issue 15).

    Other recipients get 550, oversized mail 552, a storage failure 451 (the sender retries).
    """
    import signal
    import threading

    from booking.inbound.gateway import build_controller

    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        controller = build_controller(app, host, port)
    except ValueError as exc:
        _refuse(str(exc))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    controller.start()
    click.echo(
        f"booking mail-gateway: accepting mail for {app.extensions['booking.settings'].support_email} on {host}:{port}"
    )
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


def register_commands(app: Flask) -> None:
    for command in (
        serve_command,
        worker_command,
        outbox_group,
        demo_command,
        agent_group,
        customer_group,
        sync_command,
        mail_gateway_command,
    ):
        app.cli.add_command(command)


#: commands that run jobs and handlers only: their app is built without routes (``create_app(web=False)``)
BACKGROUND_COMMANDS = frozenset({"worker", "outbox", "mail-gateway"})


def _factory(*, web: bool = True) -> Flask:
    from booking import create_app

    return create_app(web=web)


def _background_app() -> Flask:
    """The app ``main`` built for a background command, or a fresh one without routes (``flask --app``)."""
    from flask.cli import ScriptInfo

    info = click.get_current_context().find_object(ScriptInfo)
    if info is not None and info.create_app is not None:
        return info.load_app()
    return _factory(web=False)


def main() -> None:
    """Entry point of the ``booking`` console script.

    Start-up failures are one line on stderr and a non-zero status, never a traceback: the app is
    built before Click lists its commands (Flask's ``--help`` would print the ConfigError's
    traceback and exit 0), and an unreachable database or a busy port is named, not dumped.
    Background commands (``worker``, ``outbox``) get the app without routes.
    """
    from booking.db_faults import is_database_unavailable

    web = not (len(sys.argv) > 1 and sys.argv[1] in BACKGROUND_COMMANDS)
    try:
        app = _factory(web=web)
    except ConfigError as exc:
        click.echo(f"booking: configuration error: {exc}", err=True)
        sys.exit(2)
    cli = FlaskGroup(create_app=lambda: app, add_default_commands=True, add_version_option=False, name="booking")
    cli.add_command(worker_command)  # found without loading the web app (see worker_command)
    cli.add_command(outbox_group)
    cli.add_command(mail_gateway_command)
    try:
        cli.main(prog_name="booking")
    except ConfigError as exc:
        click.echo(f"booking: configuration error: {exc}", err=True)
        sys.exit(2)
    except Exception as exc:
        if is_database_unavailable(exc):
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            click.echo(f"booking: database unavailable: {reason[0] if reason else type(exc).__name__}", err=True)
            sys.exit(3)
        if isinstance(exc, OSError):  # e.g. the port is already in use
            click.echo(f"booking: {exc.strerror or exc}", err=True)
            sys.exit(3)
        raise
