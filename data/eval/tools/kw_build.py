"""Assemble keyword-dev.jsonl from the hand-written query list (index|h/b|query) and the
sampled targets (kw_sample.py output); keeps `relevant` lists already judged in an existing
keyword-dev.jsonl (matched by target)."""
import json
import os
import sys

targets = [json.loads(line) for line in open(sys.argv[1])]
out = sys.argv[3]
judged = {}
if os.path.exists(out):
    for line in open(out):
        r = json.loads(line)
        judged[r["target"]] = r["relevant"]
rows = []
for line in open(sys.argv[2]):
    if not line.strip():
        continue
    i, d, q = line.rstrip("\n").split("|", 2)
    t = targets[int(i)]
    rows.append({"qid": f"kw-{len(rows) + 1:03d}", "query": q.strip(),
                 "relevant": judged.get(t["id"], [t["id"]]), "target": t["id"],
                 "detail": {"h": "headline", "b": "body"}[d], "source_file": t["file"]})
with open(out, "w") as fh:
    for r in rows:
        fh.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(rows), "rows ->", out)
