"""Does cleaning keep every sentence of the article body? Measured on real articles.

Samples articles (fixed seed) from ``../shared/data/news`` (crawlnews-2026, dantri-unc,
Báo Mới), cleans each with :func:`indexer.cleaning.clean_text` and classifies every
sentence of the raw text:

* ``kept`` - present in the cleaned text (NFC + tone placement + whitespace
  normalised, as the cleaner normalises);
* ``kept-credit`` - present once a photo credit glued into it ("Ảnh: X", "(Ảnh: X)")
  is removed: the words before the credit label and the words after the credit name
  (at most 8 name words) are both present;
* removed by a rule (``cutoff``, ``google-news``, ``image-file``, ``junk``,
  ``date-line``, ``caption``, ``title``, ``dateline-tag``) - boilerplate, shown for
  reading;
* ``lost`` - anything else: a body sentence the cleaner dropped (must be 0).

Usage: ``.venv/bin/python bench/cleaning_keep.py [--articles 200] [--seed 20261130]
[--show 15]``. Prints a table, every lost sentence, examples of each removal rule and
of the credit removals (credit | what follows) for reading.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from indexer.cleaning import (  # noqa: E402
    _CUTOFF_RE,
    _IMAGE_FILE_RE,
    _JUNK_RE,
    clean_text,
    google_news_outlet,
    is_caption,
    is_date_line,
    normalize_unicode,
    split_paragraphs,
    strip_caption_credit,
    strip_dateline_tag,
)

NEWS = ROOT.parent / "shared" / "data" / "news"
#: (file, share of the sample): crawlnews has the glued credits, dantri paragraphs and
#: captions, Báo Mới one-paragraph bodies with inline credits.
CORPORA = (("crawlnews-2026.jsonl", 0.4), ("dantri-unc.jsonl", 0.3), ("baomoi.jsonl.gz", 0.3))
# A sentence ends at . ! ? … (optionally closed by a quote/bracket) before a space.
_SENTENCE_SPLIT_RE = re.compile(r"(?:(?<=[.!?…])|(?<=[.!?…][\"”')\]]))\s+|(?<=[.!?…])(?=Ảnh\s*:)")
_LABEL_RE = re.compile(r"\(?\s*(?i:(?:ảnh minh họa|nguồn ảnh|ảnh|video|clip|nguồn)\s*:|ảnh minh họa\b)\s*")
_PAREN_CREDITS_RE = re.compile(r"\(\s*(?i:ảnh|nguồn|video|clip)[^()]{0,80}\)")
_MAX_NAME_WORDS = 8


@dataclass
class Tally:
    """Counts per outcome, with examples."""

    counts: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, outcome: str, example: str) -> None:
        """Count one sentence under ``outcome`` and remember it as an example."""
        self.counts[outcome] += 1
        self.examples[outcome].append(example)


def _squash(text: str) -> str:
    return " ".join(text.split())


def _iter_jsonl(path: Path) -> Iterator[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def sample_articles(n: int, seed: int, news: Path = NEWS) -> list[dict]:
    """``n`` articles drawn with ``seed`` from the corpora in :data:`CORPORA`."""
    rng = random.Random(seed)
    out: list[dict] = []
    for i, (name, share) in enumerate(CORPORA):
        k = n - len(out) if i == len(CORPORA) - 1 else round(n * share)
        records = [r for r in _iter_jsonl(news / name) if (r.get("text") or "").strip()]
        for r in rng.sample(records, k):
            out.append(dict(r, corpus=name))
    return out


def _kept_without_credit(sentence: str, cleaned: str) -> str | None:
    """"credit | rest" if ``sentence`` minus a glued credit is in ``cleaned``, else None.

    The credit is the label plus the fewest following words (at most 8) such that the
    words before the label and the words after the credit are both in ``cleaned``.
    """
    for m in _LABEL_RE.finditer(sentence):
        before = sentence[: m.start()].rstrip(" .-–—|")
        if before and _squash(before) not in cleaned:
            continue
        words = list(re.finditer(r"\S+", sentence[m.end():]))
        for k in range(min(len(words), _MAX_NAME_WORDS) + 1):
            cut = m.end() + (words[k].start() if k < len(words) else len(sentence) - m.end())
            rest = sentence[cut:]
            if not rest.strip() or _squash(rest) in cleaned:
                return f"{sentence[m.start():cut].strip()} | {rest[:50]}"
    return None


def _removal_rule(paragraph: str, index: int, title: str | None, cleaned: str) -> str | None:
    """Which boilerplate rule removes the whole ``paragraph``, if any."""
    if google_news_outlet(paragraph):
        return "google-news"
    if _IMAGE_FILE_RE.match(paragraph):
        return "image-file"
    if _JUNK_RE.match(paragraph):
        return "junk"
    if is_date_line(paragraph):
        return "date-line"
    stripped = _squash(strip_caption_credit(paragraph))
    if is_caption(paragraph) and (not stripped or stripped not in cleaned):
        return "caption"
    if index == 0 and title and _squash(paragraph).casefold().rstrip(" .") == _squash(title).casefold().rstrip(" ."):
        return "title"
    return None


def classify_article(record: dict, tally: Tally) -> None:
    """Classify every raw sentence of one article into ``tally``."""
    raw = normalize_unicode(record["text"])
    title = normalize_unicode(record["title"]) if record.get("title") else None
    cleaned = _squash(clean_text(record["text"], title=record.get("title")))
    paragraphs = split_paragraphs(raw)
    for i, paragraph in enumerate(paragraphs):
        if _CUTOFF_RE.match(paragraph):
            for rest in paragraphs[i:] if i else paragraphs[:1]:
                tally.add("cutoff", rest)
            if i:
                break
            continue
        rule = _removal_rule(paragraph, i, title, cleaned)
        if rule:
            tally.add(rule, paragraph)
            continue
        for sentence in _SENTENCE_SPLIT_RE.split(paragraph):
            _classify_sentence(sentence.strip(), cleaned, tally, record["corpus"])


def _classify_sentence(sentence: str, cleaned: str, tally: Tally, corpus: str) -> None:
    if not sentence:
        return
    if _squash(sentence) in cleaned:
        tally.add("kept", sentence)
        return
    credit = _kept_without_credit(sentence, cleaned)
    pieces = [_squash(p).strip(" .") for p in _PAREN_CREDITS_RE.split(sentence)]
    if credit is None and all(p in cleaned for p in pieces):
        # Bracketed credits of any length ("(Ảnh: Getty) (Ảnh: Reuters)") around text
        # that is kept.
        credit = " ".join(_PAREN_CREDITS_RE.findall(sentence))
    if credit is not None:
        tally.add("kept-credit", f"[{corpus}] {credit}")
    elif _squash(strip_dateline_tag(sentence)) in cleaned:
        tally.add("dateline-tag", sentence)
    else:
        tally.add("lost", f"[{corpus}] {sentence}")


def measure(n: int, seed: int, news: Path = NEWS) -> Tally:
    """Classify every sentence of ``n`` sampled articles."""
    tally = Tally()
    for record in sample_articles(n, seed, news):
        classify_article(record, tally)
    return tally


def report(tally: Tally, show: int) -> None:
    """Print the table, all lost sentences and examples of each other outcome."""
    total = sum(tally.counts.values())
    print(f"{'outcome':<14}{'sentences':>10}")
    for outcome in ("kept", "kept-credit", "cutoff", "google-news", "image-file", "junk", "date-line",
                    "caption", "title", "dateline-tag", "lost"):
        print(f"{outcome:<14}{tally.counts[outcome]:>10}")
    print(f"{'total':<14}{total:>10}")
    for outcome in ("lost", "kept-credit", "caption", "date-line", "cutoff", "dateline-tag", "title",
                    "google-news", "image-file", "junk"):
        examples = tally.examples[outcome]
        limit = len(examples) if outcome == "lost" else show
        if examples:
            print(f"\n== {outcome} ({len(examples)}; showing {min(limit, len(examples))})")
            for example in examples[:limit]:
                print("  ", example[:220])


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; exit status 1 when a sentence was lost."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--show", type=int, default=15, help="examples shown per outcome")
    args = parser.parse_args(argv)
    tally = measure(args.articles, args.seed)
    report(tally, args.show)
    return 1 if tally.counts["lost"] else 0


if __name__ == "__main__":
    sys.exit(main())
