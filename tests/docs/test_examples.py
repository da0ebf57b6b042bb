"""Every console example in README.md and docs/ runs against the binary and prints what the page
says (scripts/doc_examples.py), so a doc that drifts from wrkr fails `make test`."""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_console_examples_run_as_written(wrkr_bin):
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "doc_examples.py"), "--bin", wrkr_bin, *map(str, pages)],
        capture_output=True, text=True, timeout=900,
    )
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert proc.returncode == 0, proc.stderr + "\n" + summary
    assert " 0 failed" in summary and "blocks run" in summary


def test_every_block_with_a_prompt_is_a_console_block():
    """A block that shows `$ command` lines shows a command and its output: it must be fenced as
    console so the runner executes it (or `console skip`, counted and explained), never as sh or
    text, where a drifted example would pass unnoticed."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import doc_examples  # noqa: E402  (the runner's own fence grammar)

    unrun = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        lines = page.read_text(encoding="utf-8").splitlines()
        i = 0
        while i < len(lines):
            match = doc_examples.FENCE.match(lines[i])
            if not match:
                i += 1
                continue
            fence, lang = match.group(2), match.group(3)
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith(fence):
                if lang != "console" and lines[j].startswith("$ "):
                    unrun.append(f"{page.relative_to(ROOT)}:{i + 1} ({lang or 'no language'})")
                    break
                j += 1
            while j < len(lines) and not lines[j].strip().startswith(fence):
                j += 1
            i = j + 1
    assert unrun == [], "fence these as console (or console skip, with the reason): " + ", ".join(unrun)
