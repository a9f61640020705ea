"""`uno demo`: the whole loop on the embedded default, in a few minutes, on a bundled SIMULATED sample.

Starts the local stack (noida-db, llama.cpp + SmolLM2) unless it is up, a real worker process
(Qdrant local mode under its own run directory), replays the sample, shows events, clusters and
refreshes as they happen, prints the clusters -> modules table, answers an in-range and an
out-of-range query through the proxy, and stops what it started (Ctrl-C included). Every run uses
its own consumer group and topic prefix, so re-running starts from scratch.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
from rich.console import Console
from rich.table import Table

from streams.client import UnoClient
from streams.devstack.workerproc import WorkerProc
from streams.evaluation.runner import follow, local_worker

# Coarser clusters (the default ward_scale fragments a 70-event stream into ~35 clusters; 0.25 gives the
# 3 topics, ARI 0.77 against them), small batches and a short age trigger: modules in minutes.
DEMO_SETTINGS = {
    "topic_partitions": 1,
    "ward_scale": 0.25,
    "refresh_min_logs": 8,
    "refresh_max_age_s": 20,
    "tick_interval_s": 2,
    "min_support": 2,
    "min_users": 2,
    "max_user_share": 0.5,
    "refresh_revisions": 0,
    "reflective_mode": "selfcheck",
    "api_max_tokens": 96,
}


def run_demo(console: Console, data_dir: Path, sample: Path, timeout_s: float = 900.0) -> None:
    truth = json.loads(sample.with_suffix(".truth.json").read_text())
    events = [json.loads(line) for line in sample.read_text().splitlines() if line.strip()]
    namespace = truth["topics"][0]["namespace"]
    console.rule("[bold]UNO demo[/] (the sample is SIMULATED: real queries, simulated users and feedback)")
    with local_worker(console, data_dir, "demo", **DEMO_SETTINGS) as worker:
        worker.produce("interactions", [(e["namespace"].encode(), json.dumps(e).encode()) for e in events])
        console.print(f"replayed {len(events)} events from {sample.name} into {worker.topic('interactions')}")
        mode = worker.get("/healthz").get("rules", "unknown")
        console.print(f"rules from: [bold]{mode}[/] (the users' own words; an LLM, if any, may only rephrase them)")
        follow(console, worker, namespace, len(events), timeout_s)
        _show_modules(console, worker, namespace)
        _show_preferences(console, truth)
        _ask(console, worker, truth)
        console.print(
            f"\nPrometheus metrics: http://127.0.0.1:{worker.port}/metrics  (the worker stops when the "
            f"demo ends; its data stays under {worker.root})"
        )


def _show_modules(console: Console, w: WorkerProc, namespace: str) -> None:
    modules = {m.cluster_id: msgspec.to_builtins(m) for m in w.client.modules(namespace)}
    table = Table(title=f"clusters -> modules in namespace {namespace!r}")
    for name in ("cluster", "logs", "module", "ver.", "gap", "logs/users"):
        table.add_column(name)
    # a rule in Chinese has no spaces to wrap at: folded, never cut to "请用第二人称…"
    table.add_column("top rules", overflow="fold", ratio=1)
    for c in sorted(w.client.clusters(namespace), key=lambda c: -c["logs"]):
        m = modules.get(c["cluster_id"])
        if m is None:
            table.add_row(
                str(c["cluster_id"]), str(c["logs"]), "-", "", "", "", "(no rule passed the noise filter yet)"
            )
            continue
        support = m.get("support", {})
        rules = "\n".join(f"- {r['text'][:90]}" for r in m.get("rules", [])[:3])
        table.add_row(
            str(c["cluster_id"]),
            str(c["logs"]),
            m["kind"],
            str(m["version"]),
            f"{m['gap_score']:.2f}",
            f"{support.get('feedback_logs', 0)}/{support.get('users', 0)}",
            rules,
        )
    console.print(table)


def _show_preferences(console: Console, truth: dict) -> None:
    """What the simulated users wanted, to compare with the table above (the pipeline never saw it)."""
    console.print("hidden preferences of the simulated users (ground truth, never shown to the pipeline):")
    for topic in truth["topics"]:
        console.print(f"  {topic['topic']}: " + "; ".join(topic["preferences"]))


def _ask(console: Console, w: WorkerProc, truth: dict) -> None:
    uno = UnoClient(f"http://127.0.0.1:{w.port}", namespace=truth["topics"][0]["namespace"], token="")
    in_range = next(
        (q for t in truth["topics"] for q in t["held_out_queries"] if uno.retrieve(q).reason == "hit"),
        truth["topics"][0]["held_out_queries"][0],
    )
    chat = uno.openai()
    for label, query in (
        ("a new query of a known topic", in_range),
        ("an unrelated query", truth["out_of_range_query"]),
    ):
        raw = chat.chat.completions.with_raw_response.create(
            model="smollm2-135m-instruct", messages=[{"role": "user", "content": query}]
        )
        answer = raw.parse().choices[0].message.content or ""
        console.rule(f"proxy: {label}")
        console.print(f"[bold]query[/]: {query[:160]}{'...' if len(query) > 160 else ''}")
        console.print(
            f"[bold]retrieval[/]: {raw.headers['X-UNO-Retrieval']}   [bold]module applied[/]: "
            f"{raw.headers['X-UNO-Module']}   [bold]event id[/]: {raw.headers['X-UNO-Event-Id']}"
        )
        console.print(f"[bold]answer[/]: {answer.strip()[:400]}")
    uno.close()
