"""A bounded local spool for records the request path must not lose nor wait for (the proxy's
interaction events).

`Spool.emit` writes the record ahead to a local SQLite file (stdlib, WAL) and hands it to the broker
in the background: the answer waits for that local write (~0.1 ms, not fsynced: it must outlive the
process, and a SIGKILL does not lose what the kernel was given), never for the broker. The copy is
deleted once the broker acknowledges the record. A record the broker does not acknowledge within
``timeout_s``, and every record emitted while older ones wait, is *spooled* (fsynced); `drain` sends
those in order once the broker is back and deletes each only after its acknowledgement. A record in
flight when the worker stops, or when it is killed, is spooled at the next start (one the producer
delivered anyway goes twice: delivery is at least once, and ingest de-duplicates by event id). The
spool holds at most ``max_bytes``: past that a record is dropped and counted
(``uno_spool_records_total{result="dropped"}``), never blocking the request; a disk that cannot take
the write-ahead copy (full) only leaves that record unprotected against a kill. Every write runs on
a thread of its own, in order, never on the event loop.

>>> import asyncio, tempfile
>>> async def down(role, key, value):
...     raise ConnectionError("broker down")
>>> async def demo():
...     spool = Spool(tempfile.mktemp(suffix=".sqlite"), down, max_bytes=1_000, timeout_s=0.1)
...     await spool.emit("interactions", "legal", b"{}")
...     await spool.settle()
...     return spool.records
>>> asyncio.run(demo())
1
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from streams.worker.metrics import Metrics

log = logging.getLogger(__name__)

Deliver = Callable[[str, str, bytes], Awaitable[None]]


class Spool:
    def __init__(
        self,
        path: str | Path,
        deliver: Deliver,
        metrics: Metrics | None = None,
        max_bytes: int = 64 * 1024 * 1024,
        timeout_s: float = 10.0,
    ):
        self.deliver = deliver
        self.metrics = metrics or Metrics()
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        for table in ("spool", "inflight"):
            columns = "id INTEGER PRIMARY KEY AUTOINCREMENT, role TEXT, key TEXT, value BLOB"
            self.db.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
        with self.db:  # records in flight when the process ended (killed, or stopped): spooled, in their order
            self.db.execute("BEGIN")
            moved = self.db.execute(
                "INSERT INTO spool (role, key, value) SELECT role, key, value FROM inflight ORDER BY id"
            ).rowcount
            self.db.execute("DELETE FROM inflight")
        if moved:
            self.metrics.spool_records.labels("spooled").inc(moved)
            log.warning("spool: %d record(s) were in flight when the worker last stopped: spooled", moved)
        # The write-ahead copies: a connection of their own, not fsynced (a kill keeps what the kernel has).
        self.ahead = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.ahead.execute("PRAGMA synchronous=NORMAL")
        self.records, self.bytes = self.db.execute(
            "SELECT count(*), coalesce(sum(length(value)), 0) FROM spool"
        ).fetchone()
        self._inflight: dict[asyncio.Task, tuple[str, str, bytes, int | None]] = {}  # rowid of its copy
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="uno-spool")  # one: keeps the order
        self._show()

    async def emit(self, role: str, key: str, value: bytes) -> None:
        """Send in the background; spooled if the broker does not take it (or older records wait)."""
        if self.records:
            await self._put(role, key, value)  # keep the order: the drain sends it after the older ones
            return
        rowid = await self._write_ahead(role, key, value)
        task = asyncio.create_task(self._send(role, key, value, rowid))
        self._inflight[task] = (role, key, value, rowid)
        task.add_done_callback(lambda done: self._inflight.pop(done, None))

    async def drain(self, batch: int = 64) -> int:
        """Send the spooled records, oldest first, deleting each once acknowledged; returns how many
        went. Stops at the first the broker does not take (tried again at the next call)."""
        sent = 0
        while self.records:
            rows = await self._db("SELECT id, role, key, value FROM spool ORDER BY id LIMIT ?", (batch,))
            for rowid, role, key, value in rows:
                try:
                    await asyncio.wait_for(self.deliver(role, key, value), self.timeout_s)
                except Exception as err:  # the broker still down: keep it, try later
                    log.debug("spool: the broker did not take a record yet: %r", err)
                    return sent
                await self._db("DELETE FROM spool WHERE id = ?", (rowid,))
                self._release(value, "replayed")
                sent += 1
        return sent

    async def settle(self) -> None:
        """Wait for the records in flight (acknowledged or spooled)."""
        if self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)

    def close(self) -> None:
        """The worker stops: records still in flight keep their write-ahead copies, spooled at the next
        start (one the producer delivers anyway is sent twice; ingest de-duplicates)."""
        inflight, self._inflight = self._inflight, {}
        self._writer.shutdown(wait=True)
        for task, (role, key, value, rowid) in inflight.items():
            if not task.done():
                with contextlib.suppress(RuntimeError):  # the loop may be closed already
                    task.cancel()
                if rowid is None:  # the disk refused its copy: one more try
                    with contextlib.suppress(sqlite3.Error):
                        self._copy(role, key, value)
        for db in (self.ahead, self.db):
            with contextlib.suppress(sqlite3.Error):
                db.close()

    def _copy(self, role: str, key: str, value: bytes) -> int:
        """The write-ahead copy of a record in flight; its row id."""
        return self.ahead.execute(
            "INSERT INTO inflight (role, key, value) VALUES (?, ?, ?)", (role, key, value)
        ).lastrowid

    async def _drop_copy(self, rowid: int | None) -> None:
        if rowid is not None:
            with contextlib.suppress(sqlite3.Error, RuntimeError):  # a copy left behind is sent twice, at worst
                await self._db("DELETE FROM inflight WHERE id = ?", (rowid,), self.ahead)

    async def _write_ahead(self, role: str, key: str, value: bytes) -> int | None:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._writer, self._copy, role, key, value)
        except (sqlite3.Error, RuntimeError) as err:  # a full disk: sent all the same, unprotected
            log.error("spool: no write-ahead copy of a %s record (%r)", role, err)
            return None

    async def _send(self, role: str, key: str, value: bytes, rowid: int | None) -> None:
        try:
            await asyncio.wait_for(self.deliver(role, key, value), self.timeout_s)
        except asyncio.CancelledError:
            raise  # close(): the copy stays, spooled at the next start
        except Exception as err:
            log.warning("the broker did not take a %s record (%r): spooled", role, err)
            await self._put(role, key, value, rowid)
            return
        await self._drop_copy(rowid)

    async def _put(self, role: str, key: str, value: bytes, rowid: int | None = None) -> None:
        if not self._reserve(role, value):
            await self._drop_copy(rowid)  # dropped and counted: its copy must not come back at the next start
            return
        try:  # queued behind any earlier write or drain read: the spool's order is the emit order
            await asyncio.get_running_loop().run_in_executor(self._writer, self._insert, role, key, value, rowid)
        except (sqlite3.Error, RuntimeError) as err:  # a full disk; the writer shut down (the worker stops)
            self._release(value, "dropped")
            log.error("spool: a %s record could not be written (%r) and was dropped", role, err)

    def _reserve(self, role: str, value: bytes) -> bool:
        """Count the record in (on the loop, before it is written: a later emit sees it waiting)."""
        if self.bytes + len(value) > self.max_bytes:
            self.metrics.spool_records.labels("dropped").inc()
            log.error("spool full (%d bytes): a %s record was dropped", self.bytes, role)
            return False
        self.records += 1
        self.bytes += len(value)
        self.metrics.spool_records.labels("spooled").inc()
        self._show()
        return True

    def _release(self, value: bytes, result: str) -> None:
        self.records -= 1
        self.bytes -= len(value)
        self.metrics.spool_records.labels(result).inc()
        self._show()

    def _insert(self, role: str, key: str, value: bytes, rowid: int | None = None) -> None:
        """Spool a record (fsynced), dropping its write-ahead copy in the same transaction."""
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("INSERT INTO spool (role, key, value) VALUES (?, ?, ?)", (role, key, value))
            if rowid is not None:
                self.db.execute("DELETE FROM inflight WHERE id = ?", (rowid,))

    async def _db(self, sql: str, args: tuple, db: sqlite3.Connection | None = None) -> list:
        db = db or self.db
        return await asyncio.get_running_loop().run_in_executor(self._writer, lambda: db.execute(sql, args).fetchall())

    def _show(self) -> None:
        self.metrics.spool_pending.set(self.records)
        self.metrics.spool_bytes.set(self.bytes)
