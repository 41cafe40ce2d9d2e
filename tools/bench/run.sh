#!/usr/bin/env bash
# make bench: builds bootsrv, trapctl and profsrv, then runs the benchmarks
# (tools/bench) inside a network namespace. Needs root and the Debian
# packages kea-admin (perfdhcp), kea-dhcp4-server, nginx, wrk, and for
# tools/bootbench QEMU (make lab-deps) and dracut-core.
# Extra arguments go to the bench program, e.g. -suites dhcp -profile out/prof.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p bin
CGO_ENABLED=0 go build -trimpath -o bin/ ./cmd/bootsrv ./cmd/trapctl ./tools/bench/profsrv
CGO_ENABLED=0 go build -trimpath -o bin/dtbench ./tools/bench
CGO_ENABLED=0 go build -trimpath -o bin/dtbootbench ./tools/bootbench
status=0
bin/dtbench -bootsrv bin/bootsrv -trapctl bin/trapctl -profsrv bin/profsrv "$@" || status=$?
# Boot time (bare vs trap) and initramfs vs dracut: tools/bootbench runs its
# own QEMU lab, outside dtbench's namespace. DT_BENCH_BOOT=0 skips it;
# DT_BENCH_BOOT_ARGS are its flags (e.g. "-suites boot -runs 5").
if [[ "${DT_BENCH_BOOT:-1}" != 0 ]]; then
  # shellcheck disable=SC2086
  bin/dtbootbench ${DT_BENCH_BOOT_ARGS:-} || status=$?
fi
exit "$status"
