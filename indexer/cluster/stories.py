"""One story id across the shards of a cluster: the story step of ``vnsearch cluster index``.

Each shard's writer gives an article a story against its own shard only (it cannot see the
others), so two copies of one report routed to two shards would start two stories. After
the shards are written, :func:`unify_run_stories` assigns the stories of the articles the
run added or replaced again, in the run's input order, against the articles of all shards
(:func:`indexer.stories.replay_in_order`, the writer's rule
:func:`indexer.stories.choose_story`), and rewrites the story ids that differ. The result
is the story id one index fed the same input in the same order gives, whatever the split:
a story keeps the id of its first article, wherever that article lives.

Each shard is held with its write lock for the step; only ``articles.story_id`` changes
(signatures and band keys are the writer's), through :class:`~indexer.db.IndexDB`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from indexer.db import IndexDB, StoryCandidate
from indexer.lock import WriteLock
from indexer.stories import RunArticle, StorySignature, replay_in_order

__all__ = ["StoryStep", "unify_run_stories"]


@dataclass(frozen=True)
class StoryStep:
    """What the story step did: signed articles of the run replayed, story ids rewritten
    (those whose story has an article in another shard, or follows one), seconds taken."""

    articles: int = 0
    changed: int = 0
    seconds: float = 0.0


def unify_run_stories(shard_dirs: Sequence[Path],
                      storied: Sequence[tuple[int, int, str]]) -> StoryStep:
    """Give the run's articles the story ids one index would give them.

    ``storied``: ``(input position, shard number, article id)`` of each article whose
    story a shard's writer (re)assigned in the run (``IndexSummary.storied``, positions
    made run-wide). One shard: nothing to do (its writer saw every article).
    """
    started = time.perf_counter()
    if len(shard_dirs) < 2 or not storied:
        return StoryStep(seconds=time.perf_counter() - started)
    locks = [WriteLock(Path(d)) for d in shard_dirs]
    dbs: list[IndexDB] = []
    try:
        for lock in locks:
            lock.acquire()
        dbs = [IndexDB(Path(d)) for d in shard_dirs]
        run, stored, home = _run_articles(dbs, storied)

        def lookup(bands: list[bytes]) -> list[StoryCandidate]:
            return [cand for db in dbs for cand in db.story_candidates(bands)]

        changed = {aid: story for aid, story in replay_in_order(run, lookup).items()
                   if stored[aid] != story}
        for number, db in enumerate(dbs):
            mine = {aid: story for aid, story in changed.items() if home[aid] == number}
            if mine:
                with db.transaction():
                    db.set_story_ids(mine)
    finally:
        for db in dbs:
            db.close()
        for lock in locks:
            lock.release()
    return StoryStep(len(run), len(changed), time.perf_counter() - started)


def _run_articles(dbs: Sequence[IndexDB], storied: Sequence[tuple[int, int, str]]
                  ) -> tuple[list[RunArticle], dict[str, str], dict[str, int]]:
    """The run's signed articles (first position of each), their stored story ids and
    their shards. An article too short to sign keeps the story its writer gave it: its own."""
    first: dict[str, int] = {}
    by_shard: dict[int, list[str]] = {}
    for position, number, aid in sorted(storied):
        if aid not in first:
            first[aid] = position
            by_shard.setdefault(number, []).append(aid)
    run: list[RunArticle] = []
    stored: dict[str, str] = {}
    home: dict[str, int] = {}
    for number, ids in by_shard.items():
        for cand in dbs[number].signed_articles(ids):
            run.append(RunArticle(first[cand.article_id], cand.article_id,
                                  StorySignature.from_bytes(cand.signature), cand.source))
            stored[cand.article_id] = cand.story_id
            home[cand.article_id] = number
    return run, stored, home
