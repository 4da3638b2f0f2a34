"""The README and the docs stay true: the walkthrough runs, and the options they name exist.

* Every fenced block of docs/getting-started.md whose info string is ``sh readme-test``
  (rendered as ``sh``) is run, in page order, by ``bash -e -o pipefail`` in a fresh temporary
  directory, with a fresh home (the suite's model linked in, the default encoder) and the
  ``vnsearch`` of this environment on ``PATH`` — what a newcomer following the walkthrough
  types. docs/examples.py does that run (its outputs are shown in the docs); the session's
  ``docs_examples`` fixture runs it once for this module and tests/test_docs.py. The blocks
  assert for themselves (``| grep …``); afterwards the index must hold exactly the articles
  the walkthrough leaves in it.
* Every ``vnsearch COMMAND … --option`` in the code of README.md and docs/*.md (fenced blocks
  and inline code spans) names a command of the root group and an option its ``--help`` lists.
"""

from __future__ import annotations

import json
import re
from functools import cache

import pytest
from support import REPO

README = REPO / "README.md"
WALKTHROUGH = REPO / "docs" / "getting-started.md"
# Every page whose commands must exist (the generated CLI page is built from them anyway).
PAGES = [README, *sorted((REPO / "docs").glob("*.md"))]
TEST_INFO = "readme-test"

_FENCE_RE = re.compile(r"^([ \t]*)(```+|~~~+)(.*)$")


def split_markdown(text: str) -> tuple[list[tuple[str, str]], str]:
    """(info string, body) of every fenced code block, in order, and the prose around them."""
    blocks: list[tuple[str, str]] = []
    prose: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE_RE.match(lines[i])
        if not m:
            prose.append(lines[i])
            i += 1
            continue
        indent, fence, info = m.group(1), m.group(2), m.group(3).strip()
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            line = lines[i]
            body.append(line[len(indent):] if line.startswith(indent) else line)
            i += 1
        blocks.append((info, "\n".join(body)))
        i += 1
    return blocks, "\n".join(prose)


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    return split_markdown(text)[0]


def walkthrough_script(text: str) -> str:
    blocks = [body for info, body in fenced_blocks(text) if info.split()[1:2] == [TEST_INFO]]
    return "\n\n".join(blocks)


def test_readme_has_a_walkthrough():
    script = walkthrough_script(WALKTHROUGH.read_text(encoding="utf-8"))
    assert "vnsearch index" in script and "vnsearch query" in script, \
        "docs/getting-started.md lost its `sh readme-test` walkthrough blocks"


def test_readme_walkthrough_runs(docs_examples, cli):
    proc, work = docs_examples
    blocks = [b for i, b in fenced_blocks(WALKTHROUGH.read_text(encoding="utf-8"))
              if i.split()[1:2] == [TEST_INFO]]
    ran = work / "walkthrough-ran.json"
    done = json.loads(ran.read_text(encoding="utf-8"))["blocks"] if ran.exists() else 0
    assert done == len(blocks), (
        f"the getting-started walkthrough stopped after {done} of its {len(blocks)} blocks "
        f"(docs/examples.py ran it; exit {proc.returncode}):\n{proc.stderr[-6000:]}")

    exported = cli("export", "--index", work / "walkthrough" / "my-index")
    assert exported.returncode == 0, exported.stderr
    articles = [json.loads(line) for line in exported.stdout.splitlines() if line.strip()]
    titles = {a["title"] for a in articles}
    # Indexed: .txt + sidecar, CSV, HTML, mapped JSONL. Deleted: the JSONL article (by its
    # id), the CSV row (by its input id); removed by --sync: the HTML page.
    assert titles == {"Giá cà phê tăng cao, nông dân Gia Lai phấn khởi thu hoạch"}, titles
    coffee = articles[0]
    assert coffee["url"] == "https://baogialai.com.vn/gia-ca-phe-tang-cao.html"
    assert coffee["source"] == "Báo Gia Lai"
    assert coffee["published"].startswith("2025-03-10")  # "10/3/2025" in the sidecar
    assert "100.000 ha" in coffee["text"]  # the update reached the index


# -- every `vnsearch COMMAND --option` the README names exists ------------------------------

_INLINE_RE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
# ``vnsearch cluster index`` etc.: a group's subcommand is part of the command.
_COMMAND_RE = re.compile(r"\bvnsearch (cluster [a-z]+|[a-z]+(?:-[a-z]+)*)\b")
_OPTION_RE = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def code_segments(text: str) -> list[str]:
    """Each line of every fenced block (continuation lines joined) and every inline code span."""
    segments: list[str] = []
    blocks, prose = split_markdown(text)
    for _info, body in blocks:
        segments.extend(body.replace("\\\n", " ").splitlines())
    segments.extend(_INLINE_RE.findall(prose))
    return segments


def mentioned_options(text: str) -> set[tuple[str, str]]:
    """(command, option) for every ``vnsearch COMMAND … --option`` in the README's code."""
    pairs: set[tuple[str, str]] = set()
    for segment in code_segments(text):
        matches = list(_COMMAND_RE.finditer(segment))
        for n, m in enumerate(matches):
            end = matches[n + 1].start() if n + 1 < len(matches) else len(segment)
            tail = segment[m.end():end]
            # Stop at a shell pipe or list (` | `, ` && `, ` ; `): what follows is another program.
            tail = re.split(r"\s(?:\||&&|;)\s|\$\(", tail)[0]
            pairs.add((m.group(1), ""))
            pairs.update((m.group(1), opt) for opt in _OPTION_RE.findall(tail))
    return pairs


@cache
def help_text(command: str) -> str | None:
    from click.testing import CliRunner

    from search_api.cli import main

    group, *sub = command.split()
    if group not in main.commands or (sub and sub[0] not in main.commands[group].commands):
        return None
    result = CliRunner().invoke(main, [*command.split(), "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


_PAIRS = sorted(set().union(*(mentioned_options(p.read_text(encoding="utf-8")) for p in PAGES)))


def test_readme_mentions_options():
    assert ("index", "--map") in _PAIRS and ("query", "--json") in _PAIRS


@pytest.mark.parametrize(("command", "option"), _PAIRS,
                         ids=[f"{c} {o}".strip() for c, o in _PAIRS])
def test_readme_option_exists(command, option):
    text = help_text(command)
    assert text is not None, f"the docs mention `vnsearch {command}`, which is not a command"
    if option:
        assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text), (
            f"the docs mention `vnsearch {command} {option}`, which `vnsearch {command} --help` "
            f"does not list")
