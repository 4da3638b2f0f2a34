"""Print kw_hits.py output for reading: per query the target's headline and rank, then the
top 10 hits (headline = title or URL slug, and the start of the passage)."""
import json
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from kw_check import headline

arts = {}
for f in ("dantri-unc", "crawlnews-2026"):
    for line in open(f"/work/shared/data/news/{f}.jsonl"):
        a = json.loads(line)
        arts[a["id"]] = a
lo, hi = int(sys.argv[2]), int(sys.argv[3])
for line in open(sys.argv[1]):
    r = json.loads(line)
    n = int(r["qid"][3:])
    if not lo <= n <= hi:
        continue
    head = headline(arts[r["target"]])[0][:90]
    print(f"\n## {r['qid']} [{r['query']}] rank={r['rank']} T={head}")
    for h in r["hits"][:10]:
        mark = "*" if h["id"] == r["target"] else " "
        line = f" {mark}{h['rank']:2} {h['id'][-14:]} {headline(arts[h['id']])[0][:72]}"
        print(f"{line} | {h['text'][:40]}".replace(chr(10), " "))
