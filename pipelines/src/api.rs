//! The HTTP API: `/metrics` (Prometheus text format) and `/health` (200 while running, 503 while
//! shutting down), served with hyper on `api.address` (loopback by default).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use weir_core::metrics::Metrics;

/// Shared state of the API.
#[derive(Clone)]
pub struct ApiState {
    /// The registry to render.
    pub metrics: Arc<Metrics>,
    /// Set when shutdown starts; `/health` then answers 503.
    pub shutting_down: Arc<AtomicBool>,
}

/// The API server could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {address}: {source}")]
pub struct ApiError {
    /// The address.
    pub address: SocketAddr,
    /// Why.
    pub source: std::io::Error,
}

/// Binds `address` and serves the API until the task is aborted. Returns the bound address
/// (useful with port 0) and the server task.
pub async fn serve(
    address: SocketAddr,
    state: ApiState,
) -> Result<(SocketAddr, JoinHandle<()>), ApiError> {
    let listener = TcpListener::bind(address)
        .await
        .map_err(|source| ApiError { address, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| ApiError { address, source })?;
    let task = tokio::spawn(async move {
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(conn) => conn,
                Err(error) => {
                    tracing::warn!(%error, "API accept failed");
                    continue;
                }
            };
            let state = state.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let state = state.clone();
                    async move { Ok::<_, Infallible>(route(&req, &state)) }
                });
                if let Err(error) = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    tracing::debug!(%error, "API connection ended with an error");
                }
            });
        }
    });
    Ok((bound, task))
}

fn route(req: &Request<hyper::body::Incoming>, state: &ApiState) -> Response<Full<Bytes>> {
    let response = |status: StatusCode, content_type: &str, body: String| {
        Response::builder()
            .status(status)
            .header("content-type", content_type)
            .body(Full::new(Bytes::from(body)))
            .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
    };
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/metrics") => response(
            StatusCode::OK,
            "text/plain; version=0.0.4",
            state.metrics.render(),
        ),
        (&Method::GET, "/health") => {
            if state.shutting_down.load(Ordering::Acquire) {
                response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "application/json",
                    "{\"status\":\"shutting_down\"}\n".into(),
                )
            } else {
                response(
                    StatusCode::OK,
                    "application/json",
                    "{\"status\":\"ok\"}\n".into(),
                )
            }
        }
        _ => response(
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found: try /metrics or /health\n".into(),
        ),
    }
}
