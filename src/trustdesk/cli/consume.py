"""``trustdesk consume``: screen the content events of a Redis stream for one service.

Each event (the JSON body of ``POST /v1/screen``, in the entry's field ``event``) goes
through the screen use case; its verdict (the JSON ``POST /v1/screen`` answers) is
appended to the output stream, an event that cannot be read to the dead-letter stream
with the reason, and only then is it acknowledged. See ``docs/streams.md``.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from datetime import timedelta
from types import FrameType
from typing import Annotated

import redis
import typer
from rich.progress import Progress, SpinnerColumn, TextColumn

from trustdesk.cli.context import DbOption, desk_for
from trustdesk.cli.ids import parse_id
from trustdesk.cli.output import reporting_errors, stderr
from trustdesk.compliance import service as compliance
from trustdesk.db.base import utcnow
from trustdesk.errors import ConfigurationError
from trustdesk.streams import service as streams
from trustdesk.streams.consumer import Chore, Consumer, Flow, Tally
from trustdesk.streams.redis_source import RedisSource

PURGE_SECONDS = 3600.0  # receipts past their retention are purged this often
PROGRESS_SECONDS = 0.5


def consume(
    service: Annotated[str, typer.Option("--service", metavar="ID", help="The service (UUID).")],
    redis_url: Annotated[
        str, typer.Option("--redis", metavar="URL", help="redis://HOST:PORT/DB of the stream.")
    ],
    stream: Annotated[str, typer.Option(help="The stream of content events.")],
    group: Annotated[str, typer.Option(help="The consumer group (created if missing).")],
    consumer: Annotated[
        str | None,
        typer.Option(help="This consumer's name in the group (default: host and process id)."),
    ] = None,
    output: Annotated[
        str | None, typer.Option(help="Where verdicts go (default: STREAM:verdicts).")
    ] = None,
    dead_letter: Annotated[
        str | None,
        typer.Option("--dead-letter", help="Where unreadable events go (default: STREAM:dead)."),
    ] = None,
    batch: Annotated[
        int | None,
        typer.Option(min=1, max=10_000, help="Events per transaction (TRUSTDESK_STREAM_BATCH)."),
    ] = None,
    max_in_flight: Annotated[
        int | None,
        typer.Option(
            min=1, max=100_000, help="Unacknowledged events held at most (..._MAX_IN_FLIGHT)."
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Screen a Redis stream's content events for one service, until SIGTERM or Ctrl-C."""
    stop = threading.Event()

    def _stop(_signal: int, _frame: FrameType | None) -> None:
        stop.set()

    with reporting_errors(), desk_for(db) as desk, desk.database.session() as session:
        service_id = parse_id(service, "a service id")
        compliance.get_service(session, service_id)  # an unknown service stops here
        settings = desk.settings
        flow = Flow(
            batch=batch or settings.stream_batch,
            max_in_flight=max(max_in_flight or settings.stream_max_in_flight, 1),
            claim_idle_ms=settings.stream_claim_idle_seconds * 1000,
            max_event_bytes=settings.max_request_bytes,
        )
        client = redis.Redis.from_url(redis_url, socket_timeout=flow.block_ms / 1000 + 10)
        source = RedisSource(
            client,
            stream,
            group,
            consumer or f"{socket.gethostname()}-{os.getpid()}",
            output=output or f"{stream}:verdicts",
            dead_letter=dead_letter or f"{stream}:dead",
        )
        try:
            source.ensure_group()
        except Exception as exc:
            raise ConfigurationError(f"cannot reach the stream at {redis_url}: {exc}") from exc
        screens = streams.Screens(
            service_id,
            source.name,
            desk.publish_gate,
            desk.screeners,
            desk.screening_listener,
            settings.screening_max_findings,
        )
        if not streams.warm(session, screens):
            stderr.print("[yellow]note[/] the service has no rule set: every event is allowed")
        days = timedelta(days=settings.stream_receipt_days)
        purge = Chore(
            PURGE_SECONDS, lambda: streams.purge_receipts(session, before=utcnow() - days)
        )
        worker = Consumer(source, lambda events: streams.act_on(session, screens, events), flow)
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        started = time.monotonic()
        _run(worker, stop, purge, started)
        client.close()
        elapsed = max(time.monotonic() - started, 1e-9)
        stderr.print(_line(worker.tally, elapsed, final=True), highlight=False)


def _run(worker: Consumer, stop: threading.Event, purge: Chore, started: float) -> None:
    columns = (SpinnerColumn(), TextColumn("{task.description}"))
    with Progress(*columns, console=stderr, transient=True) as progress:
        task = progress.add_task(_line(worker.tally, 0.0))
        shown = 0.0
        while not stop.is_set():
            worker.step()
            purge.maybe()
            now = time.monotonic()
            if now - shown >= PROGRESS_SECONDS:
                shown = now
                progress.update(task, description=_line(worker.tally, now - started))


def _line(tally: Tally, elapsed: float, *, final: bool = False) -> str:
    v = tally.verdicts
    rate = tally.done / elapsed if elapsed > 0 else 0.0
    head = "consumed" if final else "consuming:"
    parts = (
        f"{head} {tally.done} event(s) in {elapsed:.1f} s, {rate:.0f} events/s"
        f" (allow {v.get('allow', 0)}, hold {v.get('hold', 0)}, block {v.get('block', 0)},"
        f" dead-lettered {tally.dead}, replayed {tally.replayed}, claimed {tally.claimed})"
    )
    return parts + (
        " [stalled: waiting for the database or the stream]" if tally.stalls and not final else ""
    )
