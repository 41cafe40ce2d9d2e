#!/bin/sh
# postscript (on the node, at boot, in name order; rerun by
# `trapctl postscripts RANGE --rerun`): idempotent.
set -eu
mkdir -p /run/dt
echo "compute ready on $(hostname) ($NODE)" | tee /run/dt/compute-ready
