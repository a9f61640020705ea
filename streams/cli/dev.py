"""``uno dev up|down|status`` (the embedded local stack) and ``uno worker`` / ``uno serve``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.table import Table

from streams.cli import app, console, endpoints, err, settings
from streams.devstack.launcher import COMPONENTS, LocalStack, StackError

dev = typer.Typer(help="The embedded local stack: a Kafka-protocol broker and a small local LLM.", no_args_is_help=True)
app.add_typer(dev, name="dev")


def _stack(broker: Optional[str] = None) -> LocalStack:
    s = settings()
    return LocalStack(s.data_path, broker_kind=broker or s.broker_kind)


@dev.command("up")
def dev_up(
    broker: Annotated[Optional[str], typer.Option(help="noida (default, on disk) or tansu (in memory)")] = None,
    only: Annotated[Optional[list[str]], typer.Option(help=f"start only these of {COMPONENTS}")] = None,
) -> None:
    """Start the broker and the LLM server (reusing healthy ones), on free ports, data under .uno/."""
    stack = _stack(broker)
    try:
        with console.status("starting the local stack") as status:
            services = stack.up(only or COMPONENTS, on_progress=lambda msg: (status.update(msg), console.print(msg)))
    except StackError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    for service in services.values():
        console.print(f"[green]{service.name}[/] {service.kind} at {service.url}  (log: {service.log})")
    console.print(f"state: {stack.state_file}; stop with `uno dev down`")


@dev.command("down")
def dev_down() -> None:
    """Stop exactly the processes `uno dev up` started (by PID and start time)."""
    stopped = _stack().down(on_progress=console.print)
    if not stopped:
        console.print("nothing was running")


@dev.command("status")
def dev_status() -> None:
    """Show each service of the local stack: PID, address, running, answering."""
    rows = _stack().status()
    if not rows:
        console.print("the local stack is not running (start it with `uno dev up`)")
        raise typer.Exit(1)
    table = Table("service", "kind", "pid", "address", "running", "healthy")
    for row in rows:
        table.add_row(row.name, row.kind, str(row.pid), row.address, _yes(row.running), _yes(row.healthy))
    console.print(table)
    raise typer.Exit(0 if all(r.healthy for r in rows) else 1)


@app.command()
def serve(loglevel: Annotated[str, typer.Option(help="log level")] = "info") -> None:
    """Run the serving API (retrieve, chat proxy, feedback, modules) in a worker process, on UNO_WEB_PORT.

    The API is served by the worker because, with Qdrant local mode, one process owns the store."""
    worker(loglevel)


@app.command()
def worker(loglevel: Annotated[str, typer.Option(help="log level")] = "info") -> None:
    """Run a worker against the configured broker (or the local stack): ingest, refresh, publish, and
    the HTTP API (the same process as `uno serve`)."""
    from streams.worker.run import run_worker

    s = settings()
    run_worker(s, endpoints(s), loglevel)


def _yes(flag: bool) -> str:
    return "[green]yes[/]" if flag else "[red]no[/]"
