"""How the worker configures Faust."""

from __future__ import annotations

from streams.worker.app import make_app
from uno_models import Settings


def test_a_relative_data_dir_puts_the_tables_under_it_once(tmp_path, monkeypatch):
    """`uno demo` runs with a relative data directory: Faust puts a relative ``tabledir`` under its own
    data directory, so the worker passes it absolute (a doubled path stopped the worker at start)."""
    monkeypatch.chdir(tmp_path)
    app = make_app(Settings(data_dir=".uno/run"), "127.0.0.1:9")
    assert app.conf.tabledir == tmp_path / ".uno" / "run" / "faust" / "tables"
