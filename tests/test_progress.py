"""Progress of long commands: a bar on a terminal, periodic plain lines elsewhere, --quiet.

The reporter (``indexer.progress``) is tested without the model; the real ``vnsearch
index`` runs in a pseudo-terminal and in a pipe on a dozen small articles.
"""

from __future__ import annotations

import io
import json
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from indexer.progress import ProgressReporter, format_line, format_rate, index_callback

REPO = Path(__file__).resolve().parents[1]
LINE_RE = re.compile(r"^indexed [\d,]+( / [\d,]+)? articles, [\d,]+ passages, [\d.,]+ passages/s$")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


# --- the reporter, without the model ---------------------------------------------------


def test_line_has_thousands_separators_and_the_total_only_when_known() -> None:
    assert (format_line("indexed", 1200, 3983, "articles", 10.0, 9100, "passages")
            == "indexed 1,200 / 3,983 articles, 9,100 passages, 910 passages/s")
    assert (format_line("indexed", 1200, None, "articles", 2.0, 123_456, "passages")
            == "indexed 1,200 articles, 123,456 passages, 61,728 passages/s")
    assert format_line("trained", 12, 48, "steps", 40.0) == "trained 12 / 48 steps, 0.3 steps/s"
    assert format_line("indexed", 0, None, "articles", 0.0, 0, "passages") == \
        "indexed 0 articles, 0 passages, 0 passages/s"
    assert format_rate(58.4) == "58" and format_rate(1234.5) == "1,234" and format_rate(9.96) == "10.0"
    assert format_rate(0.5) == "0.5" and format_rate(0.027) == "0.027"


def test_lines_come_at_most_every_interval() -> None:
    clock, out = FakeClock(), io.StringIO()
    progress = ProgressReporter("articles", total=3983, extra_unit="passages", interval_s=10,
                                stream=out, clock=clock)
    assert progress.mode == "lines"
    clock.now += 5
    progress.advance(600, extra=4000)
    assert out.getvalue() == ""  # not yet 10 s
    clock.now += 5
    progress.advance(600, extra=5800)
    clock.now += 1
    progress.advance(1, extra=5801)  # 1 s after the last line: none
    progress.close()
    assert out.getvalue().splitlines() == ["indexed 1,200 / 3,983 articles, 5,800 passages, "
                                           "580 passages/s"]


def test_index_callback_counts_skips_and_passages() -> None:
    clock, out = FakeClock(), io.StringIO()
    progress = ProgressReporter("articles", extra_unit="passages", interval_s=0.001, stream=out,
                                clock=clock)
    summary = type("Summary", (), {"passages_added": 0})()
    callback = index_callback(progress)
    clock.now += 1
    callback(summary, 0)  # a skipped record
    summary.passages_added = 70
    clock.now += 1
    callback(summary, 64)
    assert progress.done == 65 and progress.extra == 70
    assert out.getvalue().splitlines()[-1] == "indexed 65 articles, 70 passages, 35 passages/s"


def test_a_terminal_gets_a_bar_and_quiet_gets_nothing() -> None:
    terminal = FakeTerminal()
    with ProgressReporter("articles", total=12, extra_unit="passages", stream=terminal) as bar:
        assert bar.mode == "bar"
        bar.advance(12, extra=94)
    shown = terminal.getvalue()
    assert "%|" in shown and "12/12" in shown and "articles" in shown and "94 passages" in shown
    for stream in (FakeTerminal(), io.StringIO()):
        with ProgressReporter("articles", quiet=True, interval_s=0.0, stream=stream) as quiet:
            assert quiet.mode == "off"
            quiet.advance(5, extra=9)
        assert stream.getvalue() == ""


def test_the_interval_is_a_setting(monkeypatch) -> None:
    from indexer.progress import reporter
    from indexer.settings import Settings

    monkeypatch.setenv("VNSEARCH_PROGRESS_INTERVAL_S", "0.25")
    assert Settings().progress_interval_s == 0.25
    assert reporter(Settings(), "queries").interval_s == 0.25
    assert Settings.model_fields["progress_interval_s"].default == 10.0


# --- the real command line ---------------------------------------------------------------


def _corpus(path: Path) -> Path:
    """A dozen small articles, each long enough for a few passages."""
    words = ("giá lúa gạo tăng mạnh tại đồng bằng sông Cửu Long khiến nông dân phấn khởi "
             "thương lái tranh mua xuất khẩu sang Philippines Indonesia").split()
    with path.open("w", encoding="utf-8") as out:
        for i in range(12):
            text = " ".join(words[(i + j) % len(words)] for j in range(260)) + f" số {i}."
            out.write(json.dumps({"id": f"p{i}", "title": f"Bài {i}", "text": text},
                                 ensure_ascii=False) + "\n")
    return path


def _env(settings, **extra: str) -> dict[str, str]:
    return dict(os.environ, VNSEARCH_HOME=str(settings.home), PYTHONIOENCODING="utf-8", **extra)


def _start_in_pty(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    primary, secondary = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "search_api", *args], cwd=REPO, env=env,
                            stdin=secondary, stdout=secondary, stderr=secondary, close_fds=True)
    os.close(secondary)
    return proc, primary


def _read_pty(proc: subprocess.Popen, primary: int, timeout: float = 300) -> str:
    out, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 1.0)
        if ready:
            try:
                data = os.read(primary, 65536)
            except OSError:  # EIO: the child closed its side
                break
            if not data:
                break
            out += data
        elif proc.poll() is not None:
            break
    os.close(primary)
    proc.wait(timeout=30)
    return out.decode("utf-8", "replace")


def test_index_shows_a_bar_on_a_terminal_and_lines_in_a_pipe(tmp_path, settings, encoder,
                                                             cli) -> None:
    corpus = _corpus(tmp_path / "c.jsonl")
    fast = _env(settings, VNSEARCH_PROGRESS_INTERVAL_S="0.01")
    # On a terminal: real processes in pseudo-terminals, started together (their model loads
    # overlap). Not on a terminal: the same command in-process meanwhile, its stderr a
    # captured stream that is no terminal (what a pipe is to the reporter: isatty() is false),
    # with the session's model instead of two more processes loading theirs.
    tty, primary = _start_in_pty(["index", str(corpus), "--index", str(tmp_path / "t")], fast)
    tty_quiet, primary_quiet = _start_in_pty(
        ["index", str(corpus), "--index", str(tmp_path / "tq"), "--quiet"], fast)
    piped = [cli("index", corpus, "--index", tmp_path / name, *flags,
                 env={"VNSEARCH_PROGRESS_INTERVAL_S": "0.01"})
             for name, flags in (("p", []), ("pq", ["--quiet"]))]
    shown, shown_quiet = _read_pty(tty, primary), _read_pty(tty_quiet, primary_quiet)
    (out, err), (out_q, err_q) = ((run.stdout, run.stderr) for run in piped)

    assert tty.returncode == 0, shown
    assert "%|" in shown and "12/12" in shown and "passages/s" in shown, shown
    assert "indexed 12" not in shown  # a terminal gets the bar, not the lines
    assert "12 added" in shown_quiet and "%|" not in shown_quiet, shown_quiet
    assert piped[0].returncode == 0, err
    lines = [line for line in err.splitlines() if line.startswith("indexed ")]
    assert lines and all(LINE_RE.match(line) for line in lines), err
    assert lines[-1].startswith("indexed 12 / 12 articles, ")
    assert "%|" not in err and "\r" not in err  # no bar in a pipe
    assert "12 added" in out
    assert piped[1].returncode == 0 and "12 added" in out_q
    assert not [line for line in err_q.splitlines() if line.startswith("indexed")], err_q


@pytest.mark.parametrize("command", ["index", "cluster index", "adapt", "eval", "calibrate"])
def test_every_long_command_has_quiet(command) -> None:
    from click.testing import CliRunner

    from search_api.cli import main

    result = CliRunner().invoke(main, [*command.split(), "--help"], terminal_width=200)
    assert result.exit_code == 0 and "--quiet" in result.output, result.output


def test_cluster_index_of_missing_paths_only_exits_3_before_ray(tmp_path) -> None:
    from click.testing import CliRunner

    from search_api.cli import main

    result = CliRunner().invoke(main, ["cluster", "index", str(tmp_path / "typo.jsonl"),
                                       "--out", str(tmp_path / "out"), "--shards", "2"])
    assert result.exit_code == 3, result.output
    assert "not found" in result.stderr and not (tmp_path / "out").exists()
