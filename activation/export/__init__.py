"""The incremental export engine: captured profile changes -> Kinesis records.

services.py   entry points: activate, backfill, schedule, run, tick, prune
triggers.py   signal receivers (profiles changed, connection saved)
runner.py     one run of one dataflow: changes and backfill chunks
decisions.py  the reference's export rules over captured changes
records.py    the one record builder (review sample and exporter)
selectors.py  bulk reads of a dataflow's mapping and profiles' state
batching.py   PutRecords limits: 500 records, 5 MiB, 1 MiB per record
delivery.py   sending with retries (backoff, jitter), never dropping
sinks.py      the send seam: Kinesis, or an in-process sink
locking.py    the per-dataflow run lock (atomic claim, lease, owner token)
accounting.py hourly runs, issues and the delivery log
"""
