//! `cargo bench`: the same measurements as `netdx bench`, on the adapter chosen by the usual
//! environment variables (`WGPU_BACKEND`, `WGPU_ADAPTER_NAME`). `NETDX_BENCH_QUICK=1` for the
//! short version.

fn main() {
    let quick = std::env::var("NETDX_BENCH_QUICK").is_ok_and(|v| v == "1");
    let gpu = match netdx::gpu::Gpu::open(&netdx::gpu::AdapterChoice::default()) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    match netdx::bench::run(&gpu, quick, &[], &mut |line| eprintln!("{line}")) {
        Ok(report) => println!("{}", report.to_text()),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
