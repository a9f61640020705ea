"""Kafka plumbing shared by every room: the topic names, their creation, a producer, and reading a topic.

This is the one place that spells topic names (`topic_specs`): the worker, the CLI, the dev stack
and the evaluation all ask it. Records are keyed by namespace and partitioned with murmur2, the
Java client's (and aiokafka's) partitioner, so interactions, late feedback and the worker's own
ticks for a namespace land on the same partition number of their co-partitioned topics.

Imports: the contract and confluent-kafka only.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from typing import NamedTuple

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from uno_models import Settings


class TopicSpec(NamedTuple):
    """A topic: its role in the code, its name, and whether it is compacted."""

    role: str  # how the code refers to it
    name: str
    compacted: bool = False


def topic_specs(settings: Settings) -> dict[str, TopicSpec]:
    t = settings.topic
    specs = [
        TopicSpec("interactions", t("interactions")),  # key: namespace
        TopicSpec("feedback", t("feedback")),  # key: namespace (same partition count: co-partitioned)
        TopicSpec("ticks", t("ticks")),  # internal heartbeats per namespace, co-partitioned with the two above
        TopicSpec("dlq", t("dlq")),
        TopicSpec("refresh", t("cluster-refresh")),  # key: namespace/cluster
        TopicSpec("modules", t("modules"), compacted=True),  # key: namespace/cluster; the durable record
        TopicSpec("pairs", t("preference-pairs")),  # key: namespace/cluster
    ]
    return {s.role: s for s in specs}


def topic_name(settings: Settings, role: str) -> str:
    """The name of the topic that plays ``role`` (interactions, feedback, dlq, refresh, modules, ...)."""
    return topic_specs(settings)[role].name


def changelog_topic(settings: Settings, table: str) -> str:
    """The changelog topic Faust keeps for one of the worker's tables (``ingest`` or ``knowledge``)."""
    return f"{settings.app_id}-{table}-changelog"


def ensure_topics(settings: Settings, bootstrap: str, timeout: float = 30.0) -> list[str]:
    """Create the topics that are missing; return the names created. Existing topics are left alone."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    existing = set(admin.list_topics(timeout=timeout).topics)
    new = [
        NewTopic(
            spec.name,
            settings.topic_partitions,
            settings.topic_replication,
            config={"cleanup.policy": "compact"} if spec.compacted else {},
        )
        for spec in topic_specs(settings).values()
        if spec.name not in existing
    ]
    if not new:
        return []
    for future in admin.create_topics(new).values():
        try:
            future.result(timeout=timeout)
        except Exception as exc:  # created concurrently by another worker: fine
            if "TOPIC_ALREADY_EXISTS" not in str(exc) and "already exists" not in str(exc):
                raise
    return [t.topic for t in new]


def make_producer(bootstrap: str) -> Producer:
    return Producer(
        {
            "bootstrap.servers": bootstrap,
            "partitioner": "murmur2_random",
            "enable.idempotence": True,
            "linger.ms": 5,
            "message.max.bytes": 4_000_000,
        }
    )


def produce(
    producer: Producer,
    topic: str,
    records: Iterable[tuple[bytes, str]],
    rate: float | None = None,
    on_sent: Callable[[int], None] = lambda n: None,
) -> int:
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
    """Every record on a topic right now, from the beginning: (key, value, partition, offset)."""
    return [(m.key(), m.value(), m.partition(), m.offset()) for m in _read(bootstrap, topic, timeout)]


def read_timed(bootstrap: str, topic: str, timeout: float = 10.0) -> list[tuple[bytes | None, bytes, float]]:
    """Every record on a topic right now, from the beginning: (key, value, its timestamp in seconds)."""
    return [(m.key(), m.value(), m.timestamp()[1] / 1000) for m in _read(bootstrap, topic, timeout)]


def _read(bootstrap: str, topic: str, timeout: float) -> list:
    """The messages of every partition of ``topic``, from the beginning to the end as it is now.

    Assigns the partitions directly (no consumer group, nothing committed) and stops at their ends.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"uno-read-{uuid.uuid4().hex[:8]}",
            "enable.partition.eof": True,
            "enable.auto.commit": False,
            # noida-db answers a fetch with everything up to the end (557 MB for 100,000 dead letters),
            # past librdkafka's default 100 MB receive limit
            "receive.message.max.bytes": 2_000_000_000,
        }
    )
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
            out.append(msg)
        if len(done) < len(metadata.partitions):  # a partial read must not pass for the whole topic
            missing = sorted(set(metadata.partitions) - done)
            raise TimeoutError(f"{topic}: partitions {missing} not read to their end within {timeout:.0f} s")
        return out
    finally:
        consumer.close()
