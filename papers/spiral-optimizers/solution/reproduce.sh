#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p results
python3 spirals.py results
echo "Wrote results/results.json and results/table.md"
