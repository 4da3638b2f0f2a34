"""Province tagging quality and speed on the labelled sample.

The sample, ``data/eval/places-sample.jsonl``, lists real articles of
``../shared/data/news`` (file + line number + url + title; the text is not committed,
see ``data/eval/places-sample.md``) with the current provinces each is about and the
former provinces it names, labelled by reading. This script re-reads the articles, cleans
them as the indexer does (``indexer.cleaning.clean_text``), runs
:func:`indexer.places.tag_places` and prints, per half of the sample and overall:

* micro precision / recall / F1 over (article, current province) pairs, and the same for
  former provinces;
* the share of articles whose current provinces are exactly right;
* tagging time per article (median of 5 runs over the sample, and per 5,000 characters);
* the worst errors (missed and spurious provinces, with the title).

Parts: ``tune`` = the first draw's even positions (0, 2, 4 …; the weights were tuned on
these), ``test`` = its odd positions (held out), ``fresh`` = a second draw (seed 18, 20 per
file, ``"draw": 2``) labelled after the weights were fixed.

Usage::

    .venv/bin/python bench/places.py                # score the sample
    .venv/bin/python bench/places.py --errors 30    # more error lines
    .venv/bin/python bench/places.py --draw 52      # the first draw (seed 17)
    .venv/bin/python bench/places.py --draw 20 --seed 18 --exclude-sample   # the second
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NEWS = ROOT.parent / "shared" / "data" / "news"
SAMPLE = ROOT / "data" / "eval" / "places-sample.jsonl"
# DANeS has headlines and leads only (no bodies), so it is not sampled.
FILES = ("dantri-unc.jsonl", "crawlnews-2026.jsonl", "baomoi.jsonl.gz")
SEED = 17


@dataclass(frozen=True)
class Labelled:
    """One labelled article, re-read from ../shared."""

    position: int
    file: str
    line: int
    title: str | None
    text: str
    source: str | None
    provinces: frozenset[str]
    former: frozenset[str]
    draw: int  # 1: the first draw (tune/test halves), 2: drawn and labelled after tuning


@dataclass
class Score:
    """Micro counts over (article, province) pairs."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    exact: int = 0
    articles: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _open(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def read_lines(file: str, wanted: set[int]) -> dict[int, dict]:
    """The JSON records at the 1-based ``wanted`` line numbers of a news file."""
    out: dict[int, dict] = {}
    with _open(NEWS / file) as fh:
        for number, line in enumerate(fh, start=1):
            if number in wanted:
                out[number] = json.loads(line)
    return out


def draw(per_file: int, seed: int = SEED,
         exclude: set[tuple[str, int]] | None = None) -> list[dict]:
    """A seeded sample of ``per_file`` line numbers per news file, interleaved by file,
    leaving out the (file, line) pairs in ``exclude``."""
    rng = random.Random(seed)
    picks: list[list[dict]] = []
    for file in FILES:
        with _open(NEWS / file) as fh:
            count = sum(1 for _ in fh)
        pool = [n for n in range(1, count + 1) if (file, n) not in (exclude or set())]
        lines = sorted(rng.sample(pool, per_file))
        records = read_lines(file, set(lines))
        picks.append([{"file": file, "line": n, "id": records[n]["id"],
                       "url": records[n].get("url"), "title": records[n].get("title")}
                      for n in lines])
    return [row for group in zip(*picks) for row in group]


def load_sample(path: Path = SAMPLE) -> list[Labelled]:
    """The labelled sample with each article's cleaned text re-read from ../shared."""
    from indexer.cleaning import clean_text

    lines = path.read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    by_file: dict[str, set[int]] = {}
    for row in rows:
        by_file.setdefault(row["file"], set()).add(row["line"])
    records = {file: read_lines(file, lines) for file, lines in by_file.items()}
    out = []
    for position, row in enumerate(rows):
        rec = records[row["file"]][row["line"]]
        if rec["id"] != row["id"]:
            raise ValueError(f"{row['file']}:{row['line']} is {rec['id']}, not {row['id']}")
        out.append(Labelled(position, row["file"], row["line"], rec.get("title"),
                            clean_text(rec["text"], title=rec.get("title")), rec.get("source"),
                            frozenset(row["provinces"]), frozenset(row.get("provinces_former", [])),
                            row.get("draw", 1)))
    return out


def score(sample: list[Labelled], former: bool = False) -> Score:
    """Micro precision/recall of tag_places against the labels (current, or former)."""
    from indexer.places import tag_places

    result = Score()
    for art in sample:
        tags = tag_places(art.title, art.text, art.source)
        got = set(tags.provinces_former if former else tags.provinces)
        want = set(art.former if former else art.provinces)
        result.tp += len(got & want)
        result.fp += len(got - want)
        result.fn += len(want - got)
        result.exact += got == want
        result.articles += 1
        if got != want:
            headline = (art.title or art.text[:80])[:90].replace("\n", " ")
            result.errors.append(f"#{art.position} {art.file}:{art.line} "
                                 f"missed={sorted(want - got)} spurious={sorted(got - want)} "
                                 f"| {headline}")
    return result


def halves(sample: list[Labelled]) -> dict[str, list[Labelled]]:
    """``tune`` (first draw, even positions: used for tuning), ``test`` (first draw, odd
    positions: held out), ``fresh`` (second draw, labelled after the tuning), ``all``."""
    first = [a for a in sample if a.draw == 1]
    return {"tune": [a for a in first if a.position % 2 == 0],
            "test": [a for a in first if a.position % 2 == 1],
            "fresh": [a for a in sample if a.draw == 2], "all": sample}


def timing(sample: list[Labelled], runs: int = 5) -> dict[str, float]:
    """Median ms per article and per 5,000 characters over ``runs`` passes (warm gazetteer),
    in wall time and in process CPU time (the latter is less disturbed by a busy machine)."""
    from indexer.places import tag_places

    tag_places("", "Gia Lai")  # load the gazetteer outside the timing
    chars = sum(len(a.text) + len(a.title or "") for a in sample)
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        for art in sample:
            tag_places(art.title, art.text, art.source)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    wall_s, cpu_s = statistics.median(walls), statistics.median(cpus)
    return {"ms_per_article": 1000 * wall_s / len(sample),
            "cpu_ms_per_article": 1000 * cpu_s / len(sample),
            "cpu_ms_per_5000_chars": 1000 * cpu_s / chars * 5000,
            "mean_chars": chars / len(sample)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--draw", type=int, metavar="PER_FILE", help="print a fresh seeded draw")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of --draw")
    parser.add_argument("--exclude-sample", action="store_true",
                        help="--draw leaves out the articles already in the sample")
    parser.add_argument("--errors", type=int, default=15)
    args = parser.parse_args(argv)
    if args.draw:
        exclude = None
        if args.exclude_sample:
            rows = [json.loads(x) for x in SAMPLE.read_text(encoding="utf-8").splitlines() if x]
            exclude = {(row["file"], row["line"]) for row in rows}
        for row in draw(args.draw, args.seed, exclude):
            print(json.dumps(row, ensure_ascii=False))
        return 0
    start = time.perf_counter()
    from indexer.places.gazetteer import gazetteer

    gazetteer()
    print(f"gazetteer load: {1000 * (time.perf_counter() - start):.0f} ms")
    sample = load_sample()
    for name, part in halves(sample).items():
        cur, old = score(part), score(part, former=True)
        print(f"{name:5} n={cur.articles:3}  current P={cur.precision:.3f} R={cur.recall:.3f} "
              f"F1={cur.f1:.3f} exact={cur.exact / cur.articles:.3f} (tp={cur.tp} fp={cur.fp} "
              f"fn={cur.fn})  former P={old.precision:.3f} R={old.recall:.3f} (tp={old.tp} "
              f"fp={old.fp} fn={old.fn})")
    t = timing(sample)
    print(f"tagging: {t['ms_per_article']:.3f} ms/article wall, {t['cpu_ms_per_article']:.3f} ms "
          f"CPU (mean {t['mean_chars']:.0f} chars); {t['cpu_ms_per_5000_chars']:.3f} ms CPU per "
          f"5,000 chars")
    errors = score(sample).errors + [f"[former] {e}" for e in score(sample, former=True).errors]
    print(f"errors ({len(errors)}; first {args.errors}):")
    for line in errors[:args.errors]:
        print("  " + line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
