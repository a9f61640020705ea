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
modules_cli = typer.Typer(help="Published modules (through the worker's API, which owns the store).",
                          no_args_is_help=True)  # fmt: skip
pairs_cli = typer.Typer(help="Preference pairs for offline DPO/LoRA training.", no_args_is_help=True)
dlq_cli = typer.Typer(help="The dead-letter topic: look, fix, re-drive.", no_args_is_help=True)
app.add_typer(dev, name="dev")
app.add_typer(modules_cli, name="modules")
app.add_typer(pairs_cli, name="pairs")
app.add_typer(dlq_cli, name="dlq")

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
def serve(loglevel: Annotated[str, typer.Option(help="log level")] = "info") -> None:
    """Run the serving API (retrieve, chat proxy, feedback, modules) in a worker process, on UNO_WEB_PORT.

    The API is served by the worker because, with Qdrant local mode, one process owns the store."""
    worker(loglevel)


@app.command()
def worker(loglevel: Annotated[str, typer.Option(help="log level")] = "info") -> None:
    """Run a worker against the configured broker (or the local stack): ingest, refresh, publish, and
    the HTTP API (the same process as `uno serve`)."""
    from streams.endpoints import EndpointError
    from streams.worker import run_worker

    settings = _settings()
    try:
        run_worker(settings, loglevel)
    except EndpointError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None


@app.command()
def replay(
    path: Annotated[Path, typer.Argument(help="JSONL file of events")],
    feedback: Annotated[bool, typer.Option("--feedback", help="lines are FeedbackEvents (to the feedback topic)")] = False,
    fmt: Annotated[str, typer.Option("--format", help="uno (the contract) or uno-replay (queries.jsonl)")] = "uno",
    namespace: Annotated[Optional[str], typer.Option(help="namespace (required for --format uno-replay)")] = None,
    rate: Annotated[Optional[float], typer.Option(help="at most this many events per second")] = None,
    limit: Annotated[Optional[int], typer.Option(help="stop after this many events")] = None,
) -> None:
    """Produce a JSONL file of events to the interactions (or feedback) topic, keyed by namespace."""
    import itertools

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from streams.endpoints import EndpointError, resolve_endpoints
    from streams.replay import make_producer, produce, read_events
    from streams.topics import ensure_topics, topic_specs

    if fmt not in ("uno", "uno-replay"):
        err.print(f"[red]--format must be uno or uno-replay, not {fmt!r}[/]")
        raise typer.Exit(2)
    settings = _settings()
    try:
        endpoints = resolve_endpoints(settings)
    except EndpointError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    ensure_topics(settings, endpoints.broker)
    topic = topic_specs(settings)["feedback" if feedback else "interactions"].name
    # Validate the whole file first: a bad line stops the replay before anything is sent.
    try:
        records = [(value, ns) for _, value, ns in read_events(path, fmt, namespace, feedback)]
    except ContractError as exc:
        err.print(f"[red]{exc.path}: {exc.reason}[/]")
        raise typer.Exit(1) from None
    if limit is not None:
        records = list(itertools.islice(records, limit))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(f"-> {topic}", total=len(records))
        sent = produce(make_producer(endpoints.broker), topic, records, rate,
                       on_sent=lambda n: progress.update(task, completed=n))  # fmt: skip
    console.print(f"sent {sent} event(s) to {topic} on {endpoints.broker}")


REPLAY_QUERIES = Path(__file__).resolve().parents[2] / "shared/data/uno-replay/queries.jsonl"
DEMO_SAMPLE = Path(__file__).resolve().parent / "data" / "demo-sample.jsonl"


@app.command()
def simulate(
    out: Annotated[Path, typer.Argument(help="JSONL of InteractionEvents to write; the truth goes to OUT.truth.json")],
    queries: Annotated[Path, typer.Option(help="JSONL with `query` and a topic field")] = REPLAY_QUERIES,
    topic_field: Annotated[str, typer.Option(help="the field that names a query's topic")] = "dataset",
    topics: Annotated[Optional[str], typer.Option(help="comma-separated topics (at most 3; default: the first 3)")] = None,
    per_topic: Annotated[int, typer.Option(help="interactions per topic")] = 20,
    held_out: Annotated[int, typer.Option(help="queries per topic kept out of the stream, for routing scores")] = 2,
    noisy_share: Annotated[float, typer.Option(help="share of interactions with random or contradictory feedback")] = 0.15,
    adversarial_events: Annotated[int, typer.Option(help="events of the one adversarial user")] = 10,
    namespace: Annotated[str, typer.Option(help="namespace of the events")] = "demo",
    seed: Annotated[int, typer.Option(help="random seed (same seed, same stream)")] = 0,
) -> None:
    """Write a SIMULATED interaction + feedback stream from real queries, with its ground truth."""
    from streams.simulate import load_queries
    from streams.simulate import simulate as make_stream
    from streams.simulate import write

    if not queries.exists():
        err.print(f"[red]{queries} not found; pass --queries[/]")
        raise typer.Exit(2)
    by_topic = load_queries(queries, topic_field)
    chosen = topics.split(",") if topics else sorted(by_topic)[:3]
    missing = [t for t in chosen if t not in by_topic]
    if missing:
        err.print(f"[red]no queries with {topic_field}={missing}; available: {sorted(by_topic)}[/]")
        raise typer.Exit(2)
    try:
        events, truth = make_stream(by_topic, namespace=namespace, topics=chosen, per_topic=per_topic, held_out=held_out,
                                    noisy_share=noisy_share, adversarial_events=adversarial_events, seed=seed)  # fmt: skip
    except ValueError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    truth_path = write(events, truth, out)
    console.print(f"{len(events)} simulated events -> {out}; ground truth -> {truth_path}")


@app.command()
def demo(
    sample: Annotated[Path, typer.Option(help="events to replay (JSONL, with SAMPLE.truth.json beside it)")] = DEMO_SAMPLE,
    timeout: Annotated[float, typer.Option(help="seconds to wait for refreshes before showing the table")] = 900,
) -> None:
    """Run UNO end to end on the embedded default: stack, worker, a simulated sample, modules, two proxied queries."""
    from streams.demo import run_demo

    try:
        run_demo(console, _settings().data_path, sample, timeout)
    except (StackError, AssertionError) as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None


@app.command("eval")
def evaluate(
    stream: Annotated[Path, typer.Argument(help="events to replay (JSONL of InteractionEvents, one namespace)")] = DEMO_SAMPLE,
    truth: Annotated[Optional[Path], typer.Option(help="ground truth (default: STREAM.truth.json, written by "
                                                       "`uno simulate`)")] = None,
    preset: Annotated[str, typer.Option(help="worker settings: 'configured' (your UNO_* settings) or 'demo' "
                                             "(the demo's coarser clusters and small batches)")] = "configured",
    flush_after: Annotated[float, typer.Option(help="refresh a cluster's last logs after this many seconds "
                                                    "(UNO_REFRESH_MAX_AGE_S for the run)")] = 20,
    match_threshold: Annotated[float, typer.Option(help="cosine similarity at which a rule states a hidden "
                                                        "preference")] = 0.6,
    judge_endpoint: Annotated[Optional[str], typer.Option(help="an OpenAI-compatible /v1 URL: judge answers with "
                                                               "modules vs without vs RAG (key: UNO_JUDGE_API_KEY)")] = None,
    judge_model: Annotated[str, typer.Option(help="the judge's model name (default: UNO_LLM_MODEL)")] = "",
    judge_limit: Annotated[int, typer.Option(help="held-out queries to judge")] = 20,
    out: Annotated[Optional[Path], typer.Option(help="where to write the JSON report "
                                                     "(default: UNO_DATA_DIR/eval/<stream>-<time>.json)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the JSON report instead of the table")] = False,
    timeout: Annotated[float, typer.Option(help="seconds to wait for ingest and refreshes")] = 1800,
) -> None:
    """Replay a stream through the real pipeline and score it: clusters, routing, rules, LLM cost, judge."""
    import json
    import os
    import time

    import msgspec

    from processors.embedders import make_embedder
    from streams.demo import DEMO_SETTINGS
    from streams.evaluate import EvalOptions, print_report, run_eval
    from streams.simulate import Truth

    settings = _settings()
    try:
        import sklearn  # noqa: F401  (ARI and NMI)
    except ImportError:
        err.print("[red]uno eval needs scikit-learn: pip install 'uno-streaming[eval]'[/]")
        raise typer.Exit(2) from None
    if preset not in ("configured", "demo"):
        err.print(f"[red]--preset must be 'configured' or 'demo', got {preset!r}[/]")
        raise typer.Exit(2)
    truth = truth or stream.with_suffix(".truth.json")
    try:
        ground = msgspec.json.decode(truth.read_bytes(), type=Truth) if truth.exists() else None
    except msgspec.ValidationError as exc:
        err.print(f"[red]{truth}: not a ground-truth file: {exc}[/]")
        raise typer.Exit(2) from None
    worker_settings = {**(DEMO_SETTINGS if preset == "demo" else {"topic_partitions": 1}),
                       "refresh_max_age_s": flush_after, "tick_interval_s": min(5.0, flush_after / 4)}  # fmt: skip
    opts = EvalOptions(match_threshold=match_threshold, judge_endpoint=judge_endpoint,
                       judge_model=judge_model or settings.llm_model, judge_api_key=os.environ.get("UNO_JUDGE_API_KEY", ""),
                       judge_limit=judge_limit, answer_model=settings.llm_model, timeout_s=timeout)  # fmt: skip
    embedder = make_embedder(settings)
    report_console = err if as_json else console
    try:
        report = run_eval(report_console, settings.data_path, stream, ground, embedder.embed, embedder.id, opts,
                          **worker_settings)  # fmt: skip
    except (StackError, AssertionError, ValueError, OSError) as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    out = out or settings.data_path / "eval" / f"{stream.stem}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    if as_json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print_report(console, report)
        console.print(f"report: {out}")


def _endpoints(settings):
    from streams.endpoints import EndpointError, resolve_endpoints

    try:
        return resolve_endpoints(settings)
    except EndpointError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None


def _worker_api(path: str, body: dict | None = None) -> dict:
    """Call the worker's HTTP API (UNO_API_HOST:UNO_WEB_PORT), with the bearer token when one is set."""
    import json
    import urllib.error
    import urllib.request

    settings = _settings()
    url = f"http://{settings.api_host}:{settings.web_port}{path}"
    headers = {"Content-Type": "application/json"}
    if settings.api_token:
        headers["Authorization"] = f"Bearer {settings.api_token}"
    request = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(), headers=headers,
                                     method="GET" if body is None else "POST")  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as exc:
        err.print(f"[red]{exc.code}: {exc.read().decode(errors='replace')}[/]")
        raise typer.Exit(1) from None
    except OSError as exc:
        err.print(f"[red]no worker answering at {url} ({exc}); start one with `uno worker`[/]")
        raise typer.Exit(2) from None


@modules_cli.command("list")
def modules_list(namespace: Annotated[Optional[str], typer.Option(help="only this namespace")] = None) -> None:
    """One line per published module: namespace, cluster, version, kind, gap, support, first rule."""
    query = f"?namespace={namespace}" if namespace else ""
    table = Table("namespace", "cluster", "version", "kind", "gap", "logs", "users", "top rule")
    for m in _worker_api(f"/v1/modules{query}")["modules"]:
        rules = m.get("rules") or [{"text": ""}]
        table.add_row(m["namespace"], str(m["cluster_id"]), str(m["version"]), m["kind"], f"{m['gap_score']:.2f}",
                      str(m.get("support", {}).get("logs", 0)), str(m.get("support", {}).get("users", 0)),
                      rules[0]["text"][:60])  # fmt: skip
    console.print(table)


@modules_cli.command("show")
def modules_show(namespace: str, cluster: int) -> None:
    """The current module of a cluster, as JSON."""
    import json

    console.print_json(json.dumps(_worker_api(f"/v1/modules/{namespace}/{cluster}")["module"]))


@modules_cli.command("history")
def modules_history(namespace: str, cluster: int) -> None:
    """Every version of a cluster's module."""
    table = Table("version", "kind", "gap", "created", "rules")
    for m in _worker_api(f"/v1/modules/{namespace}/{cluster}")["history"]:
        table.add_row(str(m["version"]), m["kind"], f"{m['gap_score']:.2f}", f"{m['created_at']:.0f}",
                      str(len(m.get("rules", []))))  # fmt: skip
    console.print(table)


@modules_cli.command("rollback")
def modules_rollback(namespace: str, cluster: int, version: int) -> None:
    """Publish the content of an earlier version again, as a new version (store and modules topic)."""
    module = _worker_api(f"/v1/modules/{namespace}/{cluster}/rollback", {"version": version})["module"]
    console.print(f"{namespace}/{cluster}: version {version} restored as version {module['version']}")


@modules_cli.command("rebuild")
def modules_rebuild() -> None:
    """Restore the module store from the compacted modules topic (the source of truth).

    With Qdrant local mode, stop the worker first: it owns the store. Idempotent: versions the store
    already has are skipped."""
    import msgspec
    from rich.progress import Progress

    from streams.app import rebuild_store
    from streams.endpoints import EndpointError, resolve_endpoints
    from streams.replay import read_all
    from streams.topics import topic_specs
    from uno_models import ModulePublished, decode

    settings = _settings()
    try:
        broker = resolve_endpoints(settings).broker
    except EndpointError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    topic = topic_specs(settings)["modules"].name
    raw = read_all(broker, topic, timeout=120)
    records = []
    for _key, value, partition, offset in raw:
        try:
            records.append(decode(value, ModulePublished))
        except (msgspec.DecodeError, ValueError) as exc:
            err.print(f"[yellow]skipped {topic}[{partition}]@{offset}: {exc}[/]")
    try:
        with Progress(console=console) as progress:
            task = progress.add_task(f"{topic} -> store", total=len(records))
            outcomes = rebuild_store(settings, records, on_record=lambda: progress.advance(task))
    except RuntimeError as exc:  # Qdrant local mode: the path is open in another process
        err.print(f"[red]cannot open the store: {exc}\nStop the worker that owns it (Qdrant local mode), then retry.[/]")
        raise typer.Exit(2) from None
    console.print(f"{len(records)} records from {topic}: " +
                  ", ".join(f"{n} {reason}" for reason, n in sorted(outcomes.items())) if records else "nothing to rebuild")  # fmt: skip


@pairs_cli.command("export")
def pairs_export(
    out: Annotated[Path, typer.Argument(help="JSONL file to write ('-' for stdout)")],
    namespace: Annotated[Optional[str], typer.Option(help="only this namespace")] = None,
) -> None:
    """Every preference pair on the pairs topic as JSONL: prompt, chosen, rejected (+ provenance), de-duplicated."""
    import json

    import msgspec

    from streams.replay import read_all
    from streams.topics import topic_specs
    from uno_models import PreferencePair

    settings = _settings()
    topic = topic_specs(settings)["pairs"].name
    seen, lines = set(), []
    for _, value, _, _ in read_all(_endpoints(settings).broker, topic):
        pair = msgspec.json.decode(value, type=PreferencePair)
        if pair.id in seen or (namespace and pair.namespace != namespace):
            continue  # at-least-once delivery: a pair may be on the topic twice
        seen.add(pair.id)
        lines.append(json.dumps({"prompt": pair.prompt, "chosen": pair.chosen, "rejected": pair.rejected,
                                 "id": pair.id, "namespace": pair.namespace, "cluster_id": pair.cluster_id,
                                 "source": pair.source.value, "score": pair.score}, ensure_ascii=False))  # fmt: skip
    text = "".join(line + "\n" for line in lines)
    if str(out) == "-":
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {len(lines)} pair(s) to {out}")


def _dead_letters(settings):
    import msgspec

    from streams.replay import read_all
    from streams.topics import topic_specs
    from uno_models.stream import DeadLetter

    topic = topic_specs(settings)["dlq"].name
    return [msgspec.json.decode(v, type=DeadLetter) for _, v, _, _ in read_all(_endpoints(settings).broker, topic)]


@dlq_cli.command("inspect")
def dlq_inspect(
    reason: Annotated[Optional[str], typer.Option(help="only this reason")] = None,
    limit: Annotated[int, typer.Option(help="show at most this many")] = 50,
) -> None:
    """The dead letters: where each came from, why, and the offending field."""
    from collections import Counter

    letters = [le for le in _dead_letters(_settings()) if reason is None or le.reason == reason]
    table = Table("source", "reason", "field", "error", "bytes")
    for le in letters[:limit]:
        table.add_row(f"{le.topic}/{le.partition}@{le.offset}", le.reason, le.path, le.error[:70], str(len(le.original)))
    console.print(table)
    console.print(", ".join(f"{r}: {n}" for r, n in Counter(le.reason for le in letters).most_common()) or "no dead letters")


@dlq_cli.command("replay")
def dlq_replay(
    reason: Annotated[Optional[str], typer.Option(help="only dead letters with this reason")] = None,
    rekey: Annotated[bool, typer.Option(help="key each record by the namespace in its payload")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="say what would be sent, send nothing")] = False,
) -> None:
    """Re-drive dead letters to the topic they came from (after a fix). Duplicates are harmless: event ids are de-duplicated."""
    import msgspec

    from streams.replay import make_producer

    settings = _settings()
    letters = [le for le in _dead_letters(settings) if reason is None or le.reason == reason]
    producer = None if dry_run else make_producer(_endpoints(settings).broker)
    for le in letters:
        key = le.key
        if rekey:
            try:
                key = str(msgspec.json.decode(le.original).get("namespace", "default")).encode()
            except (msgspec.DecodeError, AttributeError):
                pass
        if producer is not None:
            producer.produce(le.topic, key=key, value=le.original)
    if producer is not None:
        producer.flush(60)
    console.print(f"{'would re-send' if dry_run else 're-sent'} {len(letters)} dead letter(s)")


def _yes(flag: bool) -> str:
    return "[green]yes[/]" if flag else "[red]no[/]"


def main() -> None:
    app()


if __name__ == "__main__":
    main()
