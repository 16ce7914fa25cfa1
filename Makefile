# Every target is one command you can also copy and run by hand.
.PHONY: run test lint fmt check

# Build optimised, then serve on 127.0.0.1:5000 (flags: make run ARGS="--port 8080").
run:
	cargo run --release -- $(ARGS)

# The whole test suite: unit tests, integration tests against a live server, the binary.
test:
	cargo test --all-targets

# Formatting and lints, as CI runs them.
lint:
	cargo fmt --check && cargo clippy --all-targets -- -D warnings

fmt:
	cargo fmt

# Everything CI checks that needs no browser.
check: lint test
