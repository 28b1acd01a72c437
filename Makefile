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

.PHONY: deps demo test lint fmt bench fuzz crash-state contracts contracts-check help

help:
	@echo "make demo   - build and run 'cairn demo' on an embedded RocksDB"
	@echo "make test   - run the whole test suite (what CI runs)"
	@echo "make lint   - cargo fmt --check and clippy with warnings denied"
	@echo "make bench  - criterion benchmarks (long; not part of CI)"
	@echo "make fuzz   - long differential fuzzing of the gas injector (not part of CI)"
	@echo "make crash-state - 120 SIGKILLs of the resident state store at random moments (not part of CI)"
	@echo "make contracts - rebuild the example contracts' .wasm artifacts"

# System packages: RocksDB's bindgen needs libclang.
deps:
	@if ! dpkg -s libclang-dev >/dev/null 2>&1 || ! command -v clang >/dev/null 2>&1; then \
		echo "installing clang and libclang-dev (needed by RocksDB's bindgen)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq clang libclang-dev; \
	fi

demo: deps
	$(CARGO) run --release --locked -p cairn-cli -- demo

test: deps
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

contracts:
	./contracts/build.sh

contracts-check:
	./contracts/build.sh --check
