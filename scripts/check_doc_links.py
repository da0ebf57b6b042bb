#!/usr/bin/env python3
"""Offline link check for wrkr's documentation.

    check_doc_links.py --source README.md docs      markdown sources, as GitHub renders them
    check_doc_links.py --site target/docs-site      the built mdBook site, as a browser follows it

Every internal link must resolve: the file exists and, when the link has a `#fragment`, the target
has that anchor (a heading's slug in markdown, an `id=` in HTML). External links (`http:`, `https:`,
`mailto:`) are listed with `--list-external`, never fetched: the check runs without a network.
Exit 0 when every internal link resolves, 1 with one line per broken link otherwise.
"""
from __future__ import annotations

import argparse
import html.parser
import pathlib
import re
import sys
import urllib.parse

EXTERNAL = ("http://", "https://", "mailto:")
MD_LINK = re.compile(r"(?<!!)\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")


def github_slug(heading: str) -> str:
    """GitHub's (and mdBook's) anchor for a heading: lowercase, punctuation dropped, spaces -> '-'."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def markdown_lines(path: pathlib.Path) -> list[tuple[int, str]]:
    """The lines outside fenced code blocks, numbered from 1."""
    out, fenced = [], False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            out.append((number, line))
    return out


def markdown_anchors(path: pathlib.Path) -> set[str]:
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    for _, line in markdown_lines(path):
        match = MD_HEADING.match(line)
        if not match:
            continue
        slug = github_slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    for _, line in markdown_lines(path):
        anchors.update(re.findall(r'<a\s+(?:name|id)="([^"]+)"', line))
    return anchors


def check_source(roots: list[pathlib.Path]) -> tuple[list[str], list[str]]:
    files: list[pathlib.Path] = []
    for root in roots:
        files += sorted(root.rglob("*.md")) if root.is_dir() else [root]
    broken, external = [], []
    anchor_cache: dict[pathlib.Path, set[str]] = {}
    for path in files:
        for number, line in markdown_lines(path):
            stripped = re.sub(r"`[^`]*`", "", line)
            for target in MD_LINK.findall(stripped):
                where = f"{path}:{number}: {target}"
                if target.startswith(EXTERNAL):
                    external.append(where)
                    continue
                url = urllib.parse.urlsplit(target)
                dest = (path.parent / urllib.parse.unquote(url.path)).resolve() if url.path else path.resolve()
                if not dest.exists():
                    broken.append(f"{where}: no such file")
                    continue
                if url.fragment and dest.suffix == ".md":
                    anchors = anchor_cache.setdefault(dest, markdown_anchors(dest))
                    if url.fragment not in anchors:
                        broken.append(f"{where}: no heading #{url.fragment}")
    return broken, external


class _HtmlLinks(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in ("id", "name"):
                self.ids.add(value)
            if (tag == "a" and name == "href") or (tag in ("img", "script") and name == "src") or (
                tag == "link" and name == "href"
            ):
                self.links.append(value)


def check_site(root: pathlib.Path) -> tuple[list[str], list[str]]:
    parsed: dict[pathlib.Path, _HtmlLinks] = {}

    def parse(path: pathlib.Path) -> _HtmlLinks:
        if path not in parsed:
            parser = _HtmlLinks()
            parser.feed(path.read_text(encoding="utf-8", errors="replace"))
            parsed[path] = parser
        return parsed[path]

    broken, external = [], []
    for page in sorted(root.rglob("*.html")):
        for target in parse(page).links:
            where = f"{page.relative_to(root)}: {target}"
            if target.startswith(EXTERNAL):
                external.append(where)
                continue
            if target.startswith(("javascript:", "data:")):
                continue
            url = urllib.parse.urlsplit(target)
            dest = (page.parent / urllib.parse.unquote(url.path)).resolve() if url.path else page.resolve()
            if dest.is_dir():
                dest = dest / "index.html"
            if not dest.exists():
                broken.append(f"{where}: no such file")
                continue
            if url.fragment and dest.suffix == ".html" and url.fragment not in parse(dest).ids:
                broken.append(f"{where}: no anchor #{url.fragment}")
    return broken, external


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--source", nargs="+", type=pathlib.Path, help="markdown files or folders")
    mode.add_argument("--site", type=pathlib.Path, help="a built mdBook site")
    parser.add_argument("--list-external", action="store_true", help="print the external links found")
    args = parser.parse_args()
    broken, external = check_source(args.source) if args.source else check_site(args.site)
    if args.list_external:
        for line in sorted(set(external)):
            print(f"external (not fetched): {line}")
    for line in broken:
        print(f"broken link: {line}", file=sys.stderr)
    print(f"links: {len(broken)} broken, {len(set(external))} external (not fetched)")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
