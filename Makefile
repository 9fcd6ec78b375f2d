# sluice — every entry point a newcomer or CI needs. `make test` and `make run` work on a fresh clone.

SHELL := /bin/bash
BIN := node_modules/.bin
BUN := $(BIN)/bun
PREFIX ?= /usr/local
# Debian packages the tests use, as package:command (the command names the tests that need it): Apache Avro's Python
# IPC (interop), logrotate (rotation), systemd (systemd-analyze verify of the unit), libxml2-utils (xmllint of the
# launchd plist), bsdutils (util-linux logger, a syslog client), socat (netcat and syslog clients), tmux (a real
# terminal for the --once progress bar and `sluice top`).
TEST_DEBS := python3-avro:python3-avro logrotate:logrotate systemd:systemd-analyze libxml2-utils:xmllint bsdutils:logger socat:socat tmux:tmux
# What sysdeps could not install, for `make test` to repeat after its summary.
SYSDEPS_REPORT := .sysdeps-missing

.PHONY: all install-deps sysdeps typecheck layers test run build bench soak clean install

all: build

# npm ci whenever node_modules is missing or older than the lockfile.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install-deps: node_modules/.installed

# Waits (bounded, saying so) for an apt/dpkg lock another process holds; a package it cannot install is named with the
# tests that need it, and the run goes on (tests/helpers/sysdeps.sh).
sysdeps:
	@SYSDEPS_REPORT=$(SYSDEPS_REPORT) bash tests/helpers/sysdeps.sh $(TEST_DEBS)

typecheck: node_modules/.installed
	$(BIN)/tsc --noEmit -p .

# The layer rule (.dependency-cruiser.cjs): imports point down (util → core → components → registry → config →
# metrics, cli), no import cycles. On failure: one line per wrong import, then one line saying what the rule is.
layers: node_modules/.installed
	@out=$$($(BIN)/depcruise --config .dependency-cruiser.cjs --output-type err src main.ts 2>&1) && echo "layers: ok" || { \
	  printf '%s\n' "$$out" | awk '/^ *(error|warn) /{if(l)print l; sub(/^ +/,""); l=$$0; next} /^      +[^ ]/{sub(/^ +/,""); l=l $$0; next} END{if(l)print l}'; \
	  echo "layers: imports must point down (util → core → components → registry → config → metrics, cli) with no cycle; see .dependency-cruiser.cjs"; \
	  exit 1; }

# Runs every test; ends with one plain line "N passed, N failed" (bun's totals restated) for CI.
test: node_modules/.installed sysdeps typecheck layers
	@set -o pipefail; $(BUN) test --timeout 120000 2>&1 | tee .test-output.log; status=$$?; \
	pass=$$(grep -Eo '^ *[0-9]+ pass$$' .test-output.log | tail -1 | grep -Eo '[0-9]+'); \
	fail=$$(grep -Eo '^ *[0-9]+ fail$$' .test-output.log | tail -1 | grep -Eo '[0-9]+'); \
	echo "$${pass:-0} passed, $${fail:-0} failed"; rm -f .test-output.log; \
	if [ -s $(SYSDEPS_REPORT) ]; then sed 's/^/sysdeps: /' $(SYSDEPS_REPORT); fi; \
	if [ "$${pass:-0}" = "0" ]; then exit 1; fi; exit $$status

# The seq source counts from 0 on every run: the previous run's numbers move to .sluice-demo/out.prev (one run kept)
# instead of a second million appended to the same directory.
run: node_modules/.installed
	@if [ -n "$$(ls -A .sluice-demo/out 2>/dev/null)" ]; then \
	  rm -rf .sluice-demo/out.prev && mv .sluice-demo/out .sluice-demo/out.prev && \
	  echo "make run: the previous run's output is now in .sluice-demo/out.prev (the demo counts from 0 again)"; \
	fi
	$(BUN) main.ts agent -f conf/sluice.conf -n a1 --state-dir .sluice-demo/state

build: node_modules/.installed
	$(BUN) build --compile --minify main.ts --outfile dist/sluice

# Installs the binary and the service files, with the binary's path rewritten to $(PREFIX)/bin/sluice.
# `make install PREFIX=/opt/sluice` or, for packaging, `make install DESTDIR=/tmp/pkg PREFIX=/usr`.
BINDIR = $(PREFIX)/bin
SHAREDIR = $(PREFIX)/share/sluice
install: build
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SHAREDIR)/systemd $(DESTDIR)$(SHAREDIR)/launchd $(DESTDIR)$(SHAREDIR)/cron
	install -m 0755 dist/sluice $(DESTDIR)$(BINDIR)/sluice
	sed 's#/usr/local/bin/sluice#$(BINDIR)/sluice#g' conf/systemd/sluice.service > $(DESTDIR)$(SHAREDIR)/systemd/sluice.service
	sed 's#/usr/local/bin/sluice#$(BINDIR)/sluice#g' conf/launchd/io.sluice.agent.a1.plist > $(DESTDIR)$(SHAREDIR)/launchd/io.sluice.agent.a1.plist
	sed 's#/usr/local/bin/sluice#$(BINDIR)/sluice#g' conf/cron/sluice.cron > $(DESTDIR)$(SHAREDIR)/cron/sluice
	install -m 0644 conf/sluice.conf $(DESTDIR)$(SHAREDIR)/sluice.conf.example
	@echo "installed $(DESTDIR)$(BINDIR)/sluice and service files in $(DESTDIR)$(SHAREDIR) (see README: Deploy on a server)"

# `make bench MIB=256` runs the benchmarks that generate their input (taildir, once-backlog, file-channel-replay,
# http-tail, avro-tail) on 256 MiB instead of 1 GiB. Exits 1 when a benchmark fails (lost line, crash), not for a goal.
bench: node_modules/.installed build
	$(BUN) bench/run.ts $(if $(MIB),--mib $(MIB))

# The long run of bench/taildir-soak.ts (make bench runs it for 1 minute with rotation every 5 s).
SOAK_MINUTES ?= 10
soak: node_modules/.installed build
	$(BUN) bench/taildir-soak.ts --minutes $(SOAK_MINUTES) --rotate-s 30

clean:
	rm -rf dist .sluice-demo
