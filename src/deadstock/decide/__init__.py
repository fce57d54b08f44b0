"""Decide, SKU by SKU, the cheapest way to deal with excess stock (SPEC §3.5).

The thesis cost model (:mod:`costs`), the problem and its evaluator (:mod:`problem`), coupling
rows (:mod:`coupling`), the optimiser (:mod:`solve`) and the table-level API (:mod:`engine`).
"""
