"""Operations on a whole index directory: ``vnsearch backup``, ``restore`` and ``compact``.

Each works beside live searchers: a backup pins one generation the way a reader does
(a SQLite read transaction, an open FAISS file, a shared ``flock`` on the lexical
directory) and takes no lock; compaction takes the write lock and publishes a new
generation, so readers of the old one keep it until they swap.
"""

from .backup import BackupReport, backup_index
from .compact import CompactReport, compact_index
from .restore import RestoreReport, restore_index

__all__ = ["BackupReport", "backup_index", "CompactReport", "compact_index", "RestoreReport",
           "restore_index"]
