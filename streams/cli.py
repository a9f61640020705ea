"""The ``uno`` command line (Typer + Rich)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from streams.launcher import COMPONENTS, LocalStack, StackError
from uno_models import (
    ContractError,
    SettingsError,
    decode_feedback,
    decode_interaction,
    json_schema_text,
    load_settings,
)

app = typer.Typer(help="UNO streaming: user logs -> online clusters -> experience modules.", no_args_is_help=True)
dev = typer.Typer(help="The embedded local stack: a Kafka-protocol broker and a small local LLM.", no_args_is_help=True)
app.add_typer(dev, name="dev")

console = Console()
err = Console(stderr=True)


def _settings():
    try:
        return load_settings()
    except (SettingsError, OSError) as exc:
        err.print(f"[red]configuration error:[/] {exc}")
        raise typer.Exit(2) from None


def _stack(broker: Optional[str] = None) -> LocalStack:
    settings = _settings()
    return LocalStack(settings.data_path, broker_kind=broker or settings.broker_kind)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the events producers send (generated from the contract)."""
    sys.stdout.write(json_schema_text() + "\n")


@app.command()
def validate(
    path: Annotated[Path, typer.Argument(help="JSONL file of events, one per line ('-' for stdin)")],
    feedback: Annotated[bool, typer.Option("--feedback", help="lines are FeedbackEvents")] = False,
) -> None:
    """Check a JSONL file of events against the contract; print each bad line with the field and reason."""
    decoder = decode_feedback if feedback else decode_interaction
    stream = sys.stdin.buffer if str(path) == "-" else path.open("rb")
    good = bad = 0
    with stream:
        for lineno, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                decoder(line)
                good += 1
            except ContractError as exc:
                bad += 1
                console.print(f"line {lineno}: [red]{exc.path}[/]: {exc.reason}", highlight=False)
    console.print(f"{good} valid, {bad} invalid")
    raise typer.Exit(1 if bad else 0)


@app.command("settings")
def show_settings() -> None:
    """Print the effective settings (defaults < uno.toml < UNO_* environment), secrets masked."""
    table = Table("setting", "value", "environment variable")
    for name, value in _settings().public().items():
        table.add_row(name, repr(value), f"UNO_{name.upper()}")
    console.print(table)


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
def demo() -> None:
    """Run UNO end to end on the embedded default (local broker, local LLM, Qdrant local mode)."""
    stack = _stack()
    already_up = {row.name for row in stack.status() if row.healthy}
    try:
        services = stack.up(on_progress=console.print)
        console.print(
            "\n[bold]The local stack is up.[/] The streaming pipeline (worker, refreshes, serving proxy) is "
            "not built yet, so this demo stops here. When it lands, this command will:\n"
            f"  1. replay the bundled simulated sample into {services['broker'].url}\n"
            "  2. run a worker: ingest -> online clusters -> distill/gap/filter -> modules in Qdrant local mode\n"
            f"  3. answer two queries through the proxy backed by {services['llm'].url}"
        )
    except StackError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    finally:
        if not already_up >= set(COMPONENTS):  # stop what this run started, Ctrl-C included
            stack.down(on_progress=console.print)


def _yes(flag: bool) -> str:
    return "[green]yes[/]" if flag else "[red]no[/]"


def main() -> None:
    app()


if __name__ == "__main__":
    main()
