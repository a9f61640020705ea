"""The import graph keeps its promises: the contract imports nothing of ours, the core knows no broker,
and production rooms never reach the dev stack or evaluation (directly or through another module,
lazy imports inside functions included)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("uno_models", "processors", "streams")
PRODUCTION = ("streams.worker", "streams.serving", "streams.client", "streams.kafka")
DEV_ONLY = ("streams.devstack", "streams.evaluation")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it (relative imports resolved)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


GRAPH = {module_name(p): imports_of(p) for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def ours(names: set[str]) -> set[str]:
    return {n for n in names if n in GRAPH}


def reachable(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        seen.add(mod)
        todo.extend(ours(GRAPH.get(mod, set())) - seen)
    return seen


def in_room(module: str, rooms: tuple[str, ...]) -> bool:
    return any(module == r or module.startswith(r + ".") for r in rooms)


def test_the_graph_is_read():
    assert "streams.worker.app" in GRAPH and "processors.ingest" in GRAPH and len(GRAPH) > 40


def test_the_contract_imports_nothing_of_ours():
    for mod, names in GRAPH.items():
        if in_room(mod, ("uno_models",)):
            assert not {n for n in names if in_room(n, ("streams", "processors"))}, mod


def test_the_core_knows_no_broker_and_no_shell():
    for mod, names in GRAPH.items():
        if in_room(mod, ("processors",)):
            bad = {n for n in names if in_room(n, ("streams", "faust", "aiokafka", "confluent_kafka"))}
            assert not bad, f"{mod} imports {sorted(bad)}"


@pytest.mark.parametrize("room", PRODUCTION)
def test_production_rooms_never_reach_the_dev_stack_or_evaluation(room):
    modules = [m for m in GRAPH if in_room(m, (room,))]
    assert modules
    for mod in modules:
        leaked = {m for m in reachable(mod) if in_room(m, DEV_ONLY)}
        assert not leaked, f"{mod} reaches {sorted(leaked)}"


def test_the_thin_client_needs_only_the_contract_and_httpx():
    third_party = {n.split(".")[0] for n in GRAPH["streams.client"]} - set(sys.stdlib_module_names) - {"__future__"}
    assert third_party <= {"httpx", "msgspec", "uno_models", "openai"}, third_party  # openai: lazily, in .openai()
    assert not {m for m in reachable("streams.client") if in_room(m, ("streams", "processors")) and m != "streams"} - {
        "streams.client"
    }
