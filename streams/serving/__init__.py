"""The serving tier: the worker's HTTP API (retrieval, modules, feedback, health, metrics, OpenAPI)
and the OpenAI-compatible chat proxy that applies modules and logs interactions back to Kafka.

It runs inside the worker process (Qdrant local mode allows one process per store). Imports: the
contract, the processors and the worker's metrics; never `streams.devstack` or `streams.evaluation`.
"""
