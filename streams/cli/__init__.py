"""The ``uno`` command line (Typer + Rich): a thin layer over the rooms of `streams`.

Commands live by room: `streams.cli.dev` (the local stack, the worker), `streams.cli.ops` (schema,
validation, settings, replay, modules, pairs, the dead-letter topic) and `streams.cli.evaluation`
(simulate, demo, eval). Each imports what it runs lazily, so ``uno --help`` stays fast.
"""

from __future__ import annotations

import typer
from rich.console import Console

from uno_models import Settings, SettingsError, load_settings

app = typer.Typer(help="UNO streaming: user logs -> online clusters -> experience modules.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def settings() -> Settings:
    """The effective settings, or exit 2 with the configuration error."""
    try:
        return load_settings()
    except (SettingsError, OSError) as exc:
        err.print(f"[red]configuration error:[/] {exc}")
        raise typer.Exit(2) from None


def endpoints(s: Settings):
    """Broker and LLM from the settings, else from the local stack; exit 2 when neither says."""
    from streams.devstack.endpoints import EndpointError, resolve_endpoints

    try:
        return resolve_endpoints(s)
    except EndpointError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None


def fail(message: str, code: int = 1):
    """Print an error and exit with ``code``."""
    err.print(f"[red]{message}[/]")
    raise typer.Exit(code)


def main() -> None:
    from streams.cli import dev, evaluation, ops  # noqa: F401  (they register their commands on `app`)

    app()
