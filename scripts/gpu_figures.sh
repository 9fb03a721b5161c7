#!/bin/bash
# Every figure of issue 21 on a lent GPU in one device call (the device tool's `run`): netdx's
# bench, burn's (benches/peers) and PyTorch's (torch_reference.py, CUDA, TF32 off) on the same
# machine, back to back, twice, each JSON into $OUT. The device machine has no Rust toolchain
# and no network, so this machine builds what it runs and the call carries it:
#
#   cargo build --release && (cd benches/peers && cargo build --release)
#   mkdir -p .gpu && cp target/release/netdx .gpu/
#   strip -o /tmp/np benches/peers/target/release/netdx-peers && xz -c /tmp/np > .gpu/netdx-peers.xz
#   (the peers binary is 82 MB stripped, 15 MB as .xz: the call carries 64 MiB in all)
#   # the Vulkan loader and EGL, as the device tool's README says (into .gl/)
#   run: command "bash scripts/gpu_figures.sh", carry [".gpu", ".gl"], timeout_s 540
#
# .gpu/ and .gl/ belong in .git/info/exclude. Not yet run: no GPU was lent since it was written.
set -u
out="${OUT:-/tmp/gpu-figures}"
mkdir -p "$out"
for f in .gl/*.deb; do [ -e "$f" ] && dpkg -x "$f" /; done
ldconfig
xz -dc .gpu/netdx-peers.xz > /tmp/netdx-peers && chmod +x /tmp/netdx-peers
export WGPU_BACKEND=vulkan
# The device tool returns at most 8 files: one log, and one JSON per round holding all three.
log="$out/log.txt"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv >> "$log" 2>&1
git rev-parse HEAD >> "$log" 2>&1
tmp=$(mktemp -d)
for round in 1 2; do
    timeout 150 .gpu/netdx bench --json > "$tmp/netdx.json" 2>> "$log"
    timeout 60 /tmp/netdx-peers --json > "$tmp/burn.json" 2>> "$log"
    timeout 60 python3 benches/peers/torch_reference.py > "$tmp/torch.json" 2>> "$log"
    python3 - "$tmp" > "$out/round-$round.json" <<'PY'
import json, sys
def load(name):
    try:
        return json.load(open(f"{sys.argv[1]}/{name}.json"))
    except (OSError, ValueError) as e:
        return {"error": str(e)}
print(json.dumps({k: load(k) for k in ("netdx", "burn", "torch")}))
PY
done
ls -l "$out"
