#!/bin/bash
set -e
cd "$(dirname "$0")"
python3 spirals_opt.py results
