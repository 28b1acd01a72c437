# Cairn's entry points. `make demo` and `make test` do all set-up on a fresh
# Debian machine (system packages, Rust dependencies) and then run.
#
# Every cargo command uses the release profile: RocksDB's C++ build takes
# about 11 minutes on two cores and is redone for each profile, so tests,
# clippy, the demo and benchmarks all share one build. The target directory
# lives outside the clone so later clones on the same machine reuse it.

CARGO_TARGET_DIR ?= $(HOME)/.cache/cairn/target
export CARGO_TARGET_DIR
CARGO ?= cargo

.PHONY: deps node-deps demo test lint fmt bench fuzz crash-state soak-node contracts contracts-check devkit-check help

help:
	@echo "make demo   - build and run 'cairn demo' on an embedded RocksDB"
	@echo "make test   - run the whole test suite (what CI runs)"
	@echo "make lint   - cargo fmt --check and clippy with warnings denied"
	@echo "make bench  - criterion benchmarks (long; not part of CI)"
	@echo "make fuzz   - long differential fuzzing of the gas injector (not part of CI)"
	@echo "make crash-state - 120 SIGKILLs of the resident state store at random moments (not part of CI)"
	@echo "make soak-node - 50 rounds of load + SIGKILL + restart of 'cairn node' (not part of CI)"
	@echo "make contracts - rebuild the example contracts' .wasm artifacts"
	@echo "make devkit-check - cairn new, build, build --check and test in a temporary directory (needs the wasm toolchain; not part of CI)"

# System packages: RocksDB's bindgen needs libclang.
deps:
	@if ! dpkg -s libclang-dev >/dev/null 2>&1 || ! command -v clang >/dev/null 2>&1; then \
		echo "installing clang and libclang-dev (needed by RocksDB's bindgen)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq clang libclang-dev; \
	fi

# The client-library test drives a dev node with viem (npm): Node.js and
# npm from Debian when absent, then the locked npm packages.
VIEM_DIR := node/tests/viem
node-deps:
	@if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
		echo "installing nodejs and npm (the viem client test)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nodejs npm; \
	fi
	cd $(VIEM_DIR) && npm ci --no-audit --no-fund

demo: deps
	$(CARGO) run --release --locked -p cairn-cli -- demo

test: deps node-deps
	$(CARGO) test --release --locked --workspace
	./contracts/build.sh --check

lint: deps
	$(CARGO) fmt --all --check
	$(CARGO) clippy --release --locked --workspace --all-targets -- -D warnings

bench: deps
	$(CARGO) bench --locked -p cairn-benches

fuzz: deps
	CAIRN_FUZZ_CASES=$${CAIRN_FUZZ_CASES:-20000} $(CARGO) test --release --locked -p cairn-engine --test differential -- --ignored --nocapture

# The long crash run of the resident state store: SIGKILL at random moments
# (during commits, checkpoint image writes and recovery), then reopen and
# compare every retained version with the model. CI runs 12 kills.
crash-state: deps
	CAIRN_CRASH_KILLS=$${CAIRN_CRASH_KILLS:-120} $(CARGO) test --release --locked -p cairn-state --test resident -- crash::sigkill --nocapture

# The long run of the node's SIGKILL test: load, SIGKILL, restart and
# check the head, CAIRN_NODE_KILLS times, then replay the whole chain. CI
# runs one round.
soak-node: deps
	CAIRN_NODE_KILLS=$${CAIRN_NODE_KILLS:-50} $(CARGO) test --release --locked -p cairn-cli --test cli -- node::sigkill --nocapture

contracts:
	./contracts/build.sh

contracts-check:
	./contracts/build.sh --check

# The contract developer's loop from scratch, as the contracts README gives it:
# a new crate outside the repository, built (twice, to check reproducibility)
# and tested on cairn-testkit. Needs the wasm32v1-none route of build.sh.
devkit-check: deps
	$(CARGO) build --release --locked -p cairn-cli
	@set -e; dir=$$(mktemp -d); trap 'rm -rf "$$dir"' EXIT; \
		cd "$$dir"; \
		"$(CARGO_TARGET_DIR)/release/cairn" new hello; \
		cd hello; \
		"$(CARGO_TARGET_DIR)/release/cairn" build; \
		"$(CARGO_TARGET_DIR)/release/cairn" build --check; \
		"$(CARGO_TARGET_DIR)/release/cairn" test
