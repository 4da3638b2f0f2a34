"""Outlet names: one display name per news outlet, whatever the corpus called it.

Corpora name the same outlet in many ways: "Dân trí", "Dân trí (dantri.com.vn)",
"dantri.com.vn", "DAN TRI"; "VnExpress" and "vnexpress.net". :class:`OutletTable` maps
all of them to one display name ("Dân trí", "VnExpress") using ``outlets.json`` (shipped
with the package) merged with an optional user file of the same shape::

    {"Báo Gia Lai": {"domains": ["baogialai.com.vn"], "aliases": ["GLO"]}}

Matching is case-, tone- and punctuation-insensitive. Decisions:

* an unknown name is kept, only cleaned (NFC, one tone placement, whitespace collapsed);
  a bare unknown domain is lowercased and loses "www." so "www.x.vn" and "x.vn" agree.
  Nothing a corpus names is ever dropped;
* a sub-domain belongs to the outlet of its parent domain ("tv.tuoitre.vn" → Tuổi Trẻ,
  "ttvn.toquoc.vn" → Tổ Quốc) unless the table lists the sub-domain itself;
* when a record has no source but its URL's domain is in the table, the outlet is that
  domain's outlet. This is a look-up of a fact the record carries (the publisher of
  the URL), not invented metadata; an unknown URL domain gives ``None``;
* a leading "Báo " is never stripped by rule ("Báo Gia Lai" is the paper's name, "Gia
  Lai" is a province); such forms are matched only when listed as aliases.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlsplit

from ..vietnamese import nfc, normalize_tone_placement
from .keys import metadata_key

__all__ = ["Outlet", "OutletTable", "OutletTableError", "outlet_key", "clean_name", "domain_of"]

# Invisible format characters (BOM, zero-width space/joiners) seen at the start of
# scraped values ("\ufeffbaothaibinh.com.vn").
_INVISIBLE_RE = re.compile("[\ufeff\u200b-\u200f\u2060]")
_SPACE_RE = re.compile(r"\s+")
# "example.com.vn", optionally with scheme, "www." and a path.
_DOMAIN_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?(?:www\.)?((?:[a-z0-9-]+\.)+[a-z]{2,})(?:[:/?#].*)?$")
# A trailing parenthesised part: "Dân trí (dantri.com.vn)", "Báo Mới (baomoi.com)".
_TRAILING_PAREN_RE = re.compile(r"^(.*?)\s*\(([^()]+)\)$")


class OutletTableError(ValueError):
    """The outlet table (built-in or user file) is not of the expected shape."""


def outlet_key(name: str | None) -> str:
    """The filter key of an outlet name: folded, lowercased, letters and digits only.

    Used for stored names and filter input alike. Filter input that may be a domain or
    alias ("vnexpress.net") should go through :meth:`OutletTable.filter_key`, which
    canonicalises it first.
    """
    return metadata_key(name)


def _match_key(text: str) -> str:
    """Look-up key: :func:`outlet_key` that also reads "&" as "và" and "+" as "plus".

    Only used inside the table, so "Giáo dục & Thời đại" meets "Giáo dục và Thời đại"
    and "Vietnam+" meets "VietnamPlus" instead of folding to a bare "vietnam".
    """
    return outlet_key(text.replace("&", " và ").replace("+", "plus"))


def clean_name(raw: str) -> str:
    """``raw`` in NFC with one tone placement, no invisible characters, spaces collapsed."""
    text = _INVISIBLE_RE.sub("", nfc(raw))
    return normalize_tone_placement(_SPACE_RE.sub(" ", text).strip())


def domain_of(text: str | None) -> str | None:
    """The lowercased host of a URL or bare domain without "www.", else None."""
    if not text:
        return None
    candidate = _INVISIBLE_RE.sub("", text).strip().lower()
    m = _DOMAIN_RE.match(candidate)
    if m:
        return m.group(1)
    if "://" in candidate:
        host = urlsplit(candidate).hostname
        return host.removeprefix("www.") if host else None
    return None


@dataclass(frozen=True)
class Outlet:
    """One outlet: its display name and the domains and other names it goes by."""

    name: str
    domains: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class OutletTable:
    """Display names of outlets, indexed by name/alias key and by domain."""

    outlets: Mapping[str, Outlet]
    _by_key: Mapping[str, str] = field(repr=False)
    _by_domain: Mapping[str, str] = field(repr=False)

    @classmethod
    def load(cls, user_file: Path | None = None) -> OutletTable:
        """The built-in table, merged with ``user_file`` (same JSON shape) when given.

        A user entry whose name matches a built-in outlet (case/tone-insensitively)
        extends it and its spelling becomes the display name; user domains and
        aliases win over built-in ones that point elsewhere.
        """
        text = resources.files(__package__).joinpath("outlets.json").read_text(encoding="utf-8")
        entries = _parse(json.loads(text), "built-in outlets.json")
        if user_file is not None:
            try:
                user = json.loads(Path(user_file).read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise OutletTableError(f"cannot read outlet file {user_file}: {exc}") from exc
            entries = _merge(entries, _parse(user, str(user_file)))
        return cls.from_outlets(entries)

    @classmethod
    def from_outlets(cls, outlets: list[Outlet]) -> OutletTable:
        """Index ``outlets``; a later outlet wins a key or domain claimed by an earlier one."""
        by_key: dict[str, str] = {}
        by_domain: dict[str, str] = {}
        for outlet in outlets:
            for alias in (outlet.name, *outlet.aliases, *outlet.domains):
                if _match_key(alias):
                    by_key[_match_key(alias)] = outlet.name
            for domain in outlet.domains:
                by_domain[domain_of(domain) or domain.lower()] = outlet.name
        return cls(
            outlets=MappingProxyType({o.name: o for o in outlets}),
            _by_key=MappingProxyType(by_key),
            _by_domain=MappingProxyType(by_domain),
        )

    def for_domain(self, domain: str | None) -> str | None:
        """Outlet of ``domain`` or of its nearest listed parent domain, else None."""
        if not domain:
            return None
        labels = domain.lower().removeprefix("www.").split(".")
        # Longest suffix first so a listed sub-domain beats its parent; stop before the
        # bare TLD ("vn") and never match a public suffix such as "com.vn".
        for i in range(len(labels) - 1):
            hit = self._by_domain.get(".".join(labels[i:]))
            if hit:
                return hit
        return None

    def canonical(self, raw: str | None, url: str | None = None) -> str | None:
        """The display name for a source value ``raw`` (falling back on ``url``'s domain).

        Known names, aliases, domains and URLs map to the table's display name; "Name
        (domain)" is matched by name, then domain. An unknown value is returned cleaned,
        never dropped. With no ``raw``, a known ``url`` domain gives its outlet, else None.
        """
        cleaned = clean_name(raw) if raw else ""
        if not cleaned:
            return self.for_domain(domain_of(url))
        hit = self._lookup(cleaned)
        if hit:
            return hit
        m = _TRAILING_PAREN_RE.match(cleaned)
        if m:
            hit = self._lookup(m.group(1)) or self._lookup(m.group(2))
            if hit:
                return hit
        # An unknown bare domain or URL is kept as its domain, in one spelling.
        return domain_of(cleaned) or cleaned

    def filter_key(self, value: str | None) -> str:
        """Key of a filter value: canonicalised first, so "vnexpress.net" finds "VnExpress"."""
        if not value:
            return ""
        return outlet_key(self.canonical(value) or value)

    def _lookup(self, text: str) -> str | None:
        """Display name for a name/alias/domain/URL ``text``, else None."""
        hit = self._by_key.get(_match_key(text))
        if hit:
            return hit
        return self.for_domain(domain_of(text))


def _as_strings(value: object, what: str, where: str) -> tuple[str, ...]:
    """``value`` as a tuple of non-empty strings, or OutletTableError."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise OutletTableError(f"{where}: {what} must be a list of strings")
    return tuple(v.strip() for v in value if v.strip())


def _parse(data: object, where: str) -> list[Outlet]:
    """Outlets of one JSON document ``{name: {"domains": [...], "aliases": [...]}}``."""
    if not isinstance(data, dict):
        raise OutletTableError(f"{where}: expected an object mapping outlet names to entries")
    outlets: list[Outlet] = []
    for name, entry in data.items():
        if not isinstance(entry, dict) or not clean_name(name):
            raise OutletTableError(f"{where}: entry {name!r} must be an object with a name")
        unknown = set(entry) - {"domains", "aliases"}
        if unknown:
            raise OutletTableError(f"{where}: entry {name!r} has unknown fields {sorted(unknown)}")
        domains = tuple(d.lower() for d in _as_strings(entry.get("domains"), "domains", where))
        aliases = tuple(clean_name(a) for a in _as_strings(entry.get("aliases"), "aliases", where))
        outlets.append(Outlet(clean_name(name), domains, aliases))
    return outlets


def _merge(builtin: list[Outlet], user: list[Outlet]) -> list[Outlet]:
    """``builtin`` extended by ``user``; a user outlet with a built-in's key replaces its name.

    User outlets come last so that, when indexed, their aliases and domains win.
    """
    by_key = {_match_key(o.name): o for o in builtin}
    merged_user: list[Outlet] = []
    for outlet in user:
        old = by_key.pop(_match_key(outlet.name), None)
        if old is not None:
            outlet = Outlet(
                outlet.name,
                tuple(dict.fromkeys((*old.domains, *outlet.domains))),
                tuple(dict.fromkeys((*old.aliases, *outlet.aliases))),
            )
        merged_user.append(outlet)
    return [*by_key.values(), *merged_user]
