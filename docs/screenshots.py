"""Make docs/img/page.png: the search page on the demo index, in Debian's headless Chromium.

    python docs/screenshots.py                     # indexes data/demo/ into demo-index if needed
    python docs/screenshots.py --index DIR --query "…"

It serves the index with ``vnsearch serve`` on a free 127.0.0.1 port, opens the page with a
query in its URL (as a shared search link does), waits for the results and saves a
screenshot. Needs the dev extra (Playwright) and ``/usr/bin/chromium``
(``apt-get install -y chromium``); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote_plus

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
QUERY = "thi hành án dân sự Gia Lai"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _vnsearch(*args: str) -> list[str]:
    return [sys.executable, "-m", "search_api", *args]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, default=REPO / "demo-index")
    parser.add_argument("--query", default=QUERY)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img" / "page.png")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if not args.index.exists():
        subprocess.run(_vnsearch("index", str(REPO / "data" / "demo"), "--index",
                                 str(args.index), "--quiet"), env=env, check=True)
    port = _free_port()
    server = subprocess.Popen(_vnsearch("serve", "--index", str(args.index), "--port",
                                        str(port), "--workers", "1"), env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):  # the model loads first
            try:
                urllib.request.urlopen(base + "/health", timeout=2)
                break
            except OSError:
                if server.poll() is not None:
                    raise SystemExit(f"vnsearch serve exited with {server.returncode}")
                time.sleep(0.5)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                        args=["--headless=new", "--no-sandbox", "--disable-gpu",
                                              "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="vi-VN")
            page.goto(f"{base}/?q={quote_plus(args.query)}")
            page.wait_for_selector("#results .result")
            page.wait_for_timeout(500)  # the facet chart settles
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out))
            browser.close()
        print(f"wrote {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}")
    finally:
        server.terminate()  # our own server, by its process
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
