//! Shutdown signalling: the runtime tells sources to stop taking input; everything downstream then
//! drains naturally as channels close.

pub use tokio_util::sync::CancellationToken as ShutdownSignal;
