//! Scheduled runs. Each source with an `interval` runs on it; among replicas sharing a
//! database, a lease named after the source (held until the next run is due) makes sure only
//! one of them runs it. A replica that dies mid-run loses nothing: the lease expires and
//! another takes it at its next tick.

use std::sync::Arc;
use std::time::Duration;

use super::{Engine, Trigger};
use portico_catalog::now_ms;

impl Engine {
    /// Starts one task per scheduled source. The first run happens at once (on start).
    pub fn start_schedule(self: &Arc<Self>) -> Vec<tokio::task::JoinHandle<()>> {
        let mut handles = Vec::new();
        for source in &self.sources {
            let Some(interval) = source.decl.interval.filter(|_| source.decl.enabled) else { continue };
            let engine = Arc::clone(self);
            let name = source.decl.name.clone();
            handles.push(tokio::spawn(async move {
                let tick = interval.min(Duration::from_secs(60));
                loop {
                    match engine.due(&name, interval).await {
                        Ok(true) => {
                            if let Err(e) = engine.run(&name, Trigger::Schedule, None, None).await {
                                tracing::warn!(source = %name, error = %e, "scheduled discovery run failed");
                            }
                        }
                        Ok(false) => {}
                        Err(e) => tracing::warn!(source = %name, error = %e, "could not take the discovery lease"),
                    }
                    tokio::time::sleep(tick).await;
                }
            }));
        }
        handles
    }

    /// Takes the source's lease when its run is due: free, expired, or ours and expired.
    /// Held for one interval, so the next run is due one interval after this one started.
    async fn due(&self, name: &str, interval: Duration) -> Result<bool, portico_store::StoreError> {
        let now = now_ms();
        let until = now + i64::try_from(interval.as_millis()).unwrap_or(i64::MAX / 2);
        let lease = format!("discovery:{name}");
        // Our own unexpired lease must not renew: that would run the source every tick.
        let store = self.catalog.store();
        if !store.try_lease(&lease, &format!("{}#probe", self.holder), now, now).await? {
            return Ok(false);
        }
        store.try_lease(&lease, &self.holder, now, until).await
    }
}
