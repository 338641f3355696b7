//! The process's one tokio runtime for the blocking [`crate::Client`] calls: started on first
//! use, shared by every client (a phone app needs no more than two threads of it).

use std::future::Future;
use std::sync::OnceLock;

use crate::error::{Result, VeilrankError};

static RUNTIME: OnceLock<std::result::Result<tokio::runtime::Runtime, String>> = OnceLock::new();

/// Runs `future` to completion on the shared runtime, blocking the calling (app) thread.
pub(crate) fn block_on<F: Future>(future: F) -> Result<F::Output> {
    let runtime = RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("veilrank")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| VeilrankError::Internal {
            detail: format!("the SDK's runtime could not start: {e}"),
        })?;
    if tokio::runtime::Handle::try_current().is_ok() {
        // block_on would panic inside an async task; say so instead
        return Err(VeilrankError::Internal {
            detail: "a blocking veilrank call was made from inside a tokio runtime".into(),
        });
    }
    Ok(runtime.block_on(future))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_futures_and_refuses_to_block_inside_a_runtime() {
        assert_eq!(block_on(async { 6 * 7 }).unwrap(), 42);
        let inner = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let refused = inner.block_on(async { block_on(async { 1 }) });
        assert!(
            matches!(refused, Err(VeilrankError::Internal { ref detail }) if detail.contains("inside a tokio runtime")),
            "{refused:?}"
        );
    }
}
