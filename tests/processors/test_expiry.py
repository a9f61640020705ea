"""TTL purges read the expiry ledgers, not the table: their cost follows what is due, not what is kept."""

from __future__ import annotations

import msgspec

from processors.embedders.hashing import HashingEmbedder
from processors.expiry import CHUNK, Ledger
from processors.ingest import Ingest
from processors.state import State
from tests.streams.sample import interactions
from uno_models import Provenance, Settings, decode_feedback, decode_interaction

TTL = 100.0


class CountingTable(dict):
    """A dict that counts the values read and the keys iterated (what a scan costs)."""

    reads = 0
    iterated = 0

    def get(self, k, default=None):
        self.reads += 1
        return super().get(k, default)

    def __getitem__(self, k):
        self.reads += 1
        return super().__getitem__(k)

    def keys(self):
        self.iterated += len(self)
        return super().keys()


def ingest_with(table: dict, clock: list[float]) -> Ingest:
    settings = Settings(refresh_min_logs=1_000, feedback_ttl_s=TTL, dedupe_ttl_s=2 * TTL)
    return Ingest(settings, HashingEmbedder(64), table, clock=lambda: clock[0])


def feed(ingest: Ingest, events: list[dict], clock: list[float]) -> None:
    for i, e in enumerate(events):
        with ingest.txn(e["namespace"]):
            ingest.interaction(decode_interaction(msgspec.json.encode(e)), Provenance("in", 0, i, i))
        clock[0] += 1.0


def tick(ingest: Ingest, ns: str) -> None:
    with ingest.txn(ns):
        ingest.tick(ns)


def test_logs_ids_and_orphans_expire_when_due_and_referenced_logs_wait():
    clock = [1_000.0]
    ingest = ingest_with({}, clock)
    feed(ingest, interactions("legal", n_legal=6, feedback=False) + interactions("legal", prefix="x", n_legal=2), clock)
    orphan = b'{"event_id": "nobody", "namespace": "legal", "kind": "thumbs", "value": 1}'
    with ingest.txn("legal"):
        ingest.feedback(decode_feedback(orphan), Provenance("fb", 0, 0, 0), "f1")
    pending = {e for c in ingest.describe("legal") for e in ingest.work.get(f"legal/{c['cluster_id']}").pending}
    assert pending  # the two logs with feedback wait for a refresh

    clock[0] += TTL - 10  # nothing due yet
    tick(ingest, "legal")
    assert len(list(ingest.logs.items_with_prefix("legal/"))) == 8

    clock[0] += 20  # past the feedback TTL: logs without a use and the orphan go; pending ones stay
    tick(ingest, "legal")
    assert {k.split("/", 1)[1] for k, _ in ingest.logs.items_with_prefix("legal/")} == pending
    assert ingest.orphans.get("legal/nobody") is None
    assert ingest.seen.get("legal/e/e-legal-0") is not None  # ids are remembered longer (2 x TTL)

    clock[0] += TTL  # past the de-duplication TTL
    tick(ingest, "legal")
    assert ingest.seen.get("legal/e/e-legal-0") is None


def test_an_event_is_one_key_while_its_log_is_kept_and_its_id_after_until_the_dedupe_ttl():
    """Ingest wrote two keys per event (the log and the id), each a changelog record; the log now stands
    for the id while it is kept, and the purge that deletes it writes the id."""
    clock = [1_000.0]
    table: dict = {}
    ingest = ingest_with(table, clock)
    (event,) = interactions("legal", n_legal=1, feedback=False)
    feed(ingest, [event], clock)
    assert [k for k in table if not k.startswith(("expiry:", "meta:", "journal:"))] == ["log:legal/e-legal-0"]
    born = ingest.logs.get("legal/e-legal-0").stored_at
    feed(ingest, [event], clock)  # redelivered while its log is kept: a duplicate, the log untouched
    assert ingest.logs.get("legal/e-legal-0").stored_at == born and ingest.seen.get("legal/e/e-legal-0") is None

    clock[0] = born + TTL + 1  # past the feedback TTL: the log goes, its id stays, dated when it arrived
    tick(ingest, "legal")
    assert not ingest.logs.has("legal/e-legal-0") and ingest.seen.get("legal/e/e-legal-0") == born
    feed(ingest, [event], clock)  # redelivered after its log: still a duplicate
    assert not ingest.logs.has("legal/e-legal-0")
    late = b'{"event_id": "e-legal-0", "namespace": "legal", "kind": "thumbs", "value": 1}'
    with ingest.txn("legal"):
        ingest.feedback(decode_feedback(late), Provenance("fb", 0, 0, 0), "f9")
    assert ingest.orphans.get("legal/e-legal-0") is None  # too late, not an orphan waiting for its log

    clock[0] = born + 2 * TTL + 1  # past the de-duplication TTL, counted from its arrival
    tick(ingest, "legal")
    assert ingest.seen.get("legal/e/e-legal-0") is None


def test_a_purge_with_nothing_due_reads_a_few_keys_however_much_is_kept():
    reads = []
    for n in (50, 400):
        clock = [1_000.0]
        table = CountingTable()
        ingest = ingest_with(table, clock)
        feed(ingest, interactions("legal", n_legal=n, feedback=False), clock)
        clock[0] += TTL + 1
        tick(ingest, "legal")  # the first tick: nothing to backfill (a new namespace); the logs go, their ids stay
        table.reads = table.iterated = 0
        tick(ingest, "legal")
        reads.append(table.reads)
        assert table.iterated == 0  # no scan
    assert reads[0] == reads[1] < 40


def test_state_written_before_the_ledgers_is_backfilled_once_and_then_expires():
    clock = [1_000.0]
    ingest = ingest_with({}, clock)
    feed(ingest, interactions("legal", n_legal=5, feedback=False), clock)
    with ingest.txn("legal"):  # as an older version left it: the keys, no ledgers
        for k in [k for k in ingest.state if k.startswith("expiry:")]:
            del ingest.state[k]
    feed(ingest, interactions("legal", prefix="y", n_legal=1), clock)  # one to refresh
    meta = ingest.namespaces.get("legal")
    with ingest.txn("legal"):
        ingest.namespaces.put("legal", msgspec.structs.replace(meta, expiry_ledger=False))
    clock[0] += TTL + 10
    tick(ingest, "legal")
    assert ingest.namespaces.get("legal").expiry_ledger
    assert [k for k, _ in ingest.logs.items_with_prefix("legal/")] == ["legal/y-legal-0"]  # pending: kept


def test_the_ledger_walks_its_chunks_in_order_and_stops_at_the_first_not_due():
    state = State({})
    ledger = Ledger(state, "seen")
    with state.txn("n"):
        for i in range(3 * CHUNK + 5):
            ledger.add("n", f"k{i}", due=float(i))
    with state.txn("n"):
        assert ledger.expire("n", now=CHUNK + 1.5) == [f"k{i}" for i in range(CHUNK + 2)]
        assert ledger.expire("n", now=1e9, limit=10) == [f"k{i}" for i in range(CHUNK + 2, CHUNK + 12)]
        rest = ledger.expire("n", now=1e9)
    assert rest == [f"k{i}" for i in range(CHUNK + 12, 3 * CHUNK + 5)]
    assert [k for k in state if k.startswith("expiry:n/seen/")] == []  # used-up chunks are deleted


def test_a_namespace_with_nothing_pending_is_ticked_rarely_until_work_arrives():
    clock = [1_000.0]
    ingest = ingest_with({}, clock)
    quiet_s = ingest.settings.quiet_tick_interval_s
    assert ingest.tick_due("legal")  # never ticked (a new worker): due
    feed(ingest, interactions("legal", n_legal=3), clock)
    tick(ingest, "legal")
    assert ingest.tick_due("legal")  # logs wait for the age trigger: ticked at the normal rate

    clock[0] += ingest.settings.refresh_max_age_s  # the age trigger takes them: nothing pending
    tick(ingest, "legal")
    assert not ingest.tick_due("legal")
    clock[0] += quiet_s - 1
    assert not ingest.tick_due("legal")  # quiet: TTL purges and idle clusters can wait a minute
    clock[0] += 1
    assert ingest.tick_due("legal")
    tick(ingest, "legal")
    assert not ingest.tick_due("legal")

    feed(ingest, interactions("legal", prefix="y", n_legal=1), clock)  # new work: due again at once
    assert ingest.tick_due("legal")


def test_a_namespace_whose_records_never_carry_feedback_is_ticked_and_purged():
    clock = [1_000.0]
    ingest = ingest_with({}, clock)
    feed(ingest, interactions("quiet", n_legal=4, feedback=False), clock)
    assert ingest.partitions == {"quiet": 0}  # the worker's tick timer sends its ticks there
    assert ingest.namespaces.get("quiet") is not None  # and lists it again after a restart
    clock[0] += 2 * TTL + 10  # past both TTLs
    tick(ingest, "quiet")
    assert list(ingest.logs.items_with_prefix("quiet/")) == []
    assert list(ingest.seen.items_with_prefix("quiet/")) == []


def test_a_namespace_whose_first_record_is_undone_gets_its_metadata_from_the_next():
    clock = [1_000.0]
    ingest = ingest_with({}, clock)
    first, second = interactions("quiet", n_legal=2, feedback=False)
    try:
        with ingest.txn("quiet"):  # the batch's transaction discarded (a dependency failed): retried
            ingest.interaction(decode_interaction(msgspec.json.encode(first)), Provenance("in", 0, 0, 0))
            raise ConnectionError("the broker did not acknowledge")
    except ConnectionError:
        pass
    assert ingest.namespaces.get("quiet") is None
    feed(ingest, [first, second], clock)
    assert ingest.namespaces.get("quiet") is not None and ingest.partitions == {"quiet": 0}


class CountedScans(dict):
    """The worker's table, counting full scans of its keys (what listing the namespaces costs)."""

    scans = 0

    def keys(self):
        self.scans += 1
        return super().keys()


def test_the_tick_timer_lists_namespaces_from_the_table_only_when_its_partitions_change():
    clock = [1_000.0]
    table = CountedScans()
    feed(ingest_with(table, clock), interactions("legal", n_legal=2, feedback=False), clock)
    ingest = ingest_with(table, clock)  # a restarted worker: nothing in memory, the table recovered
    held = frozenset({("interactions", 0)})
    assert ingest.tick_targets(held) == {"legal": 0} and table.scans == 1
    for _ in range(3):  # tick after tick, a day of logs is not scanned again
        assert ingest.tick_targets(held) == {"legal": 0}
    assert table.scans == 1
    feed(ingest, interactions("quiet", n_legal=1, feedback=False), clock)  # written here: known at once
    assert ingest.tick_targets(held) == {"legal": 0, "quiet": 0} and table.scans == 1
    assert ingest.tick_targets(frozenset({("interactions", 0), ("interactions", 1)})) == {"legal": 0, "quiet": 0}
    assert table.scans == 2  # a rebalance: listed again
    try:
        with ingest.txn("legal"):  # a failed record makes the process forget its namespace...
            raise ConnectionError("the broker did not acknowledge")
    except ConnectionError:
        pass
    assert ingest.tick_targets(frozenset({("interactions", 0), ("interactions", 1)})) == {"legal": 0, "quiet": 0}
    assert table.scans == 3  # ...so the next tick lists them again instead of leaving it unticked
