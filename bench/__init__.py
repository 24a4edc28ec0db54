"""`make bench`: a benchmark driver for Archipel on the real PostgreSQL and Kafka servers.

Run as `python -m bench [--scale small|national] [--candidates N] [--academies N]`. It generates a
synthetic campaign, measures command throughput and latency through gRPC, the event store's append
rate, the relay's publish rate and the end-to-end lag, a projection's replay rate, the deliberation
rate and the peak memory, runs the peers (the `eventsourcing` library, raw asyncpg, raw kafka-python)
on the same servers, and writes bench/results/<timestamp>.json and .png. Every measurement works in
its own PostgreSQL schema and Kafka topics, dropped (schemas) at its end. Never part of `make test`.
"""
