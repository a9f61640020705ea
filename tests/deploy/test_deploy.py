"""The deployment files, checked offline: they parse, validate against their schemas, and every metric
they name is one a running worker exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import kubernetes_validate
import promql_parser
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from streams.kafka import topic_specs
from uno_models import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
YAML_FILES = sorted([*DEPLOY.rglob("*.yml"), *DEPLOY.rglob("*.yaml")])
JSON_FILES = sorted(DEPLOY.rglob("*.json"))
METRIC = re.compile(r"\buno_[a-z0-9_]+\b")


def documents(path: Path) -> list:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


@pytest.mark.parametrize("path", YAML_FILES + JSON_FILES, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_file_parses(path):
    docs = [json.loads(path.read_text())] if path.suffix == ".json" else documents(path)
    assert docs and all(isinstance(d, dict) for d in docs)


def test_the_compose_file_follows_the_compose_specification():
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    # The Compose Specification's JSON schema as shipped in docker-compose 1.29.2 (compose/config/compose_spec.json)
    schema = json.loads((DEPLOY / "schemas/compose-spec.json").read_text())
    jsonschema.Draft201909Validator(schema).validate(compose)
    services = compose["services"]
    assert {"kafka", "qdrant", "uno-1", "uno-2", "prometheus", "grafana"} <= set(services)
    assert all("healthcheck" in s for s in services.values())
    workers = [s for s in services.values() if s.get("image", "").startswith("uno-streaming")]
    assert len({w["environment"]["UNO_WORKER_ID"] for w in workers}) == 2  # one group, two static members
    assert "KAFKA_PROCESS_ROLES" in services["kafka"]["environment"]  # KRaft, no ZooKeeper


def test_the_kubernetes_manifests_validate_against_the_kubernetes_schemas():
    version = kubernetes_validate.latest_version()
    kinds = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for doc in documents(path):
            kinds.append(doc["kind"])
            if doc["apiVersion"].startswith("kafka.strimzi.io/"):
                continue  # a CRD: checked below
            kubernetes_validate.validate(doc, version, strict=True)
    assert {"StatefulSet", "Service", "ConfigMap", "Secret", "PodDisruptionBudget", "KafkaTopic"} <= set(kinds)


def test_the_topic_definitions_match_the_topics_the_worker_uses():
    topics = {d["spec"]["topicName"]: d["spec"] for d in documents(DEPLOY / "k8s/topics.yaml")}
    assert set(topics) == {spec.name for spec in topic_specs(Settings()).values()}
    config = yaml.safe_load((DEPLOY / "k8s/configmap.yaml").read_text())["data"]
    for name, spec in topics.items():
        assert spec["replicas"] == 3 and spec["partitions"] == int(config["UNO_TOPIC_PARTITIONS"])
        assert (spec["config"].get("cleanup.policy") == "compact") == (name == "uno.modules")
    worker = next(d for d in documents(DEPLOY / "k8s/worker.yaml") if d["kind"] == "StatefulSet")
    assert worker["spec"]["replicas"] <= int(config["UNO_TOPIC_PARTITIONS"])


def rule_expressions() -> list[str]:
    groups = yaml.safe_load((DEPLOY / "prometheus/alerts.yml").read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana/dashboards/uno.json").read_text())
    return [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]


def test_every_alert_and_dashboard_expression_parses_as_promql():
    expressions = rule_expressions() + dashboard_expressions()
    assert len(expressions) >= 15
    for expr in expressions:
        promql_parser.parse(expr)  # raises ValueError with the position on a syntax error
    groups = yaml.safe_load((DEPLOY / "prometheus/alerts.yml").read_text())["groups"]
    alerts = {r["alert"] for g in groups for r in g["rules"] if "alert" in r}
    assert {
        "UnoWorkerDown",
        "UnoConsumerLagGrowing",
        "UnoDeadLetterRate",
        "UnoLlmErrorRate",
        "UnoRefreshBacklog",
        "UnoEmbedderRestarting",
        "UnoNoModulePublished",
        "UnoOutOfRangeRateJump",
    } <= alerts


@pytest.mark.infra
def test_every_metric_the_alerts_and_dashboard_name_is_exposed_by_a_running_worker(worker_factory):
    w = worker_factory(embedder="hashing").start()
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{w.port}/metrics", timeout=10) as resp:
        families = list(text_string_to_metric_families(resp.read().decode()))
    exposed = set()
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    for family in families:
        exposed.update(family.name + s for s in suffixes.get(family.type, ("",)))
    used = {name for expr in rule_expressions() + dashboard_expressions() for name in METRIC.findall(expr)}
    assert used and used <= exposed, sorted(used - exposed)
    scrape = yaml.safe_load((DEPLOY / "prometheus/prometheus.yml").read_text())
    assert [job["job_name"] for job in scrape["scrape_configs"]] == ["uno"]  # the job the alerts select


def test_deployed_workers_keep_their_tables_on_a_volume_not_in_ram():
    """A day of logs is kept for late feedback: in production the tables live on disk (RocksDB), under
    the data directory, which must be a volume that outlives the container (a clean stop keeps them)."""
    data_dir = re.search(r"UNO_DATA_DIR=(\S+)", (DEPLOY / "Dockerfile").read_text()).group(1)
    config = yaml.safe_load((DEPLOY / "k8s/configmap.yaml").read_text())["data"]
    Settings(store=config["UNO_STORE"])  # a value the worker accepts
    assert config["UNO_STORE"] == "rocksdb"
    worker = next(d for d in documents(DEPLOY / "k8s/worker.yaml") if d["kind"] == "StatefulSet")
    (container,) = worker["spec"]["template"]["spec"]["containers"]
    claims = {c["metadata"]["name"] for c in worker["spec"]["volumeClaimTemplates"]}
    assert any(m["mountPath"] == data_dir and m["name"] in claims for m in container["volumeMounts"])
    services = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["services"]
    workers = [s for s in services.values() if s.get("image", "").startswith("uno-streaming")]
    named = set(yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["volumes"])
    for w in workers:
        assert w["environment"]["UNO_STORE"] == "rocksdb"
        assert any(v.split(":")[0] in named and v.split(":")[1] == data_dir for v in w["volumes"])
