#!/usr/bin/env bash
# The README's test command: set everything up, then lint, type-check and run every test.
#
# Setup is sandbox/host-setup.sh (Python environment, Docker engine from Debian's packages,
# base image built offline). A dockerd that this run started is stopped when it ends, so no
# process outlives the run holding its output.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
mkdir -p .paperbench
export PAPERBENCH_DOCKERD_PIDFILE="$repo/.paperbench/dockerd.test.pid"
rm -f "$PAPERBENCH_DOCKERD_PIDFILE"

stop_dockerd() {
  if [ -f "$PAPERBENCH_DOCKERD_PIDFILE" ]; then
    pid=$(cat "$PAPERBENCH_DOCKERD_PIDFILE")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$PAPERBENCH_DOCKERD_PIDFILE"
  fi
}
trap stop_dockerd EXIT

bash sandbox/host-setup.sh

# The rubric editor is tested in a real headless Chromium driven by Selenium: Debian's
# chromium and chromium-driver (no browser download).
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  echo "[tests] installing Debian's chromium and chromium-driver"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      chromium chromium-driver; } >.paperbench/apt-chromium.log 2>&1 \
    || { echo "[tests] chromium install failed; see .paperbench/apt-chromium.log" >&2; exit 1; }
fi

# The Ray executor's tests run a cluster in a loopback-only network namespace: unshare and
# nsenter (util-linux), ip (iproute2).
if ! command -v ip >/dev/null 2>&1 || ! command -v nsenter >/dev/null 2>&1; then
  echo "[tests] installing Debian's iproute2 and util-linux"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      iproute2 util-linux; } >.paperbench/apt-netns.log 2>&1 \
    || { echo "[tests] iproute2 install failed; see .paperbench/apt-netns.log" >&2; exit 1; }
fi

echo "[tests] ruff"
.venv/bin/ruff check paperbench tests benchmarks
echo "[tests] mypy --strict paperbench"
.venv/bin/mypy
echo "[tests] pytest"
status=0
.venv/bin/pytest "$@" || status=$?
if [ "$status" = 5 ]; then
  echo "[tests] pytest collected no tests: that is a failure here" >&2
  status=1
fi
exit "$status"
