"""A real worker process (`uno worker`) against the session's real broker and LLM server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from streams.launcher import free_port
from streams.replay import make_producer, read_all


class WorkerProc:
    """One `uno worker` subprocess with its own data dir, consumer group and topic prefix."""

    def __init__(self, root: Path, broker: str, llm_url: str, app_id: str, prefix: str, worker_id: str, **settings):
        self.root = root
        self.broker = broker
        self.app_id = app_id
        self.prefix = prefix
        self.port = free_port()
        self.env = {**os.environ, "UNO_BROKER_URL": broker, "UNO_LLM_BASE_URL": llm_url, "UNO_DATA_DIR": str(root),
                    "UNO_APP_ID": app_id, "UNO_WORKER_ID": worker_id, "UNO_TOPIC_PREFIX": prefix, "UNO_WEB_PORT": str(self.port),
                    "UNO_TOPIC_PARTITIONS": "2", "UNO_REFRESH_MIN_LOGS": "4", "UNO_MIN_SUPPORT": "1",
                    "UNO_MIN_USERS": "1", "UNO_MAX_USER_SHARE": "1.0", "UNO_REFRESH_REVISIONS": "0",
                    "UNO_WARD_SCALE": "2.0", "UNO_TICK_INTERVAL_S": "1", "UNO_REFRESH_MAX_AGE_S": "3600"}  # fmt: skip
        self.env.update({f"UNO_{k.upper()}": str(v) for k, v in settings.items()})
        self.proc: subprocess.Popen | None = None
        self.log_path = root / f"worker-{self.port}.log"

    def start(self, timeout: float = 90.0) -> WorkerProc:
        self.root.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "streams.cli", "worker"], env=self.env, stdout=log,
                                     stderr=subprocess.STDOUT, cwd=self.root)  # fmt: skip
        self.wait_for(lambda: b"[^Worker]: Ready" in self.log_path.read_bytes(), timeout, "worker ready")
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as resp:
            return json.load(resp)

    def metric(self, name: str, **labels) -> float:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=10) as resp:
            text = resp.read().decode()
        total = 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    total += sample.value
        return total

    def wait_for(self, predicate, timeout: float = 120.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"worker exited ({self.proc.returncode}):\n{self.tail()}")
            try:
                if predicate():
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def topic(self, role: str) -> str:
        return self.prefix + {"refresh": "cluster-refresh", "pairs": "preference-pairs"}.get(role, role)

    def produce(self, role: str, records: list[tuple[bytes | None, bytes]]) -> None:
        producer = make_producer(self.broker)
        for key, value in records:
            producer.produce(self.topic(role), key=key, value=value)
        assert producer.flush(30) == 0


def read_topic(broker: str, topic: str, timeout: float = 10.0) -> list[tuple[bytes | None, bytes]]:
    return [(k, v) for k, v, _, _ in read_all(broker, topic, timeout)]


@pytest.fixture
def worker_factory(tmp_path, broker, llm_base_url, unique):
    started: list[WorkerProc] = []

    def make(name: str = "w", app_id: str | None = None, prefix: str | None = None, broker_url: str | None = None,
             worker_id: str | None = None, **settings) -> WorkerProc:  # fmt: skip
        w = WorkerProc(tmp_path / name, broker_url or broker, llm_base_url, app_id or f"uno-{unique}",
                       prefix or f"t{unique}.", worker_id or f"{name}-{unique}", **settings)  # fmt: skip
        started.append(w)
        return w

    yield make
    for w in started:
        w.stop(signal.SIGKILL)
