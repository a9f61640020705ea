"""The worker: the Faust app (topics, the ingest and refresh agents, changelog-backed tables, ticks),
its metrics, the module store it owns, and `run_worker`.

The agents stay thin: they decode, call the processors (`processors.ingest`, `processors.refresh`),
send results and record metrics. Imports: the contract, the processors, `streams.kafka` and the
serving routes it mounts; never `streams.devstack` or `streams.evaluation`.
"""
