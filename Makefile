# Countersign build and test entry points.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c

# The Temporal CLI (dev server + Web UI) is pinned; bin/temporal is rebuilt only
# when this version changes.
TEMPORAL_CLI_VERSION := 1.5.1
TEMPORAL := bin/temporal
TEMPORAL_STAMP := bin/.temporal-$(TEMPORAL_CLI_VERSION)

GO ?= go

.PHONY: all build run web web-test test test-fast bench bench-api bench-throughput bench-waiting load-tool vet fmt temporal clean

all: build

build: web
	$(GO) build -o bin/countersign ./cmd/countersign

# The portal's icons: lucide's SVGs from the npm package pinned in
# web/package-lock.json, copied into web/static/icons (git-ignored), which
# the binary embeds. Without npm the portal shows a placeholder icon.
WEB_ICONS_STAMP := web/static/icons/.stamp
web: $(WEB_ICONS_STAMP)

$(WEB_ICONS_STAMP): web/package.json web/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		set -e; \
		echo "installing the portal's icons (npm ci --prefix web)"; \
		npm ci --prefix web --no-audit --no-fund --loglevel=error; \
		rm -rf web/static/icons && mkdir -p web/static/icons; \
		cp web/node_modules/lucide-static/icons/*.svg web/node_modules/lucide-static/LICENSE web/static/icons/; \
		touch $@; \
	else \
		echo "npm not found: the portal's icons are not installed and show as placeholders (install Node.js and npm, then make web)"; \
	fi

# The portal's scripts: eslint (pinned in web/package-lock.json, installed
# by npm ci with the icons) and their unit tests (node --test, Node.js's own
# runner). Nothing is downloaded here: npm ci runs only when node_modules
# lacks eslint or is older than the lock file. Node.js 18.18 or later.
web-test: web
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || { \
		echo "the portal's lint and unit tests need Node.js and npm: install Node.js and npm (Debian/Ubuntu: apt-get install npm), then make test" >&2; exit 1; }
	@node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 18 || (a === 18 && b >= 18) ? 0 : 1)' || { \
		echo "the portal's lint and unit tests need Node.js 18.18 or later (this is $$(node --version)): install a newer Node.js" >&2; exit 1; }
	@if [ ! -x web/node_modules/.bin/eslint ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then \
		echo "installing the portal's tools (npm ci --prefix web)"; \
		npm ci --prefix web --no-audit --no-fund --loglevel=error; \
	fi
	cd web && node_modules/.bin/eslint --max-warnings 0 .
	cd web && node --test --test-reporter=spec test/*.test.js

# The whole stack on 127.0.0.1 with demo data: PostgreSQL (DATABASE_URL or a
# cluster in .data/postgres), the Temporal dev server and its Web UI, the AWX
# simulator, the worker and the API. RUN_ARGS passes flags to
# `countersign dev` (see `bin/countersign dev -h`).
run: temporal build
	./bin/countersign dev $(RUN_ARGS)

temporal: $(TEMPORAL_STAMP)

# The first build downloads the CLI's modules (160 for v1.5.1) and compiles
# the Temporal server into it (1,297 packages, about 340 s of CPU); Go's
# caches make later builds take seconds. It needs no terminal (CI): every
# TEMPORAL_PROGRESS_EVERY seconds a line counts the modules downloaded and
# the packages compiled (go install -v lists them in bin/temporal-build.log);
# a failed build shows the end of that log.
TEMPORAL_PROGRESS_EVERY ?= 30
TEMPORAL_CLI_PACKAGES := 1,300
TEMPORAL_BUILD_LOG := bin/temporal-build.log

$(TEMPORAL_STAMP):
	@echo "building the Temporal CLI v$(TEMPORAL_CLI_VERSION) into ./bin: the first build takes 4 to 15 minutes on 2 cores (downloading its modules, then compiling about $(TEMPORAL_CLI_PACKAGES) packages), later ones seconds"
	@mkdir -p bin
	@log=$(TEMPORAL_BUILD_LOG); start=$$(date +%s); : > $$log; \
	progress() { \
		local t=$$(( $$(date +%s) - start )); \
		printf '%dm%02ds: %d modules downloaded, %d of about $(TEMPORAL_CLI_PACKAGES) packages compiled' $$((t / 60)) $$((t % 60)) \
			"$$(grep -c '^go: downloading ' $$log || true)" "$$(grep -vc '^go: ' $$log || true)"; \
	}; \
	( while sleep $(TEMPORAL_PROGRESS_EVERY) </dev/null >/dev/null 2>&1; do echo "  still building the Temporal CLI ($$(progress))"; done ) & ticker=$$!; \
	trap 'kill $$ticker 2>/dev/null || true' EXIT; \
	if ! GOBIN=$(CURDIR)/bin $(GO) install -v \
		-ldflags "-X github.com/temporalio/cli/temporalcli.Version=$(TEMPORAL_CLI_VERSION)" \
		github.com/temporalio/cli/cmd/temporal@v$(TEMPORAL_CLI_VERSION) >>$$log 2>&1; then \
		echo "building the Temporal CLI failed; the end of $$log:"; tail -n 30 $$log; exit 1; \
	fi; \
	echo "built bin/temporal in $$(progress)"
	@rm -f bin/.temporal-*
	@touch $@

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

fmt:
	gofmt -w $$(git ls-files '*.go')

test: temporal web web-test vet
	@if [ -n "$${TEST_DATABASE_URL:-}" ]; then echo "PostgreSQL: TEST_DATABASE_URL (a fresh database per test)"; \
	else echo "PostgreSQL: a throwaway cluster per test binary, from the installed server binaries"; fi
	@echo "Temporal: a dev server ($(TEMPORAL)) per integration test binary; the AWX simulator and workers in process; countersign dev once, on free ports"
	$(GO) test -race -count=1 ./...

# The API's fast tier alone: the real server on an in-memory store, the
# Temporal SDK's mocks and the AWX simulator in process; no PostgreSQL, no
# Temporal server, nothing to build first. make test runs it too.
test-fast:
	$(GO) test -race -count=1 ./api/fasttest

# Cost of one two-stage request (billable Temporal actions, history length)
# with a simulated AWX job of BENCH_JOB_DURATION (default 2m).
bench: temporal
	$(GO) test ./bench -run '^$$' -bench ServiceRequestActions -benchtime 1x -count=1

# API latency (p50/p99 of submit, approve, inbox) over HTTP against the whole
# stack, with BENCH_REQUESTS (default 100000) requests in the database and
# the worker as a `countersign worker` process of its own (BENCH_WORKER=
# inprocess runs it beside the API); BENCH_DURATION (default 20s) per
# scenario, BENCH_CONCURRENCY (8); BENCH_SCENARIOS (e.g. inbox, or
# submit,approve) runs only those.
bench-api: temporal
	$(GO) test ./bench -run '^$$' -bench APILatency -benchtime 1x -count=1 -timeout 30m

# Throughput on one Temporal dev server: trivial one-activity workflows per
# second, then whole request lifecycles per second through the API (submit,
# two approvals, launch, polls, success), each with BENCH_CONCURRENCY (32)
# clients for BENCH_DURATION (20s); prints "lifecycle/trivial ratio: 0.NN".
# The workers' pollers autoscale (BENCH_POLLERS=fixed: the SDK's two each).
# BENCH_PPROF=dir writes a CPU profile of the lifecycle phase.
bench-throughput: temporal
	$(GO) test ./bench -run '^$$' -bench Throughput -benchtime 1x -count=1 -timeout 30m

# BENCH_WAITING (10000) requests waiting for approval: the RSS and CPU time
# of a `countersign worker` process (WORKER_STICKY_CACHE_SIZE, default 2048)
# once all wait, and over BENCH_IDLE (60s) in which nothing happens.
bench-waiting: temporal
	$(GO) test ./bench -run '^$$' -bench Waiting -benchtime 1x -count=1 -timeout 90m

# The load tool, for an API that is already running.
load-tool:
	$(GO) build -o bin/countersign-load ./bench/cmd/countersign-load

clean:
	rm -rf bin .data artifacts web/static/icons web/node_modules
