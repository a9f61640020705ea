"""An embeddings endpoint that fails mid-stream loses no event (issue 15's first finding).

Before batched ingest handled dependency failures, a worker whose OpenAI-compatible embeddings
endpoint answered 503 for a minute got 20 events, its agent crashed and restarted 9 times, and 9 of
the 20 events were in neither the state nor the DLQ. Here a real worker embeds through a real HTTP
endpoint (USE-m3 behind the OpenAI embeddings API) that is switched to 503 mid-stream: the worker
waits (visibly: `uno_ingest_blocked`), survives a SIGKILL while it waits, and ends with every event
in its state, none in the DLQ, none counted twice.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psutil
import pytest

from processors.embedders.process import default_processes
from processors.embedders.usem3 import USEm3Embedder
from streams.kafka import read_all
from tests.processors.test_embedders import embedder_children
from tests.streams.sample import LEGAL_FEEDBACK, interactions
from tests.streams.test_worker import logs_in_clusters, records

pytestmark = [pytest.mark.infra, pytest.mark.faults]


class EmbeddingsEndpoint:
    """`POST /v1/embeddings` with the real USE-m3 model; ``down`` makes it answer 503 like an outage."""

    def __init__(self, model):
        self.model, self.down, self.refused = model, False, 0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if endpoint.down:
                    endpoint.refused += 1
                    return self._reply(503, {"error": {"message": "unavailable", "type": "server_error"}})
                texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
                vectors = endpoint.model.embed(texts)
                data = [{"object": "embedding", "index": i, "embedding": v.tolist()} for i, v in enumerate(vectors)]
                usage = {"prompt_tokens": 0, "total_tokens": 0}
                return self._reply(200, {"object": "list", "data": data, "model": body["model"], "usage": usage})

            def _reply(self, status: int, payload: dict) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"

    def close(self) -> None:
        self.server.shutdown()


def test_an_embedder_outage_mid_stream_and_a_kill_during_it_lose_no_event(worker_factory, broker):
    endpoint = EmbeddingsEndpoint(USEm3Embedder())
    try:
        w = worker_factory(
            "outage",
            llm=None,
            embedder="openai",
            embed_base_url=endpoint.url,
            embed_model="usem3",
            refresh_min_logs=1000,
        ).start()
        first = interactions("legal", prefix="a", n_legal=8)
        w.produce("interactions", records(first))
        w.wait_for(lambda: logs_in_clusters(w, "legal") == 8, 120, "the first 8 events")

        endpoint.down = True  # mid-stream: 20 events arrive while the endpoint answers 503
        second = interactions("legal", prefix="b", n_legal=12) + interactions(
            "kitchen", prefix="k", n_legal=0, n_cooking=8
        )
        w.produce("interactions", records(second))
        w.wait_for(lambda: w.metric("uno_ingest_blocked", dependency="embedder") == 1, 120, "ingest waiting, visibly")
        assert w.metric("uno_ingest_retries_total", dependency="embedder") >= 1
        w.stop(signal.SIGKILL)  # killed while it waits: the batch was never acknowledged

        endpoint.down = False
        w.start()
        w.wait_for(lambda: logs_in_clusters(w, "legal") == 20, 180, "all 20 legal events after the outage")
        w.wait_for(lambda: logs_in_clusters(w, "kitchen") == 8, 60, "all 8 kitchen events after the outage")
        assert endpoint.refused > 0
        assert read_all(broker, w.topic("dlq")) == []  # none of them dead-lettered: the endpoint was at fault
        assert w.metric("uno_ingest_blocked", dependency="embedder") == 0
    finally:
        endpoint.close()


def test_serving_answers_without_a_module_while_the_embedder_is_down(worker_factory, llm_base_url):
    """The query embedding fails (the embeddings endpoint answers 503): retrieval says ``unavailable``
    and the proxy still answers, without a module; both counted."""
    endpoint = EmbeddingsEndpoint(USEm3Embedder())
    try:
        w = worker_factory(
            "serving",
            llm=None,
            upstream_base_url=llm_base_url,
            embedder="openai",
            embed_base_url=endpoint.url,
            embed_model="usem3",
        ).start()
        w.produce("interactions", records(interactions("legal", prefix="a", n_legal=8)))
        w.wait_for(lambda: w.metric("uno_modules_published_total") >= 1, 240, "a module")
        assert w.client.retrieve("Can my landlord evict me without notice?", namespace="legal").reason == "hit"

        endpoint.down = True
        assert w.client.retrieve("Is a spoken agreement binding?", namespace="legal").reason == "unavailable"
        chat = w.client.openai(max_retries=0, timeout=60)
        raw = chat.chat.completions.with_raw_response.create(
            model="m",
            messages=[{"role": "user", "content": "How long does a patent last?"}],
            max_tokens=8,
            extra_headers={"X-UNO-Namespace": "legal"},
        )
        assert raw.http_response.status_code == 200 and raw.headers["X-UNO-Retrieval"] == "unavailable"
        assert w.metric("uno_retrievals_total", result="unavailable") == 2
    finally:
        endpoint.close()


def test_the_embedders_process_killed_mid_stream_loses_no_event(worker_factory, broker):
    """The worker's local embedder runs in child processes (`ProcessEmbedder`, one per CPU). Killed
    all at once (as the kernel's OOM killer would) while the worker ingests, the batch in hand fails
    as an embedder outage and is retried, and new children take their places: every event in the
    state once, none in the DLQ."""

    def distinct(events: list[dict]) -> list[dict]:  # a text per event: the children are busy
        return [e | {"query": f"{e['query']} (case {i})"} for i, e in enumerate(events)]

    w = worker_factory("child", llm=None, refresh_min_logs=1000).start()
    w.produce("interactions", records(interactions("legal", prefix="a", n_legal=8)))
    w.wait_for(lambda: logs_in_clusters(w, "legal") == 8, 120, "the first 8 events")
    children = embedder_children(psutil.Process(w.proc.pid))
    assert len(children) == default_processes()  # one per CPU, at most 4

    w.produce("interactions", records(distinct(interactions("legal", prefix="b", n_legal=400))))
    w.wait_for(lambda: logs_in_clusters(w, "legal") >= 40, 120, "ingest under way")
    for child in children:  # inside an embedding call (the batch is retried) or between calls (replaced
        child.kill()  # before the next): timing decides; the unit tests of ProcessEmbedder take each apart
    w.wait_for(lambda: logs_in_clusters(w, "legal") == 408, 180, "all 408 events")
    w.produce("interactions", records(distinct(interactions("kitchen", prefix="k", n_legal=0, n_cooking=64))))
    w.wait_for(lambda: logs_in_clusters(w, "kitchen") == 64, 120, "64 events after the kill")

    retries = w.metric("uno_ingest_retries_total", dependency="embedder")  # >= 1 when a call was cut
    assert w.metric("uno_embedder_restarts") == len(children)  # each replaced: in its failed call, or before its next
    assert w.metric("uno_events_total", kind="interaction", result="ok") == 472  # none twice
    assert read_all(broker, w.topic("dlq")) == []
    now = embedder_children(psutil.Process(w.proc.pid))
    assert len(now) == len(children) and not {c.pid for c in children} & {c.pid for c in now}
    print(f"{len(children)} embedder children killed: 472 events, 0 lost, 0 twice, {retries:.0f} batch retries")


def test_a_worker_starts_while_its_embeddings_endpoint_is_down_and_ingests_when_it_returns(worker_factory, broker):
    """With ``UNO_EMBED_DIM`` the worker does not ask the endpoint for the vector size at start, so a
    worker (re)started during an embeddings outage comes up: its API answers (retrieval
    ``unavailable``), ingest waits for the endpoint, visibly, and takes every event once it is back.
    Without it the worker cannot know the size and refuses to start, with the setting in its message."""
    endpoint = EmbeddingsEndpoint(USEm3Embedder())
    endpoint.down = True
    settings = {"llm": None, "embedder": "openai", "embed_base_url": endpoint.url, "embed_model": "usem3"}
    try:
        unsized = worker_factory("unsized", **settings)
        with pytest.raises(AssertionError, match="UNO_EMBED_DIM"):
            unsized.start(timeout=60)

        w = worker_factory("sized", embed_dim=endpoint.model.dim, refresh_min_logs=1000, **settings).start()
        w.produce("interactions", records(interactions("legal", prefix="a", n_legal=8)))
        w.wait_for(lambda: w.metric("uno_ingest_blocked", dependency="embedder") == 1, 120, "ingest waiting, visibly")
        assert w.client.retrieve("Can my landlord evict me without notice?", namespace="legal").reason == "unavailable"
        assert logs_in_clusters(w, "legal") == 0

        endpoint.down = False
        w.wait_for(lambda: logs_in_clusters(w, "legal") == 8, 180, "all 8 events once the endpoint is back")
        assert read_all(broker, w.topic("dlq")) == []
        assert w.metric("uno_ingest_blocked", dependency="embedder") == 0
    finally:
        endpoint.close()


def test_the_embedders_process_killed_during_a_refresh_retries_the_refresh_and_publishes(worker_factory, broker):
    """A refresh embeds its statements with the same children as ingest. Here every child is stopped
    (SIGSTOP) once ingest is done, so the refresh that the age trigger starts next is caught inside its
    embedding call; the children are then killed (SIGKILL). The refresh fails as an embedder outage
    (`uno_refresh_failures_total{reason="embedder"}`), is retried with new children, and publishes the
    users' own words; the request is never dead-lettered."""
    w = worker_factory("refresh", llm=None, refresh_min_logs=1000, refresh_max_age_s=6).start()
    w.produce("interactions", records(interactions("legal", prefix="a", n_legal=12)))
    w.wait_for(lambda: logs_in_clusters(w, "legal") == 12, 120, "the 12 events ingested")
    children = embedder_children(psutil.Process(w.proc.pid))
    for child in children:  # before the age trigger (6 s): whatever the refresh embeds waits on a stopped child
        child.suspend()
    w.wait_for(lambda: w.metric("uno_refreshes_running") == 1, 60, "a refresh in its embedding call")
    time.sleep(2)
    assert w.metric("uno_modules_published_total") == 0 and w.metric("uno_refresh_failures_total") == 0
    for child in children:
        child.kill()
    w.wait_for(lambda: w.metric("uno_refreshes_total", outcome="published") >= 1, 180, "the refresh, retried")

    assert w.metric("uno_refresh_failures_total", reason="embedder") >= 1
    assert w.metric("uno_embedder_restarts") == len(children)
    (module,) = w.get("/v1/modules?namespace=legal")["modules"]
    said = " ".join(LEGAL_FEEDBACK).lower()  # a rule is a user's request, as said ("Please" aside)
    assert module["rules"] and all(r["text"].lower() in said for r in module["rules"])
    assert read_all(broker, w.topic("dlq")) == []
    now = embedder_children(psutil.Process(w.proc.pid))
    assert len(now) == len(children) and not {c.pid for c in children} & {c.pid for c in now}
