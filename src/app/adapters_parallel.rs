//! `netdx run --adapter all` (or `--adapter 0,2`): a suite's checks spread over every adapter of
//! one machine, one device and one thread per adapter. Adapter j of M runs shard j/M of the
//! suite (the same hash partition as `--shard`), and the pieces are merged as `netdx merge`
//! merges shards, so the report is the one a single adapter gives when they compute alike.

use crate::checks::Observation;
use crate::cli::DeviceArgs;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::gpu::{AdapterChoice, Gpu};
use crate::suite::shard::{self, Shard, ShardReport};
use crate::suite::{RunOptions, SuiteEvents, SuiteReport};

/// The adapters `--adapter` names: several for `all` or a comma-separated list, else one.
pub fn choices(device: &DeviceArgs) -> Result<Vec<AdapterChoice>> {
    let base = device.choice();
    let Some(spec) = device.adapter.as_deref() else {
        return Ok(vec![base]);
    };
    let one = |sel: &str| AdapterChoice {
        backend: base.backend,
        adapter: Some(sel.trim().to_string()),
    };
    if spec.trim() == "all" {
        let (_, adapters) = base.enumerate();
        if adapters.is_empty() {
            return Err(base.no_adapter());
        }
        return Ok((0..adapters.len()).map(|i| one(&i.to_string())).collect());
    }
    if spec.contains(',') {
        return Ok(spec.split(',').map(one).collect());
    }
    Ok(vec![base])
}

/// Opens every chosen adapter, failing on the first that cannot be opened — except for
/// `--adapter all`, which means every adapter that works: one that is listed but opens no
/// device (wgpu's GL backend on NVIDIA's Linux driver) is left out with a warning on stderr,
/// as long as another one opens.
pub fn open(device: &DeviceArgs, choices: &[AdapterChoice]) -> Result<Vec<Gpu>> {
    let all = device.adapter.as_deref().is_some_and(|a| a.trim() == "all");
    if !all {
        return choices.iter().map(Gpu::open).collect();
    }
    let mut gpus = Vec::new();
    let mut first_error = None;
    for choice in choices {
        match Gpu::open(choice) {
            Ok(gpu) => gpus.push(gpu),
            Err(e @ Error::RequestDevice { .. }) => {
                eprintln!("warning: --adapter all leaves out an adapter: {e}");
                first_error.get_or_insert(e);
            }
            // A usage error (NETDX_MATMUL naming a kernel the adapter cannot run) is the
            // user's to fix, not an adapter to leave out.
            Err(e) => return Err(e),
        }
    }
    match (gpus.is_empty(), first_error) {
        (true, Some(e)) => Err(e),
        _ => Ok(gpus),
    }
}

/// Each variant's observation run, by case name.
type Observed = Vec<(String, Observation)>;

/// Keeps each variant's observation for the caller to replay in order.
#[derive(Default)]
struct Collect {
    observed: Observed,
}

impl SuiteEvents for Collect {
    fn observed(&mut self, case: &str, observation: &Observation) {
        self.observed.push((case.to_string(), observation.clone()));
    }
}

/// Runs the suite over `gpus` in parallel and merges the pieces; `events` hears each
/// variant's observation once, in variant order (from the first adapter that made it).
pub fn run(
    gpus: &[Gpu],
    variants: &[(String, Config)],
    file: &str,
    options: &RunOptions,
    suite_text: &str,
    events: &mut dyn SuiteEvents,
) -> Result<SuiteReport> {
    if gpus.len() == 1 {
        return crate::suite::run_variants(&gpus[0], variants, file, options, events);
    }
    let count = gpus.len();
    let results: Vec<(Result<SuiteReport>, Observed)> = std::thread::scope(|scope| {
        let handles: Vec<_> = gpus
            .iter()
            .enumerate()
            .map(|(j, gpu)| {
                let options = RunOptions {
                    shard: Some(Shard {
                        index: j + 1,
                        count,
                    }),
                    ..options.clone()
                };
                scope.spawn(move || {
                    let mut collect = Collect::default();
                    let report =
                        crate::suite::run_variants(gpu, variants, file, &options, &mut collect);
                    (report, collect.observed)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    (
                        Err(Error::Usage("an adapter's thread panicked".into())),
                        Vec::new(),
                    )
                })
            })
            .collect()
    });
    let mut reports = Vec::with_capacity(count);
    let mut observed: Observed = Vec::new();
    let mut interrupted = false;
    for ((report, obs), gpu) in results.into_iter().zip(gpus) {
        let report = report?;
        interrupted |= report.interrupted;
        reports.push(ShardReport {
            source: gpu.describe(),
            suite_text: suite_text.to_string(),
            seed: report.seed,
            overrides: String::new(),
            report,
        });
        observed.extend(obs);
    }
    for (name, _) in variants {
        if let Some((case, obs)) = observed.iter().find(|(c, _)| c == name) {
            events.observed(case, obs);
        }
    }
    if interrupted {
        // What completed, unmerged: a merge refuses interrupted pieces.
        let mut all = reports.into_iter().map(|s| s.report);
        let mut first = all.next().expect("at least two adapters");
        for r in all {
            first.findings.extend(r.findings);
        }
        first.counts = Default::default();
        for f in &first.findings {
            first.counts.count(f.verdict);
        }
        first.interrupted = true;
        first.shard = None;
        return Ok(first);
    }
    shard::merge(reports)
}
