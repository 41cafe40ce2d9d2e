# DisklessTrap. `make demo` and `make test` set up everything they need
# (Debian packages, the guest kernel, Go modules) on a fresh machine, as root.
SHELL := /bin/bash
GO ?= go
CACHE ?= $(CURDIR)/.cache
export CGO_ENABLED := 0
export GOFLAGS := -buildvcs=false
export DT_CACHE := $(CACHE)

CMDS := bootsrv trapctl trap lab

.PHONY: all build test unit lab-test demo lab-deps bench fuzz vet clean deb

all: build

build:
	@mkdir -p bin
	$(GO) build -trimpath -ldflags='-s -w' -o bin/ $(addprefix ./cmd/,$(CMDS))
	@ls -l bin/trap | awk '{print "agent binary (bin/trap):", $$5, "bytes"}'

# The Debian package for a head node: out/disklesstrap_VERSION_amd64.deb
# (packaging/debian; README "Install on a head node").
deb:
	packaging/debian/build.sh out

# Debian packages for the lab, the guest kernel and grub for the installable
# disk OS (cached in .cache/, git-ignored).
lab-deps:
	tools/lab-deps.sh
	tools/kernel/fetch.sh $(CACHE)/kernel
	tools/grub/fetch.sh $(CACHE)/grub

vet:
	$(GO) vet ./...

# Unit tests, then the lab (QEMU) tests. DT_LAB_REQUIRED=1 turns a missing
# lab prerequisite into a failure instead of a skip.
test: lab-deps build deb
	$(GO) vet ./...
	DT_LAB_REQUIRED=1 DT_DEB=$$(ls -t $(CURDIR)/out/disklesstrap_*_amd64.deb | head -1) $(GO) test -count=1 -timeout 50m ./...
	$(GO) test -run '^$$' -fuzz '^FuzzHandle$$' -fuzztime 15s ./bootsrv/dhcpd

# Unit tests only: lab tests (internal/labreq) skip under -short, so this
# boots no QEMU and starts no lab servers, even as root.
unit:
	$(GO) test -count=1 -short -timeout 15m ./...

# A built-in example cluster: two nodes PXE-boot into the trap; prints the
# ssh commands and runs until interrupted.
demo: lab-deps build
	bin/lab demo

# Benchmarks, each side by side with its baseline in one run, reported as
# ratios: bootsrv vs Kea (DHCP) and nginx (HTTP), mode switches, the boot
# storm with SIGKILLs; BitTorrent swarm vs HTTP; then the micro-benchmarks.
bench: lab-deps build
	tools/lab-deps.sh --bench
	tools/bench/run.sh
	$(GO) test -run '^$$' -bench . -benchtime 1x ./tools/torrentbench/
	$(GO) test -run '^$$' -bench . -benchmem ./noderange/ ./bootsrv/...

# Short fuzzing of every parser (FUZZTIME per target).
FUZZTIME ?= 20s
fuzz:
	tools/fuzz-all.sh $(FUZZTIME)

clean:
	rm -rf bin out
