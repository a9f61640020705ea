"""The local dev stack: the launcher of the embedded services (a Kafka-protocol broker and a small
LLM server, `launcher`), a worker as a child process (`workerproc`), and the fallback that finds
those services when no endpoint is configured (`endpoints`).

For development, tests, benchmarks, the demo and evaluation. It may import the worker room (to know
its settings and endpoints) and the client; production rooms (`streams.worker`, `streams.serving`)
never import it.
"""
