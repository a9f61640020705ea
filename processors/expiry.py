"""When state expires, without scanning the table: a ledger per namespace and kind of key.

A key that expires (a stored log, a de-duplication id, orphan feedback) is appended, with the time it
is due, to its namespace's ledger when it is first written: a queue of small chunks in the state
itself (``expiry:namespace/kind/<seq>``, 64 entries each, and a head ``expiry:namespace/kind`` with
the first and last chunk), written in the same transaction as the key, so it survives a restart or
a handover with the rest of the state. A purge reads the ledger from its head while entries are due
and is O(entries due), where a scan of the table was O(everything retained) on every tick of every
namespace (a worker holding a day of logs spent most of its time scanning).

Entries are due in the order they were appended, nearly: a purge stops at the first entry not due
yet, so an entry behind a later one waits for it (an entry requeued after its key was found still in
use is due once more keys have expired). The caller checks each key it gets against its value (it
may have been deleted, rewritten, or be still in use) and requeues what must stay.

State written before this ledger existed has keys with no entries: the caller scans such a namespace
once (`backfill`, marked done in its metadata) and appends them, sorted by due time.

>>> from processors.state import State
>>> state = State({})
>>> ledger = Ledger(state, "seen")
>>> with state.txn("legal"):
...     ledger.add("legal", "e/1", due=10.0)
...     ledger.add("legal", "e/2", due=20.0)
>>> with state.txn("legal"):
...     ledger.expire("legal", now=15.0)
['e/1']
"""

from __future__ import annotations

from collections.abc import Iterable

from processors.state import State, TypedTable
from uno_models.stream import ExpiryChunk, ExpiryHead

CHUNK = 64  # entries per chunk: small enough that appending (a decode and an encode) stays cheap


class Ledger:
    """The expiry ledger of one kind of key (``log``, ``seen``, ``orphan``) in every namespace."""

    def __init__(self, state: State, kind: str):
        self.kind = kind
        self.heads = TypedTable(state, ExpiryHead, "expiry")
        self.chunks = TypedTable(state, ExpiryChunk, "expiry")

    def add(self, namespace: str, suffix: str, due: float) -> None:
        """Queue ``suffix`` (the key after ``kind:namespace/``) to be offered for expiry at ``due``."""
        head = self.heads.get(self._head(namespace))
        if head is None:
            head = ExpiryHead()
            self.heads.put(self._head(namespace), head)
        tail = self.chunks.get(self._chunk(namespace, head.last)) or ExpiryChunk()
        if len(tail.keys) >= CHUNK:
            head.last += 1
            tail = ExpiryChunk()
            self.heads.put(self._head(namespace), head)
        tail.due.append(due)
        tail.keys.append(suffix)
        self.chunks.put(self._chunk(namespace, head.last), tail)

    def expire(self, namespace: str, now: float, limit: int = 50_000) -> list[str]:
        """The suffixes due by ``now`` (at most ``limit``), taken off the ledger."""
        head = self.heads.get(self._head(namespace))
        if head is None:
            return []
        out: list[str] = []
        while len(out) < limit:
            k = self._chunk(namespace, head.first)
            chunk = self.chunks.get(k) or ExpiryChunk()
            n = 0
            while n < len(chunk.due) and chunk.due[n] <= now and len(out) + n < limit:
                n += 1
            out.extend(chunk.keys[:n])
            if n == len(chunk.keys):
                if n:
                    self.chunks.delete(k)  # used up
                if head.first < head.last:
                    head.first += 1
                    self.heads.put(self._head(namespace), head)
                    continue
            elif n:
                self.chunks.put(k, ExpiryChunk(due=chunk.due[n:], keys=chunk.keys[n:]))
            return out
        return out

    def backfill(self, namespace: str, entries: Iterable[tuple[float, str]]) -> None:
        """Queue keys written before the ledger existed (from one scan), oldest due first."""
        for due, suffix in sorted(entries):
            self.add(namespace, suffix, due)

    def _head(self, namespace: str) -> str:
        return f"{namespace}/{self.kind}"

    def _chunk(self, namespace: str, seq: int) -> str:
        return f"{namespace}/{self.kind}/{seq}"
