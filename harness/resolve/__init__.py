"""The installability map: which torch releases install beside which domain-library releases.

client (the target, one question to uv's resolver, the cache), pairs (building the map), model
(resolve.json typed, with schema_version and the status enums), view (the map beside the tested
rows, and its page), command (`python -m harness.resolve`).
"""
from harness.resolve.view import load_map  # noqa: F401  (the report's entry: harness/cli.py)
