"""Domain exceptions. The CLI turns them into one-line messages, the API into JSON errors.

Each class carries what a front end needs to report it: ``exit_code`` (CLI) and
``error_kind`` (the machine-readable kind, the ``error`` of the API's JSON error shape).
Which web status an error gets is decided by the API layer (``search_api.errors``), not here.
"""

from __future__ import annotations


class VnsearchError(Exception):
    """Base class of every error vnsearch reports to a user (never a traceback)."""

    exit_code: int = 1
    error_kind: str = "index_error"


class ModelError(VnsearchError):
    """The embedding model cannot be found, built or loaded."""


class IndexNotFoundError(VnsearchError):
    """No index at the given directory."""

    error_kind = "not_found"


class IndexFormatError(VnsearchError):
    """The index directory was written by another format version or is damaged."""


class ModelMismatchError(VnsearchError):
    """The index was built with another embedding model than the one configured."""


class IndexLockedError(VnsearchError):
    """Another process is writing to the index."""

    error_kind = "conflict"


class InputError(VnsearchError):
    """A bad input file or record (reported with file and line)."""


class QueryError(VnsearchError):
    """A bad search request; ``field`` names the offending parameter."""

    error_kind = "invalid_request"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFoundError(VnsearchError):
    """A requested article does not exist."""

    error_kind = "not_found"


class ReadOnlyError(VnsearchError):
    """A write asked of something served read-only (a set of shards: write with
    ``vnsearch index --shard``)."""

    error_kind = "read_only"
