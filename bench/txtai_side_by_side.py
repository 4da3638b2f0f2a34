"""vnsearch vs txtai vs plain sentence-transformers + FAISS, same passages, same queries, one run.

    .venv/bin/pip install txtai          # not a vnsearch dependency
    .venv/bin/python bench/txtai_side_by_side.py [--articles 300] [--limit 300] [--runs 3]

Corpus: the first ``--articles`` articles of ../shared/data/eval/vinewsqa-dev.corpus.jsonl;
queries: those of vinewsqa-dev.jsonl whose relevant article is in the corpus (at most
``--limit``). Every system runs in its own subprocess (so peak RSS is per system) on the
same model directory (``vnsearch model --path``, local, never a hub download):

* ``vnsearch``: ``index_articles`` into a fresh index with a fresh ``VNSEARCH_HOME`` that
  holds only the model (``cold``: every passage embedded), then again into a second index
  with the now-filled embedding cache (``warm``); then ``Searcher.search`` one query at a
  time in-process (hybrid, and lexical), query-vector cache disabled (size 0) so every query
  is encoded. Its passages (vnsearch's own chunking) are exported for the others;
* ``txtai-hybrid``: ``Embeddings(path=MODEL, content=True, hybrid=True)`` with its default
  weights (0.5), E5 prompts as txtai ``instructions``; documents = ``title\\npassage`` (the text
  vnsearch embeds);
* ``txtai-keyword``: ``Embeddings(keyword=True, content=True)`` (BM25 only);
* ``st-faiss``: sentence-transformers ``encode`` + ``faiss.IndexFlatIP`` (dense baseline).

Reported per system: model load s, indexing passages/s (embedding included; vnsearch also
cleans, chunks, tokenises, writes SQLite + FTS5), query latency median/p95 (median over
``--runs`` runs of the per-run statistic), peak RSS of the indexing phase and of the query
phase (VmHWM, reset between phases via /proc/self/clear_refs where the kernel allows),
and retrieval quality at article level (nDCG@10, Recall@10; relevant = the query's corpus
article; txtai / st-faiss fetch 30 passages and keep the first 10 distinct articles,
vnsearch groups by article itself). Ratios are vnsearch / txtai measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EVAL = ROOT.parent / "shared" / "data" / "eval"
CORPUS = EVAL / "vinewsqa-dev.corpus.jsonl"
QUERIES = EVAL / "vinewsqa-dev.jsonl"
SYSTEMS = ("vnsearch", "txtai-hybrid", "txtai-keyword", "st-faiss")
FETCH = 30  # passages fetched by the systems that do not group by article


# -- shared helpers -------------------------------------------------------------------------
def vm_hwm_mib() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def vm_rss_mib() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where not permitted."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def ndcg_recall(ranking: list[str], relevant: set[str]) -> tuple[float, float]:
    ranks = [i + 1 for i, a in enumerate(ranking[:10]) if a in relevant]
    ideal = sum(1 / math.log2(r + 1) for r in range(1, min(len(relevant), 10) + 1))
    dcg = sum(1 / math.log2(r + 1) for r in ranks)
    return (dcg / ideal if ideal else 0.0), len(ranks) / len(relevant)


def first_articles(passage_ids: list[str], article_of: dict[str, str], n: int = 10) -> list[str]:
    out: list[str] = []
    for pid in passage_ids:
        art = article_of.get(str(pid))
        if art is not None and art not in out:
            out.append(art)
            if len(out) == n:
                break
    return out


def time_queries(fn, queries: list[dict], runs: int) -> tuple[list[list[str]], dict]:
    """Run ``fn(query) -> ranked article ids`` over all queries ``runs`` times."""
    fn(queries[0]["query"])  # warm-up
    rankings: list[list[str]] = []
    medians, p95s = [], []
    for run in range(runs):
        times = []
        for q in queries:
            t = time.perf_counter()
            ranking = fn(q["query"])
            times.append((time.perf_counter() - t) * 1000)
            if run == 0:
                rankings.append(ranking)
        medians.append(statistics.median(times))
        p95s.append(statistics.quantiles(times, n=20, method="inclusive")[18])
    return rankings, {"p50_ms": statistics.median(medians), "p95_ms": statistics.median(p95s),
                      "p50_runs": medians}


def quality(rankings: list[list[str]], queries: list[dict]) -> dict:
    nd, rc = [], []
    for ranking, q in zip(rankings, queries):
        n, r = ndcg_recall(ranking, set(q["relevant_articles"]))
        nd.append(n)
        rc.append(r)
    return {"ndcg10": statistics.mean(nd), "recall10": statistics.mean(rc)}


def load_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


# -- workers (each in its own process) ------------------------------------------------------
def worker_vnsearch(work: Path, runs: int) -> dict:
    from indexer.db import IndexDB
    from indexer.article import Article
    from indexer.encoders import create_encoder
    from indexer.settings import Settings
    from indexer.writer import index_articles
    from search_api.retrieval import SearchRequest, Searcher

    out: dict = {}
    settings = Settings(query_cache_size=0)  # every query is encoded
    t = time.perf_counter()
    encoder = create_encoder(settings)
    out["load_s"] = time.perf_counter() - t
    out["rss_loaded_mib"] = vm_rss_mib()
    articles = [Article(id=str(r["id"]), title=r.get("title"), text=r["text"], url=r.get("url"),
                        source=r.get("source"), published=r.get("published"),
                        category=r.get("category")) for r in load_jsonl(work / "corpus.jsonl")]
    for phase in ("cold", "warm"):
        summary = index_articles(work / f"vnsearch-{phase}", articles, settings, encoder)
        out[f"index_{phase}_s"] = summary.seconds
        out[f"index_{phase}_embedded"] = summary.embedded
        out["passages"] = summary.passages_added
    out["rss_index_peak_mib"] = vm_hwm_mib()
    out["peak_reset"] = reset_peak()
    index_dir = work / "vnsearch-cold"

    with IndexDB(index_dir, readonly=True) as db, db.read_transaction():
        ext = db.external_ids()
        rows = sorted((p.id, art.id, art.title, p.text)
                      for art in db.iter_articles() for p in art.passages)
    with (work / "passages.jsonl").open("w", encoding="utf-8") as handle:
        for pid, art, title, text in rows:
            handle.write(json.dumps({"id": str(pid), "article_id": art, "title": title,
                                     "text": text}, ensure_ascii=False) + "\n")
    queries = load_jsonl(work / "queries.jsonl")
    for q in queries:
        q["relevant_articles"] = [ext[r] for r in q["relevant"] if r in ext]
    (work / "queries.jsonl").write_text(
        "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries), encoding="utf-8")

    searcher = Searcher(index_dir, settings, encoder)
    for mode in ("hybrid", "lexical", "dense"):
        def run(text: str, mode=mode) -> list[str]:
            res = searcher.search(SearchRequest(query=text, k=10, mode=mode))
            return [h.article_id for h in res.results]

        rankings, lat = time_queries(run, queries, runs if mode != "dense" else 1)
        out[mode] = {**lat, **quality(rankings, queries)}
    out["rss_query_peak_mib"] = vm_hwm_mib()
    searcher.close()
    return out


def _passages(work: Path) -> tuple[list[dict], dict[str, str], list[dict]]:
    passages = load_jsonl(work / "passages.jsonl")
    article_of = {p["id"]: p["article_id"] for p in passages}
    return passages, article_of, load_jsonl(work / "queries.jsonl")


def _doc(p: dict) -> str:
    return f"{p['title']}\n{p['text']}" if p["title"] else p["text"]  # what vnsearch embeds


def worker_txtai(work: Path, runs: int, variant: str, model_dir: str) -> dict:
    from txtai import Embeddings

    passages, article_of, queries = _passages(work)
    out: dict = {}
    if variant == "hybrid":
        config = {"path": model_dir, "content": True, "hybrid": True,
                  "instructions": {"query": "query: ", "data": "passage: "}}
    else:
        config = {"keyword": True, "content": True}
    t = time.perf_counter()
    emb = Embeddings(config)
    out["load_s"] = time.perf_counter() - t
    out["rss_loaded_mib"] = vm_rss_mib()
    docs = [(p["id"], _doc(p), None) for p in passages]
    t = time.perf_counter()
    emb.index(docs)
    out["index_cold_s"] = time.perf_counter() - t
    out["passages"] = len(docs)
    out["config"] = {k: v for k, v in emb.config.items() if k in ("method", "backend", "scoring",
                                                                   "hybrid", "keyword")}
    if emb.model is not None:
        out["config"]["vectors"] = type(emb.model).__name__
    if getattr(emb, "ann", None) is not None:
        out["config"]["ann"] = emb.ann.config.get("faiss", {}).get("components") \
            or getattr(emb.ann, "backend", None).__class__.__name__
    out["rss_index_peak_mib"] = vm_hwm_mib()
    out["peak_reset"] = reset_peak()

    def run(text: str) -> list[str]:
        return first_articles([r["id"] for r in emb.search(text, FETCH)], article_of)

    rankings, lat = time_queries(run, queries, runs)
    out[variant] = {**lat, **quality(rankings, queries)}
    out["rss_query_peak_mib"] = vm_hwm_mib()
    return out


def worker_st_faiss(work: Path, runs: int, model_dir: str) -> dict:
    import faiss
    import numpy as np
    from sentence_transformers import SentenceTransformer

    passages, article_of, queries = _passages(work)
    out: dict = {}
    t = time.perf_counter()
    model = SentenceTransformer(model_dir, device="cpu")
    out["load_s"] = time.perf_counter() - t
    out["rss_loaded_mib"] = vm_rss_mib()
    prompts = model.prompts or {}
    t = time.perf_counter()
    vectors = model.encode([_doc(p) for p in passages], prompt=prompts.get("passage"),
                           batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    out["index_cold_s"] = time.perf_counter() - t
    out["passages"] = len(passages)
    out["rss_index_peak_mib"] = vm_hwm_mib()
    out["peak_reset"] = reset_peak()
    ids = [p["id"] for p in passages]

    def run(text: str) -> list[str]:
        q = model.encode([text], prompt=prompts.get("query"), normalize_embeddings=True,
                         convert_to_numpy=True)
        _, found = index.search(np.ascontiguousarray(q, dtype=np.float32), FETCH)
        return first_articles([ids[i] for i in found[0] if i >= 0], article_of)

    rankings, lat = time_queries(run, queries, runs)
    out["dense"] = {**lat, **quality(rankings, queries)}
    out["rss_query_peak_mib"] = vm_hwm_mib()
    return out


# -- orchestration --------------------------------------------------------------------------
def prepare(work: Path, n_articles: int, limit: int, model_dir: Path) -> tuple[int, int]:
    corpus = load_jsonl(CORPUS)[:n_articles]
    ids = {str(r["id"]) for r in corpus}
    queries = []
    for q in load_jsonl(QUERIES):
        if q["relevant"] and all(str(r) in ids for r in q["relevant"]):
            queries.append({"qid": q["qid"], "query": q["query"],
                            "relevant": [str(r) for r in q["relevant"]]})
            if len(queries) >= limit:
                break
    (work / "corpus.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in corpus), encoding="utf-8")
    (work / "queries.jsonl").write_text(
        "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries), encoding="utf-8")
    # A fresh VNSEARCH_HOME holding only the model (hard links where possible): cold cache.
    target = work / "home" / "models" / model_dir.name
    target.parent.mkdir(parents=True, exist_ok=True)

    def link(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(model_dir, target, copy_function=link)
    return len(corpus), len(queries)


def run_worker(system: str, work: Path, runs: int, model_dir: Path) -> dict:
    env = dict(os.environ, VNSEARCH_HOME=str(work / "home"), TOKENIZERS_PARALLELISM="false")
    cmd = [sys.executable, __file__, "--worker", system, "--workdir", str(work),
           "--runs", str(runs), "--model-dir", str(model_dir)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"{system}: failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}", flush=True)
        return {}
    result = json.loads((work / f"{system}.json").read_text())
    print(f"{system}: done in {time.perf_counter() - t:.0f} s", flush=True)
    return result


def report(results: dict, n_articles: int, n_queries: int, runs: int) -> None:
    vn = results.get("vnsearch", {})
    print(f"\n{n_articles} articles, {vn.get('passages', '?')} passages (vnsearch chunking), "
          f"{n_queries} queries; latency = median over {runs} runs of the per-run median/p95, "
          "one query at a time, in-process\n")
    print("system / mode            load s  index s  pass/s  q p50 ms  q p95 ms  nDCG@10  R@10  "
          "RSS idx MiB  RSS query MiB")
    rows = [("vnsearch", "hybrid"), ("vnsearch", "lexical"), ("vnsearch", "dense"),
            ("txtai-hybrid", "hybrid"), ("txtai-keyword", "keyword"), ("st-faiss", "dense")]
    for system, mode in rows:
        r = results.get(system)
        if not r or mode not in r:
            continue
        m = r[mode]
        rate = r["passages"] / r["index_cold_s"]
        print(f"{system + ' ' + mode:24s} {r['load_s']:6.1f} {r['index_cold_s']:8.1f} {rate:7.1f} "
              f"{m['p50_ms']:9.1f} {m['p95_ms']:9.1f} {m['ndcg10']:8.3f} {m['recall10']:5.3f} "
              f"{r['rss_index_peak_mib']:12.0f} {r['rss_query_peak_mib']:14.0f}")
    if vn:
        warm = vn["passages"] / vn["index_warm_s"]
        print(f"vnsearch warm re-index (embedding cache): {vn['index_warm_s']:.1f} s, "
              f"{warm:.1f} passages/s ({vn['index_warm_embedded']} embedded)")
        if not vn.get("peak_reset"):
            print("note: VmHWM could not be reset; 'RSS query' includes the indexing peak")
    tx, kw, st = results.get("txtai-hybrid"), results.get("txtai-keyword"), results.get("st-faiss")
    print("\nratios vnsearch / other (same run; >1 = vnsearch higher):")
    if vn and tx:
        vrate, trate = vn["passages"] / vn["index_cold_s"], tx["passages"] / tx["index_cold_s"]
        print(f"  indexing passages/s, cold   vs txtai-hybrid: {vrate / trate:.2f}")
        print(f"  indexing passages/s, warm   vs txtai-hybrid: "
              f"{vn['passages'] / vn['index_warm_s'] / trate:.2f}")
        print(f"  hybrid query p50            vs txtai-hybrid: "
              f"{vn['hybrid']['p50_ms'] / tx['hybrid']['p50_ms']:.2f}")
        print(f"  hybrid query p95            vs txtai-hybrid: "
              f"{vn['hybrid']['p95_ms'] / tx['hybrid']['p95_ms']:.2f}")
        print(f"  hybrid nDCG@10              vs txtai-hybrid: "
              f"{vn['hybrid']['ndcg10'] / tx['hybrid']['ndcg10']:.3f}")
        print(f"  peak RSS query phase        vs txtai-hybrid: "
              f"{vn['rss_query_peak_mib'] / tx['rss_query_peak_mib']:.2f}")
        print(f"  peak RSS indexing phase     vs txtai-hybrid: "
              f"{vn['rss_index_peak_mib'] / tx['rss_index_peak_mib']:.2f}")
    if vn and kw:
        print(f"  lexical query p50           vs txtai-keyword: "
              f"{vn['lexical']['p50_ms'] / kw['keyword']['p50_ms']:.2f}")
        print(f"  lexical nDCG@10             vs txtai-keyword: "
              f"{vn['lexical']['ndcg10'] / kw['keyword']['ndcg10']:.3f}")
    if vn and st:
        print(f"  indexing passages/s, cold   vs st-faiss: "
              f"{vn['passages'] / vn['index_cold_s'] / (st['passages'] / st['index_cold_s']):.2f}")
        print(f"  hybrid query p50            vs st-faiss dense: "
              f"{vn['hybrid']['p50_ms'] / st['dense']['p50_ms']:.2f}")
        print(f"  dense nDCG@10               vs st-faiss: "
              f"{vn['dense']['ndcg10'] / st['dense']['ndcg10']:.3f}")
    for name in ("txtai-hybrid", "txtai-keyword"):
        if results.get(name):
            print(f"{name} config: {results[name].get('config')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--limit", type=int, default=300, help="At most N queries.")
    parser.add_argument("--runs", type=int, default=3, help="Timed passes over the queries.")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--workdir", type=Path, default=None,
                        help="Keep indexes and results here (default: a temporary directory).")
    parser.add_argument("--worker", choices=SYSTEMS, help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        work = args.workdir
        if args.worker == "vnsearch":
            result = worker_vnsearch(work, args.runs)
        elif args.worker == "st-faiss":
            result = worker_st_faiss(work, args.runs, args.model_dir)
        else:
            result = worker_txtai(work, args.runs, args.worker.split("-")[1], args.model_dir)
        (work / f"{args.worker}.json").write_text(json.dumps(result, indent=2))
        return

    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    if systems[0] != "vnsearch":
        sys.exit("--systems must start with vnsearch (it exports the passages the others index)")
    from indexer.encoders import resolve_model
    from indexer.settings import Settings

    model_dir = Path(resolve_model(Settings())[2])  # `vnsearch model --path`
    tmp = None
    if args.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="vnsearch-vs-txtai-")
        work = Path(tmp.name)
    else:
        work = args.workdir
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
    try:
        n_articles, n_queries = prepare(work, args.articles, args.limit, model_dir)
        print(f"model {model_dir}\n{n_articles} articles, {n_queries} queries; systems: "
              f"{', '.join(systems)}", flush=True)
        results = {s: run_worker(s, work, args.runs, model_dir) for s in systems}
        report(results, n_articles, n_queries, args.runs)
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
