//! Serving `wasi:http/incoming-handler@0.2.x` and `wasi:http/handler@0.3.0` components over
//! hyper (HTTP/1.1) on a socket, a fresh instance per request or warm instances reused.
//!
//! Instances are made and reused by `wasmtime_wasi_http::handler::ProxyHandler`, the same
//! dispatcher `wasmtime serve` uses; wasmesh's policy decides what each store may do.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::server::conn::http1;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use tokio::net::TcpListener;
use tokio::sync::watch;
use wasmtime::component::Linker;
use wasmtime::{Store, StoreContextMut};
use wasmtime_wasi_http::handler::{
    HandlerState, Instance, ProxyHandler, ProxyPre, ShouldAccept, WorkerExpiration, WorkerState,
    WorkerStatus,
};
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error as HttpError, WasiHttpView};

use crate::host::{HostState, Policy};

struct App {
    engine: wasmtime::Engine,
    pre: ProxyPre<HostState>,
    policy: Policy,
    max_reuse: usize,
    concurrent: usize,
}

struct NeverExpires;

impl WorkerExpiration for NeverExpires {
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>, _: WorkerStatus, _: Instant) -> Poll<()> {
        Poll::Pending
    }
}

struct Worker {
    max_reuse: usize,
    concurrent: usize,
    deadline: Option<(u64, Duration)>,
}

impl WorkerState for Worker {
    type StoreData = HostState;
    type RequestData = ();

    fn should_accept_request(&self, concurrent: usize, total: usize) -> ShouldAccept {
        if total >= self.max_reuse {
            ShouldAccept::Never
        } else if concurrent >= self.concurrent {
            ShouldAccept::No
        } else {
            ShouldAccept::Yes
        }
    }

    fn on_request_start(
        &self,
        mut store: StoreContextMut<'_, HostState>,
        _: (),
        _: wasmtime::component::GuestTaskId,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + Sync>> {
        match self.deadline {
            Some((ticks, wall)) => {
                store.set_epoch_deadline(ticks);
                Box::pin(tokio::time::sleep(wall))
            }
            None => Box::pin(std::future::pending()),
        }
    }

    fn drop(&self, _: Store<HostState>, _: wasmtime::Result<()>) {}
}

impl HandlerState for App {
    type StoreData = HostState;
    type WorkerExpiration = NeverExpires;
    type WorkerState = Worker;

    async fn instantiate(&self) -> wasmtime::Result<Instance<HostState, NeverExpires, Worker>> {
        let mut store = Store::new(&self.engine, self.policy.host_state()?);
        store.limiter(|s| &mut s.limits);
        store.epoch_deadline_trap();
        let ticks = self.policy.deadline_ticks();
        store.set_epoch_deadline(ticks.unwrap_or(u64::MAX / 2));
        let proxy = self.pre.instantiate_async(&mut store).await?;
        let deadline = ticks.zip(self.policy.deadline_ms.map(Duration::from_millis));
        Ok(Instance {
            store,
            proxy,
            view,
            expiration: NeverExpires,
            state: Worker { max_reuse: self.max_reuse, concurrent: self.concurrent, deadline },
        })
    }
}

fn view(state: &mut HostState) -> wasmtime_wasi_http::WasiHttpCtxView<'_> {
    state.http()
}

fn proxy_pre(
    engine: &wasmtime::Engine,
    component: &wasmtime::component::Component,
) -> wasmtime::Result<ProxyPre<HostState>> {
    let mut linker: Linker<HostState> = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    wasmtime_wasi::p3::add_to_linker(&mut linker)?;
    wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;
    let pre = linker.instantiate_pre(component)?;
    if let Ok(p2) = wasmtime_wasi_http::p2::bindings::ProxyPre::new(pre.clone()) {
        return Ok(ProxyPre::P2(p2));
    }
    match wasmtime_wasi_http::p3::bindings::ServicePre::new(pre) {
        Ok(p3) => Ok(ProxyPre::P3(p3)),
        Err(e) => Err(wasmtime::format_err!(
            "the component exports neither wasi:http/incoming-handler@0.2 nor \
             wasi:http/handler@0.3.0 ({e})"
        )),
    }
}

/// The guest's response, or a 500 naming the failure (trap, deadline, instantiation).
async fn handle(
    handler: ProxyHandler<App>,
    req: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<wasmtime_wasi_http::WasiBody>, std::convert::Infallible> {
    let req = req.map(|body| body.map_err(HttpError::from).boxed_unsync());
    match handler.handle((), req).await {
        Ok(resp) => Ok(resp),
        Err(e) => {
            let text = hyper::body::Bytes::from(format!("the component failed: {e}\n"));
            let body = http_body_util::Full::new(text).map_err(|never| match never {});
            let mut resp = hyper::Response::new(body.boxed_unsync());
            *resp.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            Ok(resp)
        }
    }
}

async fn accept_loop(listener: TcpListener, handler: ProxyHandler<App>, mut stop: watch::Receiver<bool>) {
    loop {
        let conn = tokio::select! {
            c = listener.accept() => c,
            _ = stop.changed() => return,
        };
        let Ok((stream, _)) = conn else { continue };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(handler.clone(), req));
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// A running HTTP server; `close()` stops it.
#[pyclass(module = "wasmesh_native")]
pub struct Server {
    /// The bound port.
    #[pyo3(get)]
    port: u16,
    /// "0.2" or "0.3": the wasi:http version the component exports.
    #[pyo3(get)]
    wasi_http: &'static str,
    stop: Option<watch::Sender<bool>>,
    thread: Option<std::thread::JoinHandle<()>>,
    done: Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
}

#[pymethods]
impl Server {
    /// Blocks (without the GIL) until the server is closed or `timeout` seconds pass.
    #[pyo3(signature = (timeout=None))]
    fn wait(&self, py: Python<'_>, timeout: Option<f64>) {
        let done = self.done.clone();
        py.detach(move || {
            let (lock, cv) = &*done;
            let guard = lock.lock().unwrap();
            match timeout {
                Some(t) => drop(cv.wait_timeout_while(guard, Duration::from_secs_f64(t), |d| !*d)),
                None => drop(cv.wait_while(guard, |d| !*d)),
            }
        });
    }

    /// Stops accepting, drops the runtime and its instances.
    fn close(&mut self, py: Python<'_>) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(t) = self.thread.take() {
            py.detach(|| {
                let _ = t.join();
            });
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(&mut self, py: Python<'_>, _a: Py<PyAny>, _b: Py<PyAny>, _c: Py<PyAny>) {
        self.close(py);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
    }
}

/// Starts serving `component` on `addr` on `threads` runtime threads.
pub fn start(
    engine: &wasmtime::Engine,
    component: &wasmtime::component::Component,
    addr: &str,
    policy: Policy,
    max_reuse: usize,
    concurrent: usize,
    threads: usize,
) -> PyResult<Server> {
    let addr: SocketAddr = addr
        .parse()
        .map_err(|_| PyValueError::new_err(format!("address {addr:?} is not host:port")))?;
    let pre = proxy_pre(engine, component).map_err(|e| PyValueError::new_err(format!("{e}")))?;
    let wasi_http = match pre {
        ProxyPre::P2(_) => "0.2",
        ProxyPre::P3(_) => "0.3",
    };
    let app = App {
        engine: engine.clone(),
        pre,
        policy,
        max_reuse: max_reuse.max(1),
        concurrent: if wasi_http == "0.2" { 1 } else { concurrent.max(1) },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the runtime: {e}")))?;
    let std_listener = std::net::TcpListener::bind(addr)
        .map_err(|e| PyRuntimeError::new_err(format!("cannot bind {addr}: {e}")))?;
    std_listener.set_nonblocking(true).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    let port = std_listener.local_addr().map_err(|e| PyRuntimeError::new_err(e.to_string()))?.port();
    let (stop_tx, stop_rx) = watch::channel(false);
    let done = Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
    let finished = done.clone();
    let thread = std::thread::Builder::new()
        .name("wasmesh-http".into())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = TcpListener::from_std(std_listener).expect("listener");
                accept_loop(listener, ProxyHandler::new(app), stop_rx).await;
            });
            runtime.shutdown_timeout(Duration::from_secs(5));
            let (lock, cv) = &*finished;
            *lock.lock().unwrap() = true;
            cv.notify_all();
        })
        .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    Ok(Server { port, wasi_http, stop: Some(stop_tx), thread: Some(thread), done })
}
