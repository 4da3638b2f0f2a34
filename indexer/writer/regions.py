"""Places and stories of an article being written: tag its provinces, sign it, join a story.

Every added or replaced article is tagged with the provinces it is about
(:func:`indexer.places.tag_places` on its title, cleaned text and outlet) and signed
(:func:`indexer.stories.story_signature`). Its story: the stored articles sharing an LSH
band key with it are the candidates (one indexed query); the most similar one that
:func:`~indexer.stories.same_story` accepts and that comes from another outlet
(:func:`~indexer.stories.different_outlets`: on the judged pairs every wrong join was two
template pages of one outlet; an aggregator such as Báo Mới counts as many outlets) gives
its story id (ties: the smaller article id), else the article starts a story of its own
(story id = its article id): :func:`indexer.stories.choose_story`, the rule a cluster's
story step applies across shards too. A story so keeps the id of its first indexed article,
and adding or deleting articles never moves another article to another story (no
re-clustering).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..db import IndexDB


@dataclass(frozen=True)
class RegionTags:
    """What was stored for one article: its provinces and story id."""

    provinces: tuple[str, ...]
    provinces_former: tuple[str, ...]
    story_id: str


def tag_article(db: IndexDB, article_id: str, title: str | None, text: str,
                source: str | None) -> RegionTags:
    """Tag, sign and assign the story of one stored article, inside the caller's
    transaction (the article's row must exist)."""
    from ..places import tag_places
    from ..stories import choose_story, story_signature

    tags = tag_places(title, text, source)
    db.set_places(article_id, tags.provinces, tags.provinces_former)
    signature = story_signature(title, text)
    story_id = article_id
    bands: list[bytes] = []
    if signature is not None:
        bands = signature.bands()
        story_id = choose_story(article_id, signature, source, db.story_candidates(bands))
    db.set_story(article_id, story_id, None if signature is None else signature.values, bands)
    return RegionTags(tags.provinces, tags.provinces_former, story_id)
