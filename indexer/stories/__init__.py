"""One story across outlets: near-duplicate detection of republished articles.

Outlets republish each other's reports with small edits (another dateline, a sentence
cut, other credits); aggregators such as Báo Mới carry one report from several
outlets. A :class:`StorySignature` (MinHash of the article's word 3-shingles, see
:mod:`.signature`) estimates how much text two articles share; :func:`same_story`
says whether they are one story (estimated Jaccard >= ``THRESHOLD``).

Pure library: no SQL, no I/O. Story assignment rule for the index (the integration):

1. compute ``sig = story_signature(title, text)``; when it is None the article is its
   own story (story id = its article id) and stores no signature or band keys;
2. look up candidates: the articles already stored with any equal band key
   (``sig.bands()[band_no]``, an indexed ``(band_no, key) -> article_id`` table);
3. among the candidates with ``same_story(sig, candidate_sig)`` true and
   ``different_outlets(source, candidate_source)`` true (the outlet rule, see
   :mod:`.outlets`: pairs from one outlet are template pages far more often than
   republished reports; an aggregator such as Báo Mới counts as many outlets), take the
   most similar (ties: the smaller article id) and join its story (its story id);
4. otherwise start a new story: story id = the new article's id.

A story therefore keeps the id of its first indexed article, and an article never
changes story when others are added later (no re-clustering); deleting an article
leaves the others' story ids as they were. Steps 3-4 are :func:`choose_story`; in a
cluster, :func:`replay_in_order` applies them across the shards (see :mod:`.assign`).
"""

from __future__ import annotations

from indexer.stories.assign import RunArticle, choose_story, replay_in_order
from indexer.stories.outlets import AGGREGATOR_KEYS, different_outlets
from indexer.stories.shingles import MIN_WORDS, SHINGLE_WORDS
from indexer.stories.signature import (
    BANDS,
    NUM_PERM,
    ROWS,
    SEED,
    THRESHOLD,
    StorySignature,
    same_story,
    story_signature,
)

__all__ = [
    "AGGREGATOR_KEYS", "BANDS", "MIN_WORDS", "NUM_PERM", "ROWS", "SEED", "SHINGLE_WORDS",
    "THRESHOLD", "RunArticle", "StorySignature", "choose_story", "different_outlets",
    "replay_in_order", "same_story", "story_signature",
]
