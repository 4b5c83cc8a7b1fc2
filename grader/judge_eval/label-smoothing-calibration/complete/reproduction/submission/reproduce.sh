#!/usr/bin/env bash
# Runs the whole study (about half a minute on one core) and writes results/.
set -euo pipefail
cd "$(dirname "$0")"
rm -rf results
python3 run_study.py results
ls -l results
