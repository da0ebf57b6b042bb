#!/usr/bin/env python3
"""List every `unsafe` block, fn, impl and extern block in Rust sources with its justification.

Each must be preceded by a `// SAFETY:` comment (or carry a `# Safety` doc section, for an unsafe
fn), in the run of comment and attribute lines right above it or on its own line. Prints one line
per site (`path:line: kind: justification`) and exits 1 when any site has none, naming it.
A small lexer skips string, char and comment text, so `"unsafe {x}"` in a message is not a site.
Used by `make sast-fast` and tests/release.rs. Usage: unsafe_audit.py [DIR_OR_FILE ...] (default src).
"""
import os
import re
import sys

SITE = re.compile(r"\bunsafe\s*(\{|fn\b|impl\b|extern\b|trait\b)")


def code_only(text):
    """The source with string, char and comment contents blanked (newlines kept, so lines match)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif (m := re.compile(r'b?r(#*)"').match(text, i)) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            end = text.find('"' + m.group(1), m.end())
            end = n if end < 0 else end + 1 + len(m.group(1))
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(re.sub(r"[^\n]", " ", text[i : j + 1]))
            i = j + 1
        elif c == "'" and (m := re.compile(r"'(\\.[^']*|[^\\'])'").match(text, i)):
            out.append(" " * len(m.group(0)))
            i = m.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


def justification(lines, index):
    """The SAFETY text for the site on lines[index], or None."""
    same = lines[index]
    if "SAFETY:" in same:
        return same.split("SAFETY:", 1)[1].strip()
    found, k = [], index - 1
    while k >= 0:
        line = lines[k].strip()
        if line.startswith("//") or line.startswith("#[") or line.startswith("#!["):
            found.append(line)
            k -= 1
        else:
            break
    found.reverse()
    for pos, line in enumerate(found):
        if "SAFETY:" in line or "# Safety" in line:
            text = [line.split("SAFETY:", 1)[1].strip() if "SAFETY:" in line else ""]
            text += [l.lstrip("/").strip() for l in found[pos + 1 :] if l.startswith("//")]
            return " ".join(t for t in text if t) or line
    return None


def files(paths):
    for path in paths:
        if os.path.isfile(path):
            yield path
        for root, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d not in ("target", ".git"))
            for name in sorted(names):
                if name.endswith(".rs"):
                    yield os.path.join(root, name)


def main(argv):
    missing, count = [], 0
    for path in files(argv or ["src"]):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        lines, code = text.split("\n"), code_only(text).split("\n")
        for index, line in enumerate(code):
            for m in SITE.finditer(line):
                count += 1
                why = justification(lines, index)
                kind = "unsafe " + m.group(1).rstrip("{").strip() if m.group(1) != "{" else "unsafe block"
                print(f"{path}:{index + 1}: {kind}: {why if why else 'NO SAFETY COMMENT'}")
                if not why:
                    missing.append(f"{path}:{index + 1}")
    print(f"unsafe-audit: {count} unsafe sites, {len(missing)} without a SAFETY comment")
    if missing:
        print("unsafe-audit: add a `// SAFETY:` comment above: " + ", ".join(missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
