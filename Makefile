# The front door: `make run` and `make test` work on a fresh Debian 12 machine.
.PHONY: all deps build release install deb run test test-fuzz test-xen fuzz fuzz-check fuzz-run bench clean

JOBS ?= $(shell nproc)

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake --preset dev >/dev/null
	@cmake --build --preset dev -j $(JOBS)

release: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

# The release build into PREFIX (default /usr/local; DESTDIR honoured): xenprov and
# xenprov-pxeboot (the bootloader, a small program of its own), the man pages, the
# systemd unit, sysusers.d and tmpfiles.d entries, bash completion, the examples (see
# README.md, "Install"). The prefix is configured, not only given to cmake --install:
# the unit's ExecStart= names it.
PREFIX ?= /usr/local
install: deps
	@cmake --preset release -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@cmake --build --preset release -j $(JOBS)
	@cmake --install build/release

# The Debian package, built by dpkg-buildpackage in a copy of the tree under build/deb
# (the source tree stays clean): build/deb/xenprov_VERSION_amd64.deb, then lintian.
deb: deps
	@scripts/build-deb build/deb

# The main job on embedded defaults (see README.md).
run: release
	@scripts/demo build/release/xenprov

# Every test but those labelled slow (minutes each under TCG: test-xen runs them).
test: build
	@ctest --preset dev -LE slow

# The slow CTest tests (label slow: a Debian 12 installed by the autoinstall installer
# under QEMU and booted), then xenprov's guests booted by a real Xen 4.17 inside QEMU
# (tests/xen/run-test.sh).
test-xen: build release
	@ctest --preset dev -L slow
	@tests/xen/run-test.sh build/release/xenprov

# Build the libFuzzer targets (and only them); run one with `make fuzz-run T=xl-config S=600`.
fuzz: deps
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)

# Every libFuzzer target once over its corpus, fuzz/corpus/<target>/ (CI runs this).
fuzz-check: fuzz
	@fuzz/run-corpus build/fuzz

T ?= xl-config
S ?= 60
fuzz-run: fuzz
	@mkdir -p build/fuzz/corpus-$(T)
	build/fuzz/fuzz-$(T) -max_total_time=$(S) -max_len=4096 build/fuzz/corpus-$(T) fuzz/corpus/$(T)

bench: release
	@bench/run-all build/release

clean:
	rm -rf build
