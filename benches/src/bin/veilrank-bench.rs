//! `veilrank-bench`: whole-system latency studies over real HTTP.
//!
//! ```text
//! veilrank-bench latency [--server URL] --items M --dim D --concurrency C --queries Q [--json PATH]
//! veilrank-bench latency --preset apple-pnns
//! veilrank-bench sweep --items 10000,100000,1000000 --dim 32,64,128 --concurrency 1,8 --out DIR
//! veilrank-bench capacity --items 1000000 --dim 64 --concurrency 8 --queries 48 [--json PATH]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use veilrank_bench::baselines::NaiveTfhe;
use veilrank_bench::capacity::{self, Capacity};
use veilrank_bench::fidelity;
use veilrank_bench::matrix::{Matrix, Pca};
use veilrank_bench::output;
use veilrank_bench::plots;
use veilrank_bench::study::{self, Outcome, Study};
use veilrank_engine::Kernel;

/// The allocator `veilrank-server` runs with, so that the in-process server measures as the
/// deployed one does; the `system-allocator` feature measures without it.
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "veilrank-bench", version, about = "veilrank latency studies")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// One study: C concurrent clients run Q queries over real HTTP.
    Latency(LatencyArgs),
    /// Every combination of sizes, dimensions and concurrencies, with CSV, JSON and plots.
    Sweep(SweepArgs),
    /// Server throughput with clients that replay pre-encrypted queries: one query at a time
    /// against micro-batching, side by side.
    Capacity(CapacityArgs),
    /// Ranking fidelity: how often quantized rankings equal float32's, per precision and scale
    /// scheme, on your own embeddings (plaintext; the encrypted scores equal the quantized).
    Fidelity(FidelityArgs),
}

/// Named shapes from the literature.
#[derive(Clone, Copy, ValueEnum)]
enum Preset {
    /// Apple's Private Nearest Neighbor Search example: 4,096 items x 128 dims.
    ApplePnns,
}

#[derive(Args)]
struct Common {
    /// Measured queries per study.
    #[arg(long, default_value_t = 20)]
    queries: usize,
    /// Unmeasured queries first.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Items ranked per query.
    #[arg(long, default_value_t = 100)]
    top: usize,
    /// The in-process server's batch limit (1: one query at a time).
    #[arg(long, default_value_t = 16)]
    max_batch: usize,
    /// Skip the tfhe integer-API baseline (it takes tens of seconds).
    #[arg(long)]
    no_naive: bool,
    /// The in-process server's scoring kernel (ifma, avx2, neon, portable) instead of the
    /// fastest this CPU runs: kernels side by side on one machine.
    #[arg(long)]
    kernel: Option<Kernel>,
    /// The in-process server's modulus (ifma50, crt54, wide62) instead of the kernel's fastest
    /// that the noise allows: moduli side by side on one kernel.
    #[arg(long)]
    modulus: Option<veilrank_core::ntt::ServerPrime>,
    /// The in-process catalog's precision, catalog/query bits (the server's default when absent).
    #[arg(long, default_value_t = veilrank_core::Precision::RECOMMENDED)]
    precision: veilrank_core::Precision,
}

#[derive(Args)]
struct LatencyArgs {
    /// A running server; without it one starts in-process with a synthetic catalog.
    #[arg(long)]
    server: Option<String>,
    /// Catalog items.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=268_435_456))]
    items: u64,
    /// Dimension.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=1024))]
    dim: u64,
    /// A named shape instead of --items and --dim.
    #[arg(long, value_enum)]
    preset: Option<Preset>,
    /// Concurrent clients.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1024))]
    concurrency: u64,
    /// Write the outcome as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct SweepArgs {
    /// Catalog sizes, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
    items: Vec<usize>,
    /// Dimensions, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "32,64,128")]
    dim: Vec<usize>,
    /// Concurrencies, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,8")]
    concurrency: Vec<usize>,
    /// Directory for results.csv, results.json, results.md and the plots.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct CapacityArgs {
    /// Catalog items.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=268_435_456))]
    items: u64,
    /// Dimension.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=1024))]
    dim: u64,
    /// Concurrent clients, each its own user.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=1024))]
    concurrency: u64,
    /// Measured queries per run.
    #[arg(long, default_value_t = 48, value_parser = clap::value_parser!(u64).range(1..))]
    queries: u64,
    /// The batched run's batch limit.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(2..=1024))]
    max_batch: u64,
    /// Write both outcomes as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// The scoring kernel (ifma, avx2, neon, portable) instead of the fastest this CPU runs.
    #[arg(long)]
    kernel: Option<Kernel>,
    /// The modulus (ifma50, crt54, wide62) instead of the kernel's fastest the noise allows.
    #[arg(long)]
    modulus: Option<veilrank_core::ntt::ServerPrime>,
    /// The catalog's precision, catalog/query bits (the server's default when absent).
    #[arg(long, default_value_t = veilrank_core::Precision::RECOMMENDED)]
    precision: veilrank_core::Precision,
}

#[derive(Args)]
struct FidelityArgs {
    /// The items: a `.npy` matrix (float16 or float32, one row per item) or a catalog file.
    #[arg(long)]
    catalog: std::path::PathBuf,
    /// Users or queries, one vector per row: `.npy` or a catalog-format file.
    #[arg(long)]
    users: std::path::PathBuf,
    /// Users measured, spread evenly over the file.
    #[arg(long, default_value_t = 500)]
    sample: usize,
    /// Precisions: catalog bits, or CATALOG/QUERY bits.
    #[arg(long, value_delimiter = ',', default_value = "8,10,12,14,16")]
    bits: Vec<String>,
    /// Scale schemes.
    #[arg(long, value_delimiter = ',', default_value = "global,per-dimension")]
    scales: Vec<fidelity::Scales>,
    /// Also reduce to these dimensions, by PCA fitted on the items.
    #[arg(long, value_delimiter = ',')]
    pca: Vec<usize>,
    /// Write the rows as JSON here.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// Plot fidelity against response bytes per item into this SVG file.
    #[arg(long)]
    plot: Option<std::path::PathBuf>,
    /// Also time the server's scoring of one encrypted query at each precision veilrank carries
    /// (this many runs, median; the scores are checked against the plaintext ones).
    #[arg(long)]
    server_time: Option<usize>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Latency(args) => latency(args).await,
            Command::Sweep(args) => sweep(args).await,
            Command::Capacity(args) => capacity(args).await,
            Command::Fidelity(args) => fidelity_study(args),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "naive-baseline")]
fn naive(skip: bool) -> Option<NaiveTfhe> {
    if skip {
        return None;
    }
    eprintln!(
        "measuring tfhe's high-level integer API on 1 item x 2 features (keys take a while)..."
    );
    Some(tokio::task::block_in_place(|| {
        veilrank_bench::baselines::naive_tfhe(1, 2)
    }))
}

#[cfg(not(feature = "naive-baseline"))]
fn naive(skip: bool) -> Option<NaiveTfhe> {
    if !skip {
        eprintln!(
            "note: no tfhe integer-API baseline in this study: build with \
             `--features naive-baseline` to measure it (a second build of tfhe)"
        );
    }
    None
}

fn study_of(common: &Common, server: Option<String>, items: usize, dim: usize, c: usize) -> Study {
    Study {
        server,
        items,
        dim,
        concurrency: c,
        queries: common.queries.max(1),
        warmup: common.warmup,
        max_batch: common.max_batch.max(1),
        top: common.top.max(1),
        progress: true,
        kernel: common.kernel,
        modulus: common.modulus,
        precision: common.precision,
    }
}

async fn latency(args: LatencyArgs) -> Result<(), String> {
    let (items, dim) = match args.preset {
        Some(Preset::ApplePnns) => (4096, 128),
        None => (args.items as usize, args.dim as usize),
    };
    let study = study_of(
        &args.common,
        args.server.clone(),
        items,
        dim,
        args.concurrency as usize,
    );
    let outcome = study::run(&study).await?;
    let outcome = outcome.with_naive(naive(args.common.no_naive));
    println!("veilrank latency study\n{}", output::table(&outcome));
    if args.preset.is_some() {
        println!("{}", output::apple_comparison(&outcome));
    }
    if let Some(path) = &args.json {
        output::write_json(path, std::slice::from_ref(&outcome))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

async fn sweep(args: SweepArgs) -> Result<(), String> {
    if args.items.is_empty() || args.dim.is_empty() || args.concurrency.is_empty() {
        return Err("--items, --dim and --concurrency each need at least one value".into());
    }
    if let Some(bad) = args.items.iter().find(|&&m| m == 0 || m > 1 << 28) {
        return Err(format!("--items {bad} is outside 1..=268435456"));
    }
    if let Some(bad) = args.dim.iter().find(|&&d| d == 0 || d > 1024) {
        return Err(format!("--dim {bad} is outside 1..=1024"));
    }
    if let Some(bad) = args.concurrency.iter().find(|&&c| c == 0 || c > 1024) {
        return Err(format!("--concurrency {bad} is outside 1..=1024"));
    }
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    let runs = args.items.len() * args.dim.len() * args.concurrency.len();
    let mut outcomes = Vec::with_capacity(runs);
    let mut run = 0;
    for &items in &args.items {
        for &dim in &args.dim {
            for &c in &args.concurrency {
                run += 1;
                eprintln!("[{run}/{runs}] {items} items x {dim} dims, {c} clients");
                let study = study_of(&args.common, None, items, dim, c);
                let outcome = study::run(&study).await?;
                eprint!("{}", output::table(&outcome));
                outcomes.push(outcome);
            }
        }
    }
    let naive = naive(args.common.no_naive);
    let outcomes: Vec<Outcome> = outcomes.into_iter().map(|o| o.with_naive(naive)).collect();
    let write = |name: &str, f: &dyn Fn(&std::path::Path) -> std::io::Result<()>| {
        let path = args.out.join(name);
        f(&path).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write("results.csv", &|p| output::write_csv(p, &outcomes))?;
    write("results.json", &|p| output::write_json(p, &outcomes))?;
    write("results.md", &|p| {
        std::fs::write(p, output::markdown(&outcomes))
    })?;
    plots::write_all(&args.out, &outcomes)?;
    println!("{}", output::markdown(&outcomes));
    println!(
        "wrote results.csv, results.json, results.md, latency.svg, throughput.svg, bytes.svg to {}",
        args.out.display()
    );
    Ok(())
}

async fn capacity(args: CapacityArgs) -> Result<(), String> {
    let run = |max_batch: u64| Capacity {
        items: args.items as usize,
        dim: args.dim as usize,
        concurrency: args.concurrency as usize,
        queries: args.queries as usize,
        max_batch: max_batch as usize,
        progress: true,
        kernel: args.kernel,
        modulus: args.modulus,
        precision: args.precision,
    };
    eprintln!("one query at a time...");
    let alone = capacity::run(&run(1)).await?;
    eprintln!("batched...");
    let batched = capacity::run(&run(args.max_batch)).await?;
    println!("{}", capacity::table(&alone, &batched));
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&[&alone, &batched]).map_err(|e| e.to_string())?;
        std::fs::write(path, json + "\n")
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn fidelity_study(args: FidelityArgs) -> Result<(), String> {
    let precisions = args
        .bits
        .iter()
        .map(|b| fidelity::parse_bits(b))
        .collect::<Result<Vec<_>, _>>()?;
    let items = Matrix::load(&args.catalog)?;
    let users = Matrix::load(&args.users)?.sample(args.sample);
    eprintln!(
        "{} items x {}, {} users",
        items.rows(),
        items.dim(),
        users.rows()
    );
    let mut spaces = vec![(items.clone(), users.clone())];
    for &dim in &args.pca {
        let pca = Pca::fit(&items, dim)?;
        spaces.push((pca.items(&items), pca.users(&users)));
    }
    let rows = fidelity::cost::study(&spaces, &args.scales, &precisions, args.server_time)?;
    println!(
        "ranking fidelity against float32 ({})\n{}",
        veilrank_bench::system::cpu_model(),
        fidelity::table(&rows)
    );
    if let Some(path) = args.json {
        let json = serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())?;
        std::fs::write(&path, json).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }
    if let Some(path) = args.plot {
        plots::fidelity(&path, &rows)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
