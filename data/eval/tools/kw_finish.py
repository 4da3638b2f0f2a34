"""Write the judged extra relevant ids into keyword-dev.jsonl and the target ranks into
keyword-dev.ranks.json. Usage: kw_finish.py HITS.jsonl JUDGED.txt (lines: qid id id ...)"""
import json
import sys

hits = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    hits[r["qid"]] = r
extra = {}
for line in open(sys.argv[2]):
    parts = line.split()
    if parts:
        extra[parts[0]] = parts[1:]
path = "data/eval/keyword-dev.jsonl"
rows = [json.loads(line) for line in open(path)]
for r in rows:
    more = [x for x in extra.get(r["qid"], []) if x != r["target"]]
    r["relevant"] = [r["target"]] + list(dict.fromkeys(more))
with open(path, "w") as fh:
    for r in rows:
        fh.write(json.dumps(r, ensure_ascii=False) + "\n")
ranks = {r["qid"]: hits[r["qid"]]["rank"] for r in rows}
with open("data/eval/keyword-dev.ranks.json", "w") as fh:
    json.dump(ranks, fh, indent=1)
    fh.write("\n")
n = len(rows)
at1 = sum(v == 1 for v in ranks.values())
top10 = sum(v is not None and v <= 10 for v in ranks.values())
top20 = sum(v is not None for v in ranks.values())
also = sum(1 for q, h in hits.items() if h["rank"] is None and h.get("rank_also_in"))
print(f"queries {n}: target at rank 1 {at1} ({at1/n:.0%}), top 10 {top10} ({top10/n:.0%}), "
      f"top 20 {top20} ({top20/n:.0%}); only inside another hit's story: {also}")
for d in ("headline", "body"):
    sub = [r for r in rows if r["detail"] == d]
    print(f"  {d}: {len(sub)}; rank 1 {sum(ranks[r['qid']] == 1 for r in sub)}, top 10 "
          f"{sum(ranks[r['qid']] is not None and ranks[r['qid']] <= 10 for r in sub)}")
print("with >1 relevant:", sum(len(r["relevant"]) > 1 for r in rows))
