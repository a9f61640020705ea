"""Serving latency: retrieval p50/p99 with 1k and 10k modules, and the chat proxy's overhead.

    python -m bench.serving [--queries 200] [--proxy-requests 20] [--no-proxy]

Retrieval: modules are published into a Qdrant local-mode store (as the worker's) at the centroids
of random groups of real replay queries plus noise; then held-out real queries are retrieved with
the default embedder (what `/v1/retrieve` does): ``retrieve_new`` (a query not seen before: embed +
search), ``retrieve_repeat`` (the same queries again: the embedding comes from the retriever's
cache), ``search`` (the in-memory index alone) against the baseline measured in the same run,
``search_qdrant`` (the same search as a Qdrant query, what retrieval did before the index), and
``embed_only``.

Proxy overhead: the local stack (broker, llama.cpp SmolLM2) and a real worker process; a chat
request (max_tokens 16, temperature 0) is sent straight to the LLM server and through the proxy
(`/v1/chat/completions`: retrieval, upstream call, interaction event queued for Kafka), in turn and
in alternating order (the server's prompt cache favours whichever goes second). ``repeated``: the
same question every time (the query embedding comes from the cache); ``new``: a different real
replay question each round (the proxy embeds it). Overhead = proxy p50 - direct p50 over the same
interleaved requests.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from bench.common import QUERY_CHARS, emit, load_replay
from processors.embedders import make_embedder
from processors.retrieve import Retriever
from processors.store import ModuleStore, _only
from uno_models import ExperienceModule, ModuleKind, ModulePublished, Settings


def percentiles(samples: list[float]) -> dict:
    ms = np.asarray(samples) * 1e3
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p99_ms": round(float(np.percentile(ms, 99)), 2)}


def timed(fn, items) -> list[float]:
    out = []
    for item in items:
        t0 = time.perf_counter()
        fn(item)
        out.append(time.perf_counter() - t0)
    return out


def retrieval(rows: list[dict], embedder, n_modules: int, queries: list[str]) -> dict:
    rng = np.random.default_rng(n_modules)
    base = embedder.embed([r["query"][:QUERY_CHARS] for r in rows])
    with tempfile.TemporaryDirectory() as tmp:
        store = ModuleStore(embedder.id, embedder.dim, path=tmp)
        start = time.perf_counter()
        for i in range(n_modules):
            centroid = base[rng.choice(len(base), 5)].mean(axis=0) + rng.normal(0, 0.02, embedder.dim)
            module = ExperienceModule(
                namespace="bench",
                cluster_id=i,
                version=1,
                kind=ModuleKind.PRIMARY,
                gap_score=0.5,
                guidance="- a rule",
                embedder_id=embedder.id,
                created_at=0,
            )
            store.publish(ModulePublished(module=module, centroid=centroid.tolist(), published_at=0))
        publish_s = time.perf_counter() - start
        retriever = Retriever(embedder, store)
        retriever.retrieve("bench", "warm-up")
        embed = timed(lambda q: embedder.embed([q]), queries)
        new = timed(lambda q: retriever.retrieve("bench", q), queries)
        repeat = timed(lambda q: retriever.retrieve("bench", q), queries)
        vectors = [retriever.embed_query(q) for q in queries]
        search = timed(lambda v: store.search("bench", v, k=4), vectors)
        qdrant = timed(
            lambda v: store._client.query_points(  # the baseline: what search did before the index
                store.current, query=v.tolist(), query_filter=_only("bench"), limit=4, with_payload=True
            ),
            vectors,
        )
        store.close()
    return {
        "modules": n_modules,
        "retrieve_new": percentiles(new),
        "retrieve_repeat": percentiles(repeat),
        "search": percentiles(search),
        "search_qdrant": percentiles(qdrant),
        "embed_only": percentiles(embed),
        "search_speedup_p99": round(np.percentile(qdrant, 99) / np.percentile(search, 99), 1),
        "publish_ms_per_module": round(publish_s / n_modules * 1e3, 3),
    }


def proxy_overhead(requests: int, questions: list[str]) -> dict:
    import openai

    from streams.devstack.launcher import LocalStack
    from streams.devstack.workerproc import WorkerProc

    stack = LocalStack(Path(".uno"))
    services = stack.up()
    tag = uuid.uuid4().hex[:8]
    worker = WorkerProc(
        Path(tempfile.mkdtemp(prefix="uno-bench-")),
        services["broker"].address,
        services["llm"].url,
        f"bench-{tag}",
        f"bench{tag}.",
        f"bench-{tag}",
        topic_partitions=1,
    ).start()
    clients = {
        "direct": openai.OpenAI(base_url=services["llm"].url, api_key="none"),
        "proxy": openai.OpenAI(base_url=f"http://127.0.0.1:{worker.port}/v1", api_key="none"),
    }

    def interleaved(texts: list[str]) -> dict:
        samples: dict[str, list[float]] = {"direct": [], "proxy": []}
        for i, text in enumerate(texts):
            request = {
                "model": "smollm2-135m-instruct",
                "max_tokens": 16,
                "temperature": 0,
                "messages": [{"role": "user", "content": text}],
            }
            for name in ("direct", "proxy") if i % 2 else ("proxy", "direct"):
                t0 = time.perf_counter()
                clients[name].chat.completions.create(**request)
                if i:  # the first round warms both paths up
                    samples[name].append(time.perf_counter() - t0)
        d, p = percentiles(samples["direct"]), percentiles(samples["proxy"])
        return {
            "direct": d,
            "proxy": p,
            "overhead_p50_ms": round(p["p50_ms"] - d["p50_ms"], 2),
            "ratio_p50": round(p["p50_ms"] / d["p50_ms"], 3),
        }

    try:
        out = {
            "requests": requests,
            "repeated": interleaved(["Is a verbal contract legally binding?"] * (requests + 1)),
            "new": interleaved(questions[: requests + 1]),
        }
    finally:
        worker.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--proxy-requests", type=int, default=20)
    parser.add_argument("--no-proxy", action="store_true", help="skip the proxy part (needs the local stack)")
    args = parser.parse_args()
    rows = load_replay()
    rng = np.random.default_rng(0)
    held = [rows[i]["query"][:QUERY_CHARS] for i in rng.choice(len(rows), args.queries)]
    embedder = make_embedder(Settings())
    out = {"benchmark": "serving", "embedder": embedder.id}
    out["retrieval"] = [retrieval(rows, embedder, n, held) for n in (1_000, 10_000)]
    if not args.no_proxy:
        out["proxy"] = proxy_overhead(args.proxy_requests, [q[:300] for q in held])
    emit(out)


if __name__ == "__main__":
    main()
