"""Measuring and tuning answer quality on evaluation sets.

:mod:`.evaluation` (``vnsearch eval``: nDCG, MRR, recall, answered/abstained rates),
:mod:`.calibration` (``vnsearch calibrate``: fits the relevance model of
:mod:`search_api.retrieval.relevance`) and :mod:`.abstention` (the queries that should get
no answer, and the fixed leave-out of articles both use).
"""
