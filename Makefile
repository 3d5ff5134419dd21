# ap-exporter. The two front-door commands (see README.md):
#   make run    serve this host's metrics on :9100 with the shipped config
#   make test   the whole test suite (installs its test peers when missing)

CARGO ?= cargo
CONFIG ?= files/ap-exporter.toml

.PHONY: run test deps check fuzz

run:
	$(CARGO) run --release -- --config $(CONFIG)

deps:
	bash scripts/install-deps.sh

test: deps
	$(CARGO) test --locked

# Lints the way CI would like them.
check:
	$(CARGO) clippy --all-targets -- -D warnings

# A longer property-test campaign than CI's (the same tests, more iterations).
fuzz:
	AP_EXPORTER_FUZZ_ITERATIONS=2000000 $(CARGO) test --release --test parsers_property
