"""The topics of the system, named from the settings, and their creation at start-up."""

from __future__ import annotations

from typing import NamedTuple

from confluent_kafka.admin import AdminClient, NewTopic

from uno_models import Settings


class TopicSpec(NamedTuple):
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


def ensure_topics(settings: Settings, bootstrap: str, timeout: float = 30.0) -> list[str]:
    """Create the topics that are missing; return the names created. Existing topics are left alone."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    existing = set(admin.list_topics(timeout=timeout).topics)
    new = [
        NewTopic(spec.name, settings.topic_partitions, settings.topic_replication,
                 config={"cleanup.policy": "compact"} if spec.compacted else {})  # fmt: skip
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
