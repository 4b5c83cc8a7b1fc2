#!/usr/bin/env bash
# Regenerates everything in results/ from scratch (numpy only, ~30 s on 2 cores).
set -euo pipefail
cd "$(dirname "$0")"
export PYTHONDONTWRITEBYTECODE=1   # keep the submission folder free of __pycache__
python3 --version
python3 -c "import numpy; print('numpy', numpy.__version__)"
python3 check_grad.py
python3 sweep.py results
