"""The load bench's figures as a markdown table (``bench/results/load[-LABEL].md``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

HEADER = (
    "| backend | workers | kind | mode | c | req/s | items/s | p50 ms | p99 ms | non-2xx "
    "| socket errors | item errors | server CPU ms/req | server waited for CPU % |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
)


def markdown(figures: dict[str, Any], label: str = "") -> str:
    engine = figures["engine_same_run"]
    options = figures["options"]
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"# Load{f' ({label})' if label else ''}, {figures.get('when', now)}\n",
        f"`python -m bench load`: wrk on loopback against `trustdesk serve --demo`, "
        f"{options['seconds']:g} s a point, concurrency 1, 2, 4, ... up to "
        f"{options['max_concurrency']} or the knee; {figures['cores']} cores shared with "
        "other engineers' work, so figures are indicative.\n",
        f"Engine on the same messages in the same run: {engine['messages_per_second']:,} "
        f"messages/s one by one, {engine['batched_messages_per_second']:,} batched.\n",
    ]
    lines.extend(f"Note: {note}.\n" for note in figures.get("notes", []))
    if options.get("repeat", 1) > 1:
        lines.append(
            f"Each point ran {options['repeat']} times; a row is the round with the median "
            "p99, and the p99 column also lists every round's.\n"
        )
    if figures["runs"]:
        lines.append(HEADER.rstrip("\n"))
    for run, kinds in figures["runs"].items():
        backend, workers = run.split("_workers_")
        for kind_mode, sweep in kinds.items():
            kind, mode = kind_mode.split("_")
            for p in sweep["points"]:
                lines.append(
                    f"| {backend} | {workers} | {kind} | {mode} | {p['concurrency']} "
                    f"| {p['requests_per_second']:,.1f} | {p['items_per_second']:,.1f} "
                    f"| {p['p50_ms']:,.1f} | {_p99(p)} | {p['non_2xx']} "
                    f"| {p['socket_errors']} | {p.get('item_errors', 0)} "
                    f"| {p['server_cpu_ms_per_request']:,.2f} "
                    f"| {p.get('server_queued_percent', '')} |"
                )
    if figures["runs"]:
        lines.append("")
        lines.append("Why each sweep stopped:\n")
        for run, kinds in figures["runs"].items():
            for kind_mode, sweep in kinds.items():
                lines.append(f"- {run} {kind_mode}: {sweep['stopped']}")
        lines.append("")
    if soak := figures.get("soak"):
        rss = soak["rss_mb"]
        share = soak.get("blocked_share", 0.0)
        kind = f"{share:.0%} blocked" if share else "clean"
        lines.append(
            f"Soak: {soak['backend']}, {soak.get('workers', 1)} worker(s), {soak['seconds']:g} s "
            f"at concurrency {soak['concurrency']}, single screens ({kind}): "
            f"{soak['requests_per_second']:,.1f} req/s, p99 {soak['p99_ms']:,.1f} ms, "
            f"{soak['errors']} errors; server RSS start {rss['start']} MB, after warm-up "
            f"{rss.get('after_warm_up', rss['start'])} MB, end {rss['end']} MB, "
            f"max {rss['max']} MB."
        )
        if backlog := soak.get("backlog_at_end"):
            after = soak["backlog_after_settle"]
            lines.append(
                f"Follow-ups waiting when the load stopped: {backlog['outbox']:,} "
                f"({backlog['blocked_items']:,} blocked items, {backlog['in_cases']:,} in cases); "
                f"{soak['settle_seconds']:g} s later: {after['outbox']:,} waiting, "
                f"{after['in_cases']:,} in cases."
            )
        lines.append("")
    return "\n".join(lines) + "\n"


def _p99(point: dict[str, Any]) -> str:
    """The point's p99, and each round's when it ran more than once."""
    each = point.get("p99_ms_each")
    typical = f"{point['p99_ms']:,.1f}"
    return f"{typical} ({', '.join(f'{v:,.1f}' for v in each)})" if each else typical
