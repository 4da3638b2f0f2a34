"""The documentation site stays complete and true (datasette's test_docs.py is the model).

* Every command, option and setting is documented: the CLI reference and the settings page
  are rendered from the code by docs/hooks.py, so these tests check that the rendering lists
  each one and that each has a description in the code (a click ``help=``, a docstring, a
  settings ``Field(description=…)`` or the docstring under the field).
* ``mkdocs build --strict`` passes (no broken link or anchor, no missing page).
* The example outputs marked in README.md and docs/*.md are what the current code prints
  (``python docs/examples.py --check``).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import click
import pytest
from support import REPO

_spec = importlib.util.spec_from_file_location("docs_hooks", REPO / "docs" / "hooks.py")
hooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hooks)  # type: ignore[union-attr]

COMMANDS = hooks.iter_commands()
OPTIONS = [(full, param) for full, command in COMMANDS for param in command.params
           if isinstance(param, click.Option)]
SETTINGS = hooks.settings_records()
# Options whose code has no help= yet; the page still lists them (name, type, default).
# Remove an entry once its help text is written; a new option must come with one.
KNOWN_WITHOUT_HELP = {("eval", "--corpus"), ("eval", "--mode"), ("query", "--mode"),
                      ("query", "--sort")}


def _has_mkdocs() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("mkdocs", "material"))


@pytest.fixture(scope="module")
def cli_page() -> str:
    return hooks.render_cli()


def test_generated_pages_keep_their_markers():
    assert hooks.CLI_MARKER in (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    assert hooks.SETTINGS_MARKER in (REPO / "docs" / "settings.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_command_is_documented(name, command, cli_page):
    assert f"## `vnsearch {name}`" in cli_page, f"`vnsearch {name}` is missing from docs/cli.md"
    assert (command.help or "").strip(), f"`vnsearch {name}` has no help text (its docstring)"


@pytest.mark.parametrize(("name", "option"), OPTIONS,
                         ids=[f"{n} {o.opts[0]}" for n, o in OPTIONS])
def test_option_is_documented(name, option, cli_page):
    section = cli_page.split(f"## `vnsearch {name}`", 1)[1].split("\n## ", 1)[0]
    assert f"`{option.opts[0]}" in section, \
        f"`vnsearch {name} {option.opts[0]}` is missing from docs/cli.md"
    if option.name == "help" or (name, option.opts[0]) in KNOWN_WITHOUT_HELP:
        return
    assert (option.help or "").strip(), f"`vnsearch {name} {option.opts[0]}` has no help="


@pytest.mark.parametrize("record", SETTINGS, ids=[r["env"] for r in SETTINGS])
def test_setting_is_documented(record):
    assert record["description"].strip(), (
        f"setting {record['name']} ({record['env']}) has no description: give it "
        "Field(description=…) or a docstring under the field in indexer/settings.py")
    assert f"`{record['env']}`" in hooks.render_settings()


def test_known_without_help_is_current():
    """The exception list shrinks only: an option that got its help leaves it."""
    for name, opt in KNOWN_WITHOUT_HELP:
        matches = [o for n, o in OPTIONS if n == name and o.opts[0] == opt]
        assert matches and not matches[0].help, f"{name} {opt}: remove it from KNOWN_WITHOUT_HELP"


@pytest.mark.skipif(not _has_mkdocs(), reason="mkdocs and mkdocs-material are not installed "
                                              "(pip install -e '.[docs]')")
def test_mkdocs_build_strict(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(tmp_path / "site")], check=False, cwd=REPO, capture_output=True,
                          text=True,
                          timeout=600, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert (tmp_path / "site" / "cli" / "index.html").exists()


def test_examples_are_current(docs_examples):
    """Every marked example output is what the current code prints on a fresh demo index
    (``docs/examples.py --check``, run once for this and tests/test_readme.py)."""
    proc, _work = docs_examples
    assert proc.returncode == 0, (
        f"an example in the docs drifted from the code; run `python docs/examples.py` and "
        f"review the diff:\n{proc.stderr[-6000:]}\n{proc.stdout[-2000:]}")
