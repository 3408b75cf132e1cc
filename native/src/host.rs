//! Per-store host state and the policy that shapes it (env, dirs, network, outbound allow-list,
//! memory, deadline).

use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{
    Error as HttpError, RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks,
    WasiHttpView,
};

/// Epoch ticks per second (the ticker thread increments the engine's epoch this often).
pub const TICKS_PER_SECOND: u64 = 100;

/// What a component may use. Mirrors wasmesh's grants: nothing unless granted.
#[pyclass(frozen, from_py_object, module = "wasmesh_native")]
#[derive(Clone, Default)]
pub struct Policy {
    /// Environment variables the guest sees.
    #[pyo3(get)]
    pub env: Vec<(String, String)>,
    /// Preopened directories: (host path, guest path, read-only).
    #[pyo3(get)]
    pub dirs: Vec<(String, String, bool)>,
    /// WASI sockets: TCP/UDP and name lookup (wasi:sockets).
    #[pyo3(get)]
    pub network: bool,
    /// Hosts (`host` or `host:port`) outgoing wasi:http requests may reach; empty = none.
    #[pyo3(get)]
    pub allow_hosts: Vec<String>,
    /// Linear-memory ceiling per store, bytes.
    #[pyo3(get)]
    pub memory: Option<usize>,
    /// Wall-clock budget per call or request, milliseconds.
    #[pyo3(get)]
    pub deadline_ms: Option<u64>,
    /// Guest stdout/stderr go to the host's.
    #[pyo3(get)]
    pub inherit_stdio: bool,
}

#[pymethods]
impl Policy {
    #[new]
    #[pyo3(signature = (*, env=None, dirs=None, network=false, allow_hosts=None, memory=None,
                        deadline_ms=None, inherit_stdio=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        env: Option<Vec<(String, String)>>,
        dirs: Option<Vec<(String, String, bool)>>,
        network: bool,
        allow_hosts: Option<Vec<String>>,
        memory: Option<usize>,
        deadline_ms: Option<u64>,
        inherit_stdio: bool,
    ) -> PyResult<Self> {
        let dirs = dirs.unwrap_or_default();
        for (host, _, _) in &dirs {
            if !std::path::Path::new(host).is_dir() {
                return Err(PyValueError::new_err(format!(
                    "directory grant {host:?} is not a directory; create it or fix the path"
                )));
            }
        }
        Ok(Self {
            env: env.unwrap_or_default(),
            dirs,
            network,
            allow_hosts: allow_hosts.unwrap_or_default(),
            memory,
            deadline_ms,
            inherit_stdio,
        })
    }
}

impl Policy {
    /// A fresh WASI context and store state under this policy.
    pub fn host_state(&self) -> wasmtime::Result<HostState> {
        let mut b = WasiCtx::builder();
        b.envs(self.env.as_slice());
        if self.inherit_stdio {
            b.inherit_stdout().inherit_stderr();
        }
        for (host, guest, read_only) in &self.dirs {
            let perms = if *read_only { FsPerms::ReadOnly } else { FsPerms::ReadWrite };
            b.preopened_dir(host, guest, perms)?;
        }
        if self.network {
            b.inherit_network().allow_tcp(true).allow_udp(true).allow_ip_name_lookup(true);
        } else {
            b.allow_tcp(false).allow_udp(false).allow_ip_name_lookup(false);
        }
        let mut limits = StoreLimitsBuilder::new();
        if let Some(bytes) = self.memory {
            limits = limits.memory_size(bytes);
        }
        Ok(HostState {
            wasi: b.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            limits: limits.build(),
            hooks: AllowList(Arc::new(self.allow_hosts.clone())),
        })
    }

    /// The deadline in epoch ticks (None: no deadline).
    pub fn deadline_ticks(&self) -> Option<u64> {
        self.deadline_ms.map(|ms| (ms * TICKS_PER_SECOND).div_ceil(1000).max(1))
    }
}

/// The store's data: WASI, wasi:http, the resource table, limits and the allow-list hook.
pub struct HostState {
    pub wasi: WasiCtx,
    pub http: WasiHttpCtx,
    pub table: ResourceTable,
    pub limits: StoreLimits,
    pub hooks: AllowList,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}

/// Outbound wasi:http allow-list, enforced in `send_request` before any connection is made.
pub struct AllowList(pub Arc<Vec<String>>);

impl AllowList {
    fn allows(&self, authority: Option<&http::uri::Authority>) -> bool {
        let Some(auth) = authority else { return false };
        let host = auth.host();
        let with_port = auth.as_str();
        self.0.iter().any(|a| a == "*" || a == host || a == with_port)
    }
}

type SendFuture = Box<
    dyn std::future::Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn std::future::Future<Output = Result<(), HttpError>> + Send>,
                ),
                HttpError,
            >,
        > + Send,
>;

impl WasiHttpHooks for AllowList {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn std::future::Future<Output = Result<(), HttpError>> + Send>,
    ) -> SendFuture {
        if !self.allows(request.uri().authority()) {
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        Box::new(async move {
            use http_body_util::BodyExt;
            let (res, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                res.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn std::future::Future<Output = _> + Send>,
            ))
        })
    }
}
