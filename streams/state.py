"""Typed views over the worker's tables (Faust tables backed by changelog topics; dicts in unit tests).

Values are msgpack-encoded Structs; keys are strings that always begin with the namespace, so one
namespace's state can never be read through another's key, and every key of a namespace is written
from that namespace's partition (Faust writes a table change to the partition of the event being
processed, which is what makes recovery after a restart or rebalance land on the right worker).
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Generic, TypeVar

import msgspec

T = TypeVar("T")


class TypedTable(Generic[T]):
    def __init__(self, table: MutableMapping, type_: type[T]):
        self.table = table
        self.type = type_
        self._decoder = msgspec.msgpack.Decoder(type_)
        self._encoder = msgspec.msgpack.Encoder()

    def get(self, key: str) -> T | None:
        raw = self.table.get(key)
        return None if raw is None else self._decoder.decode(raw)

    def put(self, key: str, value: T) -> None:
        self.table[key] = self._encoder.encode(value)

    def delete(self, key: str) -> None:
        if key in self.table:
            del self.table[key]

    def items_with_prefix(self, prefix: str) -> Iterator[tuple[str, T]]:
        """Local entries whose key starts with ``prefix`` (a scan: used by periodic work only)."""
        for key, raw in list(self.table.items()):
            if isinstance(key, str) and key.startswith(prefix):
                yield key, self._decoder.decode(raw)


def key(namespace: str, *parts: object) -> str:
    return "/".join([namespace, *(str(p) for p in parts)])
