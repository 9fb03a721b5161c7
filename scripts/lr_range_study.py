"""The lr_range calibration study (see src/checks/lr_range.rs): for each dataset, batch,
optimizer, seed and rate, train 500 steps at the rate and run lr_range, with one netdx binary or
two (to compare a change), then sort lr_range's verdicts against how the runs ended: bad (final
loss above 0.7 x the chance loss, or not finite) or fitted (below 0.1).

    python3 scripts/lr_range_study.py OUT.jsonl 1,4 new=target/release/netdx [old=/path/netdx]
    python3 scripts/lr_range_study.py --summary OUT.jsonl

Run from the repository root (the configs read tests/corpus/data/); WGPU_BACKEND picks the
adapter (default vulkan). 270 runs at batches 1 and 4 take about 15 minutes on lavapipe.
"""
import json, math, subprocess, sys, os, itertools

os.environ.setdefault("WGPU_BACKEND", "vulkan")
D = os.path.join("tests", "corpus", "study_tmp")
data = {
 "spiral": ("{builtin: spiral, classes: 3, points_per_class: 100, noise: 0.2}", 300, 3),
 "wine": ("{csv: {path: ../data/wine.csv, label: cultivar}, normalize: standardize}", 178, 3),
 "blobs": ("{builtin: blobs, classes: 3, points_per_class: 100, dims: 5}", 300, 3),
}
opts = {"sgd": "name: sgd", "momentum": "name: sgd, momentum: 0.9", "adam": "name: adam"}
rates = [0.0316, 0.1, 0.316, 1.0, 3.16]

def finding(stdout):
    def walk(o):
        if isinstance(o, dict):
            if o.get("check") == "lr_range": yield o
            for v in o.values(): yield from walk(v)
        elif isinstance(o, list):
            for v in o: yield from walk(v)
    try:
        f = next(walk(json.loads(stdout)))
        return f["verdict"], f.get("measured")
    except Exception:
        return "error", None

def summary(path):
    rows = [json.loads(l) for l in open(path)]
    def isbad(r):
        l = r["loss"]
        return l is None or l != l or math.isinf(l) or l > 0.7 * math.log(3)
    bad = [r for r in rows if isbad(r)]
    fit = [r for r in rows if not isbad(r) and r["loss"] < 0.1]
    print(f"{len(rows)} runs; {len(bad)} bad; {len(fit)} fitted")
    for tag in [k for k in rows[0] if k not in ("data", "batch", "opt", "seed", "lr", "loss")]:
        passed = [r for r in bad if r[tag][0] in ("pass", "info")]
        flagged = [r for r in fit if r[tag][0] in ("warn", "fail")]
        print(f"{tag}: bad runs passed {len(passed)}, fitted runs flagged {len(flagged)}")
        for r in passed + flagged:
            print("   ", "passed bad" if r in passed else "flagged fit", r["data"], r["batch"], r["opt"], r["seed"], r["lr"], r["loss"], r[tag])

if sys.argv[1] == "--summary":
    summary(sys.argv[2])
    sys.exit(0)
BINS = [arg.split("=", 1) for arg in sys.argv[3:]]
os.makedirs(D, exist_ok=True)
out = open(sys.argv[1], "w")
for (dn, (dy, n, k)), batch, (on, oy), seed, lr in itertools.product(data.items(), sys.argv[2].split(","), opts.items(), range(3), rates):
    b = n if batch == "all" else int(batch)
    cfg = f"""seed: {seed}
data: {dy}
model:
  layers:
    - {{linear: {{out: 64, init: kaiming_normal}}}}
    - relu
    - {{linear: {{out: 64, init: kaiming_normal}}}}
    - relu
    - {{linear: {{out: {k}, init: {{normal: {{std: 0.01}}}}}}}}
loss: softmax_cross_entropy
training:
  optimizer: {{{oy}, lr: {lr}}}
  batch_size: {b}
  steps: 500
"""
    p = os.path.join(D, "c.yaml")
    open(p, "w").write(cfg)
    t = subprocess.run([BINS[0][1], "train", p, "--json", "--every", "0", "--no-record"], capture_output=True, text=True)
    try:
        loss = json.loads(t.stdout.strip().splitlines()[-1])["loss"]
    except Exception:
        loss = float("nan")
    row = dict(data=dn, batch=batch, opt=on, seed=seed, lr=lr, loss=loss)
    for tag, binary in BINS:
        r = subprocess.run([binary, "run", p, "--only", "lr_range", "--format", "json", "--no-record"], capture_output=True, text=True)
        row[tag] = finding(r.stdout)
    out.write(json.dumps(row) + "\n"); out.flush()
out.close()
summary(sys.argv[1])
