"""Reads a netdx TensorBoard folder with TensorBoard's own reader (the `tensorboard` package):
one run per case, its scalar tags, and the HParams plugin's sessions with their
hyperparameters. Not part of CI (it needs the package); the tests read the same files with an
independent reader (tests/runs.rs).

    cargo run --release -- run SWEEP.yaml --tensorboard tb
    python3 scripts/tensorboard_check.py tb/<run id>
"""
import glob
import os
import sys

from tensorboard.backend.event_processing import event_accumulator
from tensorboard.plugins.hparams import plugin_data_pb2

root = sys.argv[1]
runs = sorted({os.path.dirname(p) for p in glob.glob(os.path.join(root, "**", "events.out.tfevents.*"), recursive=True)})
for run in runs:
    ea = event_accumulator.EventAccumulator(run, size_guidance={"scalars": 0})
    ea.Reload()
    scalars = ea.Tags()["scalars"]
    print(f"{os.path.relpath(run, root) or '.'}: {len(scalars)} scalar tags ({', '.join(scalars[:4])}, ...)")
    try:
        sessions = ea.PluginTagToContent("hparams")
    except KeyError:
        sessions = {}
    for tag, content in sessions.items():
        data = plugin_data_pb2.HParamsPluginData.FromString(content)
        if data.WhichOneof("data") == "session_start_info":
            values = {
                k: getattr(v, v.WhichOneof("kind"))
                for k, v in data.session_start_info.hparams.items()
            }
            shown = {k: values[k] for k in sorted(values) if k.startswith("training.optimizer") or k == "seed"}
            print(f"  {tag}: {len(values)} hyperparameters, {shown}")
        else:
            print(f"  {tag}: status {data.session_end_info.status}")
