"""deadstock — find dead, slow and excess stock and decide how to clear it.

Stages (each a set of pure functions from Polars tables to tables):
ingest → validate → position (FIFO layers, ageing) → metrics → … ; :mod:`deadstock.pipeline`
chains them and keeps every intermediate table in a :class:`~deadstock.pipeline.RunResult`.
"""

__version__ = "0.1.0"
