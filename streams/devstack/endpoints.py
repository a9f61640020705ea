"""Where the broker and the LLM are: from the settings, else from the local stack's ``stack.json``.

Only the CLI calls this; the worker itself takes its `Endpoints` as given and never reads the dev
stack's files.
"""

from __future__ import annotations

from streams.devstack.launcher import LocalStack
from streams.worker.app import Endpoints
from uno_models import Settings


class EndpointError(RuntimeError):
    """Neither a setting nor a running local stack says where a dependency is."""


def resolve_endpoints(settings: Settings) -> Endpoints:
    """Explicit settings win; an empty one falls back to the service `uno dev up` started. A broker is
    required; an LLM is not (``llm_base_url`` stays empty, and rules are extractive)."""
    services = LocalStack(settings.data_path).services()
    broker = settings.broker_url or (services["broker"].url if "broker" in services else "")
    llm = settings.llm_base_url or (services["llm"].url if "llm" in services else "")
    if not broker:
        raise EndpointError(
            f"no UNO_BROKER_URL configured and no local stack under {settings.data_dir}/: "
            "run `uno dev up` or set the variable"
        )
    return Endpoints(broker=broker, llm_base_url=llm if settings.llm != "off" else "")
