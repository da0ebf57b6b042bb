#!/usr/bin/env python3
"""Renders the mermaid diagrams of the docs to SVG at site build time, offline.

The docs keep diagrams as mermaid source (GitHub renders it in place); the site gets static SVG
made here, so it needs no JavaScript and no network. Only the subset the docs use is understood:

- `flowchart LR|TD` and `stateDiagram-v2`: nodes and `-->` edges (with `|label|`), laid out by
  Graphviz `dot`;
- `sequenceDiagram`: participants, `->>`/`-->>` messages, `Note over X: text` and `loop`/`end`
  frames, drawn directly as columns and rows.

    mermaid_svg.py FILE.md...    replace every ```mermaid block in place with an inline SVG
Anything else in a block is an error (exit 1), so a diagram never silently loses a line.
"""
from __future__ import annotations

import html
import re
import subprocess
import sys

BLOCK = re.compile(r"```mermaid\n(.*?)```\n", re.S)
NODE = re.compile(r"([A-Za-z_][\w]*)\s*(\(\(.*?\)\)|\[\(.*?\)\]|\[\[.*?\]\]|\[.*?\]|\{.*?\})?")


class DiagramError(Exception):
    pass


def _label(shape: str) -> tuple[str, str]:
    """(graphviz shape, label) for a mermaid node shape like `[Text]` or `((Text))`."""
    pairs = [("((", "))", "circle"), ("[(", ")]", "cylinder"), ("[[", "]]", "box3d"), ("[", "]", "box"), ("{", "}", "diamond")]
    for opening, closing, gv in pairs:
        if shape.startswith(opening) and shape.endswith(closing):
            text = shape[len(opening) : -len(closing)]
            return gv, re.sub(r"<br\s*/?>", "\n", text)
    raise DiagramError(f"unknown node shape {shape!r}")


def graph_to_dot(lines: list[str], kind: str) -> str:
    direction = "LR"
    if kind.startswith("flowchart"):
        parts = kind.split()
        direction = parts[1] if len(parts) > 1 else "TD"
        direction = "TB" if direction == "TD" else direction
    nodes: dict[str, tuple[str, str]] = {}
    edges: list[tuple[str, str, str]] = []

    def node(token: str) -> str:
        token = token.strip()
        if token == "[*]":
            name = f"point{len(nodes)}"
            nodes[name] = ("point", "")
            return name
        match = NODE.fullmatch(token)
        if not match:
            raise DiagramError(f"cannot read node {token!r}")
        name, shape = match.group(1), match.group(2)
        if shape:
            nodes[name] = _label(shape)
        else:
            nodes.setdefault(name, ("box" if kind.startswith("flowchart") else "Mrecord", name))
        return name

    for line in lines:
        match = re.fullmatch(r"(.+?)\s*-->\s*(?:\|(.*?)\|\s*)?(.+)", line)
        if not match:
            raise DiagramError(f"cannot read line {line!r}")
        edges.append((node(match.group(1)), node(match.group(3)), match.group(2) or ""))
    out = [f'digraph G {{ rankdir={direction}; bgcolor="transparent"; node [fontname="sans-serif", fontsize=11, style=rounded]; edge [fontname="sans-serif", fontsize=10];']
    for name, (shape, label) in nodes.items():
        if shape == "point":
            out.append(f'  {name} [shape=point, width=0.15, label=""];')
        else:
            out.append(f"  {name} [shape={shape}, label={_quote(label)}];")
    for a, b, label in edges:
        out.append(f"  {a} -> {b} [label={_quote(label)}];")
    out.append("}")
    return "\n".join(out)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def dot_svg(dot: str) -> str:
    proc = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise DiagramError(f"dot failed: {proc.stderr.strip()}")
    svg = proc.stdout
    return svg[svg.index("<svg") :]


def sequence_svg(lines: list[str]) -> str:
    participants: list[tuple[str, str]] = []
    rows: list[tuple] = []
    depth = 0
    for line in lines:
        if m := re.fullmatch(r"participant\s+(\w+)(?:\s+as\s+(.+))?", line):
            participants.append((m.group(1), m.group(2) or m.group(1)))
        elif m := re.fullmatch(r"(\w+)\s*(-->>|->>)\s*(\w+)\s*:\s*(.*)", line):
            rows.append(("msg", m.group(1), m.group(3), m.group(4), m.group(2) == "-->>", depth))
        elif m := re.fullmatch(r"Note over (\w+)(?:,\s*(\w+))?\s*:\s*(.*)", line):
            rows.append(("note", m.group(1), m.group(2) or m.group(1), m.group(3), False, depth))
        elif m := re.fullmatch(r"loop\s+(.*)", line):
            rows.append(("loop", "", "", m.group(1), False, depth))
            depth += 1
        elif line == "end":
            depth -= 1
            rows.append(("end", "", "", "", False, depth))
        else:
            raise DiagramError(f"cannot read line {line!r}")
    col = {name: 170 + 270 * i for i, (name, _) in enumerate(participants)}
    width = 270 * len(participants) + 70
    row_h, top = 34, 60
    height = top + row_h * (len(rows) + 1) + 20
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           '<defs><marker id="arrow" markerWidth="10" markerHeight="8" refX="9" refY="4" orient="auto"><path d="M0,0 L10,4 L0,8 z"/></marker></defs>']
    for name, label in participants:
        x = col[name]
        svg.append(f'<rect x="{x - 95}" y="10" width="190" height="30" rx="4" fill="#eef" stroke="#447"/>')
        svg.append(f'<text x="{x}" y="30" text-anchor="middle">{html.escape(label)}</text>')
        svg.append(f'<line x1="{x}" y1="40" x2="{x}" y2="{height - 10}" stroke="#999" stroke-dasharray="4 3"/>')
    loop_start: list[int] = []
    for i, (kind, a, b, text, dashed, _depth) in enumerate(rows):
        y = top + row_h * i + 10
        if kind == "msg":
            x1, x2 = col[a], col[b]
            dash = ' stroke-dasharray="5 3"' if dashed else ""
            svg.append(f'<line x1="{x1}" y1="{y}" x2="{x2 - 6 if x2 > x1 else x2 + 6}" y2="{y}" stroke="#222"{dash} marker-end="url(#arrow)"/>')
            svg.append(f'<text x="{(x1 + x2) / 2}" y="{y - 5}" text-anchor="middle">{html.escape(text)}</text>')
        elif kind == "note":
            x1, x2 = sorted((col[a], col[b]))
            box = max(x2 - x1 + 120, int(len(text) * 6.8) + 20)
            left = min(max(4, (x1 + x2) // 2 - box // 2), width - box - 4)
            svg.append(f'<rect x="{left}" y="{y - 14}" width="{box}" height="22" fill="#ffd" stroke="#aa6"/>')
            svg.append(f'<text x="{left + box / 2}" y="{y + 1}" text-anchor="middle">{html.escape(text)}</text>')
        elif kind == "loop":
            loop_start.append(y)
            svg.append(f'<text x="14" y="{y + 1}" font-style="italic">loop: {html.escape(text)}</text>')
        elif kind == "end" and loop_start:
            start = loop_start.pop()
            svg.append(f'<rect x="8" y="{start - 14}" width="{width - 16}" height="{y - start + 4}" fill="none" stroke="#777"/>')
    svg.append("</svg>")
    return "\n".join(svg)


def render(source: str) -> str:
    lines = [l.strip() for l in source.splitlines() if l.strip() and not l.strip().startswith("%%")]
    if not lines:
        raise DiagramError("empty diagram")
    kind, body = lines[0], lines[1:]
    if kind.startswith("flowchart") or kind.startswith("graph") or kind == "stateDiagram-v2":
        return dot_svg(graph_to_dot(body, kind))
    if kind == "sequenceDiagram":
        return sequence_svg(body)
    raise DiagramError(f"unsupported diagram type {kind!r}")


def main() -> int:
    failed = 0
    for path in sys.argv[1:]:
        text = open(path, encoding="utf-8").read()
        try:
            out = BLOCK.sub(lambda m: f'<div class="diagram">\n{render(m.group(1))}\n</div>\n', text)
        except DiagramError as err:
            print(f"{path}: {err}", file=sys.stderr)
            failed += 1
            continue
        if out != text:
            open(path, "w", encoding="utf-8").write(out)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
