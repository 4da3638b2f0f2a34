"""Which stored article URLs may be handed on as links.

An article's URL comes from its input file or an admin write and is stored as given (it
also identifies the article). Only an absolute ``http``/``https`` URL is a link: any other
scheme (``javascript:``, ``data:``, ``file:``, ``vbscript:``…), a relative URL or one with
whitespace or control characters (browsers strip those before reading the scheme) is kept
as text and never offered as something to click. The service answers such a URL in
``url_text`` with ``url`` null.
"""

from __future__ import annotations

from urllib.parse import urlsplit

#: The schemes a URL may have to be handed on as a link.
LINK_SCHEMES = frozenset({"http", "https"})


def link_url(url: str | None) -> str | None:
    """``url`` (stripped) when it is an absolute http(s) URL with a host, else None."""
    if not url:
        return None
    text = url.strip()
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return None
    if parts.scheme.lower() not in LINK_SCHEMES or not parts.netloc:
        return None
    return text


def unlinked_url(url: str | None) -> str | None:
    """``url`` when it is set but not a link (see :func:`link_url`), else None."""
    return url if url and link_url(url) is None else None


def link_urls(urls: list[str]) -> list[str]:
    """The links among ``urls``, in order."""
    return [link for url in urls if (link := link_url(url)) is not None]
