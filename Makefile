# wrkr: the two commands a fresh machine needs are `make demo` and `make test`.
CARGO ?= cargo
TARGET := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
RELEASE := $(TARGET)/release/wrkr

.PHONY: all build install test test-deps test-hardening test-conformance fmt lint demo man bench clean docs-site-build

all: build

# bin/wrkr plus one link per pipe tool (bin/wrkr-jcs, ...), as `wrkr --list` names them.
build:
	$(CARGO) build --release --locked
	@mkdir -p bin
	@install -m 0755 $(RELEASE) bin/wrkr
	@for tool in $$(bin/wrkr --list); do ln -sf wrkr bin/$$tool; done
	@echo "built bin/wrkr and $$(bin/wrkr --list | wc -l) tool links"

# `make install PREFIX=~/.local` (DESTDIR for packaging): the binary and one link per pipe tool,
# the man pages, and the bash, zsh and fish completions where those shells look for them. Installs
# $(INSTALL_BIN) (bin/wrkr, built by `make build` when missing).
PREFIX ?= /usr/local
INSTALL_BIN ?= bin/wrkr
BINDIR = $(DESTDIR)$(PREFIX)/bin
MANDIR = $(DESTDIR)$(PREFIX)/share/man/man1
BASHDIR = $(DESTDIR)$(PREFIX)/share/bash-completion/completions
ZSHDIR = $(DESTDIR)$(PREFIX)/share/zsh/site-functions
FISHDIR = $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
install:
	@if [ ! -x "$(INSTALL_BIN)" ]; then $(MAKE) build; fi
	install -d "$(BINDIR)" "$(MANDIR)" "$(BASHDIR)" "$(ZSHDIR)" "$(FISHDIR)"
	install -m 0755 "$(INSTALL_BIN)" "$(BINDIR)/wrkr"
	@for tool in $$("$(BINDIR)/wrkr" --list); do ln -sf wrkr "$(BINDIR)/$$tool"; done
	install -m 0644 man/*.1 "$(MANDIR)/"
	install -m 0644 completions/wrkr.bash "$(BASHDIR)/wrkr"
	@for tool in $$("$(BINDIR)/wrkr" --list); do ln -sf wrkr "$(BASHDIR)/$$tool"; done
	install -m 0644 completions/_wrkr "$(ZSHDIR)/_wrkr"
	install -m 0644 completions/wrkr.fish "$(FISHDIR)/wrkr.fish"
	@echo "installed wrkr, $$("$(BINDIR)/wrkr" --list | wc -l) tool links, man pages and completions under $(DESTDIR)$(PREFIX)"

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

# The black-box conformance script (docs/contracts/compatibility.md) against our release binary,
# twice: both runs must pass and their normalised reports must be byte-identical.
# `scripts/test_wrkr_compatible_conformance.sh PATH/TO/wrkr` checks any other binary.
test-conformance: build
	@scripts/test_wrkr_compatible_conformance.sh bin/wrkr > $(TARGET)/conformance-1.txt
	@scripts/test_wrkr_compatible_conformance.sh bin/wrkr > $(TARGET)/conformance-2.txt
	@sed -n '/^## normalised report/,$$p' $(TARGET)/conformance-1.txt > $(TARGET)/conformance-1.norm
	@sed -n '/^## normalised report/,$$p' $(TARGET)/conformance-2.txt > $(TARGET)/conformance-2.norm
	@cmp $(TARGET)/conformance-1.norm $(TARGET)/conformance-2.norm
	@echo "conformance: $$(grep -c '^ok' $(TARGET)/conformance-1.norm) checks passed, reports identical across two runs"

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --locked -- -D warnings

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
