"""Produce and consume through a consumer group with commits, on both local brokers."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

pytestmark = pytest.mark.infra


def create_topic(address: str, topic: str, partitions: int = 2) -> None:
    admin = AdminClient({"bootstrap.servers": address})  # keep a reference until the future resolves
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(timeout=15)


def consume(address: str, topic: str, group: str, n: int, commit: bool = True) -> list[bytes]:
    consumer = Consumer(
        {
            "bootstrap.servers": address,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 1000,
        }
    )
    consumer.subscribe([topic])
    got: list[bytes] = []
    try:
        for _ in range(300):
            if len(got) >= n:
                break
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            if msg.error():
                assert msg.error().code() == KafkaError._PARTITION_EOF, msg.error()
                continue
            got.append(msg.value())
            if commit:
                consumer.commit(message=msg, asynchronous=False)
    finally:
        consumer.close()
    return got


@pytest.fixture(params=["noida", "tansu"])
def address(request) -> str:
    return request.getfixturevalue("broker" if request.param == "noida" else "tansu_broker")


def test_group_consumes_everything_and_resumes_after_its_commits(address, unique):
    topic, group = f"smoke-{unique}", f"group-{unique}"
    create_topic(address, topic)
    producer = Producer({"bootstrap.servers": address, "enable.idempotence": True})
    sent = [f"m{i}".encode() for i in range(20)]
    for i, value in enumerate(sent):
        producer.produce(topic, key=f"k{i % 4}".encode(), value=value)
    assert producer.flush(15) == 0

    first = consume(address, topic, group, n=10)
    rest = consume(address, topic, group, n=len(sent) - len(first))
    assert sorted(first + rest) == sorted(sent)  # the second consumer resumed after the commits

    committed_check = Consumer({"bootstrap.servers": address, "group.id": group})
    try:
        offsets = committed_check.committed([TopicPartition(topic, p) for p in range(2)], timeout=10)
    finally:
        committed_check.close()
    assert sum(max(tp.offset, 0) for tp in offsets) == len(sent)  # -1001: nothing committed there


def test_read_all_and_read_timed_read_a_topic_to_its_end_with_send_times(broker, unique):
    from streams.kafka import make_producer, produce, read_all, read_timed

    topic = f"smoke-read-{unique}"
    create_topic(broker, topic)
    before = time.time()
    produce(make_producer(broker), topic, [(f"v{i}".encode(), f"k{i % 3}") for i in range(9)])
    after = time.time()
    records, timed = read_all(broker, topic), read_timed(broker, topic)
    assert sorted(v for _, v, _, _ in records) == sorted(f"v{i}".encode() for i in range(9))
    assert sorted((k, v) for k, v, _ in timed) == sorted((k, v) for k, v, _, _ in records)
    assert all(before - 1 <= at <= after + 1 for _, _, at in timed)  # the producer's send time (1 s of clock slack)
