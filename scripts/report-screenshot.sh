#!/usr/bin/env bash
# Renders a recorded run's HTML report to a PNG with headless Chromium, to look at it or to
# attach it to a CI job: scripts/report-screenshot.sh RUN_ID [OUT.png] [RUNS_DIR]
set -euo pipefail
id=${1:?usage: scripts/report-screenshot.sh RUN_ID [OUT.png] [RUNS_DIR]}
out=${2:-report.png}
runs=${3:-${NETDX_RUNS_DIR:-runs}}
html=$(cargo run --release --quiet -- report "$id" --runs-dir "$runs")
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
  echo "no chromium on PATH (Debian: apt-get install chromium)" >&2
  exit 2
fi
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --screenshot="$out" --window-size=1200,4000 "file://$(realpath "$html")" 2>/dev/null
echo "$out"
