#!/usr/bin/env bash
# The GPU check (scripts/gpu_check.py): recipe samples/s, data pipeline, concurrent runs, snnbench speed.
# Fits in 10 minutes on one GPU; --cpu-smoke runs every step at toy size on the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python scripts/gpu_check.py "$@"
