"""Producing events to the input topics: the replay of a JSONL file, and the producer everything shares.

Records are keyed by namespace and partitioned with murmur2, the Java client's (and aiokafka's)
partitioner, so interactions, late feedback and the worker's own ticks for a namespace land on the
same partition number of their co-partitioned topics.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from confluent_kafka import Producer

from uno_models import ContractError, decode_feedback, decode_interaction, encode


def make_producer(bootstrap: str) -> Producer:
    return Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random", "enable.idempotence": True,
                     "linger.ms": 5, "message.max.bytes": 4_000_000})  # fmt: skip


def uno_replay_event(row: dict, namespace: str, timestamp: float) -> dict:
    """Map a line of ../shared/data/uno-replay/queries.jsonl onto an InteractionEvent (no feedback)."""
    return {"event_id": row["id"], "namespace": namespace, "timestamp": timestamp, "query": row["query"],
            "response": row.get("response") or "",
            "metadata": {k: str(row[k]) for k in ("dataset", "lang", "split") if k in row}}  # fmt: skip


def read_events(path: Path, fmt: str, namespace: str | None, feedback: bool) -> Iterator[tuple[int, bytes, str]]:
    """(line number, value, namespace) per line; raises ContractError naming the line for bad ones."""
    decoder = decode_feedback if feedback else decode_interaction
    with path.open("rb") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            if fmt == "uno-replay":
                line = json.dumps(uno_replay_event(json.loads(line), namespace or "default", time.time())).encode()
            try:
                event = decoder(line)
            except ContractError as err:
                raise ContractError(err.path, f"line {lineno}: {err.reason}") from None
            if namespace and event.namespace != namespace and fmt != "uno-replay":
                raise ContractError("$.namespace", f"line {lineno}: namespace {event.namespace!r} != {namespace!r}")
            yield lineno, encode(event), event.namespace


def produce(producer: Producer, topic: str, records: Iterable[tuple[bytes, str]], rate: float | None = None,
            on_sent: Callable[[int], None] = lambda n: None) -> int:  # fmt: skip
    """Send (value, namespace) records keyed by namespace, at most ``rate`` per second; return the count."""
    failures: list[str] = []

    def delivered(err, _msg) -> None:
        if err is not None:
            failures.append(str(err))

    sent = 0
    start = time.monotonic()
    for value, namespace in records:
        producer.produce(topic, key=namespace.encode(), value=value, on_delivery=delivered)
        producer.poll(0)
        sent += 1
        on_sent(sent)
        if rate:
            ahead = sent / rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
    producer.flush(60)
    if failures:
        raise RuntimeError(f"{len(failures)} record(s) not delivered, first: {failures[0]}")
    return sent


def read_all(bootstrap: str, topic: str, timeout: float = 10.0) -> list[tuple[bytes | None, bytes, int, int]]:
    """Every record on a topic right now, from the beginning: (key, value, partition, offset).

    Assigns the partitions directly (no consumer group, nothing committed) and stops at their ends.
    """
    import uuid

    from confluent_kafka import Consumer, KafkaError, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"uno-read-{uuid.uuid4().hex[:8]}",
                         "enable.partition.eof": True, "enable.auto.commit": False})  # fmt: skip
    try:
        metadata = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return []
        consumer.assign([TopicPartition(topic, p, 0) for p in metadata.partitions])
        out, done, deadline = [], set(), time.monotonic() + timeout
        while len(done) < len(metadata.partitions) and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    done.add(msg.partition())
                continue
            out.append((msg.key(), msg.value(), msg.partition(), msg.offset()))
        if len(done) < len(metadata.partitions):  # a partial read must not pass for the whole topic
            raise TimeoutError(f"{topic}: partitions {sorted(set(metadata.partitions) - done)} not read to "
                               f"their end within {timeout:.0f} s")  # fmt: skip
        return out
    finally:
        consumer.close()
