"""The story an article joins: one rule for one index and for the shards of a cluster.

:func:`choose_story` is the rule the writer applies to each added or replaced article
(:func:`indexer.writer.regions.tag_article`): among the candidates (stored articles sharing
an LSH band key), the most similar one that :func:`.same_story` accepts and that comes from
another outlet (:func:`.different_outlets`) gives its story id (ties: the smaller article
id); else the article starts its own story (story id = its article id).

A story id therefore depends on the order articles were indexed in. In a cluster each
shard's writer sees only its own shard, so :func:`replay_in_order` assigns the stories of a
run's articles again, in the run's input order, against the articles of *every* shard: an
article sees the articles stored before the run and the run's articles before it, exactly
what one index fed the same input in the same order saw. Pure: no SQL, no I/O — the
candidates come from a ``lookup(bands)`` callable (the shards' databases, or a dict in
tests).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from indexer.stories.outlets import different_outlets
from indexer.stories.signature import StorySignature, same_story

__all__ = ["Candidate", "RunArticle", "choose_story", "replay_in_order"]


class Candidate(Protocol):
    """A stored article that may be of the same story (``indexer.db.StoryCandidate``)."""

    @property
    def article_id(self) -> str: ...
    @property
    def story_id(self) -> str: ...
    @property
    def signature(self) -> bytes: ...
    @property
    def source(self) -> str | None: ...


@dataclass(frozen=True)
class RunArticle:
    """An article signed in a run: its place in the run's input, id, signature, outlet."""

    position: int
    article_id: str
    signature: StorySignature
    source: str | None


@dataclass(frozen=True)
class _Seen:
    """A candidate with the story it has at this point of the replay."""

    article_id: str
    story_id: str
    signature: bytes
    source: str | None


def choose_story(article_id: str, signature: StorySignature, source: str | None,
                 candidates: Iterable[Candidate]) -> str:
    """The story id of an article: the story of its most similar candidate of the same
    story from another outlet (ties: the smaller article id), else its own id.
    A candidate with the article's own id (its old version, when replaced) is ignored."""
    best: tuple[float, str] | None = None
    story_id = article_id
    for cand in candidates:
        if cand.article_id == article_id or not different_outlets(source, cand.source):
            continue
        other = StorySignature.from_bytes(cand.signature)
        if not same_story(signature, other):
            continue
        key = (-signature.similarity(other), cand.article_id)
        if best is None or key < best:
            best = key
            story_id = cand.story_id
    return story_id


def replay_in_order(run: Sequence[RunArticle],
                    lookup: Callable[[list[bytes]], Iterable[Candidate]]) -> dict[str, str]:
    """Article id → story id of each of ``run``, assigned in ``position`` order as one
    index fed the run's input in that order assigns them.

    ``lookup(bands)`` returns the stored articles (of all shards) sharing a band key, with
    their stored story ids: the run's articles are stored already (each shard's writer
    gave them a story of its own shard), so a run article placed *after* the one being
    assigned is left out (one index had not read it yet), and one placed before counts
    with the story this replay gave it. Articles stored before the run keep their stories.
    """
    ordered = sorted(run, key=lambda a: (a.position, a.article_id))
    first: dict[str, int] = {}
    for art in ordered:
        first.setdefault(art.article_id, art.position)
    assigned: dict[str, str] = {}
    for art in ordered:
        seen: list[_Seen] = []
        for cand in lookup(art.signature.bands()):
            placed = first.get(cand.article_id)
            if placed is not None and placed > art.position:
                continue
            story = assigned.get(cand.article_id, cand.story_id) if placed is not None \
                else cand.story_id
            seen.append(_Seen(cand.article_id, story, cand.signature, cand.source))
        assigned[art.article_id] = choose_story(art.article_id, art.signature, art.source, seen)
    return assigned
