"""The shell: everything that knows Kafka, HTTP and processes. One room per kind of work:

- ``streams.worker``: the Faust app (agents, tables, ticks, metrics, the module store);
- ``streams.serving``: the HTTP API and the OpenAI-compatible chat proxy, served by the worker;
- ``streams.client``: the thin Python client of that API (the contract and httpx only);
- ``streams.kafka``: topic names, topic creation, producing and reading topics;
- ``streams.devstack``: the local launcher (broker, LLM server) and worker processes;
- ``streams.evaluation``: simulate, eval, demo, and the bundled sample;
- ``streams.cli``: the ``uno`` command, a thin layer over the rooms above.

Production rooms (worker, serving, client, kafka) never import devstack or evaluation
(``tests/test_architecture.py`` checks the import graph). Domain logic that needs no broker lives
in ``processors``; the contract in ``uno_models``.
"""
