"""MkDocs hook: the CLI reference and the settings table are rendered from the code.

A page holds a marker (``<!-- generated: cli -->`` or ``<!-- generated: settings -->``) and
the hook replaces it at build time, so neither list can fall behind the code: a new command,
option or setting appears on the next ``make docs``. ``tests/test_docs.py`` imports the same
renderers to check that every entry has a description.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # render this checkout's code, not an installed copy
    sys.path.insert(0, str(REPO))

CLI_MARKER = "<!-- generated: cli -->"
SETTINGS_MARKER = "<!-- generated: settings -->"
PROG = "vnsearch"


def _cell(text: str) -> str:
    """Text fit for one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def _rst_to_md(text: str) -> str:
    """Docstrings use reST's ``code``; Markdown wants `code`. Click's \\b markers go."""
    text = text.replace("\b", "")
    return re.sub(r"``([^`]+)``", r"`\1`", text)


def _help_to_md(help_text: str) -> str:
    """A command's help as Markdown: click's ``\\b`` paragraphs (kept as typed) become
    preformatted blocks, the other paragraphs stay prose."""
    out = []
    for para in re.split(r"\n\s*\n", inspect.cleandoc(help_text)):
        if para.lstrip().startswith("\b"):
            body = para.lstrip()[1:].strip("\n")
            out.append(f"```text\n{body}\n```")
        else:
            out.append(_rst_to_md(para))
    return "\n\n".join(out)


# -- the CLI -------------------------------------------------------------------------------


def iter_commands(group: Any = None, prefix: str = "") -> list[tuple[str, Any]]:
    """(full name, click command) for every command under the root group, groups included."""
    import click

    if group is None:
        from search_api.cli import main as group
    out: list[tuple[str, Any]] = []
    for name in sorted(group.commands):
        command = group.commands[name]
        full = f"{prefix}{name}"
        out.append((full, command))
        if isinstance(command, click.Group):
            out.extend(iter_commands(command, prefix=f"{full} "))
    return out


def option_records(command: Any, full_name: str) -> list[tuple[str, str]]:
    """(names, help) of each option and argument, as ``vnsearch COMMAND --help`` shows them."""
    import click

    ctx = click.Context(command, info_name=f"{PROG} {full_name}")
    records: list[tuple[str, str]] = []
    for param in command.get_params(ctx):
        if isinstance(param, click.Argument):
            if not param.make_metavar(ctx):  # an argument the command hides from its usage
                continue
            kind = "argument" + (", repeatable" if param.nargs == -1 else "") + \
                (", required" if param.required else ", optional")
            records.append((param.make_metavar(ctx), kind))
            continue
        record = param.get_help_record(ctx)
        if record:
            # A default under the checkout (../shared/data/...) is written as the CLI means it.
            records.append((record[0], record[1].replace(str(REPO.parent), "..")))
    return records


def render_cli() -> str:
    import click

    lines: list[str] = []
    for full, command in iter_commands():
        ctx = click.Context(command, info_name=f"{PROG} {full}")
        usage = " ".join([f"{PROG} {full}", *command.collect_usage_pieces(ctx)])
        lines += [f"## `{PROG} {full}`", "", f"```\n{usage}\n```", ""]
        if command.help:
            lines += [_help_to_md(command.help), ""]
        if isinstance(command, click.Group):
            subs = ", ".join(f"[`{full} {n}`](#{PROG}-{full.replace(' ', '-')}-{n})"
                             for n in sorted(command.commands))
            lines += [f"Commands: {subs}.", ""]
        records = option_records(command, full)
        if records:
            lines += ["| option | description |", "|---|---|"]
            lines += [f"| `{_cell(names)}` | {_cell(_rst_to_md(text))} |"
                      for names, text in records]
            lines.append("")
    return "\n".join(lines)


# -- the settings --------------------------------------------------------------------------


def _attribute_docstrings(cls: type) -> dict[str, str]:
    """A string literal right after a field (PEP 257 attribute docstring) describes it."""
    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for stmt, nxt in itertools.pairwise(body):
        if (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
                and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant)
                and isinstance(nxt.value.value, str)):
            docs[stmt.target.id] = nxt.value.value
    return docs


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if not getattr(annotation, "__args__", None) \
        else None
    text = text or str(annotation)
    text = re.sub(r"\b(typing|pathlib|pydantic\.types)\.", "", text)
    return text.replace("NoneType", "None")


def _default_text(name: str, field: Any) -> str:
    from pydantic_core import PydanticUndefined

    if name == "home":
        return "`~/.cache/vnsearch`"  # Path.home() of whoever builds the docs is no default
    if field.default_factory is not None:
        value = field.default_factory()
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if value is None:
        return "unset"
    return f"`{value!r}`" if isinstance(value, str) else f"`{value}`"


def settings_records() -> list[dict[str, str]]:
    """One dict per settings field: env variable, type, default, description."""
    from indexer.settings import Settings

    prefix = Settings.model_config.get("env_prefix", "")
    docs = _attribute_docstrings(Settings)
    records = []
    for name, field in Settings.model_fields.items():
        records.append({
            "name": name,
            "env": f"{prefix}{name}".upper(),
            "type": _type_name(field.annotation),
            "default": _default_text(name, field),
            "description": field.description or docs.get(name, ""),
        })
    return records


def render_settings() -> str:
    lines = ["| variable | type | default | description |", "|---|---|---|---|"]
    for r in settings_records():
        lines.append(f"| `{r['env']}` | `{_cell(r['type'])}` | {r['default']} | "
                     f"{_cell(_rst_to_md(r['description']))} |")
    return "\n".join(lines) + "\n"


# -- the hook ------------------------------------------------------------------------------


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, render_cli())
    if SETTINGS_MARKER in markdown:
        markdown = markdown.replace(SETTINGS_MARKER, render_settings())
    return markdown
