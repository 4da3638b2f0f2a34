"""One story across outlets: story clusters per threshold, speed, judged precision.

Reads the four real corpora of ``../shared/data/news`` (Báo Mới, dantri-unc,
crawlnews-2026, DANeS; 19,732 articles), cleans each article as the indexer does
(:func:`indexer.cleaning.clean_text`) and computes its :func:`indexer.stories.story_signature`.

* **Speed**: milliseconds of CPU per signature (cleaning not included), median of 5 runs
  over 300 articles of 4,000–6,000 characters, and over every 10th article.
* **Clusters per threshold**: candidate pairs come from a fine LSH (64 bands x 2 rows:
  a pair at similarity 0.3 is found with probability 0.998), so the counts do not depend
  on the library's own banding; each pair's similarity is
  :meth:`StorySignature.similarity`. For each threshold the stories are formed by the
  integration's rule (``indexer/stories/__init__.py``: in corpus order, an article joins
  the story of its most similar earlier article at or above the threshold) and the
  table shows pairs, stories of 2+ articles, the articles in them, the size
  distribution and pairs across files. ``lsh recall`` is the share of pairs at or
  above the threshold that share one of the library's ``BANDS`` x ``ROWS`` band keys.
* **Variants** (``--variants``): pairs >= THRESHOLD when tones are folded, without the
  wrapper removal, and with 2/4/5-word shingles, to show what those choices change.
* **Judged precision**: ``data/eval/story-pairs.jsonl`` holds 100 seeded pairs at or
  above the threshold and 30 just below it, each judged by reading (see
  ``data/eval/story-pairs.md``); printed per similarity band.
* ``--sample FILE`` writes a fresh seeded sample (titles and leads) for judging.

Usage: ``.venv/bin/python bench/stories.py [--variants] [--sample /tmp/pairs.jsonl]``
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NEWS = ROOT.parent / "shared" / "data" / "news"
FILES = ("baomoi.jsonl.gz", "dantri-unc.jsonl", "crawlnews-2026.jsonl", "danes-headlines.jsonl")
JUDGED = ROOT / "data" / "eval" / "story-pairs.jsonl"
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass(frozen=True)
class Doc:
    """One article of the corpora, cleaned as the indexer cleans it."""

    file: str
    line: int        # 1-based line number in the (decompressed) file
    id: str
    title: str | None
    text: str        # cleaned text
    url: str | None
    source: str | None


@dataclass(frozen=True)
class Pairs:
    """Candidate pairs (i < j, indexes into the docs) with their estimated similarity."""

    i: Any
    j: Any
    sim: Any


@dataclass(frozen=True)
class Signatures:
    """One signature per doc: ``rows`` (n, NUM_PERM) uint64, ``valid`` False where none."""

    rows: Any
    valid: Any


@dataclass(frozen=True)
class JudgedCount:
    """Judged pairs a setting puts at or above the threshold."""

    same: int
    different: int


@dataclass(frozen=True)
class ThresholdRow:
    """Stories formed at one threshold."""

    threshold: float
    pairs: int
    stories: int
    articles: int
    sizes: Counter
    cross_file: int
    lsh_recall: float
    stories_outlet_rule: int  # stories of 2+ when pairs from one (non-aggregator) outlet are not joined


def load_docs(limit: int | None = None) -> list[Doc]:
    """All articles of the four corpora, in file order, cleaned with clean_text."""
    from indexer.cleaning import clean_text

    docs: list[Doc] = []
    for name in FILES:
        path = NEWS / name
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, 1):
                rec = json.loads(line)
                text = clean_text(rec.get("text") or "", title=rec.get("title"))
                docs.append(Doc(name, line_no, rec["id"], rec.get("title"), text, rec.get("url"),
                                rec.get("source")))
                if limit and line_no >= limit:
                    break
    return docs


def signature_matrix(docs: list[Doc], make: Any) -> Signatures:
    """(len(docs), NUM_PERM) uint64 matrix; rows of docs without a signature are 0 and masked."""
    import numpy as np

    from indexer.stories import NUM_PERM

    rows = np.zeros((len(docs), NUM_PERM), dtype=np.uint64)
    valid = np.zeros(len(docs), dtype=bool)
    for k, doc in enumerate(docs):
        values = make(doc)
        if values is not None:
            rows[k] = np.frombuffer(values, dtype="<u8")
            valid[k] = True
    return Signatures(rows, valid)


def library_signature(doc: Doc) -> bytes | None:
    from indexer.stories import story_signature

    sig = story_signature(doc.title, doc.text)
    return sig.values if sig else None


def candidate_pairs(rows: Any, valid: Any, bands: int = 64, width: int = 2, cap: int = 200) -> Pairs:
    """All pairs sharing a fine band (bands x width values), with their similarity."""
    import numpy as np

    index = np.flatnonzero(valid)
    found: list[Any] = []
    for b in range(bands):
        block = rows[index, b * width:(b + 1) * width]
        key = block[:, 0] ^ (block[:, 1] * np.uint64(0x9E3779B97F4A7C15))
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
        ends = np.r_[starts[1:], len(sorted_key)]
        for s, e in zip(starts, ends):
            if 1 < e - s <= cap:  # a bucket of hundreds is a shared formula, not a story
                members = np.sort(index[order[s:e]])
                a, c = np.triu_indices(len(members), k=1)
                found.append(members[a] * len(rows) + members[c])
    codes = np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)
    i, j = codes // len(rows), codes % len(rows)
    sim = (rows[i] == rows[j]).sum(axis=1) / rows.shape[1]
    return Pairs(i, j, sim)


def greedy_stories(docs: list[Doc], pairs: Pairs, threshold: float, outlet_rule: bool = False) -> list[int]:
    """Story id (index of its first article) per doc, by the integration's assignment rule."""
    from indexer.stories import different_outlets

    n = len(docs)
    best: dict[int, tuple[float, int]] = {}
    for i, j, s in zip(pairs.i.tolist(), pairs.j.tolist(), pairs.sim.tolist()):
        if outlet_rule and not different_outlets(docs[i].source, docs[j].source):
            continue
        if s >= threshold and (j not in best or (s, -i) > (best[j][0], -best[j][1])):
            best[j] = (s, i)
    story = list(range(n))
    for j in range(n):  # corpus order: an earlier article's story is final when j comes
        if j in best:
            story[j] = story[best[j][1]]
    return story


def lsh_recall(rows: Any, pairs: Pairs, threshold: float) -> float:
    """Share of pairs >= threshold that share a band key of the library's banding."""
    from indexer.stories import BANDS, ROWS

    keep = pairs.sim >= threshold
    if not keep.any():
        return 1.0
    a = rows[pairs.i[keep], :BANDS * ROWS].reshape(-1, BANDS, ROWS)
    b = rows[pairs.j[keep], :BANDS * ROWS].reshape(-1, BANDS, ROWS)
    return float((a == b).all(axis=2).any(axis=1).mean())


def threshold_rows(docs: list[Doc], rows: Any, pairs: Pairs) -> list[ThresholdRow]:
    out = []
    for t in THRESHOLDS:
        story = greedy_stories(docs, pairs, t)
        sizes = Counter(Counter(story).values())
        del sizes[1]
        keep = pairs.sim >= t
        cross = sum(docs[i].file != docs[j].file for i, j in zip(pairs.i[keep], pairs.j[keep]))
        out.append(ThresholdRow(t, int(keep.sum()), sum(sizes.values()),
                                sum(k * v for k, v in sizes.items()), sizes, cross,
                                lsh_recall(rows, pairs, t), count_stories(greedy_stories(docs, pairs, t, True))))
    return out


def count_stories(story: list[int]) -> int:
    """Stories of two or more articles."""
    return sum(1 for size in Counter(story).values() if size > 1)


def print_thresholds(rows: list[ThresholdRow]) -> None:
    print("\nthreshold  pairs  stories(2+)  articles  cross-file  lsh recall  stories, outlet rule"
          "  sizes (size:count)")
    for r in rows:
        sizes = " ".join(f"{k}:{v}" for k, v in sorted(r.sizes.items()))
        print(f"{r.threshold:9.1f} {r.pairs:6d} {r.stories:12d} {r.articles:9d} {r.cross_file:11d} "
              f"{r.lsh_recall:11.3f} {r.stories_outlet_rule:21d}  {sizes}")


def speed(docs: list[Doc]) -> None:
    """ms per signature, median of 5 runs: 4,000-6,000-char articles, and every 10th article.

    CPU time of this process (``time.process_time``) is the figure to compare: on a shared
    machine the wall clock also counts the time other processes held the cores.
    """
    from indexer.stories import story_signature

    mid = [d for d in docs if 4000 <= len(d.text) <= 6000][:300]
    every = docs[::10]
    for label, group in (("4,000-6,000 chars", mid), ("every 10th article", every)):
        cpu, wall = [], []
        for _ in range(5):
            start_cpu, start_wall = time.process_time(), time.perf_counter()
            for d in group:
                story_signature(d.title, d.text)
            cpu.append((time.process_time() - start_cpu) * 1000 / len(group))
            wall.append((time.perf_counter() - start_wall) * 1000 / len(group))
        chars = statistics.mean(len(d.text) for d in group)
        print(f"signature speed, {label}: {statistics.median(cpu):.2f} ms CPU/article "
              f"({statistics.median(wall):.2f} ms wall; n={len(group)}, mean {chars:,.0f} chars)")


def variant_maker(fold_tones: bool = False, size: int = 3, raw: bool = False) -> Any:
    """A signature function like the library's, with one choice changed."""
    import re

    from datasketch import MinHash

    from indexer.stories import MIN_WORDS, NUM_PERM, SEED
    from indexer.stories.shingles import shingle_hashes, story_words
    from indexer.stories.signature import _identity, _permutations

    def make(doc: Doc) -> bytes | None:
        if raw:  # no dateline / closing-line removal
            words = re.findall(r"[^\W_]+", f"{doc.title or ''} {doc.text}".lower())
        else:
            words = story_words(doc.title, doc.text, fold_tones=fold_tones)
        if len(words) < MIN_WORDS:
            return None
        m = MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine64", hashfunc=_identity,
                    permutations=_permutations())
        m.update_batch(shingle_hashes(words, size).tolist())
        return m.hashvalues.astype("<u8").tobytes()

    return make


def variants(docs: list[Doc]) -> None:
    """Pairs and stories at THRESHOLD for each variant of the normalisation."""
    from indexer.stories import THRESHOLD

    print(f"\nvariants at threshold {THRESHOLD}: pairs >= threshold, stories of 2+, and the judged pairs")
    choices = {
        "library (tones kept, 3-word, wrapper removed)": {},
        "tones folded": {"fold_tones": True},
        "wrapper kept (no dateline/closing-line/self-description removal)": {"raw": True},
        "2-word shingles": {"size": 2},
        "4-word shingles": {"size": 4},
        "5-word shingles": {"size": 5},
    }
    print(f"  {'':66s} {'pairs':>6s} {'stories':>7s}  judged pairs >= threshold: same / different")
    for label, kwargs in choices.items():
        make = variant_maker(**kwargs)
        sigs = signature_matrix(docs, make)
        pairs = candidate_pairs(sigs.rows, sigs.valid)
        stories = count_stories(greedy_stories(docs, pairs, THRESHOLD))
        judged = judged_over_threshold(docs, make)
        print(f"  {label:66s} {int((pairs.sim >= THRESHOLD).sum()):6d} {stories:7d}  "
              f"{judged.same:3d} / {judged.different:3d}")


def judged_over_threshold(docs: list[Doc], make: Any) -> JudgedCount:
    """How many judged same-story / different-story pairs a variant puts >= THRESHOLD."""
    import numpy as np

    from indexer.stories import THRESHOLD

    if not JUDGED.exists():
        return JudgedCount(0, 0)
    by_id = {d.id: d for d in docs}
    same = different = 0
    for rec in map(json.loads, JUDGED.open(encoding="utf-8")):
        if rec["a_id"] not in by_id or rec["b_id"] not in by_id:  # --limit left them out
            continue
        a, b = (np.frombuffer(make(by_id[rec[k]]), dtype="<u8") for k in ("a_id", "b_id"))
        if (a == b).mean() >= THRESHOLD:
            same += rec["same_story"]
            different += not rec["same_story"]
    return JudgedCount(same, different)


def lead(doc: Doc, chars: int = 300) -> str:
    return doc.text[:chars].replace("\n\n", " ¶ ")


def sample_pairs(docs: list[Doc], pairs: Pairs, out: Path, seed: int = 20261130) -> None:
    """100 pairs >= THRESHOLD stratified over 5 similarity bands + 30 just below, for reading."""
    import random

    from indexer.stories import THRESHOLD

    rng = random.Random(seed)
    step = (1.0 - THRESHOLD) / 5
    bands = [(THRESHOLD + k * step, THRESHOLD + (k + 1) * step + (1e-9 if k == 4 else 0)) for k in range(5)]
    chosen: list[tuple[str, int]] = []
    spare: list[int] = []
    for lo, hi in bands:
        members = [k for k, s in enumerate(pairs.sim.tolist()) if lo <= s < hi]
        rng.shuffle(members)
        chosen += [("above", k) for k in members[:20]]
        spare += members[20:]
    rng.shuffle(spare)
    chosen += [("above", k) for k in spare[:100 - len(chosen)]]
    below = [k for k, s in enumerate(pairs.sim.tolist()) if THRESHOLD - 0.15 <= s < THRESHOLD]
    chosen += [("below", k) for k in rng.sample(below, min(30, len(below)))]
    with out.open("w", encoding="utf-8") as handle:
        for stratum, k in chosen:
            a, b = docs[int(pairs.i[k])], docs[int(pairs.j[k])]
            rec = {"stratum": stratum, "similarity": round(float(pairs.sim[k]), 4)}
            for tag, d in (("a", a), ("b", b)):
                rec.update({f"{tag}_id": d.id, f"{tag}_file": d.file, f"{tag}_line": d.line,
                            f"{tag}_url": d.url, f"{tag}_title": d.title, f"{tag}_lead": lead(d)})
            handle.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(f"\nwrote {len(chosen)} pairs for judging to {out}")


def judged_precision(path: Path = JUDGED) -> None:
    """Precision of the judged pairs >= threshold, per similarity band; misses below it."""
    if not path.exists():
        print(f"\n{path} not found: no judged precision")
        return
    recs = [json.loads(line) for line in path.open(encoding="utf-8")]
    above = [r for r in recs if r["stratum"] == "above"]
    below = [r for r in recs if r["stratum"] == "below"]
    same = sum(r["same_story"] for r in above)
    print(f"\njudged pairs >= threshold: {len(above)}, same story {same}, "
          f"precision {same / max(1, len(above)):.2f}")
    for lo in sorted({int(r["similarity"] * 10) / 10 for r in above}):
        group = [r for r in above if lo <= r["similarity"] < lo + 0.1]
        ok = sum(r["same_story"] for r in group)
        print(f"  similarity {lo:.1f}-{lo + 0.1:.1f}: {ok}/{len(group)}")
    for name in FILES:
        group = [r for r in above if r["a_file"] == name]
        if group:
            ok = sum(r["same_story"] for r in group)
            print(f"  {name}: {ok}/{len(group)}")
    from indexer.stories import different_outlets

    kept = [r for r in above if different_outlets(r["a_source"], r["b_source"])]
    ok = sum(r["same_story"] for r in kept)
    print(f"  with the outlet rule (pairs from one non-aggregator outlet not joined): "
          f"{ok}/{len(kept)}, precision {ok / max(1, len(kept)):.2f}; "
          f"same-story pairs it drops: {same - ok}")
    missed = sum(r["same_story"] for r in below)
    print(f"judged pairs just below the threshold: {len(below)}, same story (missed) {missed}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", action="store_true", help="also compare normalisation variants")
    parser.add_argument("--sample", type=Path, help="write a seeded sample of pairs for judging")
    parser.add_argument("--limit", type=int, help="at most this many articles per file")
    args = parser.parse_args()
    if not NEWS.is_dir():
        sys.exit(f"{NEWS} not found: the benchmark needs ../shared/data beside the repo")
    start = time.perf_counter()
    docs = load_docs(args.limit)
    print(f"{len(docs):,} articles read and cleaned in {time.perf_counter() - start:.0f} s")
    speed(docs)
    sigs = signature_matrix(docs, library_signature)
    print(f"signatures: {int(sigs.valid.sum()):,} (the rest too short)")
    pairs = candidate_pairs(sigs.rows, sigs.valid)
    print_thresholds(threshold_rows(docs, sigs.rows, pairs))
    if args.variants:
        variants(docs)
    if args.sample:
        sample_pairs(docs, pairs, args.sample)
    judged_precision()


if __name__ == "__main__":
    main()
