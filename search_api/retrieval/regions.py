"""Places and stories on results: story ids for grouping, provinces and ``also_in`` on hits.

The index stores each article's provinces and story (:mod:`indexer.writer.regions`); this
module reads them for a page of hits (two or three queries per page, whatever its size).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from indexer.links import link_url, unlinked_url

from .results import AlsoIn, Hit


def story_of(db: Any, article_ids: Sequence[str]) -> dict[str, str]:
    """Article id → story id of the articles among ``article_ids`` that exist."""
    # Positional: a remote shard's database takes positional arguments only.
    regions = db.article_regions(list(dict.fromkeys(article_ids)), False)
    return {aid: region.story_id for aid, region in regions.items()}


def attach_regions(hits: list[Hit], db: Any) -> None:
    """Give each hit its article's provinces, story id and the story's other articles
    (``also_in``: newest first, undated last; the hit's own article left out)."""
    if not hits:
        return
    regions = db.article_regions([hit.article_id for hit in hits])
    members = db.story_members(sorted({r.story_id for r in regions.values()}))
    for hit in hits:
        region = regions.get(hit.article_id)
        if region is None:
            continue
        hit.provinces = list(region.provinces)
        hit.provinces_former = list(region.provinces_former)
        hit.story_id = region.story_id
        hit.also_in = [AlsoIn(m.source, link_url(m.url), m.published, m.article_id,
                              unlinked_url(m.url))
                       for m in members.get(region.story_id, [])
                       if m.article_id != hit.article_id]
