//! `kapu bench plugins`: the plugin host's per-call overhead, throughput and cold load time,
//! against the same function called natively in the same run.
//!
//! The plugin is the `trivial` fixture (`plugins/testing/trivial`): its `find-vehicle`
//! normalises a plate and answers a fixed vehicle, so a call measures the host: a fresh
//! instance from the pooling allocator, arguments lowered into it, the result lifted out.
//! The native side runs the very same source file (`vehicle.rs`) with the same arguments.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use kapu_plugins::registry::Address;
use kapu_plugins::{CallContext, HttpMode, Limits, Manifest, MemoryKv, PluginConfig, Runtime};

#[path = "../../../plugins/testing/trivial/src/vehicle.rs"]
mod trivial_vehicle;

/// Options of `kapu bench plugins`.
#[derive(Clone, Debug, clap::Args)]
pub struct PluginBenchOpts {
    /// Seconds per throughput run.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Calls measured one by one for the latency percentiles.
    #[arg(long, default_value_t = 20_000)]
    pub calls: usize,
    /// Concurrent callers (and worker threads) in the throughput run.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Cold loads to time.
    #[arg(long, default_value_t = 20)]
    pub loads: usize,
    /// The plugins folder (its `testing/trivial` fixture is built if missing).
    #[arg(long, default_value = "plugins")]
    pub plugins_dir: PathBuf,
    /// Where compiled components are cached (emptied first).
    #[arg(long, default_value = "/var/tmp/kapu-bench-plugin-cache")]
    pub cache_dir: PathBuf,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn context() -> CallContext {
    CallContext {
        tenant: "bench".into(),
        config: Arc::new(PluginConfig::default()),
        kv: Arc::new(MemoryKv::default()),
        http: HttpMode::Network,
    }
}

fn address() -> Address {
    Address { postcode: "1126".into(), city: "Budapest".into(), street: "Böszörményi út 23-25.".into() }
}

fn component(dir: &Path) -> Result<(Manifest, Vec<u8>)> {
    let manifest = std::fs::read_to_string(dir.join("testing/trivial/plugin.toml"))
        .with_context(|| format!("reading the trivial fixture's manifest under {}", dir.display()))?;
    let manifest = Manifest::parse(&manifest)?;
    let out = kapu_plugins::harness::build_components(dir)?;
    let bytes = std::fs::read(out.join("trivial.wasm")).context("reading trivial.wasm")?;
    Ok((manifest, bytes))
}

/// Runs the benchmark and prints its figures.
pub async fn run(opts: PluginBenchOpts) -> Result<()> {
    println!("Building the trivial plugin (wasm32-wasip2) …");
    let (manifest, bytes) = component(&opts.plugins_dir)?;
    let limits = Limits { concurrent_calls: (opts.threads as u32).max(2) * 2, ..Limits::default() };

    // Cold load: compile once into the on-disk cache, then load on fresh engines.
    let _ = std::fs::remove_dir_all(&opts.cache_dir);
    let t = Instant::now();
    let first = Runtime::new(limits.clone(), Some(opts.cache_dir.clone()))?;
    first.load(&manifest, &bytes, None)?;
    let compile = t.elapsed();
    drop(first);
    let mut engine_times = Vec::new();
    let mut loads = Vec::new();
    for _ in 0..opts.loads.max(1) {
        let t = Instant::now();
        let rt = Runtime::new(limits.clone(), Some(opts.cache_dir.clone()))?;
        engine_times.push(t.elapsed());
        let t = Instant::now();
        rt.load(&manifest, &bytes, None)?;
        loads.push(t.elapsed());
    }
    loads.sort();
    engine_times.sort();

    let runtime = Arc::new(Runtime::new(limits, Some(opts.cache_dir.clone()))?);
    let plugin = runtime.load(&manifest, &bytes, None)?;

    // Check the plugin and the native function agree before timing them.
    let via_plugin = runtime.find_vehicle(&plugin, context(), " abc-123 ".into(), Some(address())).await.result?;
    let native = trivial_vehicle::lookup(" abc-123 ", Some("1126"));
    match (via_plugin, native) {
        (Some(p), Some(n)) if p.plate == n.plate && p.holder_at_address == n.holder_at_address => {}
        other => bail!("the plugin and the native function disagree: {other:?}"),
    }

    // Latency, one call at a time.
    let mut plugin_lat = Vec::with_capacity(opts.calls);
    for i in 0..opts.calls {
        let plate = format!("abc-{:03}", i % 1000);
        let t = Instant::now();
        let r = runtime.find_vehicle(&plugin, context(), plate, Some(address())).await.result?;
        plugin_lat.push(t.elapsed());
        std::hint::black_box(r);
    }
    plugin_lat.sort();
    let mut native_lat = Vec::with_capacity(opts.calls);
    for i in 0..opts.calls {
        let plate = format!("abc-{:03}", i % 1000);
        let a = address();
        let t = Instant::now();
        let r = trivial_vehicle::lookup(std::hint::black_box(&plate), Some(a.postcode.as_str()));
        native_lat.push(t.elapsed());
        std::hint::black_box(r);
    }
    native_lat.sort();

    // Throughput: `threads` callers on as many worker threads.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(opts.threads.max(1)).enable_all().build()?;
    let seconds = Duration::from_secs(opts.seconds.max(1));
    let (runtime2, plugin2) = (runtime.clone(), plugin.clone());
    let plugin_calls = std::thread::spawn(move || {
        rt.block_on(async move {
            let deadline = Instant::now() + seconds;
            let mut tasks = Vec::new();
            for _ in 0..opts.threads.max(1) {
                let (runtime, plugin) = (runtime2.clone(), plugin2.clone());
                tasks.push(tokio::spawn(async move {
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        let r = runtime.find_vehicle(&plugin, context(), "abc-123".into(), Some(address())).await;
                        if r.result.is_ok() {
                            n += 1;
                        }
                    }
                    n
                }));
            }
            let mut total = 0;
            for t in tasks {
                total += t.await.unwrap_or(0);
            }
            total
        })
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the throughput run panicked"))?;
    let native_calls: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..opts.threads.max(1))
            .map(|_| {
                s.spawn(|| {
                    let deadline = Instant::now() + seconds;
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        for _ in 0..1000 {
                            let a = address();
                            std::hint::black_box(trivial_vehicle::lookup(std::hint::black_box("abc-123"), Some(a.postcode.as_str())));
                            n += 1;
                        }
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });

    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!();
    println!("Plugin host benchmark ({} calls for latency, {} s x {} callers for throughput)", opts.calls, seconds.as_secs(), opts.threads);
    println!("component: trivial.wasm, {} bytes; wasmtime with pooling allocator, epoch deadline", bytes.len());
    println!("                         p50          p99        calls/s");
    println!(
        "plugin call       {:>9.1} µs {:>9.1} µs {:>12.0}",
        us(percentile(&plugin_lat, 0.5)),
        us(percentile(&plugin_lat, 0.99)),
        plugin_calls as f64 / seconds.as_secs_f64()
    );
    println!(
        "native call       {:>9.3} µs {:>9.3} µs {:>12.0}",
        us(percentile(&native_lat, 0.5)),
        us(percentile(&native_lat, 0.99)),
        native_calls as f64 / seconds.as_secs_f64()
    );
    println!("overhead p50      {:>9.1} µs", us(percentile(&plugin_lat, 0.5)) - us(percentile(&native_lat, 0.5)));
    println!("compile (no cache)  {:>9.1} ms", ms(compile));
    println!(
        "cold load (cached) p50 {:.2} ms, max {:.2} ms  (+ engine start p50 {:.2} ms)",
        ms(percentile(&loads, 0.5)),
        ms(loads.last().copied().unwrap_or_default()),
        ms(percentile(&engine_times, 0.5))
    );
    println!("targets: p50 < 50 µs, >= 10,000 calls/s on two cores, cold load < 20 ms");
    Ok(())
}
