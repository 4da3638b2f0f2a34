"""What ``vnsearch stats`` and ``vnsearch export`` report about an index directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .db import IndexDB, split_stored_categories
from .snapshot import recover


def index_stats(directory: Path) -> dict[str, Any]:
    """Counts, model, vector index, format, size on disk (the ``stats --json`` document)."""
    directory = Path(directory)
    manifest = recover(directory)
    with IndexDB(directory, readonly=True) as db:
        n = db.counts()
        sources = db.source_count()
        urls = db.url_count()
        tombstones = db.tombstone_count()
        unparsed = db.unparsed_date_count()
        regions = db.region_counts()
    size = sum(p.stat().st_size for p in directory.iterdir() if p.is_file())
    return {"articles": n["articles"], "passages": n["passages"], "sources": sources,
            "urls": urls, "tombstones": tombstones, "dates_unparsed": unparsed,
            # regions: articles about at least one province; stories of 2+ articles
            **regions, "model": manifest.model_name, "model_id": manifest.model_id,
            "dimension": manifest.dimension, "vector_index": manifest.vector_index,
            "format_version": manifest.format_version, "generation": manifest.generation,
            "chunking": manifest.chunking, "bytes": size,
            "bytes_per_passage": round(size / n["passages"], 1) if n["passages"] else None,
            "created": manifest.created, "updated": manifest.updated}


def export_records(directory: Path) -> Iterator[dict[str, Any]]:
    """Every cleaned article with metadata, URLs and passages, from one generation."""
    recover(directory)
    with IndexDB(directory, readonly=True) as db, db.read_transaction():
        for art in db.iter_articles():
            yield {"id": art.id, "title": art.title, "text": art.text, "url": art.url,
                   "urls": art.urls, "source": art.source, "published": art.published,
                   "category": art.category,
                   "categories": list(split_stored_categories(art.category)),
                   "published_raw": art.published_raw,
                   "passages": [{"id": p.id, "ordinal": p.ordinal, "start": p.start,
                                 "end": p.end, "text": p.text} for p in art.passages]}
