"""The indexing pipeline's prefetch thread (indexer/writer/pipeline.py): order, errors, no
leftover thread. The pipeline's effect on a real index is covered by tests/test_indexer.py
(every indexing test goes through it)."""

from __future__ import annotations

import threading
import time

import pytest

from indexer.writer.pipeline import prefetched


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name == "vnsearch-prefetch"}


def test_items_arrive_in_order_and_the_thread_ends():
    assert list(prefetched(iter(range(50)), depth=2)) == list(range(50))
    assert not _threads()


def test_a_producer_error_is_raised_where_it_happened():
    def items():
        yield 1
        yield 2
        raise ValueError("bad record")

    got = []
    with pytest.raises(ValueError, match="bad record"):
        for item in prefetched(items()):
            got.append(item)
    assert got == [1, 2]
    assert not _threads()


def test_the_producer_stays_bounded_and_stops_when_the_consumer_does():
    produced = []

    def items():
        for i in range(1000):
            produced.append(i)
            yield i

    stream = prefetched(items(), depth=2)
    assert next(stream) == 0
    time.sleep(0.3)
    assert len(produced) <= 4  # one taken, two queued, one waiting to be put
    stream.close()
    assert not _threads()
    assert len(produced) < 10


def test_the_producer_runs_while_the_consumer_works():
    """Overlap: with a slow consumer and a slow producer, the total is about the larger of
    the two sums, not their sum."""
    def items():
        for i in range(6):
            time.sleep(0.05)
            yield i

    started = time.perf_counter()
    for _ in prefetched(items()):
        time.sleep(0.05)
    assert time.perf_counter() - started < 0.5  # sequential would be ≥ 0.6 s
