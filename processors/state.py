"""State over a plain mapping, changed one record at a time: `State` (journalled transactions) and
`TypedTable` (msgpack-encoded Structs under ``kind:`` key prefixes).

In the worker the mapping is a changelog-backed Faust table; in tests and batch replays, a dict.
Keys are ``kind:namespace/...``, so one namespace's state can never be read through another's key,
and every key of a namespace is written from that namespace's partition (Faust writes a table
change to the partition of the record being processed, which is what makes recovery after a
restart or rebalance land on the right worker).

>>> state = State({})
>>> logs = TypedTable(state, int, "n")
>>> with state.txn("legal"):
...     logs.put(key("legal", "a"), 1)
>>> logs.get("legal/a"), sorted(state.table)
(1, ['journal:legal', 'n:legal/a'])
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Generic, TypeVar

import msgspec

from uno_models.stream import Journal

T = TypeVar("T")

MAX_JOURNAL_BYTES = 512 * 1024  # one changelog record; brokers refuse records over 1 MB by default

_DELETED = object()


class State(MutableMapping):
    """A table whose changes are applied a record at a time: a hard kill never leaves half a record.

    A record (an event, a feedback, a tick) can write a dozen keys. A SIGKILL cuts the changelog at an
    arbitrary point, so without care a restarted worker could recover an event marked seen whose
    cluster update was lost, and skip it as a duplicate. Inside ``txn(namespace)`` writes are buffered
    (reads see them); on exit they are written first as one journal record for the namespace, then
    key by key. All go to one changelog partition, whose order the producer keeps, so the changelog
    ends either before the journal (none of the record's writes survive; its offset was not
    committed either, so it is processed again) or after it (the journal's writes are applied again
    to complete it: they are whole values, so applying them twice is harmless). A transaction replays
    the namespace's journal first whenever it is not the one this process wrote last: after a
    restart, or after another worker held the partition.
    """

    def __init__(self, table: MutableMapping):
        self.table = table
        self._writes: dict[str, object] | None = None
        self._written: dict[str, bytes] = {}  # namespace -> the last journal this process wrote
        self.replayed = 0  # journals applied again after a restart or handover

    @contextmanager
    def txn(self, namespace: str) -> Iterator[None]:
        if self._writes is not None:
            raise RuntimeError("nested state transaction")
        self._replay(namespace)
        self._writes = {}
        try:
            yield
            writes, self._writes = self._writes, None
            if writes:
                changes = [(k, None if v is _DELETED else v) for k, v in writes.items()]
                self._commit(namespace, changes)
        finally:
            self._writes = None

    def _commit(self, namespace: str, changes: list[tuple[str, bytes | None]]) -> None:
        """Journal, then apply. A journal over ``MAX_JOURNAL_BYTES`` (a broker's record limit is 1 MB by
        default) goes in parts, each under a key named by its content, written before the head record
        that lists them: the head is the commit point, and the previous transaction's parts are deleted
        by this one's writes."""
        head_key = _journal_key(namespace)
        chunks = _chunks(changes, MAX_JOURNAL_BYTES - 1_024)
        parts = []
        for chunk in chunks[1:]:
            raw = msgspec.msgpack.encode(Journal(chunk))
            parts.append(f"{head_key}/{hashlib.blake2b(raw, digest_size=12).hexdigest()}")
            self.table[parts[-1]] = raw
        previous = self.table.get(head_key)
        stale = set(msgspec.msgpack.decode(previous, type=Journal).parts) - set(parts) if previous else set()
        head = [*chunks[0], *((k, None) for k in sorted(stale))]
        journal = msgspec.msgpack.encode(Journal(head, parts))
        self.table[head_key] = journal
        self._apply([*head, *(c for chunk in chunks[1:] for c in chunk)])
        self._written[namespace] = journal

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Inside a transaction: if the block raises, its writes are undone and the rest are kept
        (one bad record in a batch is dead-lettered without losing the others)."""
        if self._writes is None:
            raise RuntimeError("savepoint() only inside txn()")
        saved = dict(self._writes)
        try:
            yield
        except BaseException:
            if self._writes is not None:
                self._writes = saved
            raise

    def _replay(self, namespace: str) -> None:
        journal = self.table.get(_journal_key(namespace))
        if journal is not None and journal != self._written.get(namespace):
            head = msgspec.msgpack.decode(journal, type=Journal)
            parts = [msgspec.msgpack.decode(self.table[p], type=Journal).writes for p in head.parts]
            self._apply([*head.writes, *(c for part in parts for c in part)])
            self._written[namespace] = journal
            self.replayed += 1

    def _apply(self, changes: list[tuple[str, bytes | None]]) -> None:
        for k, v in changes:
            if v is None:
                if k in self.table:
                    del self.table[k]
            elif self.table.get(k) != v:
                self.table[k] = v

    # ------------------------------------------------------------------ mapping, with the open writes

    def __getitem__(self, k: str) -> bytes:
        if self._writes is not None and k in self._writes:
            v = self._writes[k]
            if v is _DELETED:
                raise KeyError(k)
            return v  # type: ignore[return-value]
        return self.table[k]

    def get(self, k: str, default=None):
        try:
            v = self[k]
        except KeyError:
            return default
        return default if v is None else v  # a Faust table with default=None answers None for a missing key

    def __setitem__(self, k: str, v: bytes) -> None:
        if self._writes is None:
            raise RuntimeError("state changes only inside txn()")
        self._writes[k] = v

    def __delitem__(self, k: str) -> None:
        if self._writes is None:
            raise RuntimeError("state changes only inside txn()")
        self._writes[k] = _DELETED

    def __iter__(self) -> Iterator[str]:
        writes = self._writes or {}
        yield from (k for k in list(self.table.keys()) if k not in writes)
        yield from (k for k, v in list(writes.items()) if v is not _DELETED)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def scan(self, prefix: str) -> Iterator[tuple[str, bytes]]:
        for k in self:
            if isinstance(k, str) and k.startswith(prefix):
                v = self.get(k)
                if v is not None:
                    yield k, v


def _journal_key(namespace: str) -> str:
    return f"journal:{namespace}"


def _chunks(changes: list[tuple[str, bytes | None]], limit: int) -> list[list[tuple[str, bytes | None]]]:
    """``changes`` in order, cut into runs whose encoded size stays under ``limit`` (one change may not)."""
    out: list[list[tuple[str, bytes | None]]] = [[]]
    size = 0
    for k, v in changes:
        n = len(k) + len(v or b"") + 16
        if out[-1] and size + n > limit:
            out.append([])
            size = 0
        out[-1].append((k, v))
        size += n
    return out


class TypedTable(Generic[T]):
    """One kind of value in a table: keys are prefixed with ``kind:`` (none for a table of its own),
    values are msgpack-encoded ``type_``."""

    def __init__(self, table: MutableMapping, type_: type[T], kind: str = ""):
        self.table = table
        self.type = type_
        self.prefix = f"{kind}:" if kind else ""
        self._decoder = msgspec.msgpack.Decoder(type_)
        self._encoder = msgspec.msgpack.Encoder()

    def get(self, key: str) -> T | None:
        raw = self.table.get(self.prefix + key)
        return None if raw is None else self._decoder.decode(raw)

    def has(self, key: str) -> bool:
        """Whether ``key`` holds a value (without decoding it)."""
        return self.table.get(self.prefix + key) is not None

    def put(self, key: str, value: T) -> None:
        self.table[self.prefix + key] = self._encoder.encode(value)

    def delete(self, key: str) -> None:
        if self.prefix + key in self.table:
            del self.table[self.prefix + key]

    def items_with_prefix(self, prefix: str) -> Iterator[tuple[str, T]]:
        """Entries whose key starts with ``prefix`` (a scan: used by periodic work only)."""
        full, cut = self.prefix + prefix, len(self.prefix)
        items = self.table.scan(full) if isinstance(self.table, State) else list(self.table.items())
        for k, raw in items:
            if isinstance(k, str) and k.startswith(full) and raw is not None:
                yield k[cut:], self._decoder.decode(raw)


def key(namespace: str, *parts: object) -> str:
    """The key of a namespace's entry: ``namespace/part/part``."""
    return "/".join([namespace, *(str(p) for p in parts)])
