"""A corpus of stories across outlets for the cluster's story tests, and an in-memory story
store that applies the writer's rule (``indexer.stories.choose_story``) without SQLite."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path

from support import SHARED

from indexer.db import StoryCandidate
from indexer.stories import choose_story

NEWS = SHARED / "data" / "news" / "dantri-unc.jsonl"


def republished(record: dict, outlet: str, tag: str, n: int, cut_first: bool) -> dict:
    """A republished copy: another outlet and URL, a dateline, one paragraph cut (the
    first or the last) and the outlet's tag closing every paragraph — one story with the
    original (similarity well above 0.5), but no passage the same text as another (exact
    score ties between two articles would leave their order to the shards)."""
    paragraphs = record["text"].split("\n\n")
    paragraphs = paragraphs[1:] if cut_first else paragraphs[:-1]
    paragraphs = [f"{p} [{tag}]" for p in paragraphs]
    paragraphs[0] = f"({outlet}) - {paragraphs[0]}"
    return {**record, "id": f"{record['id']}-{tag}{n}", "source": outlet,
            "url": record["url"].replace("dantri.com.vn", f"{tag}.example.vn") + f"-{n}",
            "text": "\n\n".join(paragraphs)}


def story_corpus(originals: int = 40, seed: int = 7) -> list[dict]:
    """``originals`` real Dân trí articles (one outlet: no story among them) and, for every
    fourth one, copies from VnExpress and Báo Mới (an aggregator) placed at random later
    or earlier positions — so a story's first article is sometimes a copy."""
    if not NEWS.exists():
        import pytest

        pytest.skip(f"{NEWS} is not present (../shared; set VNSEARCH_TEST_SHARED)")
    with NEWS.open(encoding="utf-8") as handle:
        records = [json.loads(line) for _, line in zip(range(originals), handle, strict=False)]
    rng = random.Random(seed)
    out = list(records)
    for n, record in enumerate(records[::4]):
        for tag, outlet, cut_first in (("vne", "VnExpress", False), ("bm", "Báo Mới", True)):
            if tag == "bm" and n % 2:
                continue
            out.insert(rng.randrange(len(out) + 1), republished(record, outlet, tag, n, cut_first))
    return out


def write_jsonl(records: list[dict], path: Path) -> Path:
    """``records`` as a JSONL file."""
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                    encoding="utf-8")
    return path


class MemoryStories:
    """A shard's story tables in memory: band key → articles, article → its row."""

    def __init__(self) -> None:
        self.bands: dict[bytes, list[str]] = defaultdict(list)
        self.rows: dict[str, StoryCandidate] = {}

    def candidates(self, bands: list[bytes]) -> list[StoryCandidate]:
        """The stored articles sharing a band key (as ``IndexDB.story_candidates``)."""
        ids = {aid for band in bands for aid in self.bands.get(band, ())}
        return [self.rows[aid] for aid in sorted(ids)]

    def write(self, article_id: str, signature, source: str | None) -> str:
        """Store an article with the story the writer's rule gives it here; its story id."""
        story = choose_story(article_id, signature, source, self.candidates(signature.bands()))
        self.rows[article_id] = StoryCandidate(article_id, story, signature.values, source)
        for band in signature.bands():
            self.bands[band].append(article_id)
        return story

    def set_story(self, article_id: str, story: str) -> None:
        """Rewrite an article's story id (the cluster's story step)."""
        row = self.rows[article_id]
        self.rows[article_id] = StoryCandidate(article_id, story, row.signature, row.source)
