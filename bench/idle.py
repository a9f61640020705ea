"""What an idle consumer costs on the embedded broker: aiokafka as it is vs paced empty fetches.

    python -m bench.idle [--seconds 5]

The embedded broker (noida-db) answers a fetch at once when there is nothing to read instead of
holding it for ``fetch_max_wait_ms``, so aiokafka asks again at once. A bare aiokafka consumer at the
end of a topic, for ``--seconds``: fetch requests per second and CPU seconds per second of this
process, unpaced (the baseline, in the same run) and with `streams.worker.transport.paced`; then a
real worker (null embedder, no LLM) left idle, and the broker's CPU meanwhile.

    python -m bench.idle --namespaces 500 [--tick-seconds 120]

Also: a worker holding ``--namespaces`` namespaces with nothing pending (one event each, no
feedback): ticks handled per second, and the worker's and the broker's CPU, with quiet namespaces
ticked every ``UNO_QUIET_TICK_INTERVAL_S`` (the default) against every ``UNO_TICK_INTERVAL_S``
(how every namespace was ticked before: the baseline, in the same run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import tempfile
import time
import uuid
from pathlib import Path

import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.conn import AIOKafkaConnection

from bench.common import emit
from bench.ingest import cpu_seconds
from streams.devstack.launcher import LocalStack
from streams.devstack.workerproc import WorkerProc
from streams.kafka import make_producer, produce
from streams.worker.transport import EMPTY_FETCH_FLOOR_S, paced
from uno_models import Settings


def bare_consumer(address: str, seconds: float, pace: bool) -> dict:
    """A consumer at the end of a fresh topic, idle for ``seconds``: its fetch requests and CPU per
    second; then a record produced after the idle time, read back (``later``)."""
    fetches = 0
    send = AIOKafkaConnection.send

    def counting(self, request, expect_response=True):
        nonlocal fetches
        fetches += type(request).__name__.startswith("FetchRequest")
        return send(self, request, expect_response)

    async def run() -> dict:
        nonlocal fetches
        topic = f"idle-{uuid.uuid4().hex[:8]}"
        producer = AIOKafkaProducer(bootstrap_servers=address)
        await producer.start()
        await producer.send_and_wait(topic, b"one")
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=address, auto_offset_reset="earliest")
        await consumer.start()
        if pace:
            consumer._fetcher._proc_fetch_request = paced(consumer._fetcher._proc_fetch_request)
        try:
            await consumer.getone()
            fetches, before, started = 0, resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(consumer.getone(), seconds)  # nothing comes
            after, elapsed = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - started
            idle = fetches
            await producer.send_and_wait(topic, b"later")
            later = (await asyncio.wait_for(consumer.getone(), 10)).value
            await asyncio.sleep(EMPTY_FETCH_FLOOR_S / 5)  # idle again: the close below cancels a paced wait
        finally:
            await consumer.stop()
            await producer.stop()
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        return {
            "fetches_per_s": round(idle / elapsed, 1),
            "cpu_s_per_s": round(cpu / elapsed, 3),
            "later": later.decode(),
        }

    AIOKafkaConnection.send = counting
    try:
        return asyncio.run(run())
    finally:
        AIOKafkaConnection.send = send


def started_worker(root: Path, address: str, **settings) -> WorkerProc:
    """A worker with the null embedder and no LLM, on topics and a group of its own."""
    tag = uuid.uuid4().hex[:8]
    w = WorkerProc(
        root / tag, address, None, f"idle-{tag}", f"idle{tag}.", f"idle-{tag}", embedder="hashing", **settings
    )
    w.start(timeout=120)
    return w


def idle_worker(root: Path, address: str, broker: psutil.Process, seconds: float) -> dict:
    w = started_worker(root, address)
    try:
        time.sleep(5)  # past the start-up
        worker = psutil.Process(w.proc.pid)
        before = cpu_seconds(worker), cpu_seconds(broker)
        time.sleep(seconds)
        after = cpu_seconds(worker), cpu_seconds(broker)
    finally:
        w.stop()
    return {
        "worker_cpu_s_per_s": round((after[0] - before[0]) / seconds, 3),
        "broker_cpu_s_per_s": round((after[1] - before[1]) / seconds, 3),
    }


def quiet_namespaces(
    root: Path, address: str, broker: psutil.Process, n: int, seconds: float, every_tick: bool
) -> dict:
    """A worker whose ``n`` namespaces have nothing pending: ticks handled and CPU over ``seconds``."""
    settings = {"quiet_tick_interval_s": Settings().tick_interval_s} if every_tick else {}
    w = started_worker(root, address, **settings)
    try:
        events = [
            {"event_id": f"q{i}", "namespace": f"ns{i}", "timestamp": time.time(), "query": "How do I appeal?"}
            for i in range(n)
        ]
        produce(
            make_producer(address), w.topic("interactions"), [(json.dumps(e).encode(), e["namespace"]) for e in events]
        )
        w.wait_for(lambda: w.metric("uno_events_total", kind="interaction") >= n, 300, "every namespace written")
        time.sleep(2 * Settings().tick_interval_s)  # every namespace ticked once: known to be quiet
        worker = psutil.Process(w.proc.pid)
        ticks, cpu = w.metric("uno_events_total", kind="tick"), (cpu_seconds(worker), cpu_seconds(broker))
        time.sleep(seconds)
        ticks = w.metric("uno_events_total", kind="tick") - ticks
        cpu = (cpu_seconds(worker) - cpu[0], cpu_seconds(broker) - cpu[1])
    finally:
        w.stop()
    return {
        "namespaces": n,
        "ticks_per_s": round(ticks / seconds, 1),
        "worker_cpu_s_per_s": round(cpu[0] / seconds, 3),
        "broker_cpu_s_per_s": round(cpu[1] / seconds, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--namespaces", type=int, default=500, help="quiet namespaces held by one worker")
    parser.add_argument("--tick-seconds", type=float, default=120.0, help="how long to count ticks")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="uno-bench-") as tmp:
        root = Path(tmp)
        stack = LocalStack(root / "stack")
        try:
            service = stack.up(["broker"])["broker"]
            broker = psutil.Process(service.pid)
            unpaced = bare_consumer(service.address, args.seconds, pace=False)
            with_pacing = bare_consumer(service.address, args.seconds, pace=True)
            worker = idle_worker(root, service.address, broker, args.seconds * 2)
            every_tick = quiet_namespaces(root, service.address, broker, args.namespaces, args.tick_seconds, True)
            quiet = quiet_namespaces(root, service.address, broker, args.namespaces, args.tick_seconds, False)
        finally:
            stack.down()
    emit(
        {
            "benchmark": "idle",
            "empty_fetch_floor_s": EMPTY_FETCH_FLOOR_S,
            "bare_consumer": {"unpaced": unpaced, "paced": with_pacing},
            "ratios": {
                "fetches_unpaced_vs_paced": round(unpaced["fetches_per_s"] / max(with_pacing["fetches_per_s"], 0.1), 1),
                "cpu_unpaced_vs_paced": round(unpaced["cpu_s_per_s"] / max(with_pacing["cpu_s_per_s"], 0.001), 1),
                "ticks_every_tick_vs_quiet": round(every_tick["ticks_per_s"] / max(quiet["ticks_per_s"], 0.1), 1),
            },
            "quiet_namespaces": {"every_tick_interval": every_tick, "quiet_tick_interval": quiet},
            "idle_worker_paced": worker,
        }
    )


if __name__ == "__main__":
    main()
