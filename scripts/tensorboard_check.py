"""Reads a netdx TensorBoard folder with TensorBoard's own code (the `tensorboard` package): one
run per case with its scalar tags (the event reader), then what the HParams dashboard's requests
return (the plugin's handlers over TensorBoard's data provider): the experiment's hyperparameter
and metric columns, and each session group with its hyperparameters and final metrics. Not part
of CI (it needs the package); the tests read the same files with an independent reader
(tests/runs.rs).

    cargo run --release -- run SWEEP.yaml --tensorboard tb
    python3 scripts/tensorboard_check.py tb/<run id>
"""
import glob
import os
import sys

from tensorboard import context
from tensorboard.backend.event_processing import data_provider, event_accumulator
from tensorboard.backend.event_processing import plugin_event_multiplexer
from tensorboard.plugins import base_plugin
from tensorboard.plugins.hparams import api_pb2, backend_context
from tensorboard.plugins.hparams import get_experiment, list_session_groups

root = sys.argv[1]
runs = sorted({os.path.dirname(p) for p in glob.glob(os.path.join(root, "**", "events.out.tfevents.*"), recursive=True)})
if not runs:
    sys.exit(f"no event files under {root}")
for run in runs:
    ea = event_accumulator.EventAccumulator(run, size_guidance={"scalars": 0})
    ea.Reload()
    scalars = ea.Tags()["scalars"]
    try:
        hparams = sorted(ea.PluginTagToContent("hparams"))
    except KeyError:
        hparams = []
    shown = f" ({', '.join(scalars[:4])}, ...)" if scalars else ""
    print(f"{os.path.relpath(run, root)}: {len(scalars)} scalar tags{shown}; hparams tags {hparams}")

multiplexer = plugin_event_multiplexer.EventMultiplexer()
multiplexer.AddRunsFromDirectory(root)
multiplexer.Reload()
provider = data_provider.MultiplexerDataProvider(multiplexer, root)
hparams_context = backend_context.Context(base_plugin.TBContext(logdir=root, data_provider=provider, multiplexer=multiplexer))
ctx = context.RequestContext()

request = api_pb2.GetExperimentRequest(include_metrics=True)
experiment = get_experiment.Handler(ctx, hparams_context, "", request).run()
types = {v: k for k, v in api_pb2.DataType.items()}
print(f"experiment: {len(experiment.hparam_infos)} hyperparameters")
for h in experiment.hparam_infos:
    domain = h.WhichOneof("domain")
    if domain == "domain_interval":
        shown = f"[{h.domain_interval.min_value:g}, {h.domain_interval.max_value:g}]"
    elif domain == "domain_discrete":
        shown = "{" + ", ".join(str(v.WhichOneof("kind") and getattr(v, v.WhichOneof("kind"))) for v in h.domain_discrete.values) + "}"
    else:
        shown = "(no domain)"
    print(f"  {h.name}: {types[h.type]} {shown}{' differs' if h.differs else ''}")
print("metrics: " + ", ".join(f"{m.name.group or '.'}/{m.name.tag}" for m in experiment.metric_infos))

request = api_pb2.ListSessionGroupsRequest(
    col_params=[api_pb2.ColParams(hparam=h.name) for h in experiment.hparam_infos]
    + [api_pb2.ColParams(metric=m.name) for m in experiment.metric_infos],
    # What the dashboard asks for: sessions of every status.
    allowed_statuses=list(api_pb2.Status.values()),
    start_index=0,
    slice_size=100,
    include_metrics=True,
)
groups = list_session_groups.Handler(ctx, hparams_context, "", request).run()
print(f"session groups: {groups.total_size}")
for g in groups.session_groups:
    values = {k: getattr(v, v.WhichOneof("kind")) for k, v in g.hparams.items()}
    shown = {k: values[k] for k in sorted(values) if k.startswith("training.optimizer") or k == "seed"}
    metrics = {m.name.tag: round(m.value, 4) for m in g.metric_values}
    status = api_pb2.Status.Name(g.sessions[0].status) if g.sessions else "?"
    print(f"  {g.name}: {status}, {len(values)} hyperparameters {shown}, metrics {metrics}")
