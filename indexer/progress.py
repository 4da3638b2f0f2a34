"""Progress of a long command on stderr: a bar on a terminal, a plain line now and then otherwise.

One :class:`ProgressReporter` serves every long command (``index``, ``cluster index``,
``adapt``, ``eval``, ``calibrate``). It looks at its stream once: on a terminal it draws a
tqdm bar (count, total, rate, ETA, and a second count such as passages); anywhere else (a
pipe, a log file, a CI job) a bar would be a smear of carriage returns, so it writes one
plain line at most every ``interval_s`` seconds instead::

    indexed 1,200 / 3,983 articles, 9,100 passages, 58 passages/s

(no "/ total" when the total is unknown). ``quiet`` silences both.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

#: The screen size assumed when the terminal does not say: a fresh pseudo-terminal
#: reports 0 x 0, from which tqdm derives -1 rows and then draws nothing at all.
FALLBACK_SIZE = (100, 24)


def format_rate(rate: float) -> str:
    """A rate for people: whole numbers with thousands separators from 10 on, one decimal
    down to 0.1, two significant digits below (a training step can take a minute)."""
    if rate >= 10:
        return f"{rate:,.0f}"
    return f"{rate:.1f}" if rate >= 0.1 else f"{rate:.2g}"


def format_line(verb: str, done: int, total: int | None, unit: str, seconds: float,
                extra: int | None = None, extra_unit: str | None = None) -> str:
    """The plain progress line, e.g. ``indexed 1,200 / 3,983 articles, 9,100 passages,
    58 passages/s``. The rate is of ``extra_unit`` when there is one, else of ``unit``."""
    count = f"{done:,} / {total:,}" if total is not None else f"{done:,}"
    parts = [f"{verb} {count} {unit}"]
    if extra_unit is not None:
        parts.append(f"{extra or 0:,} {extra_unit}")
    per = (extra or 0) if extra_unit is not None else done
    rate = per / seconds if seconds > 0 else 0.0
    parts.append(f"{format_rate(rate)} {extra_unit or unit}/s")
    return ", ".join(parts)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # a closed or file-less stream
        return False


def _screen(stream: TextIO) -> tuple[int, int]:
    """(columns, rows) of the terminal behind ``stream``, :data:`FALLBACK_SIZE` where unknown."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, ValueError, OSError):
        return FALLBACK_SIZE
    return (size.columns or FALLBACK_SIZE[0], size.lines or FALLBACK_SIZE[1])


class ProgressReporter:
    """Counts one thing (``unit``), optionally a second (``extra_unit``), and shows it.

    Use as a context manager, or call :meth:`close`. ``advance(n)`` adds to the count;
    ``set(done)`` replaces it; both take the second count as an absolute number.
    """

    def __init__(self, unit: str, *, total: int | None = None, verb: str = "indexed",
                 extra_unit: str | None = None, quiet: bool = False, interval_s: float = 10.0,
                 stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.unit, self.total, self.verb, self.extra_unit = unit, total, verb, extra_unit
        self.stream = stream if stream is not None else sys.stderr
        self.interval_s = interval_s
        self.done, self.extra = 0, 0
        self._clock = clock
        self._started = self._last_line = clock()
        self._bar: Any = None
        self.mode = "off" if quiet else ("bar" if _is_terminal(self.stream) else "lines")
        if self.mode == "bar":
            self._bar = self._make_bar()

    def _make_bar(self) -> Any:
        from tqdm import tqdm

        # disable=False: whether to draw was decided above. The size is passed, not left
        # to tqdm: see FALLBACK_SIZE.
        columns, rows = _screen(self.stream)
        return tqdm(total=self.total, unit=f" {self.unit}", file=self.stream, disable=False,
                    ncols=columns, nrows=rows, mininterval=0.2, smoothing=0.1)

    def set_total(self, total: int | None) -> None:
        """The total, once known (a trainer knows its steps only when it starts)."""
        self.total = total
        if self._bar is not None:
            self._bar.total = total
            self._bar.refresh()

    def advance(self, n: int = 1, extra: int | None = None) -> None:
        """Add ``n`` to the count; ``extra``: the second count so far."""
        self.set(self.done + n, extra)

    def set(self, done: int, extra: int | None = None) -> None:
        """Set the count to ``done``; ``extra``: the second count so far."""
        step, self.done = done - self.done, done
        if extra is not None:
            self.extra = extra
        if self.mode == "bar":
            self._update_bar(step)
        elif self.mode == "lines":
            now = self._clock()
            if now - self._last_line >= self.interval_s:
                self._last_line = now
                self._write(self.line(now))

    def _update_bar(self, step: int) -> None:
        if self.extra_unit is not None:
            elapsed = max(self._clock() - self._started, 1e-9)
            self._bar.set_postfix_str(f"{self.extra:,} {self.extra_unit}, "
                                      f"{format_rate(self.extra / elapsed)} {self.extra_unit}/s",
                                      refresh=False)
        self._bar.update(step)

    def write_above(self, text: str) -> None:
        """Print a message line without breaking the bar (a plain line when there is none)."""
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        else:
            self._write(text)

    def line(self, now: float | None = None) -> str:
        """The plain line for the counts so far."""
        seconds = (self._clock() if now is None else now) - self._started
        return format_line(self.verb, self.done, self.total, self.unit, seconds,
                           self.extra if self.extra_unit else None, self.extra_unit)

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # a closed pipe must not stop the work being reported
            self.mode = "off"

    def close(self) -> None:
        """Finish the bar (a terminal keeps its last state); lines need no closing."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> ProgressReporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def reporter(settings: Any, unit: str, *, quiet: bool = False, **kwargs: Any) -> ProgressReporter:
    """A :class:`ProgressReporter` on stderr whose line interval is the settings'
    ``progress_interval_s`` (env ``VNSEARCH_PROGRESS_INTERVAL_S``)."""
    return ProgressReporter(unit, quiet=quiet, interval_s=settings.progress_interval_s, **kwargs)


def indexing(settings: Any, *, quiet: bool = False, total: int | None = None,
             verb: str = "indexed") -> ProgressReporter:
    """The reporter of an indexing run: articles (of ``total``) and passages written."""
    return reporter(settings, "articles", quiet=quiet, total=total, verb=verb,
                    extra_unit="passages")


@contextmanager
def indexing_callback(settings: Any, *, quiet: bool = False,
                      total: int | None = None) -> Iterator[Callable[[Any, int], None]]:
    """An :func:`indexing` reporter for the block, as the callback ``index_articles`` takes."""
    with indexing(settings, quiet=quiet, total=total) as progress:
        yield index_callback(progress)


def index_callback(progress: ProgressReporter) -> Callable[[Any, int], None]:
    """The ``progress`` callback of :func:`indexer.writer.index_articles` feeding ``progress``."""
    def callback(summary: Any, n_new: int) -> None:
        # A skipped record is progress too: the total counted it.
        progress.advance(n_new if n_new else 1, extra=summary.passages_added)

    return callback
