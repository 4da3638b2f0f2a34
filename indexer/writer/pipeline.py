"""Overlap the reading and cleaning of the next batches with the writing of the current one.

``vnsearch index`` spends most of its time in the encoder (onnxruntime, which releases the
GIL); reading files, parsing JSON/HTML and cleaning the text are pure Python. Running that
producer in a background thread with a bounded queue keeps the encoder fed: while batch
*i* is embedded and written, batch *i + 1* is read and cleaned. The queue holds at most
``depth`` items, so memory stays bounded however large the input.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failure:
    """An exception raised by the producer, carried to the consumer."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetched(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Yield ``items`` as produced by a background thread, at most ``depth`` ahead.

    An exception in the producer is re-raised in the consumer at the point it happened in
    the sequence; when the consumer stops early (an error, ``close()``), the producer is
    told to stop and joined, so no thread outlives the call.
    """
    box: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, re-raised there
            put(_Failure(exc))
            return
        put(_DONE)

    thread = threading.Thread(target=produce, name="vnsearch-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = box.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join()
