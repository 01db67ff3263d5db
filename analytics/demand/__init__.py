"""Demand gaps and trends (issue 13): what buyers search for and do not find.

``normalise`` folds a query into its term (case, punctuation, plurals); ``rollup`` turns the day's raw searches
and result clicks into per-day rollups (``DemandDay``, ``DemandSearcher``) and groups terms by meaning with
MiniLM; ``report`` reads the rollups only (k-anonymity, trends from ``trends``); ``digest`` records the weekly
``demand.digest_ready`` event per creator, which notifications turns into a notification and an e-mail for those
who opted in.
"""
