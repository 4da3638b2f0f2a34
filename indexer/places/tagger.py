"""tag_places: which provinces an article is about, from weighted place-name evidence.

Evidence, each mention mapped to its current province (and its former one, if gone):

* place names in the title (weight ``W_TITLE``), the lead (the first ``LEAD_CHARS``
  characters of the text, ``W_LEAD``) and the body (``W_BODY`` each, at most
  ``BODY_CAP`` in all, so a long list of places in the body cannot outweigh the title);
* a place dateline at the start of the text ("QUẢNG NGÃI - ", ``W_DATELINE``);
* the outlet's home province, from ``source`` or an outlet code in the dateline
  ("(GLO)- " is Báo Gia Lai) — weak evidence (``W_OUTLET``): a provincial paper also
  prints national news.

A province is tagged when its score reaches ``THRESHOLD`` and at least ``RELATIVE`` of
the best province's score, so a passing mention ("như Hà Nội, TP.HCM đã làm") does not
make the article about that province. Place names are matched only when capitalised,
on word boundaries; see :mod:`indexer.places.mentions` for the context rules.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from ..vietnamese import normalize_tone_placement
from .mentions import Mention, find_mentions, resolve_dateline
from .outlets import outlet_home
from .types import PlaceTags

__all__ = ["tag_places", "W_TITLE", "W_LEAD", "LEAD_CAP", "W_BODY", "BODY_CAP",
           "W_DATELINE", "W_OUTLET", "THRESHOLD", "RELATIVE", "LEAD_CHARS", "MAX_PROVINCES"]

W_TITLE = 3.0  # a place named in the title (counted once per province)
W_LEAD = 2.0  # each mention in the lead ...
LEAD_CAP = 3.0  # ... up to this much
W_BODY = 1.0  # each mention in the body ...
BODY_CAP = 3.0  # ... up to this much: the body alone never reaches THRESHOLD
W_DATELINE = 5.0  # "QUẢNG NGÃI - ": where the story is; enough on its own
W_OUTLET = 2.5  # the outlet's home province: with one lead mention, enough
THRESHOLD = 4.5  # e.g. title + a lead mention, or two lead + two body mentions
RELATIVE = 0.5  # and at least half the best province's score
LEAD_CHARS = 300
# More provinces than this passing = a round-up (a national bulletin, a regional story):
# about none of them in particular, so none is tagged.
MAX_PROVINCES = 3

# "(GLO)- ", "(Dân trí) - ", "(Baoquangngai.vn) – ": an outlet code before the text.
_CODE_RE = re.compile(r"\s*\(([^()\n]{1,40})\)\s*[-–—:]*\s*")


@dataclass
class _Score:
    """Evidence gathered for one current province."""

    title: float = 0.0
    lead: float = 0.0
    body: float = 0.0
    other: float = 0.0
    outlet: float = 0.0
    formers: dict[str, float] = field(default_factory=dict)

    def total(self) -> float:
        return (min(self.title, W_TITLE) + min(self.lead, LEAD_CAP)
                + min(self.body, BODY_CAP) + self.other + self.outlet)


def _add(scores: dict[str, _Score], mention: Mention, zone: str, weight: float) -> None:
    score = scores[mention.current]
    weight *= mention.strength
    setattr(score, zone, getattr(score, zone) + weight)
    if mention.former:
        score.formers[mention.former] = score.formers.get(mention.former, 0.0) + weight


def _score_text(scores: dict[str, _Score], title: str, text: str) -> None:
    """Mentions in title, lead and body; a leading dateline or outlet code."""
    for mention in find_mentions(title):
        _add(scores, mention, "title", W_TITLE)
    start = 0
    code = _CODE_RE.match(text)
    if code:
        home = outlet_home(code.group(1))
        if home:
            scores[home].outlet = W_OUTLET
        start = code.end()
    dateline = resolve_dateline(text[start:start + 60])
    if dateline is not None:
        _add(scores, dateline.mention, "other", W_DATELINE)
        start += dateline.end
    for mention in find_mentions(text, start):
        zone, weight = ("lead", W_LEAD) if mention.start < LEAD_CHARS else ("body", W_BODY)
        _add(scores, mention, zone, weight)


def tag_places(title: str | None, text: str, source: str | None = None) -> PlaceTags:
    """The current provinces an article is about, and the former ones it names.

    ``title`` and ``text`` are the article's title and (cleaned) text; ``source`` the
    outlet's display name as stored ("Báo Gia Lai", "Dân trí"), whose home province, if
    it is a regional outlet, is weak evidence. Pure and fast (well under 2 ms for a
    5,000-character article once the gazetteer is loaded).
    """
    scores: dict[str, _Score] = defaultdict(_Score)
    _score_text(scores, normalize_tone_placement(title or ""),
                normalize_tone_placement(text or ""))
    home = outlet_home(source) if source else None
    if home:
        scores[home].outlet = W_OUTLET  # once, whether from the source, a code or both
    if not scores:
        return PlaceTags()
    totals = {name: s.total() for name, s in scores.items()}
    best = max(totals.values())
    kept = sorted((n for n, t in totals.items() if t >= THRESHOLD and t >= RELATIVE * best),
                  key=lambda n: (-totals[n], n))
    if len(kept) > MAX_PROVINCES:
        return PlaceTags()
    formers: dict[str, float] = {}
    for name in kept:
        for former, weight in scores[name].formers.items():
            formers[former] = formers.get(former, 0.0) + weight
    return PlaceTags(provinces=tuple(kept),
                     provinces_former=tuple(sorted(formers, key=lambda f: (-formers[f], f))))
