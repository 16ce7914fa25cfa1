# Every target is one command you can also copy and run by hand.
.PHONY: run test lint fmt check e2e bench bench-cluster fuzz verify-unit

# Build optimised, then serve on 127.0.0.1:5000 (flags: make run ARGS="--port 8080").
run:
	cargo run --release -- $(ARGS)

# The whole test suite: unit tests, integration tests against a live server, the binary,
# the abuse suite, instances sharing a log in a real Redis, clients made to vanish by a
# real packet filter (Debian's redis-server and nftables are installed when missing; the
# packet filter needs root), /metrics through promtool (Debian's prometheus), and the
# systemd unit, the server under a stock shell's open-files limit (prlimit), and the stack
# pages a stream's thread touches in the release build (the test builds it). One failing
# suite does not hide the others' results (--no-fail-fast). No test here compares
# wall-clock times: work is counted instead. (The load benchmark is `make bench`, not
# part of this.)
test:
	tests/install-system-packages.sh redis-server nft promtool systemd-analyze prlimit
	cargo test --no-fail-fast
	$(MAKE) verify-unit

# deploy/sse-server.service through `systemd-analyze verify`, which needs ExecStart's binary
# to exist: it checks a copy pointed at the binary built here (see the script).
verify-unit:
	tests/install-system-packages.sh systemd-analyze
	cargo build
	tests/verify-unit.sh $(abspath $(or $(CARGO_TARGET_DIR),target))/debug/sse-server

# Formatting and lints, as CI runs them; tests/imports.rs checks that no two modules of
# src/ import each other, directly or around a circle.
lint:
	cargo fmt --check && cargo clippy --all-targets -- -D warnings && cargo test --test imports

fmt:
	cargo fmt

# Everything CI checks that needs no browser.
check: lint test

# End-to-end tests with clients nobody on the project wrote: headless Chromium, the npm
# eventsource package, tokens from the npm jsonwebtoken package, nginx in front with TLS
# and HTTP/2, a cluster of two instances over a real Redis (a crash, a Redis restart, and a
# SIGTERM with 1,000 clients), a real Prometheus scraping /metrics, against the release
# binary, and the URL Pattern matcher compared with Chromium's own URLPattern on a few
# thousand generated pairs (through examples/urlpattern_oracle). Debian's chromium, nginx,
# openssl, redis-server and prometheus are installed when missing.
e2e:
	tests/install-system-packages.sh
	cargo build --release --bins --example urlpattern_oracle
	cd tests/e2e && npm ci --no-audit --no-fund && npm test

# The load benchmark: the release server and two references doing the same job, axum + tokio on
# `#[tokio::main]` (its own crate in benches/reference) and node:http in the tutorials' style
# (benches/node, node's built-in http only; Debian's nodejs is installed when missing), each
# pinned to core 0 in turn; the load generator (benches/loadgen) on core 1. A sweep over
# N = 100, 1,000, 5,000, 10,000 and the largest N this machine allows, interleaved runs at each;
# then the Redis hop (a real redis-server, installed when missing), and a Mercure hub with 10,000
# exact and 1,000 URL-pattern subscribers. Writes BENCHMARKS.md and
# its charts (benches/charts/*.svg). About 20 minutes on two cores.
bench:
	tests/install-system-packages.sh redis-server node
	cargo build --release --bins --benches
	cd benches/reference && cargo build --release
	taskset -c 1 cargo bench --bench loadgen

# Past one process (benches/loadgen/cluster.rs): three release instances over one real
# redis-server holding more streams than one process can, beside one instance holding a
# third; writes the cluster section and capacity table of BENCHMARKS.md (the rest of it is
# make bench's). The load generator holds every stream: its soft open-file limit is raised
# to the hard one, and the streams per instance follow what that and the machine's other
# limits allow (the report names the limit). About 3 minutes.
CLUSTER_RUNS ?= 3
bench-cluster:
	tests/install-system-packages.sh redis-server
	cargo build --release --bins --benches
	ulimit -n "$$(ulimit -Hn)"; taskset -c 1 cargo bench --bench loadgen -- --cluster $(CLUSTER_RUNS)

# Coverage-guided fuzzing (cargo fuzz + libFuzzer) of the request-head reader, the event
# encoder, the JSON reader, the token reader and the RESP reader, FUZZ_SECONDS each. cargo fuzz needs
# nightly features; RUSTC_BOOTSTRAP=1 unlocks
# them on the stable toolchain this machine has.
FUZZ_SECONDS ?= 60
fuzz:
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run request_head -- -max_total_time=$(FUZZ_SECONDS)
	cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run event_encoder -- -max_total_time=$(FUZZ_SECONDS)
	cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run json_reader -- -max_total_time=$(FUZZ_SECONDS)
	cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run token_reader -- -max_total_time=$(FUZZ_SECONDS)
	cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run resp_reader -- -max_total_time=$(FUZZ_SECONDS)
