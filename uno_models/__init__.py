"""The UNO contract: msgspec Structs shared by producers, workers and the serving tier.

This package imports nothing else of the project; producers and serving tiers can depend on it alone.
"""

from uno_models.clusters import ClustererState, ClusterSnapshot
from uno_models.codec import (
    ContractError,
    decode,
    decode_feedback,
    decode_interaction,
    encode,
    json_schema,
    json_schema_text,
    to_builtins,
)
from uno_models.events import (
    SCHEMA_VERSION,
    Feedback,
    FeedbackEvent,
    FeedbackKind,
    InteractionEvent,
    Message,
)
from uno_models.feedback import Signal, satisfaction, signal_of
from uno_models.knowledge import (
    ClusterKnowledge,
    Exemplar,
    LogRecord,
    PairSource,
    PreferencePair,
    Provenance,
    Rule,
    RuleStatus,
    Theme,
    UserRecord,
)
from uno_models.modules import (
    ExperienceModule,
    ModuleKind,
    ModulePublished,
    SupportStats,
    module_key,
)
from uno_models.settings import Settings, SettingsError, load_settings

__all__ = [
    "SCHEMA_VERSION",
    "ClusterKnowledge",
    "ClusterSnapshot",
    "ClustererState",
    "ContractError",
    "Exemplar",
    "ExperienceModule",
    "Feedback",
    "FeedbackEvent",
    "FeedbackKind",
    "InteractionEvent",
    "LogRecord",
    "Message",
    "ModuleKind",
    "ModulePublished",
    "PairSource",
    "PreferencePair",
    "Provenance",
    "Rule",
    "RuleStatus",
    "Settings",
    "SettingsError",
    "Signal",
    "SupportStats",
    "Theme",
    "UserRecord",
    "decode",
    "decode_feedback",
    "decode_interaction",
    "encode",
    "json_schema",
    "json_schema_text",
    "load_settings",
    "module_key",
    "satisfaction",
    "signal_of",
    "to_builtins",
]
