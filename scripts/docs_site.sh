#!/usr/bin/env bash
# Builds the documentation site: a copy of docs/ with its mermaid diagrams rendered to SVG
# (scripts/mermaid_svg.py, Graphviz), the man pages rendered to HTML by mandoc and the OpenAPI
# document beside them, through a pinned mdBook (installed with `cargo install --locked`
# into target/tools/ when it is missing), into target/docs-site/. Then checks every internal link
# and anchor of the built site offline; external links are listed, not fetched.
set -euo pipefail
cd "$(dirname "$0")/.."
MDBOOK_VERSION=0.5.4
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
TOOLS="$TARGET/tools"
MDBOOK="$TOOLS/bin/mdbook"
if [ -x "${WRKR_MDBOOK:-}" ]; then MDBOOK="$WRKR_MDBOOK"; fi
if ! "$MDBOOK" --version 2>/dev/null | grep -q "v$MDBOOK_VERSION"; then
  echo "installing mdbook $MDBOOK_VERSION into $TOOLS (once)" >&2
  cargo install --locked --quiet mdbook --version "$MDBOOK_VERSION" \
    --no-default-features --features search --root "$TOOLS"
  MDBOOK="$TOOLS/bin/mdbook"
fi
for need in mandoc:mandoc dot:graphviz; do
  command -v "${need%%:*}" >/dev/null && continue
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need#*:}" >/dev/null
  else
    echo "docs-site-build needs ${need#*:} (apt-get install ${need#*:})" >&2; exit 1
  fi
done

SRC="$TARGET/docs-src"
OUT="$TARGET/docs-site"
rm -rf "$SRC" "$OUT"
mkdir -p "$SRC"
cp -R docs/. "$SRC/"
# Diagrams are mermaid source in the docs; the site gets them as static SVG (no JavaScript, offline).
find "$SRC" -name '*.md' -print0 | xargs -0 python3 scripts/mermaid_svg.py
# mdBook serves each README.md as index.html but leaves links to README.md alone: point them there.
find "$SRC" -name '*.md' -print0 | xargs -0 sed -i -E 's#(\]\(([^)]*/)?)README\.md#\1index.md#g'
mkdir -p "$SRC/reference/man"
cp schemas/v1/serve/api.openapi.json "$SRC/reference/openapi.json"
{
  echo
  echo "The OpenAPI document of \`wrkr serve\`: [openapi.json](openapi.json)."
  echo
  echo "| page | what it is |"
  echo "|---|---|"
  for page in man/*.1; do
    name="$(basename "$page" .1)"
    mandoc -Thtml "$page" > "$SRC/reference/man/$name.html"
    about="$(sed -n '/^\.SH NAME/{n;p;q}' "$page" | sed 's/^[^\\]*\\- //; s/\\//g')"
    echo "| [$name](man/$name.html) | $about |"
  done
} >> "$SRC/reference/man.md"
"$MDBOOK" build "$SRC" --dest-dir "$OUT" >/dev/null
pages=$(find "$OUT" -name '*.html' -not -path '*/man/*' | wc -l)
echo "docs site: $OUT ($pages pages, $(ls man/*.1 | wc -l) man pages)"
python3 scripts/check_doc_links.py --site "$OUT"
