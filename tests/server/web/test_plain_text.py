"""Honest, plain text on every page: a crawl over real HTTP of every page reachable from the
navigation (as the national administrator, in Vietnamese and in English) and a few reached by a
form (a rejection's confirmation, sign-in), none of which may show a command, a rule code, a
pointer into the maintainers' notes, an internal value or a traceback.

`problems` is also what the Chromium page walk (test_phone.py) checks on each page it visits.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx

from pcmd.cli.main import cli
from tests.server.web.conftest import Site, csrf_of, signed_in

# What a page must never show a user, each with why.
FORBIDDEN: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"\bpcmd (?:{'|'.join(sorted(cli.commands))})\b"), "a pcmd command"),
    (re.compile(r"\b(?:make|pip|alembic|uvicorn) [a-z]"), "a shell command"),
    (re.compile(r"\b[A-Z]{2,}_\d{3}\b"), "a rule code"),
    (re.compile(r"DESIGN|§|docs/|\.md\b"), "a pointer into the maintainers' notes"),
    (re.compile(r"Traceback|Internal Server Error|\bundefined\b|\bnull\b"), "internals"),
    (re.compile(r"\bhas_issues\b|\bopenrosa\b|\{\{|\}\}|\{[a-z_]+\}"), "a raw value or template"),
    (re.compile(r"(?<![\w/.:])[a-z][a-z_]*/[a-z][a-z_/]*(?![\w/])"), "a field path"),
]
# Words a Vietnamese page says in Vietnamese (English may follow in parentheses).
ENGLISH_ONLY = re.compile(
    r"^(?:Submissions?|Dashboard|Review|Approve|Reject|Received|Error|Warning|Save|Cancel)$"
)
SKIP = ("/logout", "/lang", "/attachments/", "/static/", "/healthz", "/api/", "/v1/")
PER_SHAPE = 2  # pages visited per path and set of query keys


class _Text(HTMLParser):
    """The text a person reads: visible text, and placeholders, titles and labels."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.links: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in ("script", "style"):
            self._hidden += 1
        for key in ("placeholder", "title", "aria-label", "data-label"):
            if found.get(key):
                self.parts.append(str(found[key]))
        if tag == "a" and found.get("href"):
            self.links.append(str(found["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.parts.append(data.strip())


def problems(text: str, lang: str) -> list[str]:
    """What is wrong with a page's visible text; [] when it is plain."""
    found = [f"{why}: {m.group(0)!r}" for rx, why in FORBIDDEN for m in rx.finditer(text)]
    if lang == "vi":  # Python's None on a page ("None." is plain English for "no issues")
        found += [f"internals: {m.group(0)!r}" for m in re.finditer(r"\bNone\b", text)]
        lines = text.splitlines()
        found += [f"English only: {line!r}" for line in lines if ENGLISH_ONLY.match(line)]
    return found


def page_text(html: str) -> tuple[str, list[str]]:
    parser = _Text()
    parser.feed(html)
    return "\n".join(parser.parts), parser.links


def crawl(client: httpx.Client, start: list[str], lang: str) -> dict[str, list[str]]:
    """Every page reachable from `start` by links; per page, what is wrong with its text."""
    base = str(client.base_url)
    todo, seen = list(start), set[str]()
    shapes: dict[tuple[str, frozenset[str]], int] = {}
    report: dict[str, list[str]] = {}
    while todo and len(seen) < 120:
        url = todo.pop(0)
        parts = urlsplit(urljoin(base + "/", url))
        if parts.netloc != urlsplit(base).netloc or parts.path.startswith(SKIP):
            continue
        local = parts.path + (f"?{parts.query}" if parts.query else "")
        keys = frozenset(k.split("=")[0] for k in parts.query.split("&") if k)
        shape = (re.sub(r"/\d+", "/N", parts.path), keys)
        if local in seen or shapes.get(shape, 0) >= PER_SHAPE:
            continue
        seen.add(local)
        shapes[shape] = shapes.get(shape, 0) + 1
        response = client.get(local)
        assert response.status_code < 500, local
        if not response.headers.get("content-type", "").startswith("text/html"):
            continue
        text, links = page_text(response.text)
        report[local] = problems(text, lang)
        todo.extend(link.split("#")[0] for link in links if not link.startswith("#"))
    return report


def test_plain_text__every_page_in_both_languages(site: Site) -> None:
    with httpx.Client(base_url=site.server.url, timeout=30) as client:
        signed_out = client.get("/login")
        assert problems(page_text(signed_out.text)[0], "vi") == []
    with signed_in(site, "admin") as client:
        start = [
            "/dashboard",
            "/dashboard?org=51&period=2026",
            "/submissions?indicator=KT1&org=51&period=2026",
            f"/submissions/{site.sub_id}",
            "/provinces",
        ]
        vi = crawl(client, start, "vi")
        page = client.get(f"/submissions/{site.sub_id}")
        confirm = client.post(
            "/submissions/review",
            data={"csrf": csrf_of(page.text), "action": "rejected", "ids": str(site.sub_id)},
        )
        vi["reject confirmation"] = problems(page_text(confirm.text)[0], "vi")
        client.get("/lang", params={"to": "en", "next": "/dashboard"})
        en = crawl(client, start, "en")
    assert len(vi) >= 10, sorted(vi)  # the navigation's pages and what they link to
    assert {"/dashboard", "/submissions", "/quality", "/reports", "/provinces"} <= set(vi)
    bad = {
        f"{lang} {url}": p
        for lang, pages in (("vi", vi), ("en", en))
        for url, p in pages.items()
        if p
    }
    assert bad == {}


def test_problems__catches_what_it_should() -> None:
    """Should flag a command, a rule code, a design-note pointer, a field path and an English
    word alone on a Vietnamese page, and pass plain Vietnamese."""
    assert problems("Chạy pcmd pipeline run", "vi") == ["a pcmd command: 'pcmd pipeline'"]
    assert problems("khi máy chủ pcmd khởi động", "vi") == []  # the name, not a command
    assert problems("Lỗi GEO_005 ở xã", "vi") == ["a rule code: 'GEO_005'"]
    assert problems("xem DESIGN §8b", "vi") == [
        "a pointer into the maintainers' notes: 'DESIGN'",
        "a pointer into the maintainers' notes: '§'",
    ]
    assert problems("[reach/n_students] âm", "vi") == ["a field path: 'reach/n_students'"]
    assert problems("Nhận lúc 20/11/2026, xem http://127.0.0.1/submissions", "vi") == []
    assert problems("Approve", "vi") == ["English only: 'Approve'"]
    assert problems("Approve", "en") == []
    assert problems("Người gửi: None", "vi") == ["internals: 'None'"]
    assert problems("None.", "en") == []
    assert problems("Phiếu báo cáo · Duyệt (Approve) · 1.234 phiếu", "vi") == []
