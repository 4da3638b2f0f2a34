"""Raw-SQL helpers for tests that inspect or damage ``store.sqlite`` behind vnsearch's back."""

from __future__ import annotations

import sqlite3


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    """``{"articles": n, "passages": n}`` read with plain SQL."""
    return {"articles": conn.execute("SELECT count(*) FROM articles").fetchone()[0],
            "passages": conn.execute("SELECT count(*) FROM passages").fetchone()[0]}


def generation(conn: sqlite3.Connection) -> int:
    """The store's generation counter read with plain SQL."""
    row = conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
    return int(row[0]) if row else 0
