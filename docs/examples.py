"""Regenerate the example outputs shown in README.md and docs/*.md, or check them.

    python docs/examples.py            # rewrite every marked block from fresh runs
    python docs/examples.py --check    # exit 1, with a diff, if a block is not what the code prints

A block that shows real output is marked in the Markdown source:

    <!-- example: NAME -->
    ```console
    …
    ```
    <!-- /example -->

and NAME is one of ``EXAMPLES`` below. The outputs come from the current code, run the way a
reader runs it: the walkthrough's ``vnsearch`` commands as real processes, the other
``vnsearch`` commands through the console script's own click group in this process (the same
code and output, with the model loaded once instead of once a command), the HTTP API through
the real app (FastAPI's TestClient, the same answers as ``vnsearch serve``), the Python
examples executed as printed. Two sources: the demo index that ``make demo`` builds
(``data/demo/``, default encoder) and the walkthrough of docs/getting-started.md, whose
``sh readme-test`` blocks are run in order in a temporary directory. ``--check`` ignores
timings and compares numbers with a small tolerance (another CPU may round the int8 encoder
differently); anything else that differs is drift. The suite runs it once (the session
fixture ``docs_examples``, with ``--keep DIR``: the work directory stays):
tests/test_docs.py checks its verdict, tests/test_readme.py the walkthrough's index in DIR
instead of running the walkthrough a second time.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
WALKTHROUGH = REPO / "docs" / "getting-started.md"
DEMO_DATA = REPO / "data" / "demo"
BLOCK_RE = re.compile(r"(<!-- example: (?P<name>[\w-]+) -->\n```(?P<lang>[\w-]*)\n)(?P<body>.*?)"
                      r"(?P<end>\n?```\n<!-- /example -->)", re.DOTALL)
FENCE_RE = re.compile(r"^```([^\n]*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
WALK_INFO = "sh readme-test"  # the blocks tests/test_readme.py runs


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "VNSEARCH_HOME": str(home), "PYTHONPATH": str(REPO),
           "VNSEARCH_ENCODER_BACKEND": "onnx-int8",  # what a reader gets (the suite pins torch)
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("VNSEARCH_ADMIN_TOKEN", None)
    env.pop("VNSEARCH_MIN_RELEVANCE", None)
    return env


_ENCODERS: dict[tuple[Any, ...], Any] = {}


@contextlib.contextmanager
def _models_loaded_once() -> Any:
    """``create_encoder`` returns the encoder already loaded for the same model and options:
    a command run in-process loads what its process would load, once per run."""
    import indexer.encoders

    real = indexer.encoders.create_encoder

    def create_encoder(settings: Any) -> Any:
        key = (settings.models_dir, settings.model, settings.model_adapter,
               settings.query_prompt, settings.passage_prompt, settings.encoder_backend,
               settings.threads)
        if key not in _ENCODERS:
            _ENCODERS[key] = real(settings)
        return _ENCODERS[key]

    indexer.encoders.create_encoder = create_encoder  # type: ignore[assignment]
    try:
        yield
    finally:
        indexer.encoders.create_encoder = real


class Runs:
    """The demo index, the walkthrough's directory and the app, built once per run."""

    def __init__(self, work: Path, model_home: Path) -> None:
        # The model comes from ``model_home``; the embedding cache starts empty every run:
        # int8 vectors depend slightly on the batch a passage was embedded in, so vectors
        # cached by earlier runs would make the outputs depend on what the home held.
        home = work / "demo-home"
        home.mkdir()
        (model_home / "models").mkdir(parents=True, exist_ok=True)
        (home / "models").symlink_to(model_home / "models")
        self.work, self.home, self.env = work, home, _env(home)
        self._client: Any = None
        self._stack = contextlib.ExitStack()
        self.walk_outputs: dict[int, str] = {}
        self.walk_after: dict[int, list[tuple[str, str]]] = {}

    # -- the demo index -------------------------------------------------------------------

    def build_demo(self) -> None:
        self.cli("index", str(DEMO_DATA), "--index", "demo-index", "--quiet")

    def cli(self, *args: str, check: bool = False) -> str:
        """What ``vnsearch ARGS`` prints in the work directory (stderr too when it fails):
        the console script's click group in this process, with the reader's environment."""
        from click.testing import CliRunner

        from search_api.cli import main

        env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("VNSEARCH_")}
        env.update({k: v for k, v in self.env.items() if k.startswith("VNSEARCH_")})
        with _models_loaded_once(), contextlib.chdir(self.work):
            result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=True)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception  # a crash, not vnsearch's one-line error: its traceback
        if check and result.exit_code != 0:
            raise RuntimeError(f"vnsearch {' '.join(args)}: exit {result.exit_code}\n"
                               f"{result.stderr}")
        return result.stdout + (result.stderr if result.exit_code else "")

    def command(self, line: str) -> str:
        """``$ vnsearch …`` and what it prints (stdout; stderr too when it fails)."""
        import shlex

        args = shlex.split(line)
        assert args[0] == "vnsearch", line
        return f"$ {line}\n{self.cli(*args[1:]).rstrip()}"

    @property
    def client(self) -> Any:
        if self._client is None:
            from fastapi.testclient import TestClient

            from indexer.settings import Settings
            from search_api.app import create_app

            os.environ.update({k: v for k, v in self.env.items() if k.startswith("VNSEARCH_")})
            settings = Settings(home=self.home)
            app = create_app(settings, self.work / "demo-index")
            self._client = self._stack.enter_context(TestClient(app))
        return self._client

    def close(self) -> None:
        self._stack.close()

    # -- the walkthrough ------------------------------------------------------------------

    def run_walkthrough(self, after: dict[int, list[str]]) -> None:
        """Run the getting-started blocks in order; after block i, the commands in after[i]."""
        walk = self.work / "walkthrough"
        walk.mkdir()
        # A newcomer's first run embeds everything: a fresh embedding cache, the same models.
        home = self.work / "walkthrough-home"
        home.mkdir()
        (self.home / "models").mkdir(parents=True, exist_ok=True)
        (home / "models").symlink_to(self.home / "models")
        env = _env(home)
        for i, block in enumerate(walkthrough_blocks(WALKTHROUGH.read_text(encoding="utf-8"))):
            proc = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block], check=False,
                                  cwd=walk,
                                  env=env, capture_output=True, text=True, timeout=600)
            if proc.returncode != 0:
                raise RuntimeError(f"walkthrough block {i} failed:\n{block}\n{proc.stderr}")
            self.walk_outputs[i] = proc.stdout
            # What ran, block by block, for tests/test_readme.py (reads it with --keep).
            (self.work / "walkthrough-ran.json").write_text(json.dumps(
                {"blocks": i + 1, "stdout": self.walk_outputs}, ensure_ascii=False),
                encoding="utf-8")
            for line in after.get(i, []):
                out = subprocess.run(["bash", "-c", line], check=False, cwd=walk, env=env,
                                     capture_output=True, text=True, timeout=600).stdout
                self.walk_after.setdefault(i, []).append((line, out))


def fence_blocks(text: str) -> list[tuple[str, str]]:
    """(info string, body) of every fenced block at the start of a line."""
    return [(m.group(1).strip(), m.group(2)) for m in FENCE_RE.finditer(text)]


def walkthrough_blocks(text: str) -> list[str]:
    # The rule of tests/test_readme.py, which counts the blocks this run went through.
    marker = WALK_INFO.split()[1]
    return [body for info, body in fence_blocks(text) if info.split()[1:2] == [marker]]


# -- helpers for the API examples ------------------------------------------------------------


def _cut(value: Any, n: int = 90) -> Any:
    return value if not isinstance(value, str) or len(value) <= n else value[:n] + "…"


def _compact(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _dump(obj: Any) -> str:
    """JSON a person can read: one key a line, a list of objects one object a line."""
    if not isinstance(obj, dict):
        return _compact(obj)
    lines = []
    for key, value in obj.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            inner = ",\n".join(f"    {_compact(v)}" for v in value)
            lines.append(f'  "{key}": [\n{inner}\n  ]')
        elif isinstance(value, dict) and value and len(_compact(value)) > 90:
            inner = ",\n".join(f'    "{k}": {_compact(v)}' for k, v in value.items())
            lines.append(f'  "{key}": {{\n{inner}\n  }}')
        else:
            lines.append(f'  "{key}": {_compact(value)}')
    return "{\n" + ",\n".join(lines) + "\n}"


def curl(runs: Runs, path: str, params: dict[str, Any] | None = None,
         body: dict[str, Any] | None = None, shape: Callable[[Any], Any] | None = None,
         jq: str = "") -> str:
    query = "&".join(f"{k}={quote(str(v))}" for k, v in (params or {}).items())
    url = f"http://127.0.0.1:8000{path}" + (f"?{query}" if query else "")
    if body is None:
        shown = f"$ curl -s '{url}'"
        response = runs.client.get(path, params=params)
    else:
        shown = (f"$ curl -s {url} -H 'content-type: application/json' \\\n"
                 f"    -d '{json.dumps(body, ensure_ascii=False)}'")
        response = runs.client.post(path, json=body)
    data = response.json()
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        data["error"]["request_id"] = "…"  # a new random id every run
    out = _dump(shape(data) if shape else data)
    return f"{shown}{jq}   # HTTP {response.status_code}\n{out}"


def _hit_summary(hit: dict[str, Any]) -> dict[str, Any]:
    keep = ("rank", "title", "source", "published", "relevance", "provinces", "url")
    return {k: hit[k] for k in keep if k in hit}  # uncut: this is what the jq filter prints


# -- the examples ------------------------------------------------------------------------------


def ex_readme_query(runs: Runs) -> str:
    return runs.command('vnsearch query "thi hành án dân sự Gia Lai" --index demo-index -k 2')


def ex_readme_curl(runs: Runs) -> str:
    response = runs.client.get("/search", params={"q": "cướp ngân hàng Gia Lai", "k": 2})
    data = response.json()
    keep = ("rank", "title", "source", "published", "relevance", "provinces")
    jq_c = [str(data["total"])] + [  # what jq -c prints: compact, no spaces
        json.dumps({k: h[k] for k in keep}, ensure_ascii=False, separators=(",", ":"))
        for h in data["results"]]
    return ("$ curl -s 'http://127.0.0.1:8000/search?q=c%C6%B0%E1%BB%9Bp+ng%C3%A2n+h%C3%A0ng+Gia"
            "+Lai&k=2' \\\n    | jq -c '.total, (.results[] | {rank, title, source, published, "
            "relevance, provinces})'\n" + "\n".join(jq_c))


def ex_health(runs: Runs) -> str:
    return curl(runs, "/health")


def ex_no_results(runs: Runs) -> str:
    return "\n".join([runs.command("vnsearch query zzzqqqxxx --index demo-index"),
                      runs.command('vnsearch query "Gia Lai thi hành án dân sự đạt bao nhiêu '
                                   'phần trăm" --index demo-index -k 2')])


def ex_sort_facets(runs: Runs) -> str:
    lines = []
    for cmd in ['vnsearch query "giá vàng" --index demo-index --sort newest --facets --json -k 3',
                ('vnsearch query "thi hành án dân sự Gia Lai" --index demo-index '
                 '--date-from 2021-01-01 -k 2 --json')]:
        import shlex

        data = json.loads(runs.cli(*shlex.split(cmd)[1:]))
        data["took_ms"] = "…"
        data["results"] = [{k: h[k] for k in ("rank", "published", "relevance")}
                           for h in data["results"]]
        lines.append(f"$ {cmd}\n{_dump(data)}")
    return "\n\n".join(lines)


OPERATOR_QUERIES = ["giá vàng", "giá vàng -Mỹ", '"giá vàng" Mỹ', 'thi hanh an "gia lai"',
                    'thi hành án "già lại"', '"giá vàng']


def ex_operators(runs: Runs) -> str:
    out = []
    for q in OPERATOR_QUERIES:
        data = json.loads(runs.cli("query", q, "--index", "demo-index", "-k", "3", "--json"))
        out.append(f"$ vnsearch query '{q}' --index demo-index -k 3     # total {data['total']}")
        for hit in data["results"]:
            out.append(f"   {hit['rank']}. {_cut(hit['title'] or hit['url'], 80)}")
    out.append(runs.command("vnsearch query --index demo-index -k 3 -- '-Mỹ'"))
    return "\n".join(out)


def _search_shape(d: dict[str, Any]) -> dict[str, Any]:
    d = dict(d, took_ms="…")
    d["results"] = [{k: _cut(v) for k, v in h.items()} for h in d["results"]]
    return d


def ex_api(runs: Runs) -> str:
    first = runs.client.get("/search", params={"q": "giá cà phê", "k": 1}).json()
    article_id = first["results"][0]["article_id"]

    def article_shape(d: dict[str, Any]) -> dict[str, Any]:
        return dict(d, text=_cut(d["text"], 200), passages=d["passages"][:2] +
                    ([f"… {len(d['passages']) - 2} more"] if len(d["passages"]) > 2 else []))

    return "\n\n".join([
        curl(runs, "/search", {"q": "thi hanh an dan su gia lai", "k": 2, "facets": "true"},
             shape=_search_shape),
        curl(runs, f"/articles/{article_id}", shape=article_shape),
        curl(runs, "/search", {"q": "", "k": 500}),
        curl(runs, "/search", {"q": "vàng", "date_from": "2026-13-01"}),
    ])


def ex_province_note(runs: Runs) -> str:
    return curl(runs, "/search", {"q": "du lịch", "province": "binh dinh"},
                shape=lambda d: d["province_note"], jq=" | jq .province_note")


def ex_retrieve(runs: Runs) -> str:
    def shape(d: dict[str, Any]) -> dict[str, Any]:
        d = dict(d, took_ms="…", context=_cut(d["context"], 200))
        d["passages"] = [{k: _cut(v, 70) for k, v in p.items()} for p in d["passages"]]
        return d

    body = {"q": "Gia Lai thi hành án dân sự đạt bao nhiêu phần trăm", "k": 3,
            "neighbours": 1, "max_tokens": 300}
    return "\n\n".join([
        curl(runs, "/retrieve", body=body, shape=shape),
        curl(runs, "/retrieve", body={"q": "x", "grup": False}),
        curl(runs, "/retrieve", body={"q": "x", "query": "x"}),
    ])


def ex_docs_assets(runs: Runs) -> str:
    html = runs.client.get("/docs").text
    refs = re.findall(r'(?:src|href)="[^"]*"', html)
    return "$ curl -s 127.0.0.1:8000/docs | grep -o '\\(src\\|href\\)=\"[^\"]*\"'\n" + \
        "\n".join(refs)


def ex_mcp_text(runs: Runs) -> str:
    """The text block of the MCP `search` tool (the same functions `vnsearch mcp` calls)."""
    from search_api import mcp_server

    searcher = runs.client.app.state.searcher
    response = mcp_server.retrieve(searcher, {
        "q": "Gia Lai thi hành án dân sự đạt bao nhiêu phần trăm", "k": 3, "max_tokens": 300})
    return mcp_server._search_text(response)


def python_above(runs: Runs, code: str) -> str:
    """Run a printed Python example against the demo index's app; return what it prints."""
    from fastapi.testclient import TestClient

    from search_api import client as client_module

    app = runs.client.app  # started (model loaded) by the TestClient of the API examples
    original = client_module.VnsearchClient.__init__

    def patched(self: Any, base_url: str = client_module.DEFAULT_BASE_URL, **kw: Any) -> None:
        original(self, base_url, **kw)
        # The same client code, its requests answered by the app in-process.
        self._http = TestClient(app, base_url=self.base_url, raise_server_exceptions=False,
                                headers={"Accept": "application/json"})

    client_module.VnsearchClient.__init__ = patched  # type: ignore[method-assign]
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            # The example printed in the docs, run as printed: it is this repository's text.
            exec(compile(code, "<docs example>", "exec"), {"__name__": "__docs__"})  # noqa: S102
    finally:
        client_module.VnsearchClient.__init__ = original  # type: ignore[method-assign]
    return out.getvalue().rstrip()


WALK_QUERY = 'vnsearch query "giá cà phê Gia Lai" --index my-index -k 3'
# name -> the output it shows
DEMO_EXAMPLES: dict[str, Callable[[Runs], str]] = {
    "readme-query": ex_readme_query,
    "readme-curl": ex_readme_curl,
    "health": ex_health,
    "no-results": ex_no_results,
    "sort-facets": ex_sort_facets,
    "operators": ex_operators,
    "api": ex_api,
    "province-note": ex_province_note,
    "retrieve": ex_retrieve,
    "docs-assets": ex_docs_assets,
    "mcp-text": ex_mcp_text,
}
WALK_EXAMPLES: dict[str, Callable[[Runs], str]] = {
    # the summary line of the first `vnsearch index` (block 2: index)
    "index-summary": lambda r: r.walk_outputs[2].splitlines()[0],
    "walkthrough-query": lambda r: r.walk_after[3][0][1].rstrip(),
    "export-listing": lambda r: r.walk_outputs[5].rstrip(),
}
PYTHON_EXAMPLES = {"client", "langchain"}  # output of the ```python block just above


def generate(work: Path, home: Path, names: set[str]) -> dict[str, str]:
    runs = Runs(work, home)
    try:
        out: dict[str, str] = {}
        if names & set(WALK_EXAMPLES):
            runs.run_walkthrough({3: [WALK_QUERY]})
            out.update({n: f(runs) for n, f in WALK_EXAMPLES.items() if n in names})
        if names - set(WALK_EXAMPLES):
            runs.build_demo()
            out.update({n: f(runs) for n, f in DEMO_EXAMPLES.items() if n in names})
            for path in DOCS:
                text = path.read_text(encoding="utf-8")
                for m in BLOCK_RE.finditer(text):
                    if m.group("name") in PYTHON_EXAMPLES:
                        code = fence_blocks(text[:m.start()])[-1][1]
                        out[m.group("name")] = python_above(runs, code)
        return out
    finally:
        runs.close()


# -- comparing ---------------------------------------------------------------------------------

_TIMING_RE = [
    (re.compile(r'("took_ms": )[0-9.]+'), r"\1…"),
    (re.compile(r'("uptime_s": )[0-9.]+'), r"\1…"),
    (re.compile(r'("pid": )[0-9]+'), r"\1…"),
    (re.compile(r"\b(hybrid|dense|lexical), [0-9.]+ ms\)"), r"\1, … ms)"),
    (re.compile(r"; [0-9.]+ s, [0-9.]+ passages/s"), "; … s, … passages/s"),
]
_NUMBER_RE = re.compile(r"-?\d+\.\d+")


def normalise(text: str) -> str:
    for pattern, repl in _TIMING_RE:
        text = pattern.sub(repl, text)
    return text.strip()


def same(shown: str, fresh: str, tolerance: float = 0.02) -> bool:
    a, b = normalise(shown), normalise(fresh)
    if _NUMBER_RE.sub("#", a) != _NUMBER_RE.sub("#", b):
        return False
    return all(abs(float(x) - float(y)) <= tolerance * max(1.0, abs(float(y)))
               for x, y in zip(_NUMBER_RE.findall(a), _NUMBER_RE.findall(b)))


def marked_names() -> dict[str, list[Path]]:
    names: dict[str, list[Path]] = {}
    for path in DOCS:
        for m in BLOCK_RE.finditer(path.read_text(encoding="utf-8")):
            names.setdefault(m.group("name"), []).append(path)
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, do not rewrite")
    parser.add_argument("--home", type=Path, default=Path(os.environ.get(
        "VNSEARCH_HOME", Path.home() / ".cache" / "vnsearch")), help="model home")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="work in DIR (new or empty) and keep it: the demo index, the "
                             "walkthrough's directory")
    args = parser.parse_args(argv)
    names = marked_names()
    known = set(DEMO_EXAMPLES) | set(WALK_EXAMPLES) | PYTHON_EXAMPLES
    unknown = sorted(set(names) - known)
    if unknown:
        print(f"unknown example names: {unknown}", file=sys.stderr)
        return 1
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        fresh = generate(args.keep, args.home, set(names))
    else:
        with tempfile.TemporaryDirectory(prefix="vnsearch-examples-") as tmp:
            fresh = generate(Path(tmp), args.home, set(names))
    failed = 0
    for path in DOCS:
        text = path.read_text(encoding="utf-8")

        def replace(m: re.Match[str], path: Path = path) -> str:
            nonlocal failed
            if m.group("name") not in fresh:  # a marker added while this run was going
                failed += 1
                return m.group(0)
            body = fresh[m.group("name")]
            if not args.check and same(m.group("body"), body):
                return m.group(0)  # only timings moved: no churn in the diff
            if args.check and not same(m.group("body"), body):
                failed += 1
                diff = difflib.unified_diff(m.group("body").splitlines(), body.splitlines(),
                                            "shown", "fresh", lineterm="")
                print(f"{path.relative_to(REPO)}: example {m.group('name')!r} drifted:\n"
                      + "\n".join(diff), file=sys.stderr)
            return f"{m.group(1)}{body}\n```\n<!-- /example -->"

        new = BLOCK_RE.sub(replace, text)
        if not args.check and new != text:
            path.write_text(new, encoding="utf-8")
            print(f"rewrote {path.relative_to(REPO)}")
    if args.check:
        print(f"{sum(len(v) for v in names.values()) - failed} examples up to date, "
              f"{failed} drifted" + (" (run: python docs/examples.py)" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
