"""`uno dev up|status|down` against real processes: PIDs tracked, nothing started twice, nothing left."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import msgspec
import psutil
import pytest

from streams.devstack.launcher import LocalStack, Service, StackError

pytestmark = pytest.mark.infra


def uno(*args: str, data_dir) -> subprocess.CompletedProcess:
    env = {**os.environ, "UNO_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args], env=env, capture_output=True, text=True, timeout=240
    )


def recorded_pids(data_dir) -> dict[str, int]:
    state = json.loads((data_dir / "stack.json").read_text())
    return {name: svc["pid"] for name, svc in state.items()}


@pytest.fixture
def data_dir(tmp_path):
    yield tmp_path
    LocalStack(tmp_path).down()  # a failing test leaves nothing running


def test_dev_up_status_down_manages_exactly_its_own_processes(data_dir):
    tmp_path = data_dir
    up = uno("dev", "up", data_dir=tmp_path)
    assert up.returncode == 0, up.stderr
    pids = recorded_pids(tmp_path)
    assert set(pids) == {"broker", "llm"}
    assert all(psutil.pid_exists(pid) for pid in pids.values())

    status = uno("dev", "status", data_dir=tmp_path)
    assert status.returncode == 0, status.stdout
    assert "broker" in status.stdout and "llm" in status.stdout
    assert status.stdout.count(" yes ") == 4  # running and healthy, both services

    again = uno("dev", "up", data_dir=tmp_path)
    assert again.returncode == 0 and "already running" in again.stdout
    assert recorded_pids(tmp_path) == pids  # `up` twice starts nothing new

    down = uno("dev", "down", data_dir=tmp_path)
    assert down.returncode == 0, down.stderr
    for pid in pids.values():
        assert not _running(pid), f"pid {pid} survived `uno dev down`"
    assert not (tmp_path / "stack.json").exists()
    assert uno("dev", "status", data_dir=tmp_path).returncode == 1


def test_down_never_kills_a_process_that_merely_reused_a_recorded_pid(tmp_path):
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        fake = Service(
            name="broker",
            kind="noida",
            pid=bystander.pid,
            create_time=1.0,
            host="127.0.0.1",
            port=1,
            log="",
            started_at=0.0,
        )
        (tmp_path / "stack.json").write_bytes(msgspec.json.encode({"broker": fake}))
        LocalStack(tmp_path).down()
        assert bystander.poll() is None
    finally:
        bystander.kill()


def test_unknown_broker_kind_fails_with_a_clear_error(tmp_path):
    with pytest.raises(StackError, match="unknown broker kind 'kafka9'"):
        LocalStack(tmp_path, broker_kind="kafka9").up(["broker"])


def _running(pid: int) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_harness_child_dies_with_the_process_that_started_it():
    """`WorkerProc` starts workers with this hook: a killed test run or benchmark leaves none behind."""
    script = (
        "import subprocess, time\n"
        "from streams.devstack.workerproc import _die_with_parent\n"
        "child = subprocess.Popen(['sleep', '120'], preexec_fn=_die_with_parent)\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = psutil.Process(int(parent.stdout.readline()))
    parent.kill()
    parent.wait(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and child.is_running() and child.status() != psutil.STATUS_ZOMBIE:
        time.sleep(0.05)
    assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
