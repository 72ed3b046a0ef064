"""Bisect a feature or a benchmark to the first release that changed it.

search (the pure binary search and verdicts), plan (the ends, the mode, the candidates from the
index's release lists), probe (running a candidate), result (the stored result model and `links`
for the report), cli (the command: `python -m harness.bisection`).
"""
