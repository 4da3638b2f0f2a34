"""Draw the target articles for keyword-dev.jsonl (issue 26): random.Random(26), stratified
by file (proportional to size) and by category within each file."""
import collections
import json
import random

FILES = {"dantri-unc": 147, "crawlnews-2026": 73}
OVER = 1.15  # draw extra so skips (non-news) can be replaced in order
rng = random.Random(26)
out = []
for name, want in FILES.items():
    rows = [json.loads(line) for line in open(f"/work/shared/data/news/{name}.jsonl")]
    by = collections.defaultdict(list)
    for r in rows:
        by[r.get("category") or r.get("source") or "-"].append(r)
    total = len(rows)
    picks = []
    for cat in sorted(by):
        n = max(1, round(want * OVER * len(by[cat]) / total))
        picks += [(name, cat, r) for r in rng.sample(by[cat], min(n, len(by[cat])))]
    rng.shuffle(picks)
    out += picks
for name, cat, r in out:
    print(json.dumps({"file": name, "cat": cat, "id": r["id"], "title": r["title"],
                      "lead": (r["text"] or "")[:700]}, ensure_ascii=False))
