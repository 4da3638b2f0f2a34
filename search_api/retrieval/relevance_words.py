"""What a hit's calibrated relevance means in words, declared once.

``relevance`` (:mod:`.relevance`) is a probability: of many hits at 0.7, about 7 in 10
answer their query. A person reads a percentage such as "1 %" as a grade, and a grade of
1 looks like a failure even when the hit is the best the index holds, so the page and
``vnsearch query`` say it in three words instead, and the page draws a bar as long as the
probability. The API sends the words with each hit (``relevance_label``), so every
surface shows the same ones; the page colours its bar by them.

The thresholds are probabilities, not ranks, so a label means the same on every query and
index:

* :data:`VERY_RELEVANT_FROM` (0.7): at least 7 in 10 such hits are right — "rất phù hợp";
* :data:`RELEVANT_FROM` (0.3): about 3 in 10 or better — still worth reading, "phù hợp";
* below that (down to the ``min_relevance`` cut): "có thể liên quan" — it may help, most
  such hits do not answer the query.
"""

from __future__ import annotations

#: From this probability a hit is "rất phù hợp": at least 7 in 10 such hits are right.
VERY_RELEVANT_FROM = 0.7
#: From this probability a hit is "phù hợp": about 3 in 10 such hits or more are right.
RELEVANT_FROM = 0.3

VERY_RELEVANT = "rất phù hợp"
RELEVANT = "phù hợp"
MAYBE_RELEVANT = "có thể liên quan"

#: The words, most relevant first, with the probability each starts from.
RELEVANCE_WORDS: tuple[tuple[float, str], ...] = (
    (VERY_RELEVANT_FROM, VERY_RELEVANT),
    (RELEVANT_FROM, RELEVANT),
    (0.0, MAYBE_RELEVANT),
)


def relevance_label(relevance: float) -> str:
    """The words for a calibrated relevance (0–1); a threshold belongs to the label above."""
    for start, words in RELEVANCE_WORDS:
        if relevance >= start:
            return words
    return MAYBE_RELEVANT
