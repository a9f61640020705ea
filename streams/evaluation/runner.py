"""Running the pipeline on the local stack for the demo, `uno eval` and the benchmarks: a real worker on
its own group and topics (`local_worker`), and a progress view until it has settled (`follow`)."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from streams.devstack.launcher import COMPONENTS, LocalStack
from streams.devstack.workerproc import WorkerProc


@contextmanager
def local_worker(console: Console, data_dir: Path, name: str, **settings) -> Iterator[WorkerProc]:
    """The local stack (unless it is up) and a real worker on its own group and topics; on exit (Ctrl-C
    included) the worker stops, and so does whatever of the stack this call started."""
    stack = LocalStack(data_dir)
    already_up = {row.name for row in stack.status() if row.healthy}
    worker = None
    try:
        services = stack.up(on_progress=console.print)
        run = f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
        worker = WorkerProc(
            data_dir / name / run, services["broker"].address, services["llm"].url, run, f"{run}.", run, **settings
        )
        with console.status("starting a worker (loads the embedder, creates topics, joins the group)"):
            worker.start(timeout=240)
        console.print(f"worker up: consumer group {run}, API and metrics on http://127.0.0.1:{worker.port}")
        yield worker
    finally:
        if worker is not None:
            worker.stop(signal.SIGTERM)
        if not already_up >= set(COMPONENTS):
            stack.down(on_progress=console.print)


def follow(console: Console, w: WorkerProc, namespace: str, total: int, timeout_s: float) -> bool:
    """Progress until every event is ingested and no refresh is pending or running (False on timeout)."""
    columns = (TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    deadline = time.monotonic() + timeout_s
    with Progress(*columns, console=console) as progress:
        ingest = progress.add_task("events ingested", total=total)
        clusters = progress.add_task("clusters formed", total=None)
        refreshes = progress.add_task("refreshes done / requested", total=None)
        published = progress.add_task("modules published", total=None)
        while time.monotonic() < deadline:
            seen = w.metric("uno_events_total", kind="interaction")
            requested, done = w.metric("uno_refresh_requests_total"), w.metric("uno_refreshes_total")
            pending = sum(c["pending"] for c in w.client.clusters(namespace))
            progress.update(ingest, completed=seen)
            progress.update(clusters, completed=w.metric("uno_clusters"))
            progress.update(refreshes, completed=done, total=max(requested, 1))
            progress.update(published, completed=w.metric("uno_modules_published_total"))
            if seen >= total and done >= requested and pending == 0:
                return True
            time.sleep(1)
    console.print(f"[yellow]stopped waiting after {timeout_s:.0f} s; showing what is published so far[/]")
    return False
