"""The deploy checks reuse the streaming tests' real worker fixture."""

from tests.streams.conftest import worker_factory  # noqa: F401
