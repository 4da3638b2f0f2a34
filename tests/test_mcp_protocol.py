"""``vnsearch mcp`` always answers: every malformed frame a host may send gets its one
JSON-RPC error (or, for a well-formed request, its answer) and the server keeps serving.

One real ``python -m search_api mcp --index <repo index>`` process for the module, driven
over raw stdio (the SDK's client cannot send malformed frames). Each test sends frames and
waits for the replies by id; before the front existed each of these waited in vain.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("mcp")

from hypothesis import HealthCheck, Phase, given  # noqa: E402
from hypothesis import settings as hsettings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from support import REPO  # noqa: E402

MAX_FRAME = 300_000  # the server's mcp_max_frame_bytes in this module
WAIT_S = 60.0


class Peer:
    """A raw line client of one server process: send bytes, wait for replies by id."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.replies: list[Any] = []  # every stdout line, parsed, in order
        self._cond = threading.Condition()
        self._next = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            reply = json.loads(line)  # a stdout line that is not JSON fails here
            with self._cond:
                self.replies.append(reply)
                self._cond.notify_all()

    def send(self, *frames: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"".join(frame + b"\n" for frame in frames))
        self.proc.stdin.flush()

    def wait(self, found: Callable[[list[Any]], bool], timeout: float = WAIT_S) -> list[Any]:
        """All replies so far, once ``found(replies)``; fails after ``timeout`` s."""
        with self._cond:
            ok = self._cond.wait_for(lambda: found(self.replies), timeout)
            assert ok, f"no answer within {timeout:.0f} s; replies: {self.replies[-5:]}"
            return list(self.replies)

    def ask(self, frame: bytes | dict[str, Any], id_: Any) -> dict[str, Any]:
        """Send ``frame``, then a ping; the one reply carrying ``id_`` (checked unique once
        the ping is answered: a front answers before it reads the next line)."""
        self._next += 1
        ping = f"ping-{self._next}"
        raw = json.dumps(frame).encode() if isinstance(frame, dict) else frame
        self.send(raw, json.dumps({"jsonrpc": "2.0", "id": ping, "method": "ping"}).encode())
        replies = self.wait(lambda rs: has(rs, ping) and has(rs, id_))
        mine = [r for r in flat(replies) if r.get("id") == id_]
        assert len(mine) == 1, mine
        return mine[0]

    def last_null(self, frame: bytes) -> dict[str, Any]:
        """Send ``frame``; the one id-null reply before the following ping's answer."""
        before = len(self.replies)
        self._next += 1
        ping = f"ping-{self._next}"
        self.send(frame, json.dumps({"jsonrpc": "2.0", "id": ping, "method": "ping"}).encode())
        replies = self.wait(lambda rs: has(rs, ping))
        nulls = [r for r in flat(replies[before:]) if r.get("id") is None]
        assert len(nulls) == 1, replies[before:]
        return nulls[0]


def flat(replies: list[Any]) -> Iterator[dict[str, Any]]:
    """Replies with the arrays (answers to batches) opened."""
    for reply in replies:
        yield from reply if isinstance(reply, list) else [reply]


def has(replies: list[Any], id_: Any) -> bool:
    return any(r.get("id") == id_ for r in flat(replies))


def request(id_: Any, method: str, params: Any = None) -> dict[str, Any]:
    message = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        message["params"] = params
    return message


def search(id_: Any, **arguments: Any) -> dict[str, Any]:
    return request(id_, "tools/call", {"name": "search", "arguments": arguments})


@pytest.fixture(scope="module")
def peer(settings, repo_index) -> Iterator[Peer]:
    env = dict(os.environ, VNSEARCH_HOME=str(settings.home), PYTHONIOENCODING="utf-8",
               VNSEARCH_MCP_MAX_FRAME_BYTES=str(MAX_FRAME))
    proc = subprocess.Popen([sys.executable, "-m", "search_api", "mcp", "--index",
                             str(repo_index)], cwd=REPO, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    watchdog = threading.Timer(900, proc.kill)  # a hung server fails the module, not the suite
    watchdog.start()
    client = Peer(proc)
    try:
        init = client.ask(request(0, "initialize", {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "test", "version": "0"}}), 0)
        assert init["result"]["serverInfo"]["name"] == "vnsearch"
        client.send(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}')
        yield client
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=60)
        watchdog.cancel()
    assert proc.returncode == 0


def answers_search(peer: Peer, id_: Any = "after") -> None:
    """The server still serves: a real search answers with passages."""
    reply = peer.ask(search(id_, q="giá vàng", k=1), id_)
    assert not reply["result"]["isError"], reply
    assert reply["result"]["structuredContent"]["passages"]


def error_code(reply: dict[str, Any]) -> int:
    assert "error" in reply, reply
    return int(reply["error"]["code"])


# -- one test per failure the tester found ------------------------------------------------------

def test_invalid_json_is_a_parse_error(peer) -> None:
    reply = peer.last_null(b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "par')
    assert error_code(reply) == -32700
    answers_search(peer, "after-json")


def test_params_of_the_wrong_type_are_invalid_params(peer) -> None:
    for id_, params in (("p-str", "search"), ("p-list", ["search"]), ("p-num", 5)):
        reply = peer.ask(request(id_, "tools/call", params), id_)
        assert error_code(reply) == -32602, reply
    reply = peer.ask(request("p-args", "tools/call", {"name": "search", "arguments": "q"}),
                     "p-args")
    assert error_code(reply) == -32602
    answers_search(peer, "after-params")


def test_nul_prefixed_line_is_a_parse_error(peer) -> None:
    frame = b"\x00" + json.dumps(search("nul", q="giá vàng")).encode()
    assert error_code(peer.last_null(frame)) == -32700
    answers_search(peer, "after-nul")


def test_100k_deep_argument_is_invalid_params(peer) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    frame = b'{"jsonrpc": "2.0", "id": "deep", "method": "tools/call", "params": {"name": ' \
            b'"search", "arguments": {"q": "x", "k": ' + deep + b"}}}"
    reply = peer.ask(frame, "deep")
    assert error_code(reply) == -32602 and "deeper" in reply["error"]["message"]
    answers_search(peer, "after-deep")


def test_batch_is_refused_with_one_error_per_request(peer) -> None:
    frame = json.dumps([request("b1", "ping"), request("b2", "tools/list"),
                        {"jsonrpc": "2.0", "method": "notifications/initialized"}]).encode()
    peer.send(frame)
    replies = peer.wait(lambda rs: has(rs, "b2"))
    array = next(r for r in replies if isinstance(r, list))
    assert [r["id"] for r in array] == ["b1", "b2"]  # the notification is not answered
    assert {error_code(r) for r in array} == {-32600}
    assert "batch" in array[0]["error"]["message"]
    assert error_code(peer.last_null(b"[]")) == -32600
    answers_search(peer, "after-batch")


def test_lone_surrogate_in_q_is_answered(peer) -> None:
    frame = b'{"jsonrpc": "2.0", "id": "sur", "method": "tools/call", "params": {"name": ' \
            b'"search", "arguments": {"q": "gi\\u00e1 v\\u00e0ng \\ud800", "k": 1}}}'
    reply = peer.ask(frame, "sur")
    result = reply["result"]
    assert not result["isError"], result
    # The surrogate became U+FFFD, which query cleaning drops like any invisible.
    assert result["structuredContent"]["query"].startswith("giá vàng")
    answers_search(peer, "after-surrogate")


def test_unknown_tool_argument_is_invalid_params(peer) -> None:
    reply = peer.ask(search("unk", q="giá vàng", colour="red"), "unk")
    assert error_code(reply) == -32602
    assert "colour" in reply["error"]["message"]
    assert reply["error"]["data"]["unknown"] == ["colour"]
    tools = peer.ask(request("list", "tools/list"), "list")["result"]["tools"]
    assert all(tool["inputSchema"]["additionalProperties"] is False for tool in tools)
    # A known argument with a bad value stays a tool error the model can read and correct.
    bad = peer.ask(search("k0", q="giá vàng", k=0), "k0")
    assert bad["result"]["isError"]
    answers_search(peer, "after-unknown")


def test_frame_over_the_bound_is_refused(peer) -> None:
    big = search("big", q="x" * (MAX_FRAME + 10))
    reply = peer.ask(big, "big")  # its id is read from the frame's start
    assert error_code(reply) == -32600 and "mcp_max_frame_bytes" in reply["error"]["message"]
    answers_search(peer, "after-big")


def test_ids_that_cannot_be_ids_are_invalid_requests(peer) -> None:
    for bad_id in (True, 1.5, None, {"a": 1}):
        reply = peer.last_null(json.dumps(request(bad_id, "tools/list")).encode())
        assert error_code(reply) == -32600, bad_id
    reply = peer.ask({"id": "no-version", "method": "tools/list"}, "no-version")
    assert error_code(reply) == -32600


# -- the frame screen alone (model-free: the fast tier's share) ------------------------------------

@pytest.mark.parametrize(("frame", "code", "id_"), [
    (b"{oops", -32700, None),
    (b'\x00{"jsonrpc": "2.0", "id": 1, "method": "ping"}', -32700, None),
    (b'\xff\xfe', -32700, None),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": NaN}', -32700, None),
    (b'{"jsonrpc": "2.0", "id": "a", "method": "ping", "params": [1]}', -32602, "a"),
    (b'{"jsonrpc": "1.0", "id": 7, "method": "ping"}', -32600, 7),
    (b'{"jsonrpc": "2.0", "id": true, "method": "ping"}', -32600, None),
    (b'"ping"', -32600, None),
    (b'{"jsonrpc": "2.0", "id": 9, "method": "x", "params": {"a": ' + b"[" * 5000
     + b"]" * 5000 + b"}}", -32602, 9),
    (b'{"jsonrpc": "2.0", "id": 9, "method": "x", "params": {"a": ' + b"[" * 100_000, -32602, 9),
])
def test_screen_answers_malformed_frames(frame: bytes, code: int, id_: Any) -> None:
    from search_api.mcp_frames import screen

    decided = screen(frame)
    assert decided.message is None and decided.reply is not None
    reply = json.loads(decided.reply)
    assert (reply["error"]["code"], reply["id"]) == (code, id_)


def test_screen_passes_messages_and_skips_what_nobody_awaits() -> None:
    from search_api.mcp_frames import oversized, screen

    ok = screen(b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "s", '
                b'"arguments": {"q": "a\\ud800"}}}')
    assert ok.reply is None and json.loads(ok.message)["params"]["arguments"]["q"] == "a\ufffd"
    assert screen(b"  \r").reply is None and screen(b"").message is None
    assert screen(b'{"jsonrpc": "2.0", "method": "x", "params": 5}').reply is None
    assert screen(b'{"jsonrpc": "2.0", "id": 3, "result": 5}').reply is None
    assert json.loads(screen(b"[]").reply or "")["error"]["code"] == -32600
    cut = json.loads(oversized(b'{"jsonrpc": "2.0", "id": "big", "params": {"q": "xxx', 10)
                     .reply or "")
    assert (cut["error"]["code"], cut["id"]) == (-32600, "big")


# -- fuzz: hundreds of random and malformed frames to one process ---------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12)
METHODS = ["ping", "tools/list", "tools/call", "resources/list", "resources/read",
           "prompts/list", "initialize", "nope/nothing", "notifications/initialized"]


class Ids:
    """Unique ids for the frames a test sends (strings and integers, as MCP allows). Given
    when a drawn frame is sent, not while drawing: a draw must not depend on outer state."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> str | int:
        self.n += 1
        return self.n * 1000 + 7 if self.n % 3 == 0 else f"fz-{self.n}"


Frame = Callable[[Ids], tuple[bytes, list[Any]]]


def with_id(message: dict[str, Any], nested: str | None = None) -> Frame:
    """A request frame that gets a fresh id (and ``"QQ"`` replaced by ``nested``)."""
    def make(ids: Ids) -> tuple[bytes, list[Any]]:
        id_ = ids()
        text = json.dumps({**message, "id": id_}, ensure_ascii=False)
        return (text.replace('"QQ"', nested) if nested else text).encode(), [id_]
    return make


def fixed(frame: bytes) -> Frame:
    return lambda ids: (frame, [])


@st.composite
def frames(draw: st.DrawFn) -> Frame:
    """One line, made at send time with the ids that must each get exactly one reply."""
    kind = draw(st.sampled_from(["search", "request", "garbage", "junk", "truncated", "batch",
                                 "deep", "huge", "notification", "article"]))
    if kind == "search":
        args = draw(st.fixed_dictionaries({"q": st.text(max_size=40)}, optional={
            "k": st.integers(-3, 200) | st.text(max_size=3), "mode": st.text(max_size=8),
            "max_chars": st.integers(-10, 5000), "source": st.text(max_size=10),
            draw(st.text(min_size=1, max_size=6)): json_values}))
        return with_id(search(None, **args))
    if kind == "article":
        return with_id(request(None, "tools/call", {
            "name": "get_article", "arguments": {"id": draw(st.text(max_size=30))}}))
    if kind == "request":  # any method, params of any type, sometimes a wrong version
        message = {"jsonrpc": draw(st.sampled_from(["2.0", "2.0", "1.0", 2])),
                   "method": draw(st.sampled_from(METHODS) | st.text(max_size=10))}
        if draw(st.booleans()):
            message["params"] = draw(json_values)
        return with_id(message)
    if kind == "notification":
        return fixed(json.dumps({"jsonrpc": "2.0",
                                 "method": draw(st.sampled_from(METHODS))}).encode())
    if kind == "batch":
        size = draw(st.integers(1, 4))

        def make_batch(ids: Ids) -> tuple[bytes, list[Any]]:
            batch_ids = [ids() for _ in range(size)]
            return json.dumps([request(i, "ping") for i in batch_ids]).encode(), batch_ids
        return make_batch
    if kind == "deep":
        depth = draw(st.integers(30, 5000))
        return with_id(search(None, q="QQ"), nested="[" * depth + "]" * depth)
    if kind == "huge":  # a long string within the frame bound
        q = draw(st.sampled_from("aá ")) * draw(st.integers(1000, MAX_FRAME // 3))
        return with_id(search(None, q=q))
    if kind == "truncated":
        whole, cut = with_id(search(None, q=draw(st.text(max_size=20)))), draw(st.floats(0, 1))

        def make_truncated(ids: Ids) -> tuple[bytes, list[Any]]:
            text = whole(ids)[0]
            return text[:1 + int(cut * (len(text) - 2))], []
        return make_truncated
    if kind == "garbage":
        return fixed(draw(st.binary(max_size=60)).replace(b"\n", b" "))
    return fixed(draw(st.text(max_size=60)).encode("utf-8").replace(b"\n", b" "))


def unparsable(frame: bytes) -> bool:
    """Whether the server must answer ``frame`` with a -32700 (the JSON standard's verdict;
    a blank line is skipped)."""
    if not frame.rstrip(b"\r\n").strip():
        return False
    try:
        json.loads(frame.decode("utf-8"), parse_constant=lambda name: 1 / 0)
    except RecursionError:
        return False
    except (ValueError, ZeroDivisionError):
        return True
    return False


def test_fuzz_every_request_gets_one_answer(peer) -> None:
    ids, sent = Ids(), []

    # No shrinking: every example runs on the one server, and a failure's frames are shown.
    @hsettings(max_examples=50, deadline=None, database=None, derandomize=True,
               phases=[Phase.generate],
               suppress_health_check=list(HealthCheck))
    @given(st.lists(frames(), min_size=10, max_size=20))  # 50 × 10 or more: ≥ 500 frames
    def exchange(drawn: list[Frame]) -> None:
        batch = [make(ids) for make in drawn]
        before = len(peer.replies)
        expected = [id_ for _, frame_ids in batch for id_ in frame_ids]
        peer.send(*(frame for frame, _ in batch))
        # Every expected id, then a ping: the front's id-null errors come before its answer.
        replies = peer.wait(lambda rs: all(has(rs[before:], i) for i in expected))
        end = f"end-{ids()}"
        done = peer.ask(request(end, "ping"), end)
        assert "result" in done
        replies = list(flat(peer.replies[before:]))
        for id_ in expected:
            assert sum(r.get("id") == id_ for r in replies) == 1, id_
        known = set(expected) | {end}
        strays = [r for r in replies if r.get("id") is not None and r["id"] not in known
                  and not str(r["id"]).startswith("ping-")]  # ask's own ping
        assert not strays, strays
        parse_errors = sum(r.get("id") is None and r.get("error", {}).get("code") == -32700
                           for r in replies)
        assert parse_errors == sum(unparsable(frame) for frame, _ in batch)
        sent.append(len(batch))

    exchange()
    assert sum(sent) >= 500, sum(sent)
    answers_search(peer, "after-fuzz")
