"""``uno simulate``, ``uno demo`` and ``uno eval``: the evaluation room's commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from streams.cli import app, console, err, fail, settings
from streams.devstack.launcher import StackError
from streams.evaluation import DEMO_SAMPLE, REPLAY_QUERIES


@app.command()
def simulate(
    out: Annotated[Path, typer.Argument(help="JSONL of InteractionEvents to write; the truth goes to OUT.truth.json")],
    queries: Annotated[Path, typer.Option(help="JSONL with `query` and a topic field")] = REPLAY_QUERIES,
    topic_field: Annotated[str, typer.Option(help="the field that names a query's topic")] = "dataset",
    split: Annotated[
        str, typer.Option(help="dev or test: the half of the preference pool, and of the replay datasets")
    ] = "dev",
    language: Annotated[
        Optional[str],
        typer.Option(
            help="es, de, fr, it, ja, ko, pt or ru: users and preferences of another language"
            " (the split still picks the datasets)"
        ),
    ] = None,
    topics: Annotated[
        Optional[str],
        typer.Option(help="comma-separated topics (default: the first 3 replay datasets of the split)"),
    ] = None,
    per_topic: Annotated[int, typer.Option(help="interactions per topic")] = 20,
    rounds: Annotated[
        int, typer.Option(help="each query of the stream asked this many times, by users drawn afresh")
    ] = 1,
    held_out: Annotated[int, typer.Option(help="queries per topic kept out of the stream, for routing scores")] = 2,
    users_per_topic: Annotated[int, typer.Option(help="simulated users per topic")] = 10,
    noisy_share: Annotated[float, typer.Option(help="share of users who are noisy for the whole stream")] = 0.3,
    adversarial_events: Annotated[int, typer.Option(help="events of the one adversarial user")] = 10,
    sybil_users: Annotated[int, typer.Option(help="fresh ids in the sybil ring (0: none)")] = 3,
    sybil_spread: Annotated[
        bool, typer.Option(help="the ring's ids post apart, between other users' logs, not together")
    ] = False,
    sybil_history: Annotated[
        int, typer.Option(help="thumbs up each of the ring's ids gives first, early and apart (a history)")
    ] = 0,
    sybil_oppose: Annotated[
        bool,
        typer.Option(help="the ring writes against one of its topic's real preferences instead of a rule of its own"),
    ] = False,
    compound: Annotated[
        float, typer.Option(help="share of requests that ask for both of their topic's preferences in one text")
    ] = 0.0,
    verbose: Annotated[
        float, typer.Option(help="share of requests said among other sentences (English and Chinese streams)")
    ] = 0.0,
    courtesy: Annotated[
        float,
        typer.Option(help="share of satisfied users' feedback that carries praise"),
    ] = 0.0,
    approving: Annotated[
        float, typer.Option(help="share of requests made beside a thumbs up or a copy (a change asked all the same)")
    ] = 0.0,
    casual: Annotated[
        float, typer.Option(help="share of users who type as in a chat box (lower case, no full stop, pls, u)")
    ] = 0.0,
    namespace: Annotated[str, typer.Option(help="namespace of the events")] = "demo",
    seed: Annotated[int, typer.Option(help="random seed (same seed, same stream)")] = 0,
) -> None:
    """Write a SIMULATED interaction + feedback stream from real queries, with its ground truth."""
    from streams.evaluation.simulate import DATASET_SPLITS, LANGUAGE_POOLS, SPLITS, load_queries, write
    from streams.evaluation.simulate import simulate as make_stream

    if split not in SPLITS:
        fail(f"--split must be one of {sorted(SPLITS)}, not {split!r}", 2)
    if language is not None and language not in LANGUAGE_POOLS:
        fail(f"--language must be one of {sorted(LANGUAGE_POOLS)}, not {language!r}", 2)
    if not queries.exists():
        fail(f"{queries} not found; pass --queries", 2)
    by_topic = load_queries(queries, topic_field)
    in_split = [t for t in DATASET_SPLITS[split] if t in by_topic]
    chosen = topics.split(",") if topics else (in_split or sorted(by_topic))[:3]
    missing = [t for t in chosen if t not in by_topic]
    if missing:
        fail(f"no queries with {topic_field}={missing}; available: {sorted(by_topic)}", 2)
    # queries of the split's other topics are the out-of-range ones (the other split is never touched)
    pool = {t: q for t, q in by_topic.items() if t in chosen or t in in_split} if in_split else by_topic
    try:
        events, truth = make_stream(
            pool,
            namespace=namespace,
            topics=chosen,
            per_topic=per_topic,
            rounds=rounds,
            held_out=held_out,
            users_per_topic=users_per_topic,
            noisy_share=noisy_share,
            adversarial_events=adversarial_events,
            sybil_users=sybil_users,
            sybil_spread=sybil_spread,
            sybil_history=sybil_history,
            sybil_oppose=sybil_oppose,
            compound_share=compound,
            verbose_share=verbose,
            courtesy_share=courtesy,
            approving_share=approving,
            casual_share=casual,
            pool=language or split,
            seed=seed,
        )
    except ValueError as exc:
        fail(str(exc), 2)
    truth_path = write(events, truth, out)
    console.print(f"{len(events)} simulated events -> {out}; ground truth -> {truth_path}")


@app.command()
def demo(
    sample: Annotated[
        Path, typer.Option(help="events to replay (JSONL, with SAMPLE.truth.json beside it)")
    ] = DEMO_SAMPLE,
    timeout: Annotated[float, typer.Option(help="seconds to wait for refreshes before showing the table")] = 900,
) -> None:
    """Run UNO end to end on the embedded default: stack, worker, a simulated sample, modules, two proxied queries."""
    from streams.evaluation.demo import run_demo

    try:
        run_demo(console, settings().data_path, sample, timeout)
    except (StackError, AssertionError) as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None


@app.command("eval")
def evaluate(
    stream: Annotated[
        Path, typer.Argument(help="events to replay (JSONL of InteractionEvents, one namespace)")
    ] = DEMO_SAMPLE,
    truth: Annotated[
        Optional[Path], typer.Option(help="ground truth (default: STREAM.truth.json, written by `uno simulate`)")
    ] = None,
    preset: Annotated[
        str,
        typer.Option(
            help="worker settings: 'configured' (your UNO_* settings) or 'demo' "
            "(the demo's coarser clusters and small batches)"
        ),
    ] = "configured",
    flush_after: Annotated[
        float,
        typer.Option(help="refresh a cluster's last logs after this many seconds (UNO_REFRESH_MAX_AGE_S for the run)"),
    ] = 20,
    match_threshold: Annotated[
        float, typer.Option(help="cosine similarity at which a rule states a hidden preference")
    ] = 0.6,
    judge_endpoint: Annotated[
        Optional[str],
        typer.Option(
            help="an OpenAI-compatible /v1 URL: judge answers with modules vs without vs RAG (key: UNO_JUDGE_API_KEY)"
        ),
    ] = None,
    judge_model: Annotated[str, typer.Option(help="the judge's model name (default: UNO_LLM_MODEL)")] = "",
    judge_limit: Annotated[int, typer.Option(help="held-out queries to judge")] = 20,
    out: Annotated[
        Optional[Path],
        typer.Option(help="where to write the JSON report (default: UNO_DATA_DIR/eval/<stream>-<time>.json)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the JSON report instead of the table")] = False,
    timeout: Annotated[float, typer.Option(help="seconds to wait for ingest and refreshes")] = 1800,
) -> None:
    """Replay a stream through the real pipeline and score it: clusters, routing, rules, LLM cost, judge."""
    import json
    import os
    import time

    import msgspec

    from processors.embedders import make_embedder
    from streams.evaluation.demo import DEMO_SETTINGS
    from streams.evaluation.evaluate import EvalOptions, print_report, run_eval
    from streams.evaluation.simulate import Truth

    s = settings()
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
    worker_settings = {
        **(DEMO_SETTINGS if preset == "demo" else {"topic_partitions": 1}),
        "refresh_max_age_s": flush_after,
        "tick_interval_s": min(5.0, flush_after / 4),
    }
    opts = EvalOptions(
        match_threshold=match_threshold,
        judge_endpoint=judge_endpoint,
        judge_model=judge_model or s.llm_model,
        judge_api_key=os.environ.get("UNO_JUDGE_API_KEY", ""),
        judge_limit=judge_limit,
        answer_model=s.llm_model,
        timeout_s=timeout,
    )
    embedder = make_embedder(s)
    report_console = err if as_json else console
    try:
        report = run_eval(
            report_console, s.data_path, stream, ground, embedder.embed, embedder.id, opts, **worker_settings
        )
    except (StackError, AssertionError, ValueError, OSError) as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    out = out or s.data_path / "eval" / f"{stream.stem}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    if as_json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print_report(console, report)
        console.print(f"report: {out}")
