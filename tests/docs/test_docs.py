"""The documentation against the binary: every internal link resolves, and every command and pipe
tool in the command table has a man page, completions, a `--help` example and a docs section."""
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHECKER = ROOT / "scripts" / "check_doc_links.py"
REFERENCE = ROOT / "docs" / "reference" / "commands.md"


def _run(wrkr_bin: str, *args: str) -> str:
    proc = subprocess.run([wrkr_bin, *args], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _command_table(wrkr_bin: str) -> list[str]:
    """Every tool and command `wrkr help` lists, by short name."""
    names, section = [], None
    for line in _run(wrkr_bin, "help").splitlines():
        if line.startswith(("PIPE TOOLS", "COMMANDS")):
            section = line
            continue
        if section and not line.strip():
            section = None
            continue
        match = re.match(r"^    ([a-z][a-z0-9-]*)\s{2,}\S", line)
        if section and match:
            names.append(match.group(1))
    return names


def test_internal_links_resolve():
    proc = subprocess.run(
        [sys.executable, str(CHECKER), "--source", "README.md", "docs"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout


def test_the_link_checker_finds_broken_links(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[ok](#title) [file](missing.md) [anchor](#nope)\n\n```\n[fenced](x.md)\n```\n")
    proc = subprocess.run([sys.executable, str(CHECKER), "--source", str(page)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "missing.md: no such file" in proc.stderr and "no heading #nope" in proc.stderr
    assert "fenced" not in proc.stderr and "#title" not in proc.stderr


def test_every_command_has_man_page_completions_example_and_docs_section(wrkr_bin):
    names = _command_table(wrkr_bin)
    tools = {line.removeprefix("wrkr-") for line in _run(wrkr_bin, "--list").split()}
    assert tools and tools <= set(names), "wrkr help lists every pipe tool"
    bash = (ROOT / "completions" / "wrkr.bash").read_text()
    reference = REFERENCE.read_text()
    headings = set(re.findall(r"^#{2,4} (wrkr[ -][a-z0-9-]+)\s*$", reference, re.M))
    missing = []
    for name in names:
        page = f"wrkr-{name}"
        if not (ROOT / "man" / f"{page}.1").exists():
            missing.append(f"{name}: no man page man/{page}.1")
        if not re.search(rf"\b{re.escape(name)}\b", bash):
            missing.append(f"{name}: not in completions/wrkr.bash")
        if "EXAMPLES" not in _run(wrkr_bin, name, "--help"):
            missing.append(f"{name}: --help has no EXAMPLES")
        title = f"wrkr-{name}" if name in tools else f"wrkr {name}"
        if title not in headings:
            missing.append(f"{name}: no '### {title}' section in docs/reference/commands.md")
    stale = sorted(h for h in headings if h.replace("wrkr-", "wrkr ").split(" ", 1)[1] not in names)
    assert missing == [] and stale == [], "\n".join(missing + [f"stale section: {s}" for s in stale])


def test_every_page_is_in_the_site_once():
    docs = ROOT / "docs"
    summary = (docs / "SUMMARY.md").read_text()
    linked = re.findall(r"\]\(([^)#]+\.md)\)", summary)
    pages = sorted(str(p.relative_to(docs)) for p in docs.rglob("*.md") if p.name != "SUMMARY.md")
    assert sorted(set(linked)) == pages, "docs/SUMMARY.md must list every page (and no missing one)"
    assert len(linked) == len(set(linked)), "a page is listed twice in docs/SUMMARY.md"


def test_the_map_lists_every_page_once():
    """docs/README.md is the map a reader starts from: every page of docs/ is linked from it exactly
    once (SUMMARY.md is the site's table of contents, checked above; the map is for the repository)."""
    docs = ROOT / "docs"
    text = (docs / "README.md").read_text()
    linked = [
        str((docs / target).resolve().relative_to(docs.resolve()))
        for target in re.findall(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)", text)
    ]
    pages = sorted(
        str(p.relative_to(docs)) for p in docs.rglob("*.md") if p.name != "SUMMARY.md" and p != docs / "README.md"
    )
    missing = sorted(set(pages) - set(linked))
    unknown = sorted(set(linked) - set(pages))
    twice = sorted({page for page in linked if linked.count(page) > 1})
    assert (missing, unknown, twice) == ([], [], []), (
        f"docs/README.md: not listed {missing}, no such page {unknown}, listed twice {twice}"
    )
