//! The retention task: erases expired profiles without any request asking.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::audit::Event;
use crate::state::AppState;
use crate::store::now_unix;

/// Erases every expired profile now (blocking: call off the async executor); returns how many.
pub fn purge_once(state: &AppState) -> usize {
    let now = now_unix();
    match state.store.purge_expired(now, state.retention.idle) {
        Ok(expired) => {
            for (id, catalog) in &expired {
                state.audit.record(Event::Expired, id, catalog, None, now);
                state.metrics.profile_event(Event::Expired);
            }
            expired.len()
        }
        Err(e) => {
            tracing::error!(error = %e, "purging expired profiles failed; will retry");
            0
        }
    }
}

/// Runs [`purge_once`] every purge interval until aborted.
pub fn spawn(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let period = state
            .retention
            .purge_interval
            .max(Duration::from_millis(10));
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let job = state.clone();
            match tokio::task::spawn_blocking(move || purge_once(&job)).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(profiles = n, "expired profiles purged"),
                Err(e) => tracing::error!(error = %e, "purge task failed"),
            }
        }
    })
}
