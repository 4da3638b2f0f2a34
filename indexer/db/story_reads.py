"""Story reads of a cluster's story step (mixed into :class:`~indexer.db.database.IndexDB`).

Kept beside :mod:`.reads` (the other SELECTs) so that module stays one screenful a job:
the cluster's replay (:mod:`indexer.cluster.stories`) reads the signatures of the articles
a run wrote, then looks up candidates with :meth:`~.reads.StoreReads.story_candidates`.
"""

from __future__ import annotations

from collections.abc import Sequence

from .reads import StoreReads
from .records import StoryCandidate


class StoryReads(StoreReads):
    """The story rows of given articles."""

    def signed_articles(self, article_ids: Sequence[str]) -> list[StoryCandidate]:
        """The articles among ``article_ids`` that have a story signature, with their story
        id, signature and outlet (an article too short to sign is its own story)."""
        sql = ("SELECT a.id, coalesce(a.story_id, a.id), s.signature, a.source FROM articles a "
               "JOIN story_signatures s ON s.article_id = a.id WHERE a.id IN ({marks})")
        return [StoryCandidate(aid, story, bytes(sig), source) for aid, story, sig, source
                in self._in_chunks(sql, list(dict.fromkeys(article_ids)))]
