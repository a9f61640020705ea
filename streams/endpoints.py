"""Where the broker and the LLM are: from the settings, else from the local stack's ``stack.json``."""

from __future__ import annotations

import msgspec

from streams.launcher import LocalStack
from uno_models import Settings


class Endpoints(msgspec.Struct, frozen=True):
    broker: str  # Kafka bootstrap servers
    llm_base_url: str  # OpenAI-compatible base URL, ending in /v1


class EndpointError(RuntimeError):
    pass


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
