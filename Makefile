# wrkr: the two commands a fresh machine needs are `make demo` and `make test`.
CARGO ?= cargo
TARGET := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
RELEASE := $(TARGET)/release/wrkr

.PHONY: all build test test-deps test-hardening fmt lint demo man bench clean docs-site-build

all: build

# bin/wrkr plus one link per pipe tool (bin/wrkr-jcs, ...), as `wrkr --list` names them.
build:
	$(CARGO) build --release --locked
	@mkdir -p bin
	@install -m 0755 $(RELEASE) bin/wrkr
	@for tool in $$(bin/wrkr --list); do ln -sf wrkr bin/$$tool; done
	@echo "built bin/wrkr and $$(bin/wrkr --list | wc -l) tool links"

# Installs what the tests need (mandoc, pytest) when it is missing, then runs every test: the Rust
# suites, then the Python SDK's and the sidecar's tests against the binary they just built.
test: test-deps
	$(CARGO) test --locked
	WRKR_BIN=$(TARGET)/debug/wrkr python3 -m pytest -q sdk/python examples/sidecar/tests tests/docs tests/scripts

test-deps:
	@scripts/test-deps.sh

# Schemathesis (PyPI, installed into target/hardening-venv here, not by `make test`) against the
# OpenAPI document a loopback `wrkr serve` serves: no 5xx, no response outside the document.
test-hardening: build
	@scripts/test_hardening.sh

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --locked -- -D warnings
	@python3 -c "import mypy" 2>/dev/null || python3 -m pip install -q --disable-pip-version-check 'mypy==2.4.1'
	cd sdk/python/src && python3 -m mypy --strict wrkr

demo: build
	@scripts/demo.sh

# Regenerate the checked-in man pages and completions from the command table.
man:
	$(CARGO) build --locked
	rm -rf man completions
	target/debug/wrkr --generate man man >/dev/null
	target/debug/wrkr --generate completions completions >/dev/null
	@echo "regenerated man/ and completions/"

# The documentation site (mdBook, pinned; installed into target/tools on first use) with the man
# pages rendered in, into target/docs-site/, then an offline check of every internal link.
docs-site-build:
	@scripts/docs_site.sh

# Every bench script, then one table of each path against the floor measured in the same run, also
# written to target/bench/results.json; scripts/check_perf_budgets compares it with perf/budgets.json.
bench: build
	@python3 scripts/bench_all.py

clean:
	$(CARGO) clean
	rm -f bin/wrkr bin/wrkr-*
