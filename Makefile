# unimig: top-level entry points. `make demo` and `make test` work on a bare Debian 12 machine:
# they install what is missing first (scripts/setup.sh, idempotent).

PREFIX ?= /usr/local
STAGE  := build/stage
CARGO  ?= cargo
export LLVM_SYS_191_PREFIX ?= /usr/lib/llvm-19

BINARIES := unimig-cc ld.unimig unimig

.PHONY: all setup build sysroots test demo bench install clean fmt clippy

all: build

setup:
	bash scripts/setup.sh

# Rust tools into the stage directory (a PREFIX-style tree the tools find their sysroots from).
build: setup
	$(CARGO) build --release --workspace
	mkdir -p $(STAGE)/bin
	install -m 755 target/release/unimig-cc $(STAGE)/bin/unimig-cc
	install -m 755 target/release/ld-unimig $(STAGE)/bin/ld.unimig
	install -m 755 target/release/unimig $(STAGE)/bin/unimig
	$(MAKE) sysroots

# musl built from Debian's source for both ISAs; cached (sysroots/assemble.sh skips an
# up-to-date sysroot), so this is cheap after the first build (~1.5 min on 2 cores).
# Then the unimig runtime (sysroots/runtime) is built against them and installed into each.
SYSROOT_DIR := $(CURDIR)/$(STAGE)/lib/unimig/sysroots
TRIPLES := x86_64-linux-musl aarch64-linux-musl
sysroots:
	bash sysroots/assemble.sh $(STAGE)/lib/unimig/sysroots
	$(MAKE) -s -C sysroots/runtime OUT=$(CURDIR)/build/runtime SYSROOTS=$(SYSROOT_DIR)
	for t in $(TRIPLES); do \
	  install -m 644 build/runtime/$$t/lib/libunimig_rt.a $(SYSROOT_DIR)/$$t/lib/ && \
	  install -m 644 build/runtime/$$t/include/unimig_layout.h $(SYSROOT_DIR)/$$t/include/; \
	done

test: build
	bash scripts/run-tests.sh $(STAGE)

demo: build
	bash scripts/demo.sh $(STAGE)

bench: build
	bash scripts/bench.sh $(STAGE)

install: build
	bash scripts/install.sh $(STAGE) $(PREFIX)

fmt:
	$(CARGO) fmt --all

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

clean:
	rm -rf build
	$(CARGO) clean
