"""The framework's own ceiling: a Faust worker that takes the input records and does nothing else with them.

    python -m bench.bare_worker        # run by `bench.ingest` as a child, configured by UNO_* variables

The same Faust app as `uno worker` (`streams.worker.app.make_app`: settings, store, group, topics) and
the same batching (`take_events(ingest_batch_max, within=ingest_batch_within_s)`), but the agent only
counts the records, or, with ``UNO_BENCH_WRITES=N``, also writes N table keys per record (the first one
the record's bytes, the others a 32-byte value), as the worker's ingest wrote the log and the event id
of each event until 2026-12-02 (it now writes the log alone: `processors.ingest.Ingest._first_interaction`).
What `bench.ingest` measures through it is what Faust, aiokafka and the broker cost on this machine
with no UNO logic at all: the ceiling for the worker's null-embedder rate.
``GET /bench/count`` says how many records were taken.
"""

from __future__ import annotations

import os

import faust

from streams.kafka import ensure_topics, topic_name
from streams.worker.app import enter_event, make_app, table
from streams.worker.ingest import Record, Source
from uno_models import load_settings


def main() -> None:
    s = load_settings()
    broker = os.environ["UNO_BROKER_URL"]
    writes = int(os.environ.get("UNO_BENCH_WRITES", "0"))
    ensure_topics(s, broker)
    app = make_app(s, broker)
    logs = table(app, s, "ingest")  # the worker's own table name and changelog
    taken = [0]

    @app.agent(app.topic(topic_name(s, "interactions"), key_serializer="raw", value_serializer="raw"), name="bare")
    async def bare(stream):
        async for events in stream.take_events(s.ingest_batch_max, within=s.ingest_batch_within_s):
            for e in events:
                if writes:
                    enter_event(Record("interactions", e.message.value, Source("", 0, 0, None), e))
                    for i in range(writes):
                        logs[f"{taken[0]}/{i}"] = e.message.value if i == 0 else str(taken[0]).encode().rjust(32)
                taken[0] += 1

    @app.page("/bench/count")
    async def count(web, request):
        return web.json({"taken": taken[0]})

    faust.Worker(app, loglevel="info", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
