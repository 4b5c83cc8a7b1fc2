#!/bin/bash
set -euo pipefail
cd "$(dirname "$0")"
python3 run_grid.py --seeds 50 --out results
