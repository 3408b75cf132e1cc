//! The engine (pooling, epochs ticked by a Rust thread, no GIL involved) and the AOT cache.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::Component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::host::TICKS_PER_SECOND;

/// Free slots keep this much memory resident when serving (wasmesh's `SERVING_KEEP_RESIDENT`).
const SERVING_KEEP_RESIDENT: usize = 16 << 20;

/// An engine with wasmesh's settings: component model (and its async ABI, for WASI 0.3),
/// epoch interruption, the pooling allocator with wasmesh's limits.
pub fn build_engine(serving: bool) -> wasmtime::Result<Engine> {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(1000)
        .total_core_instances(10_000)
        .total_memories(2000)
        .total_tables(4000)
        .max_memory_size(4 << 30)
        .max_core_instances_per_component(64)
        .max_memories_per_component(64)
        .max_tables_per_component(64)
        .table_elements(100_000)
        .max_core_instance_size(16 << 20)
        .max_component_instance_size(16 << 20)
        .max_unused_warm_slots(32);
    if serving {
        pool.linear_memory_keep_resident(SERVING_KEEP_RESIDENT)
            .table_keep_resident(SERVING_KEEP_RESIDENT);
    }
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .wasm_component_model_async(true)
        .epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config)
}

/// Increments the engine's epoch `TICKS_PER_SECOND` times a second until dropped.
pub struct EpochTicker(Arc<AtomicBool>);

impl EpochTicker {
    pub fn start(engine: Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::Builder::new()
            .name("wasmesh-epoch".into())
            .spawn(move || {
                let period = Duration::from_nanos(1_000_000_000 / TICKS_PER_SECOND);
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(period);
                    engine.increment_epoch();
                }
            })
            .expect("spawning the epoch thread");
        Self(stop)
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// How a component was loaded, for the benchmark.
pub struct Loaded {
    pub component: Component,
    pub from_cache: bool,
    pub seconds: f64,
}

/// `path` compiled for `engine`, through the AOT cache in `cache_dir` when given.
///
/// The key hashes the component's bytes with the engine's compatibility hash, so artifacts from
/// another wasmtime version or configuration are never deserialized.
pub fn load(engine: &Engine, path: &Path, cache_dir: Option<&Path>) -> wasmtime::Result<Loaded> {
    let start = Instant::now();
    let bytes = std::fs::read(path)
        .map_err(|e| wasmtime::format_err!("cannot read {}: {e}", path.display()))?;
    let Some(dir) = cache_dir else {
        let component = Component::from_binary(engine, &bytes)?;
        return Ok(Loaded { component, from_cache: false, seconds: start.elapsed().as_secs_f64() });
    };
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    engine.precompile_compatibility_hash().hash(&mut h);
    let artifact: PathBuf = dir.join(format!("{:016x}.cwasm", h.finish()));
    if artifact.exists() {
        // SAFETY: the artifact was written by `Component::serialize` for an engine with the same
        // compatibility hash (part of its name), in a directory the caller owns.
        if let Ok(component) = unsafe { Component::deserialize_file(engine, &artifact) } {
            let seconds = start.elapsed().as_secs_f64();
            return Ok(Loaded { component, from_cache: true, seconds });
        }
    }
    let component = Component::from_binary(engine, &bytes)?;
    std::fs::create_dir_all(dir)?;
    let tmp = artifact.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, component.serialize()?)?;
    std::fs::rename(&tmp, &artifact)?;
    Ok(Loaded { component, from_cache: false, seconds: start.elapsed().as_secs_f64() })
}
