"""Fault tests reuse the streaming tests' real worker processes (`worker_factory`)."""

from tests.streams.conftest import worker_factory  # noqa: F401 (a fixture)
