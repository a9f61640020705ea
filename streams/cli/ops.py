"""Operating a deployment: ``uno schema|validate|settings|replay``, ``uno modules ...``, ``uno pairs
export`` and ``uno dlq inspect|replay``. Module commands go through the worker's API (it owns the
store), with `streams.client.UnoClient`."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from streams.cli import app, console, endpoints, err, fail, settings
from uno_models import ContractError, decode_feedback, decode_interaction, encode, json_schema_text

modules_cli = typer.Typer(
    help="Published modules (through the worker's API, which owns the store).", no_args_is_help=True
)
pairs_cli = typer.Typer(help="Preference pairs for offline DPO/LoRA training.", no_args_is_help=True)
dlq_cli = typer.Typer(help="The dead-letter topic: look, fix, re-drive.", no_args_is_help=True)
app.add_typer(modules_cli, name="modules")
app.add_typer(pairs_cli, name="pairs")
app.add_typer(dlq_cli, name="dlq")


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
def showsettings() -> None:
    """Print the effective settings (defaults < uno.toml < UNO_* environment), secrets masked."""
    table = Table("setting", "value", "environment variable")
    for name, value in settings().public().items():
        table.add_row(name, repr(value), f"UNO_{name.upper()}")
    console.print(table)


@app.command()
def replay(
    path: Annotated[Path, typer.Argument(help="JSONL file of events")],
    feedback: Annotated[
        bool, typer.Option("--feedback", help="lines are FeedbackEvents (to the feedback topic)")
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help="uno (the contract) or uno-replay (queries.jsonl)")] = "uno",
    namespace: Annotated[Optional[str], typer.Option(help="namespace (required for --format uno-replay)")] = None,
    rate: Annotated[Optional[float], typer.Option(help="at most this many events per second")] = None,
    limit: Annotated[Optional[int], typer.Option(help="stop after this many events")] = None,
) -> None:
    """Produce a JSONL file of events to the interactions (or feedback) topic, keyed by namespace."""
    import itertools

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from streams.kafka import ensure_topics, make_producer, produce, topic_name

    if fmt not in ("uno", "uno-replay"):
        fail(f"--format must be uno or uno-replay, not {fmt!r}", 2)
    s = settings()
    broker = endpoints(s).broker
    ensure_topics(s, broker)
    topic = topic_name(s, "feedback" if feedback else "interactions")
    # Validate the whole file first: a bad line stops the replay before anything is sent.
    try:
        records = [(value, ns) for _, value, ns in read_events(path, fmt, namespace, feedback)]
    except ContractError as exc:
        fail(f"{exc.path}: {exc.reason}")
    if limit is not None:
        records = list(itertools.islice(records, limit))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(f"-> {topic}", total=len(records))
        sent = produce(
            make_producer(broker), topic, records, rate, on_sent=lambda n: progress.update(task, completed=n)
        )
    console.print(f"sent {sent} event(s) to {topic} on {broker}")


def read_events(path: Path, fmt: str, namespace: str | None, feedback: bool) -> Iterator[tuple[int, bytes, str]]:
    """(line number, value, namespace) per line; raises ContractError naming the line for bad ones."""
    decoder = decode_feedback if feedback else decode_interaction
    with path.open("rb") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            if fmt == "uno-replay":
                line = json.dumps(uno_replay_event(json.loads(line), namespace or "default", time.time())).encode()
            try:
                event = decoder(line)
            except ContractError as exc:
                raise ContractError(exc.path, f"line {lineno}: {exc.reason}") from None
            if namespace and event.namespace != namespace and fmt != "uno-replay":
                raise ContractError("$.namespace", f"line {lineno}: namespace {event.namespace!r} != {namespace!r}")
            yield lineno, encode(event), event.namespace


def uno_replay_event(row: dict, namespace: str, timestamp: float) -> dict:
    """Map a line of ../shared/data/uno-replay/queries.jsonl onto an InteractionEvent (no feedback)."""
    return {
        "event_id": row["id"],
        "namespace": namespace,
        "timestamp": timestamp,
        "query": row["query"],
        "response": row.get("response") or "",
        "metadata": {k: str(row[k]) for k in ("dataset", "lang", "split") if k in row},
    }


def _client():
    from streams.client import UnoClient

    s = settings()
    return UnoClient(f"http://{s.api_host}:{s.web_port}", token=s.api_token, timeout=30)


@contextmanager
def _api() -> Iterator:
    """The worker's API client; an HTTP error exits 1 with it, no worker answering exits 2."""
    import httpx

    from streams.client import UnoError

    client = _client()
    try:
        yield client
    except UnoError as exc:
        fail(str(exc).removeprefix("HTTP "))
    except httpx.TransportError as exc:
        fail(f"no worker answering at {client.base_url} ({exc}); start one with `uno worker`", 2)
    finally:
        client.close()


@modules_cli.command("list")
def modules_list(namespace: Annotated[Optional[str], typer.Option(help="only this namespace")] = None) -> None:
    """One line per published module: namespace, cluster, version, kind, gap, support, first rule."""
    table = Table("namespace", "cluster", "version", "kind", "gap", "logs", "users", "top rule")
    with _api() as api:
        modules = api.modules(namespace or "")
    for m in modules:
        top = m.rules[0].text[:60] if m.rules else ""
        row = [m.namespace, m.cluster_id, m.version, m.kind.value, f"{m.gap_score:.2f}", m.support.logs]
        table.add_row(*map(str, row), str(m.support.users), top)
    console.print(table)


@modules_cli.command("rules")
def modules_rules(
    namespace: str,
    cluster: Annotated[Optional[int], typer.Option(help="only this cluster")] = None,
    held: Annotated[bool, typer.Option("--held", help="only the rules that are held back")] = False,
) -> None:
    """Every rule of a namespace's clusters, published or not, and why one is held back (admin token).

    Reasons: low_support, few_users, user_dominated, unreliable, not_independent, fresh_only (newcomers
    only, fewer than fresh_quorum), regulars_silent (newcomers only, the regulars never ask for it),
    split / contradicted, off_topic, approved (most of it came with a thumbs up: praise), promotion, injection
    (docs/processing.md)."""
    table = Table("cluster", "status", "held back", "users", "logs", "against", "rule")
    with _api() as api:
        rules = api.evidence(namespace)
    rules = [r for r in rules if (cluster is None or r["cluster_id"] == cluster) and (r["held_back"] or not held)]
    for r in sorted(rules, key=lambda r: (r["cluster_id"], r["held_back"] is not None, -r.get("support", 0))):
        # the rule's fields, as the worker encodes them: those at their default are left out
        against = f"{r.get('against_share', 0.0):.0%}" if r.get("opposing_users") else ""
        users, logs = len(r.get("user_support", {})), r.get("support", 0)
        row = [r["cluster_id"], r["status"], r["held_back"] or "", users, logs, against]
        table.add_row(*map(str, row), r["text"][:70])
    console.print(table)
    console.print(f"{len(rules)} rules, {sum(1 for r in rules if r['held_back'])} held back")


@modules_cli.command("show")
def modules_show(namespace: str, cluster: int) -> None:
    """The current module of a cluster, as JSON."""
    import msgspec

    with _api() as api:
        console.print_json(msgspec.json.encode(api.module(namespace, cluster).module).decode())


@modules_cli.command("history")
def modules_history(namespace: str, cluster: int) -> None:
    """Every version of a cluster's module."""
    table = Table("version", "kind", "gap", "created", "rules")
    with _api() as api:
        history = api.module(namespace, cluster).history
    for m in history:
        table.add_row(str(m.version), m.kind.value, f"{m.gap_score:.2f}", f"{m.created_at:.0f}", str(len(m.rules)))
    console.print(table)


@modules_cli.command("rollback")
def modules_rollback(namespace: str, cluster: int, version: int) -> None:
    """Publish the content of an earlier version again, as a new version (store and modules topic)."""
    with _api() as api:
        module = api.rollback(namespace, cluster, version)
    console.print(f"{namespace}/{cluster}: version {version} restored as version {module.version}")


@modules_cli.command("rebuild")
def modules_rebuild() -> None:
    """Restore the module store from the compacted modules topic (the source of truth).

    With Qdrant local mode, stop the worker first: it owns the store. Idempotent: versions the store
    already has are skipped."""
    import msgspec
    from rich.progress import Progress

    from streams.kafka import read_all, topic_name
    from streams.worker.store import rebuild_store
    from uno_models import ModulePublished, decode

    s = settings()
    topic = topic_name(s, "modules")
    raw = read_all(endpoints(s).broker, topic, timeout=120)
    last = {key: value for key, value, _, _ in sorted(raw, key=lambda r: (r[2], r[3]))}
    withdrawn = {key.decode() for key, value in last.items() if key is not None and value is None}
    records = []
    for key, value, partition, offset in raw:
        if value is None or (key is not None and key.decode() in withdrawn):
            continue  # a withdrawn module (merged away or retired) is not restored
        try:
            records.append(decode(value, ModulePublished))
        except (msgspec.DecodeError, ValueError) as exc:
            err.print(f"[yellow]skipped {topic}[{partition}]@{offset}: {exc}[/]")
    try:
        with Progress(console=console) as progress:
            task = progress.add_task(f"{topic} -> store", total=len(records))
            outcomes = rebuild_store(s, records, on_record=lambda: progress.advance(task))
    except RuntimeError as exc:  # Qdrant local mode: the path is open in another process
        fail(f"cannot open the store: {exc}\nStop the worker that owns it (Qdrant local mode), then retry.", 2)
    outcomes.update({"withdrawn": len(withdrawn)} if withdrawn else {})
    summary = ", ".join(f"{n} {reason}" for reason, n in sorted(outcomes.items()))
    console.print(f"{len(records)} records from {topic}: {summary}" if records or withdrawn else "nothing to rebuild")


@pairs_cli.command("export")
def pairs_export(
    out: Annotated[Path, typer.Argument(help="JSONL file to write ('-' for stdout)")],
    namespace: Annotated[Optional[str], typer.Option(help="only this namespace")] = None,
) -> None:
    """Every preference pair on the pairs topic as JSONL: prompt, chosen, rejected (+ provenance), de-duplicated."""
    import json

    import msgspec

    from streams.kafka import read_all, topic_name
    from uno_models import PreferencePair

    s = settings()
    seen, lines = set(), []
    for _, value, _, _ in read_all(endpoints(s).broker, topic_name(s, "pairs")):
        pair = msgspec.json.decode(value, type=PreferencePair)
        if pair.id in seen or (namespace and pair.namespace != namespace):
            continue  # at-least-once delivery: a pair may be on the topic twice
        seen.add(pair.id)
        lines.append(
            json.dumps(
                {
                    "prompt": pair.prompt,
                    "chosen": pair.chosen,
                    "rejected": pair.rejected,
                    "id": pair.id,
                    "namespace": pair.namespace,
                    "cluster_id": pair.cluster_id,
                    "source": pair.source.value,
                    "score": pair.score,
                },
                ensure_ascii=False,
            )
        )
    text = "".join(line + "\n" for line in lines)
    if str(out) == "-":
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {len(lines)} pair(s) to {out}")


def _dead_letters(s):
    import msgspec

    from streams.kafka import read_all, topic_name
    from uno_models.stream import DeadLetter

    return [
        msgspec.json.decode(v, type=DeadLetter) for _, v, _, _ in read_all(endpoints(s).broker, topic_name(s, "dlq"))
    ]


@dlq_cli.command("inspect")
def dlq_inspect(
    reason: Annotated[Optional[str], typer.Option(help="only this reason")] = None,
    limit: Annotated[int, typer.Option(help="show at most this many")] = 50,
) -> None:
    """The dead letters: where each came from, why, and the offending field."""
    from collections import Counter

    letters = [le for le in _dead_letters(settings()) if reason is None or le.reason == reason]
    table = Table("source", "reason", "field", "error", "bytes")
    for le in letters[:limit]:
        table.add_row(
            f"{le.topic}/{le.partition}@{le.offset}", le.reason, le.path, le.error[:70], str(len(le.original))
        )
    console.print(table)
    console.print(
        ", ".join(f"{r}: {n}" for r, n in Counter(le.reason for le in letters).most_common()) or "no dead letters"
    )


@dlq_cli.command("replay")
def dlq_replay(
    reason: Annotated[Optional[str], typer.Option(help="only dead letters with this reason")] = None,
    rekey: Annotated[bool, typer.Option(help="key each record by the namespace in its payload")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="say what would be sent, send nothing")] = False,
) -> None:
    """Re-drive dead letters to the topic they came from (after a fix).

    Duplicates are harmless: event ids are de-duplicated."""
    import msgspec

    from streams.kafka import make_producer

    s = settings()
    letters = [le for le in _dead_letters(s) if reason is None or le.reason == reason]
    cut = [le for le in letters if le.truncated]
    letters = [le for le in letters if not le.truncated]
    if cut:  # only their head was kept (the record was too big for a letter): nothing to replay
        console.print(f"skipped {len(cut)} dead letter(s) kept only in part (original over the letter size)")
    producer = None if dry_run else make_producer(endpoints(s).broker)
    for le in letters:
        key = le.key
        if rekey:
            with contextlib.suppress(msgspec.DecodeError, AttributeError):
                key = str(msgspec.json.decode(le.original).get("namespace", "default")).encode()
        if producer is not None:
            producer.produce(le.topic, key=key, value=le.original)
    if producer is not None:
        producer.flush(60)
    console.print(f"{'would re-send' if dry_run else 're-sent'} {len(letters)} dead letter(s)")
