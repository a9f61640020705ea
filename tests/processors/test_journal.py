"""A transaction too big for one broker record (a rescale rewrites every cluster) is journalled in parts,
and a hard kill at any point still leaves all of it or none of it."""

from __future__ import annotations

import os

from processors.state import MAX_JOURNAL_BYTES, State


class Recorder(dict):
    """A dict that records each change, as the changelog topic receives them."""

    def __init__(self):
        super().__init__()
        self.log: list[tuple[str, bytes | None]] = []

    def __setitem__(self, k, v):
        self.log.append((k, v))
        super().__setitem__(k, v)

    def __delitem__(self, k):
        self.log.append((k, None))
        super().__delitem__(k)


def replayed(log: list[tuple[str, bytes | None]]) -> dict:
    table: dict = {}
    for k, v in log:
        if v is None:
            table.pop(k, None)
        else:
            table[k] = v
    return table


def big_txn(state: State, tag: bytes) -> dict[str, bytes]:
    values = {f"c:legal/{i}": tag + os.urandom(9_000) for i in range(256)}  # 256 clusters of 2 x 512 floats
    with state.txn("legal"):
        for k, v in values.items():
            state[k] = v
    return values


def test_a_transaction_over_the_record_limit_is_journalled_in_parts_all_or_nothing():
    table = Recorder()
    state = State(table)
    first = big_txn(state, b"1")
    start = len(table.log)
    second = big_txn(state, b"2")
    assert max(len(v) for _, v in table.log if v is not None) <= MAX_JOURNAL_BYTES
    assert sum(1 for k, _ in table.log[start:] if k.startswith("journal:")) > 2  # several parts
    for cut in range(start, len(table.log) + 1):  # a kill after any record of the second transaction
        recovered = State(replayed(table.log[:cut]))
        with recovered.txn("legal"):  # the next record replays the journal first
            seen = {k: recovered.get(k) for k in second}
        assert seen in (first, second), f"half a transaction after a kill at record {cut}"
    leftover = [k for k in table if k.startswith("journal:legal/")]
    assert len(leftover) == sum(1 for k, v in table.log[start:] if k.startswith("journal:legal/") and v)  # the last's
