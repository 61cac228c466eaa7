"""The ``booking`` command line (a Flask CLI group; ``flask --app booking`` works too).

``booking db upgrade`` comes from Flask-Migrate; the rest is here. A configuration error prints one
line and exits with status 2, never a traceback.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from booking.config import ConfigError
from booking.extensions import db


def _upgrade() -> None:
    from flask_migrate import upgrade

    upgrade()


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, type=int, show_default=True)
@click.option("--threads", default=8, type=int, show_default=True)
@click.option("--scheduler/--no-scheduler", default=True, help="run the jobs in this process")
@with_appcontext
def serve_command(host: str, port: int, threads: int, scheduler: bool) -> None:
    """Run the web app with waitress (multi-threaded), migrating the schema first."""
    from waitress import serve

    from booking.jobs import build_scheduler
    from booking.security import server_body_limit

    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    _upgrade()
    sched = None
    if scheduler and app.extensions["booking.settings"].scheduler_enabled:
        sched = build_scheduler(app)
        sched.start()
    click.echo(f"booking: serving on http://{host}:{port}/ (API doc at /api/openapi.json)")
    try:
        # Waitress buffers bodies before the app sees them: it must refuse oversized ones itself.
        body_limit = server_body_limit(app)
        serve(app, host=host, port=port, threads=threads, ident="booking", max_request_body_size=body_limit)
    finally:
        if sched is not None:
            sched.shutdown(wait=False)


@click.command("worker")
@with_appcontext
def worker_command() -> None:
    """Run the scheduler alone (calendar sync, outbox: e-mails, SMS, CalDAV pushes)."""
    from booking.jobs import build_scheduler, registered_jobs

    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    names = ", ".join(j.name for j in registered_jobs())
    click.echo(f"booking worker: jobs {names}")
    build_scheduler(app, blocking=True).start()


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
@click.option("--phone", required=True, help="E.164, e.g. +33612345678")
@click.option("--timezone", default=None, help="IANA zone (default: BOOKING_TIMEZONE)")
@click.option("--tier", type=click.Choice(["dedicated", "senior"]), default="dedicated", show_default=True)
@click.option("--on-call", is_flag=True, help="senior agent paged for after-hours critical calls")
@with_appcontext
def agent_add(slug: str, name: str, email: str, phone: str, timezone: str | None, tier: str, on_call: bool) -> None:
    """Create an agent."""
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
        )
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"agent {agent.slug} created ({agent.tier}, {agent.timezone})")


@click.group("customer")
def customer_group() -> None:
    """Manage customers."""


@customer_group.command("add")
@click.option("--name", required=True)
@click.option("--plan", default="all-inclusive", show_default=True)
@click.option("--dedicated-support/--no-dedicated-support", default=True, show_default=True)
@click.option("--agent", "agent_slug", default=None)
@click.option("--phone", "phones", multiple=True, help="E.164; repeat for several")
@click.option("--email", "emails", multiple=True)
@with_appcontext
def customer_add(
    name: str,
    plan: str,
    dedicated_support: bool,
    agent_slug: str | None,
    phones: tuple[str, ...],
    emails: tuple[str, ...],
) -> None:
    """Create a customer and print its booking link."""
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
        )
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    link = booking_link(current_app.extensions["booking.settings"], customer)
    click.echo(f"customer {customer.id} {customer.name}: {link or 'not eligible for dedicated support'}")


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


def register_commands(app: Flask) -> None:
    for command in (serve_command, worker_command, demo_command, agent_group, customer_group, sync_command):
        app.cli.add_command(command)


def _factory() -> Flask:
    from booking import create_app

    return create_app()


def main() -> None:
    """Entry point of the ``booking`` console script."""
    cli = FlaskGroup(create_app=_factory, add_default_commands=True, add_version_option=False, name="booking")
    try:
        cli.main(prog_name="booking")
    except ConfigError as exc:
        click.echo(f"booking: configuration error: {exc}", err=True)
        sys.exit(2)
