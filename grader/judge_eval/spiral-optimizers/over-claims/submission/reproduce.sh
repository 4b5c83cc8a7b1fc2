#!/usr/bin/env bash
cd "$(dirname "$0")"
python3 -B study.py results
