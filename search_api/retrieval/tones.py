"""Tone restoration: put tones back on a toneless query using the best lexical hits' words.

The embedding model reads toneless Vietnamese badly (dense nDCG@10 0.15 instead of 0.71
on vinewsqa-dev), while lexical search matches toneless queries on the folded columns.
So for a toneless query the dense side searches with the query re-toned after the
passages the lexical side found.
"""

from __future__ import annotations

from collections import Counter

from indexer.vietnamese import fold, tokenize


def restore_tones(query: str, toned_texts: list[str]) -> str:
    """``query``'s syllables, each in the toned form ``toned_texts`` use for it.

    ``toned_texts``: the tone-kept lexical column (space-joined lower-case syllables) of the
    best lexical hits. A syllable prefers the form it has inside a matching syllable pair
    (with its neighbour in the query), else its most frequent form; a syllable the texts
    never use stays as typed. The result is the query's tokens joined by single spaces.
    """
    unigrams: dict[str, Counter] = {}
    pairs: dict[tuple[str, str], Counter] = {}
    for text in toned_texts:
        toks = text.split()
        for a, b in zip(toks, toks[1:] + [""], strict=False):
            unigrams.setdefault(fold(a), Counter())[a] += 1
            if b:
                pairs.setdefault((fold(a), fold(b)), Counter())[(a, b)] += 1
    words = tokenize(query)
    folded = [fold(w) for w in words]
    out: list[str] = []
    for i, word in enumerate(folded):
        choice, best = None, 0
        for key, pos in (((word, folded[i + 1]) if i + 1 < len(folded) else None, 0),
                         ((folded[i - 1], word) if i > 0 else None, 1)):
            if key is not None and key in pairs:
                form, count = pairs[key].most_common(1)[0]
                if count > best:
                    choice, best = form[pos], count
        if choice is None and word in unigrams:
            choice = unigrams[word].most_common(1)[0][0]
        out.append(choice or words[i])
    return " ".join(out)
