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
# The page's full height, measured by the browser on a copy that writes it into the title
# (a fixed window cut reports longer than it).
probe=$(mktemp --suffix=.html)
trap 'rm -f "$probe"' EXIT
cp "$html" "$probe"
echo '<script>document.title = "height:" + document.documentElement.scrollHeight</script>' >> "$probe"
height=$("$browser" --headless --no-sandbox --disable-gpu --window-size=1200,800 --dump-dom \
  "file://$probe" 2>/dev/null | grep -o 'height:[0-9]*' | head -1 | cut -d: -f2 || true)
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --screenshot="$out" --window-size="1200,${height:-4000}" "file://$(realpath "$html")" 2>/dev/null
echo "$out (${height:-4000} px high)"
