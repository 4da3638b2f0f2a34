"""Which article pairs may be one story *across outlets*: the outlet rule.

Measured on the 130 judged pairs (data/eval/story-pairs.jsonl): every one of the 27
pairs that same_story() wrongly joins comes from one outlet (its live-stream, lottery,
bulletin, profile or decision pages share a template), while all 48 judged pairs from two
different outlets are one story. An outlet rarely republishes its own report, so pairs
from one outlet are not joined, except where the source is an aggregator (Báo Mới
carries many outlets under its own name) or unknown.
"""

from __future__ import annotations

from indexer.metadata.outlets import outlet_key

__all__ = ["AGGREGATOR_KEYS", "different_outlets"]

#: outlet_key() fragments of aggregators: their "source" is not the outlet that wrote
#: the report, so two of their articles may be copies from two outlets.
AGGREGATOR_KEYS: tuple[str, ...] = ("baomoi",)


def _is_aggregator(key: str) -> bool:
    return any(fragment in key for fragment in AGGREGATOR_KEYS)


def different_outlets(source_a: str | None, source_b: str | None) -> bool:
    """True when two articles may be one story by the outlet rule.

    That is: their sources differ (compared by :func:`outlet_key`: case, tones and
    punctuation ignored), or either source is unknown or an aggregator.
    """
    key_a, key_b = outlet_key(source_a), outlet_key(source_b)
    if not key_a or not key_b or _is_aggregator(key_a) or _is_aggregator(key_b):
        return True
    return key_a != key_b
