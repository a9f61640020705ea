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
    """Explicit settings win; an empty one falls back to the service `uno dev up` started."""
    services = LocalStack(settings.data_path).services()
    broker = settings.broker_url or (services["broker"].url if "broker" in services else "")
    llm = settings.llm_base_url or (services["llm"].url if "llm" in services else "")
    missing = [name for name, value in (("UNO_BROKER_URL", broker), ("UNO_LLM_BASE_URL", llm)) if not value]
    if missing:
        raise EndpointError(
            f"no {' or '.join(missing)} configured and no local stack under {settings.data_dir}/: "
            "run `uno dev up` or set the variable(s)"
        )
    return Endpoints(broker=broker, llm_base_url=llm)
