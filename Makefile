# ap-exporter. The two front-door commands (see README.md):
#   make run    serve this host's metrics on :9100 with the shipped config
#   make test   the whole test suite (installs what it needs when missing)
#
# Router builds (static musl, soft-float; see README "Install on your router"):
#   make cross TARGET=mipsel-unknown-linux-musl
#   make ipk ARCH=mipsel-3.4          Entware package in dist/
#   make packages                     every Entware package
#   make openwrt-ipk ARCH=mips_24kc   OpenWrt 24.10 (opkg) package in dist/openwrt/
#   make openwrt-apk ARCH=mips_24kc   OpenWrt 25.12 (apk) package in dist/openwrt/
#   make openwrt-packages             every OpenWrt package, both formats
#   make feeds                        signed feeds for opkg and apk in dist/feeds/
#   make sdk-makefile REV=v0.2.0      pin package/ap-exporter/Makefile (OpenWrt SDK) to a commit or tag
#   make size                         stripped size of every cross binary, and mipsel's bytes per crate and module

CARGO ?= cargo
CONFIG ?= files/ap-exporter.toml
# Reproducible packages: same source, same bytes.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
export SOURCE_DATE_EPOCH

ARCHES_TSV := package/arches.tsv
# $(call arches,FLAVOR): the package architectures of a flavor.
arches = $(shell awk -F'\t' '$$1=="$(1)" {print $$2}' $(ARCHES_TSV))
# $(call target_of,FLAVOR,ARCH): its Rust target.
target_of = $(shell awk -F'\t' '$$1=="$(1)" && $$2=="$(2)" {print $$3}' $(ARCHES_TSV))
TARGETS := $(shell awk -F'\t' '!/^\#/ && NF>2 {print $$3}' $(ARCHES_TSV) | sort -u)

.PHONY: run test lint unit-test cross-test package-test deps fuzz bench cross ipk openwrt-ipk openwrt-apk packages openwrt-packages feeds size sdk-makefile

run:
	$(CARGO) run --release -- --config $(CONFIG)

deps:
	bash scripts/install-deps.sh

test: deps lint unit-test cross-test package-test

# tests/old_kernel.rs runs the x86_64-musl build under a 2.6.22 seccomp filter;
# tests/hwsim.rs (the VM matrix) boots each arch's kernel with its Entware package.
# The suite runs as another machine would (scripts/as-stranger.sh: another host
# name and kernel release), so a golden holding this machine's fails here too.
unit-test: packages
	scripts/as-stranger.sh $(CARGO) test --locked

# The unit, property and nl80211 byte-order tests built for 32-bit
# big-endian MIPS and 32-bit ARMv7, run under qemu-user on FPU-less CPUs.
# A fifth of the host's property inputs: emulation is about 20 times slower.
# On MIPS the src test of the little-endian captures is skipped:
# tests/nl80211_byte_order.rs replays their big-endian swap there.
CROSS_TESTS := --lib --test parsers_property --test nl80211_byte_order
cross-test:
	AP_EXPORTER_FUZZ_ITERATIONS=4000 scripts/cross-build.sh --test mips-unknown-linux-musl $(CROSS_TESTS) \
	  -- --skip parse::nl80211::tests::decodes_replies_captured_from_linux_6_1_hwsim
	AP_EXPORTER_FUZZ_ITERATIONS=4000 scripts/cross-build.sh --test armv7-unknown-linux-musleabi $(CROSS_TESTS)

# Cross-builds every package and feed, then checks formats, runs each binary
# under qemu on an FPU-less CPU, plays opkg and apk on scratch roots, and
# runs install, upgrade and removal live in a namespace (see tests/packaging/).
package-test: feeds
	python3 tests/packaging/check_packages.py

cross:
	@test -n "$(TARGET)" || { echo "usage: make cross TARGET=<rust target>"; exit 2; }
	scripts/cross-build.sh $(TARGET)

ipk:
	@t="$(call target_of,entware,$(ARCH))"; \
	test -n "$$t" || { echo "usage: make ipk ARCH=<one of: $(call arches,entware)>"; exit 2; }; \
	bin=$$(scripts/cross-build.sh $$t) && python3 scripts/mkipk.py --flavor entware --arch $(ARCH) --binary $$bin --out dist

openwrt-ipk:
	@t="$(call target_of,openwrt,$(ARCH))"; \
	test -n "$$t" || { echo "usage: make openwrt-ipk ARCH=<one of: $(call arches,openwrt)>"; exit 2; }; \
	bin=$$(scripts/cross-build.sh $$t) && python3 scripts/mkipk.py --flavor openwrt --arch $(ARCH) --binary $$bin --out dist/openwrt

openwrt-apk:
	@t="$(call target_of,openwrt,$(ARCH))"; \
	test -n "$$t" || { echo "usage: make openwrt-apk ARCH=<one of: $(call arches,openwrt)>"; exit 2; }; \
	bin=$$(scripts/cross-build.sh $$t) && python3 scripts/mkapk.py --arch $(ARCH) --binary $$bin --out dist/openwrt

packages:
	@for a in $(call arches,entware); do $(MAKE) --no-print-directory ipk ARCH=$$a || exit 1; done

openwrt-packages:
	@for a in $(call arches,openwrt); do $(MAKE) --no-print-directory openwrt-ipk openwrt-apk ARCH=$$a || exit 1; done

# Keys: AP_EXPORTER_USIGN_KEY and AP_EXPORTER_APK_KEY name the secret keys;
# without them scripts/mkfeed.py makes throwaway ones and says so.
feeds: packages openwrt-packages
	python3 scripts/mkfeed.py

# The OpenWrt SDK / packages-feed Makefile pinned to REV (default HEAD), with
# the PKG_MIRROR_HASH of the tarball the SDK makes of it (docs/openwrt.md).
sdk-makefile:
	python3 scripts/mk-sdk-makefile.py --rev $(or $(REV),HEAD)

# Stripped size of every cross binary, then where mipsel's bytes go: per section, dependency crate, module and
# collector (scripts/size-report.py; SIZE_TOP=N also lists the N largest symbols).
SIZE_TOP ?= 0
size:
	@for t in $(TARGETS); do b=$$(scripts/cross-build.sh $$t) && printf '%-32s %7d KiB\n' $$t $$(( $$(stat -c %s $$b) / 1024 )); done
	python3 scripts/size-report.py --top $(SIZE_TOP)

# Formatting and lints gate the tests: rustfmt.toml and Cargo.toml's [lints].
lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets --locked -- -D warnings

# Speed, memory and size figures against node_exporter (see docs/benchmark.md); prints a
# markdown table. Not part of `make test`: timings are not assertions.
bench: deps
	python3 scripts/bench.py

# A longer property-test campaign than CI's (the same tests, more iterations).
fuzz:
	AP_EXPORTER_FUZZ_ITERATIONS=2000000 $(CARGO) test --release --test parsers_property
