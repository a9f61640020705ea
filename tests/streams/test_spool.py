"""The proxy's spool (pure logic over a scripted broker; the real broker outage is in tests/faults)."""

from __future__ import annotations

import asyncio

from streams.worker.metrics import Metrics
from streams.worker.spool import Spool


class Broker:
    """Acknowledges while ``up``; otherwise raises like a producer whose broker is gone, or never
    answers (``hang``) like one waiting for metadata."""

    def __init__(self):
        self.up, self.hang, self.got = True, False, []

    async def deliver(self, role: str, key: str, value: bytes) -> None:
        if self.hang:
            await asyncio.sleep(3600)
        if not self.up:
            raise ConnectionError("broker down")
        self.got.append(value)


def test_records_wait_on_disk_while_the_broker_is_down_and_go_in_order_when_it_returns(tmp_path):
    broker, metrics = Broker(), Metrics()

    async def outage() -> None:
        spool = Spool(tmp_path / "s.sqlite", broker.deliver, metrics, timeout_s=0.05)
        await spool.emit("interactions", "legal", b"0")
        await spool.settle()
        broker.up = False
        for i in range(1, 4):
            await spool.emit("interactions", "legal", str(i).encode())
            await spool.settle()
        broker.hang = True  # a send that never completes goes to the spool after the timeout
        await spool.emit("interactions", "legal", b"4")
        await spool.settle()
        assert await spool.drain() == 0 and spool.records == 4
        spool.close()  # a restart in the middle of the outage

    async def back() -> None:
        broker.up, broker.hang = True, False
        spool = Spool(tmp_path / "s.sqlite", broker.deliver, metrics, timeout_s=0.05)
        assert spool.records == 4
        await spool.emit("interactions", "legal", b"5")  # behind the older ones
        assert await spool.drain() == 5 and spool.records == 0 and spool.bytes == 0
        spool.close()

    asyncio.run(outage())
    asyncio.run(back())
    assert broker.got == [b"0", b"1", b"2", b"3", b"4", b"5"]
    assert metrics.spool_records.labels("replayed")._value.get() == 5
    assert metrics.spool_pending._value.get() == 0


def test_a_full_spool_drops_and_counts_instead_of_blocking_the_request(tmp_path):
    broker, metrics = Broker(), Metrics()
    broker.up = False

    async def run() -> int:
        spool = Spool(tmp_path / "s.sqlite", broker.deliver, metrics, max_bytes=10, timeout_s=0.05)
        for _ in range(4):
            await spool.emit("interactions", "legal", b"abcd")
            await spool.settle()
        return spool.records

    assert asyncio.run(run()) == 2
    assert metrics.spool_records.labels("dropped")._value.get() == 2


def test_a_record_in_flight_when_the_worker_stops_is_kept(tmp_path):
    broker = Broker()
    broker.hang = True

    async def run() -> None:
        spool = Spool(tmp_path / "s.sqlite", broker.deliver, timeout_s=60)
        await spool.emit("interactions", "legal", b"x")
        await asyncio.sleep(0.01)
        spool.close()

    asyncio.run(run())
    assert Spool(tmp_path / "s.sqlite", broker.deliver).records == 1


def test_a_slow_disk_never_stalls_the_event_loop(tmp_path):
    """The spool's writes (fsynced) run on their own thread: requests and heartbeats go on meanwhile."""
    broker = Broker()
    broker.up = False

    class SlowDisk(Spool):
        def _insert(self, role: str, key: str, value: bytes, rowid: int | None = None) -> None:
            import time

            time.sleep(0.3)  # an fsync on a busy disk
            super()._insert(role, key, value, rowid)

    async def run() -> tuple[int, int]:
        spool = SlowDisk(tmp_path / "s.sqlite", broker.deliver, timeout_s=0.01)
        ticks = 0

        async def heartbeat() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        beating = asyncio.create_task(heartbeat())
        await spool.emit("interactions", "legal", b"1")
        await spool.settle()  # spooled: 0.3 s on the writer thread
        await spool.emit("interactions", "legal", b"2")  # behind it: 0.3 s more
        beating.cancel()
        records = spool.records
        spool.close()
        return ticks, records

    ticks, records = asyncio.run(run())
    assert records == 2 and ticks >= 20  # the loop ran ~60 times in the 0.6 s of writes
    assert Spool(tmp_path / "s.sqlite", broker.deliver).records == 2


def test_a_full_disk_drops_and_counts_and_the_spool_works_again_once_space_is_back(small_disk):
    """A real full filesystem (a 16 MiB tmpfs) under the spool while the broker is down."""
    broker, metrics = Broker(), Metrics()
    broker.up = False
    dropped = metrics.spool_records.labels("dropped")

    async def run() -> None:
        spool = Spool(small_disk.path / "s.sqlite", broker.deliver, metrics, timeout_s=0.05)
        await spool.emit("interactions", "legal", b"before")
        await spool.settle()
        small_disk.fill()
        for i in range(3):  # the request path never raises or waits on the disk
            await spool.emit("interactions", "legal", b"x" * 200_000 + str(i).encode())
            await spool.settle()
        assert dropped._value.get() >= 1
        small_disk.free()
        await spool.emit("interactions", "legal", b"after")
        await spool.settle()
        broker.up = True
        await spool.drain()
        assert spool.records == 0 and spool.bytes == 0  # what was spooled went out, nothing is left behind
        spool.close()

    asyncio.run(run())
    assert broker.got[0] == b"before" and broker.got[-1] == b"after"
    assert len(broker.got) + dropped._value.get() == 5  # each record either delivered or counted dropped


KILLED = """
import asyncio, sys
from streams.worker.spool import Spool

async def hang(role, key, value):
    await asyncio.sleep(3600)  # the broker never acknowledges: the record stays in the producer's hands

async def main():
    spool = Spool(sys.argv[1], hang, timeout_s=3600)
    await spool.emit("interactions", "legal", b"answered")
    print("emitted", flush=True)  # what the proxy does next: answer the client
    await asyncio.sleep(3600)

asyncio.run(main())
"""


def test_a_record_answered_before_the_broker_took_it_survives_a_sigkill(tmp_path):
    """A real process killed (SIGKILL) after emit returned, its record in flight: spooled at the next start."""
    import signal
    import subprocess
    import sys

    path = tmp_path / "s.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "emitted"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    broker = Broker()

    async def restart() -> tuple[int, int]:
        spool = Spool(path, broker.deliver)
        records = spool.records
        sent = await spool.drain()
        spool.close()
        return records, sent

    assert asyncio.run(restart()) == (1, 1)
    assert broker.got == [b"answered"]
    assert Spool(path, broker.deliver).records == 0  # delivered once, nothing left behind


def test_a_disk_too_full_for_the_write_ahead_copy_still_sends_the_record(small_disk):
    """A real full filesystem while the broker is up: the record goes out without its copy, nothing raises."""
    broker, metrics = Broker(), Metrics()

    async def run() -> int:
        spool = Spool(small_disk.path / "s.sqlite", broker.deliver, metrics, timeout_s=1)
        small_disk.fill()
        for i in range(3):
            await spool.emit("interactions", "legal", b"x" * 200_000 + str(i).encode())
        await spool.settle()
        small_disk.free()
        records = spool.records
        spool.close()
        return records

    assert asyncio.run(run()) == 0
    assert [v[-1:] for v in broker.got] == [b"0", b"1", b"2"]  # all delivered, in order
    assert metrics.spool_records.labels("dropped")._value.get() == 0
