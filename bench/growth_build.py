"""The indexes of the growth benchmark (``bench/growth.py``): one per size, kept and reused.

Corpus: the four news files round-robin (``bench/query.py``'s ``interleaved_articles``);
they hold ~92k passages at the default chunking, so beyond them the articles are read
again, pass ``r`` giving each a distinct URL (``#growth-rN``), input id and title suffix
``(rN)`` — without a different title the store would recognise the same content as a
syndicated copy and keep it once. The repeated texts are real text, but a larger index
of repeats has more exact-duplicate passage bodies than real news would.

Vectors: the private ``VNSEARCH_HOME`` (``ROOT/home``) starts with a *copy* of an
embedding cache (default: the test suite's, ~51k real int8 vectors of news and eval
passages), so every passage whose real embedding exists gets it; the first ``pool``
distinct passages are embedded for real (into that copy) and every other passage gets a
noisy copy of one of them (``bench/standin.py``). Only dense *answers* are meaningless;
sizes, the lexical side and FAISS work are real.

Sizes are built in ascending order, each by copying the previous size's directory and
adding the next articles (the same deterministic stream): the build time of a size is the
sum of its stages (each stage pays one more open/close of the writer than one long run
would — a small over-estimate, said in the table). The copy is not timed. Each index's
record lives beside it in ``idx-SIZE.build.json``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from query import interleaved_articles, plan_corpus  # noqa: E402  (bench/ on sys.path)

DEFAULT_CACHE = Path("/work/main/.cache/vnsearch-test/embeddings.sqlite")


def parse_size(text: str) -> int:
    """``10k`` → 10000, ``1m`` → 1000000, ``2500`` → 2500."""
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def size_label(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}m"
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def repeated_articles(skip: int = 0) -> Iterator:
    """The news articles round-robin, then again and again with a distinct URL, id and
    title per pass (see the module docstring); the first ``skip`` are left out."""
    passes = 1
    count = 0
    while True:
        for article in interleaved_articles():
            count += 1
            if count <= skip:
                continue
            if passes > 1:
                tag = f"r{passes}"
                article = dataclasses.replace(
                    article, id=f"{article.id}-{tag}" if article.id else "",
                    url=f"{article.url}#growth-{tag}" if article.url else None,
                    title=f"{article.title or ''} ({tag})".strip())
            yield article
        passes += 1


def private_home(root: Path, cache: Path | None) -> Path:
    """``ROOT/home``: the real models (symlink) and a copy of ``cache`` (once)."""
    from indexer.settings import Settings

    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "models").exists():
        os.symlink(Settings().home / "models", home / "models")
    target = home / "embeddings.sqlite"
    if cache and cache.exists() and not target.exists():
        shutil.copyfile(cache, target)
    return home


def record_path(root: Path, n: int) -> Path:
    return root / f"idx-{size_label(n)}.build.json"


def index_path(root: Path, n: int) -> Path:
    return root / f"idx-{size_label(n)}"


def load_record(root: Path, n: int) -> dict | None:
    path = record_path(root, n)
    if path.exists() and (index_path(root, n) / "manifest.json").exists():
        return json.loads(path.read_text())
    return None


def _encoder(root: Path, pool: int, cache: Path | None):
    """Settings in the private home and the stand-in encoder over a real pool."""
    from standin import StandInEncoder, real_pool

    from indexer.encoders import create_encoder
    from indexer.settings import Settings

    settings = Settings().model_copy(update={"home": private_home(root, cache)})
    real = create_encoder(settings)
    _, texts, missing = plan_corpus(real, settings, None, pool)
    vectors = real_pool(real, settings, texts)
    print(f"stand-in pool: {len(texts)} real vectors ({missing} embedded now)", flush=True)
    return settings, StandInEncoder(real, texts, vectors)


def build_sizes(root: Path, sizes: list[int], pool: int = 4000,
                cache: Path | None = DEFAULT_CACHE) -> list[dict]:
    """Build (or reuse) the index of every size; returns their build records."""
    from indexer.writer import index_articles

    root.mkdir(parents=True, exist_ok=True)
    records: list[dict] = []
    prev: dict | None = None
    encoder_state = None
    for n in sorted(sizes):
        done = load_record(root, n)
        if done is not None:
            print(f"reusing {index_path(root, n)} ({done['passages']} passages)", flush=True)
            records.append(done)
            prev = done
            continue
        if encoder_state is None:
            encoder_state = _encoder(root, pool, cache)
        settings, encoder = encoder_state
        target = index_path(root, n)
        if target.exists():
            shutil.rmtree(target)  # an interrupted stage: start it again from the copy
        if prev is not None:
            shutil.copytree(index_path(root, prev["size"]), target)
        records.append(_stage(target, n, prev, settings, encoder, index_articles))
        record_path(root, n).write_text(json.dumps(records[-1], indent=1))
        prev = records[-1]
    return records


def _stage(target: Path, n: int, prev: dict | None, settings, encoder, index_articles) -> dict:
    """Add articles to ``target`` until it holds ``n`` passages (about: batches run ahead)."""
    have = prev["passages"] if prev else 0
    skip = prev["articles_read"] if prev else 0
    state = {"passages": have, "read": 0}

    def articles():
        for article in repeated_articles(skip):
            if state["passages"] >= n:
                return
            state["read"] += 1
            yield article

    def progress(total, n_new):
        state["passages"] = have + total.passages_added
        if n_new and (total.added // 64) % 50 == 0:
            print(f"  {target.name}: {state['passages']} passages", file=sys.stderr, flush=True)

    print(f"building {target} up to {n} passages from {have}", flush=True)
    started = time.perf_counter()
    summary = index_articles(target, articles(), settings, encoder, progress=progress)
    seconds = time.perf_counter() - started
    passages = have + summary.passages_added
    record = {
        "size": n, "passages": passages, "articles_read": skip + state["read"],
        "stage_seconds": seconds, "stage_passages": summary.passages_added,
        "build_seconds": (prev["build_seconds"] if prev else 0.0) + seconds,
        "stages": (prev["stages"] if prev else 0) + 1,
        "embedded_standin": (prev["embedded_standin"] if prev else 0) + summary.embedded,
        "real_from_cache": (prev["real_from_cache"] if prev else 0) + summary.embedded_from_cache,
        "duplicates": (prev["duplicates"] if prev else 0) + summary.duplicates,
        "load_during_build": os.getloadavg(),
    }
    print(f"built {target.name}: {passages} passages, stage {seconds:.0f} s "
          f"({summary.passages_added / seconds:.0f} passages/s), cumulative "
          f"{record['build_seconds']:.0f} s", flush=True)
    return record
