#!/usr/bin/env bash
# make bench: builds bootsrv, trapctl and profsrv, then runs the benchmarks
# (tools/bench) inside a network namespace. Needs root and the Debian
# packages kea-admin (perfdhcp), kea-dhcp4-server, nginx, wrk.
# Extra arguments go to the bench program, e.g. -suites dhcp -profile out/prof.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p bin
CGO_ENABLED=0 go build -trimpath -o bin/ ./cmd/bootsrv ./cmd/trapctl ./tools/bench/profsrv
CGO_ENABLED=0 go build -trimpath -o bin/dtbench ./tools/bench
exec bin/dtbench -bootsrv bin/bootsrv -trapctl bin/trapctl -profsrv bin/profsrv "$@"
