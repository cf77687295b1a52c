"""`marginspec fuzz`: stateful differential testing of a protocol engine against the reference.

generator (seeded requests aimed at the rulebook's thresholds) -> trace (run on the in-process
reference engine for the expected replies, a query after every request) -> driver (the same
requests sent to the engine under test and compared as `conform` compares) -> shrinker (delta
debugging to the fewest requests, then the simplest decimals) -> report (a table, JSON, and a
vector file that `marginspec conform --vectors FILE` replays).
"""
