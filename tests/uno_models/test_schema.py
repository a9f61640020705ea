from __future__ import annotations

import json
import subprocess
import sys

import jsonschema

from uno_models import FeedbackEvent, FeedbackKind, InteractionEvent, encode


def test_uno_schema_prints_a_valid_json_schema_that_accepts_real_events_and_rejects_bad_ones():
    out = subprocess.run([sys.executable, "-m", "streams.cli", "schema"], capture_output=True, check=True)
    schema = json.loads(out.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    good = [
        InteractionEvent(event_id="e1", timestamp=1.0, query="q", response="r"),
        FeedbackEvent(event_id="e1", kind=FeedbackKind.TEXT, text="shorter please"),
    ]
    for event in good:
        validator.validate(json.loads(encode(event)))
    assert not validator.is_valid({"event_id": "e1", "timestamp": 1, "query": "q", "namespace": "bad space"})
    assert not validator.is_valid({"event_id": "e1", "timestamp": -5, "query": "q"})
