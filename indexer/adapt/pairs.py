"""Training pairs from news articles: headline → lead, toneless headline → lead.

Journalists write a headline and a lead for the same story, and every toned text has a
toneless form: that is the supervision (no labelled queries exist offline). An article
gives up to two pairs, (headline, lead) and (fold(headline), lead); the lead is the
first paragraph, cut to ``PASSAGE_WORDS`` words (about one index passage).

Decontamination: an article whose normalised title equals an evaluation document's, or
which shares any ``SPAN_WORDS``-word span with an evaluation document, is dropped before
any pair is made, and the count is reported (:class:`PairSet`).

Hard negatives (optional; the shipped recipe trains on in-batch negatives only, which fits
the 2-core time budget) come from a BM25 ranking of the training leads for each headline (the
same syllable tokens as vnsearch's lexical search); a candidate of the same story
(MinHash, :func:`indexer.stories.same_story`, or word-Jaccard of the titles ≥ 0.5 for
texts too short for a signature) is never a negative.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError
from ..vietnamese import fold, nfc, tokenize

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

#: Words of the lead kept as the positive passage (the chunker's passages are 40-160 words;
#: 64 keeps a batch's padded length near 96 tokens, which is what makes the recipe fit 2 cores).
PASSAGE_WORDS = 64
#: A shared span of this many words with an evaluation document removes an article.
SPAN_WORDS = 12
MIN_TITLE_WORDS = 4
MIN_PASSAGE_WORDS = 12
_WORD_RE = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class NewsItem:
    """One training article: id, headline, lead passage and the file it came from."""

    id: str
    title: str
    passage: str
    source_file: str


@dataclass(frozen=True)
class Pair:
    """One training example: a query-like text, its passage, and an optional hard negative."""

    anchor: str
    positive: str
    negative: str | None = None
    kind: str = "headline"


@dataclass
class PairSet:
    """The pairs built from some files and what was dropped on the way."""

    pairs: list[Pair]
    articles_read: int
    articles_used: int
    removed_overlap: int
    removed_short: int
    per_file: dict[str, int] = field(default_factory=dict)
    with_negative: int = 0

    def counts(self) -> dict:
        """The numbers recorded in ``adapter.json`` and printed by ``vnsearch adapt``."""
        kinds: dict[str, int] = {}
        for pair in self.pairs:
            kinds[pair.kind] = kinds.get(pair.kind, 0) + 1
        return {"pairs": len(self.pairs), "by_kind": kinds, "with_negative": self.with_negative,
                "articles_read": self.articles_read, "articles_used": self.articles_used,
                "removed_eval_overlap": self.removed_overlap, "removed_short": self.removed_short,
                "usable_articles_per_file": self.per_file}


def read_jsonl(path: Path) -> Iterator[dict]:
    """Records of a ``.jsonl`` or ``.jsonl.gz`` file (one JSON object a line)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield json.loads(line)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a JSON-lines file ({exc})") from None


def _words(text: str) -> list[str]:
    return _WORD_RE.findall(nfc(text).lower())


def normalised_title(title: str) -> str:
    """Title key for overlap checks: folded (no tones, lower case), words joined by a space."""
    return " ".join(_WORD_RE.findall(fold(title)))


def _span_hashes(words: list[str], size: int = SPAN_WORDS) -> set[bytes]:
    return {hashlib.blake2b(" ".join(words[i:i + size]).encode(), digest_size=8).digest()
            for i in range(max(0, len(words) - size + 1))}


@dataclass
class EvalOverlap:
    """Normalised titles and ``SPAN_WORDS``-word spans of the evaluation corpora."""

    titles: set[str]
    spans: set[bytes]

    @classmethod
    def from_corpora(cls, paths: Iterable[Path]) -> EvalOverlap:
        """Read every evaluation corpus file (``{"id", "title", "text"}`` records)."""
        titles: set[str] = set()
        spans: set[bytes] = set()
        for path in paths:
            for rec in read_jsonl(Path(path)):
                if rec.get("title"):
                    titles.add(normalised_title(rec["title"]))
                    spans |= _span_hashes(_words(rec["title"]))
                spans |= _span_hashes(_words(rec.get("text") or ""))
        titles.discard("")
        return cls(titles, spans)

    def overlaps(self, title: str, text: str) -> bool:
        """True when the article shares its title or any long span with an eval document."""
        if normalised_title(title) in self.titles:
            return True
        return any(not self.spans.isdisjoint(_span_hashes(_words(part))) for part in (title, text))


def lead_passage(text: str, words: int = PASSAGE_WORDS) -> str:
    """The first paragraph of ``text``, cut to ``words`` words (at a sentence end if one is
    near)."""
    first = text.strip().split("\n\n", 1)[0].strip()
    tokens = first.split()
    if len(tokens) <= words:
        return first
    cut = " ".join(tokens[:words])
    end = max(cut.rfind(". "), cut.rfind("? "), cut.rfind("! "))
    # Keep a sentence end only if it leaves most of the passage.
    return cut[:end + 1] if end > len(cut) * 0.6 else cut


@dataclass
class LoadedItems:
    """The usable articles of some files and how many were dropped, and why."""

    items: list[NewsItem]
    read: int = 0
    overlap: int = 0
    short: int = 0
    per_file: dict[str, int] = field(default_factory=dict)


def load_items(paths: list[Path], overlap: EvalOverlap | None) -> LoadedItems:
    """Usable articles of ``paths``: title and lead long enough, no duplicate title, no
    eval overlap (a repeated title is dropped silently, counted as short)."""
    items: list[NewsItem] = []
    seen: set[str] = set()
    stats = LoadedItems(items)
    for path in paths:
        kept = 0
        for rec in read_jsonl(Path(path)):
            stats.read += 1
            title, text = (rec.get("title") or "").strip(), rec.get("text") or ""
            passage = lead_passage(text)
            key = normalised_title(title)
            if (len(title.split()) < MIN_TITLE_WORDS or len(passage.split()) < MIN_PASSAGE_WORDS
                    or key in seen):
                stats.short += 1
                continue
            if overlap is not None and overlap.overlaps(title, text):
                stats.overlap += 1
                continue
            seen.add(key)
            items.append(NewsItem(str(rec.get("id")), nfc(title), nfc(passage), Path(path).name))
            kept += 1
        stats.per_file[Path(path).name] = kept
    return stats


@dataclass
class _Bm25:
    """BM25 document-term weights (scipy CSR, one row per text) and their vocabulary."""

    docs: csr_matrix
    vocab: dict[str, int]


def _bm25_matrix(texts: list[str], k1: float = 1.2, b: float = 0.75) -> _Bm25:
    """Sparse BM25 weights of ``texts`` over vnsearch's syllable tokens."""
    import numpy as np
    from scipy.sparse import csr_matrix

    vocab: dict[str, int] = {}
    rows, cols, vals = [], [], []
    lengths = np.zeros(len(texts), dtype=np.float32)
    for i, text in enumerate(texts):
        tokens = tokenize(text)
        lengths[i] = len(tokens)
        counts: dict[int, int] = {}
        for tok in tokens:
            col = vocab.setdefault(tok, len(vocab))
            counts[col] = counts.get(col, 0) + 1
        rows += [i] * len(counts)
        cols += list(counts)
        vals += list(counts.values())
    tf = csr_matrix((np.array(vals, dtype=np.float32), (rows, cols)),
                    shape=(len(texts), len(vocab)))
    df = np.bincount(tf.indices, minlength=len(vocab)).astype(np.float32)
    idf = np.log1p((len(texts) - df + 0.5) / (df + 0.5))
    norm = k1 * (1 - b + b * lengths / max(float(lengths.mean()), 1.0))
    tf.data = tf.data * (k1 + 1) / (tf.data + np.repeat(norm, np.diff(tf.indptr)))
    # scipy-stubs type multiply() by a dense array as dense; scipy returns a sparse matrix.
    return _Bm25(tf.multiply(idf[None, :]).tocsr(), vocab)  # type: ignore[attr-defined]


def _same_story_guard(items: list[NewsItem]) -> Callable[[int, int], bool]:
    """A function (i, j) → True when items i and j may be one story (never negatives)."""
    from ..stories.signature import same_story, story_signature

    sigs = [story_signature(it.title, it.passage) for it in items]
    title_words = [set(_words(it.title)) for it in items]

    def related(i: int, j: int) -> bool:
        a, b = sigs[i], sigs[j]
        if a is not None and b is not None and same_story(a, b):
            return True
        union = title_words[i] | title_words[j]
        return bool(union) and len(title_words[i] & title_words[j]) / len(union) >= 0.5

    return related


def mine_negatives(items: list[NewsItem], seed: int, top: int = 10) -> list[int | None]:
    """For each item, the index of a hard negative lead (or None): one of the first
    ``top`` BM25 hits of its headline among the other leads, same story excluded."""
    import numpy as np
    from scipy.sparse import csr_matrix

    if len(items) < 3:
        return [None] * len(items)
    bm25 = _bm25_matrix([it.passage for it in items])
    docs, vocab = bm25.docs, bm25.vocab
    rows, cols = [], []
    for i, it in enumerate(items):
        terms = {vocab[t] for t in tokenize(it.title) if t in vocab}
        rows += [i] * len(terms)
        cols += list(terms)
    queries = csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                         shape=(len(items), len(vocab)))
    related = _same_story_guard(items)
    rng = np.random.default_rng(seed)
    out: list[int | None] = []
    for start in range(0, len(items), 512):  # 512 headlines at a time bound the dense block
        scores = (queries[start:start + 512] @ docs.T).toarray()
        for offset, row in enumerate(scores):
            i = start + offset
            row[i] = -1.0
            best = np.argsort(-row)[:top]
            ok = [int(j) for j in best if row[j] > 0 and not related(i, int(j))]
            # A random one of the first few, not always the top: the top hit of a short
            # headline is the likeliest unlabelled positive.
            out.append(ok[int(rng.integers(min(3, len(ok))))] if ok else None)
    return out


def build_pairs(paths: list[Path], eval_corpora: list[Path], *, max_pairs: int | None = None,
                toneless: bool = True, negatives: bool = True, seed: int = 0) -> PairSet:
    """Pairs from the news files ``paths``, articles overlapping ``eval_corpora`` removed.

    ``max_pairs`` caps the pairs (articles are sampled with ``seed`` before pairing, so
    the toned and toneless pair of one article stay together).
    """
    import numpy as np

    overlap = EvalOverlap.from_corpora(eval_corpora) if eval_corpora else None
    loaded = load_items([Path(p) for p in paths], overlap)
    items = loaded.items
    per_article = 2 if toneless else 1
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(items))
    if max_pairs is not None:
        order = order[:max(1, max_pairs // per_article)]
    items = [items[i] for i in sorted(order)]
    negs = mine_negatives(items, seed) if negatives else [None] * len(items)
    pairs: list[Pair] = []
    for it, neg in zip(items, negs, strict=False):
        negative = items[neg].passage if neg is not None else None
        pairs.append(Pair(it.title, it.passage, negative, "headline"))
        if toneless:
            pairs.append(Pair(fold(it.title), it.passage, negative, "toneless-headline"))
    shuffled = [pairs[i] for i in rng.permutation(len(pairs))]
    return PairSet(shuffled, loaded.read, len(items), loaded.overlap, loaded.short,
                   loaded.per_file, sum(p.negative is not None for p in shuffled))
