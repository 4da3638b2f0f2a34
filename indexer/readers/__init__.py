"""Input readers: JSONL (optionally gzipped), CSV, plain text and HTML.

Every reader is a generator of :class:`Article` or :class:`SkippedRecord`, so a big
file is never loaded whole (except legacy-encoded files, see :mod:`.decoding`) and one
bad record never stops a run. Readers do not clean text (see ``indexer.cleaning``) and
never invent metadata: ``url``/``published``/``source`` are None unless the input says
so. ``Article.id`` is the input's id or "" (the store assigns stable ids).

One module per job: ``decoding`` (bytes → text, the encoding policy), ``records``
(record → Article, shared limits), ``formats`` (format names and file endings), one
``*_reader`` module per format, and ``inputs`` (walk paths and dispatch). This package
only re-exports them; callers import from ``indexer.readers``.
"""

from __future__ import annotations

from indexer.readers.csv_reader import read_csv
from indexer.readers.decoding import decode_bytes
from indexer.readers.formats import FORMATS, INPUT_FORMATS
from indexer.readers.html_reader import read_html
from indexer.readers.inputs import estimate_records, iter_inputs
from indexer.readers.jsonl_reader import read_jsonl
from indexer.readers.records import MAX_TEXT_CHARS, ReadItem
from indexer.readers.txt_reader import read_txt

__all__ = [
    "MAX_TEXT_CHARS",
    "FORMATS",
    "INPUT_FORMATS",
    "ReadItem",
    "decode_bytes",
    "read_jsonl",
    "read_csv",
    "read_txt",
    "read_html",
    "iter_inputs",
    "estimate_records",
]
