#!/usr/bin/env bash
set -eu
cd "$(dirname "$0")"
mkdir -p results
python3 -B run_all.py results
