//! `wasmesh_native`: a prototype engine core for wasmesh on the wasmtime crates.
//!
//! The smallest surface that answers the engine-core questions: load a component through an AOT
//! cache, instantiate it under a policy, call an export with Python values, give it host
//! functions written in Python, and serve `wasi:http` (0.2 and 0.3) over hyper.

mod engine;
mod host;
mod serve;
mod values;

use std::collections::HashMap;
use std::path::PathBuf;

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use wasmtime::component::{Func, Linker, Val};
use wasmtime::Store;

use crate::host::{HostState, Policy};

fn runtime_err(e: impl std::fmt::Display) -> PyErr {
    PyRuntimeError::new_err(format!("{e:#}"))
}

/// A wasmtime engine with wasmesh's settings and its own epoch thread.
#[pyclass(frozen, module = "wasmesh_native")]
struct Engine {
    engine: wasmtime::Engine,
    cache_dir: Option<PathBuf>,
    _ticker: engine::EpochTicker,
}

#[pymethods]
impl Engine {
    /// `cache_dir`: where compiled components are kept (None: compile on every load).
    /// `serving`: keep freed pool slots resident, as wasmesh does for servers.
    #[new]
    #[pyo3(signature = (cache_dir=None, serving=false))]
    fn new(cache_dir: Option<PathBuf>, serving: bool) -> PyResult<Self> {
        let engine = engine::build_engine(serving).map_err(runtime_err)?;
        let ticker = engine::EpochTicker::start(engine.clone());
        Ok(Self { engine, cache_dir, _ticker: ticker })
    }

    /// The component at `path`, from the AOT cache when it holds it (compiled and cached if not).
    fn load(&self, py: Python<'_>, path: PathBuf) -> PyResult<Component> {
        if !path.is_file() {
            return Err(PyValueError::new_err(format!(
                "component {} does not exist; build it or fix the path",
                path.display()
            )));
        }
        let loaded = py
            .detach(|| engine::load(&self.engine, &path, self.cache_dir.as_deref()))
            .map_err(|e| PyValueError::new_err(format!("{} is not a valid component: {e}", path.display())))?;
        Ok(Component {
            engine: self.engine.clone(),
            component: loaded.component,
            from_cache: loaded.from_cache,
            load_seconds: loaded.seconds,
        })
    }
}

/// A compiled component.
#[pyclass(frozen, module = "wasmesh_native")]
struct Component {
    engine: wasmtime::Engine,
    component: wasmtime::component::Component,
    /// Whether `load` deserialized it from the AOT cache.
    #[pyo3(get)]
    from_cache: bool,
    /// Seconds `load` took.
    #[pyo3(get)]
    load_seconds: f64,
}

#[pymethods]
impl Component {
    /// A new instance under `policy`, its WASI 0.2 imports served natively and the functions in
    /// `host` (`{"pkg:ns/iface@v": {"name": callable}}`) served by Python.
    #[pyo3(signature = (policy=None, host=None))]
    fn instantiate(
        &self,
        py: Python<'_>,
        policy: Option<Policy>,
        host: Option<Bound<'_, PyDict>>,
    ) -> PyResult<Instance> {
        let policy = policy.unwrap_or_default();
        let mut linker: Linker<HostState> = Linker::new(&self.engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(runtime_err)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut linker).map_err(runtime_err)?;
        linker.allow_shadowing(true);
        if let Some(host) = host {
            for (iface, funcs) in host.iter() {
                let iface: String = iface.extract()?;
                let funcs = funcs.cast::<PyDict>()?;
                let mut inst = linker.instance(&iface).map_err(runtime_err)?;
                for (name, callable) in funcs.iter() {
                    let name: String = name.extract()?;
                    define_python_func(&mut inst, &name, callable.unbind())?;
                }
            }
        }
        let mut store = Store::new(&self.engine, policy.host_state().map_err(runtime_err)?);
        store.limiter(|s| &mut s.limits);
        store.epoch_deadline_trap();
        store.set_epoch_deadline(u64::MAX / 2);
        let pre = linker.instantiate_pre(&self.component).map_err(runtime_err)?;
        let instance = py
            .detach(|| pre.instantiate(&mut store))
            .map_err(|e| PyRuntimeError::new_err(format!("instantiation failed: {e:#}")))?;
        Ok(Instance { store, instance, funcs: HashMap::new(), deadline: policy.deadline_ticks() })
    }

    /// Serves the component's `wasi:http` handler (0.2 or 0.3) on `addr` (`"127.0.0.1:0"` for
    /// an ephemeral port) until `close()`: `max_reuse` requests per instance (1: a fresh
    /// instance per request), `concurrent` requests at once per WASI 0.3 instance, `threads`
    /// runtime threads.
    #[pyo3(signature = (addr, *, policy=None, max_reuse=1, concurrent=16, threads=2))]
    fn serve(
        &self,
        addr: &str,
        policy: Option<Policy>,
        max_reuse: usize,
        concurrent: usize,
        threads: usize,
    ) -> PyResult<serve::Server> {
        let policy = policy.unwrap_or_default();
        serve::start(&self.engine, &self.component, addr, policy, max_reuse, concurrent, threads)
    }
}

fn define_python_func(
    inst: &mut wasmtime::component::LinkerInstance<'_, HostState>,
    name: &str,
    callable: Py<PyAny>,
) -> PyResult<()> {
    inst.func_new(name, move |_store, ty, params, results| {
        Python::attach(|py| -> PyResult<()> {
            let args: Vec<Py<PyAny>> =
                params.iter().map(|v| values::to_py(py, v)).collect::<PyResult<_>>()?;
            let out = callable.call1(py, PyTuple::new(py, args)?)?;
            if let Some(rty) = ty.results().next() {
                results[0] = values::to_val(out.bind(py), &rty)?;
            }
            Ok(())
        })
        .map_err(|e| wasmtime::format_err!("host function raised: {e}"))
    })
    .map_err(runtime_err)
}

/// A live instance with its own store.
#[pyclass(unsendable, module = "wasmesh_native")]
struct Instance {
    store: Store<HostState>,
    instance: wasmtime::component::Instance,
    funcs: HashMap<String, Func>,
    deadline: Option<u64>,
}

#[pymethods]
impl Instance {
    /// Calls the export `name` (`"pkg:ns/iface@v#func"` or a root `"func"`) with `args`.
    ///
    /// Raises `RuntimeError` when the guest traps (including a deadline or memory limit hit)
    /// and `TypeError` when `args` do not match the export's parameters.
    #[pyo3(signature = (name, *args))]
    fn call(&mut self, py: Python<'_>, name: &str, args: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        let func = self.func(name)?;
        let ty = func.ty(&self.store);
        let ptys: Vec<_> = ty.params().map(|(_, t)| t).collect();
        if ptys.len() != args.len() {
            return Err(PyTypeError::new_err(format!(
                "{name} takes {} arguments, not {}",
                ptys.len(),
                args.len()
            )));
        }
        let params: Vec<Val> = args
            .iter()
            .zip(&ptys)
            .map(|(a, t)| values::to_val(&a, t))
            .collect::<PyResult<_>>()?;
        let mut results = vec![Val::Bool(false); ty.results().len()];
        self.store.set_epoch_deadline(self.deadline.unwrap_or(u64::MAX / 2));
        let store = &mut self.store;
        // Arguments are converted already: the call runs without the GIL (host functions
        // written in Python take it back).
        py.detach(|| func.call(&mut *store, &params, &mut results)).map_err(|e| PyRuntimeError::new_err(format!("{name} trapped: {e:#}")))?;
        match results.as_slice() {
            [] => Ok(py.None()),
            [one] => values::to_py(py, one),
            many => {
                let objs: Vec<Py<PyAny>> =
                    many.iter().map(|v| values::to_py(py, v)).collect::<PyResult<_>>()?;
                Ok(PyTuple::new(py, objs)?.into_any().unbind())
            }
        }
    }
}

impl Instance {
    fn func(&mut self, name: &str) -> PyResult<Func> {
        if let Some(f) = self.funcs.get(name) {
            return Ok(*f);
        }
        let missing = || PyValueError::new_err(format!("the component has no export {name:?}"));
        let func = match name.split_once('#') {
            Some((iface, fname)) => {
                let idx = self.instance.get_export_index(&mut self.store, None, iface).ok_or_else(missing)?;
                let fidx = self
                    .instance
                    .get_export_index(&mut self.store, Some(&idx), fname)
                    .ok_or_else(missing)?;
                self.instance.get_func(&mut self.store, fidx)
            }
            None => self.instance.get_func(&mut self.store, name),
        }
        .ok_or_else(missing)?;
        self.funcs.insert(name.to_string(), func);
        Ok(func)
    }
}

#[pymodule]
fn wasmesh_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Engine>()?;
    m.add_class::<Component>()?;
    m.add_class::<Instance>()?;
    m.add_class::<Policy>()?;
    m.add_class::<serve::Server>()?;
    m.add("WASMTIME_VERSION", "48.0.8")?;
    Ok(())
}
