//! Who a change is made for: a request's principal (`user:default/ada`, `service:deployer`) or
//! `cli`, carried with the work of the request (a task-local) down to the version records the
//! catalog writes, so an entity's history says who made each change without every write path
//! taking one more argument. Work with no actor (timed refreshes, discovery runs) records none;
//! the version's source says what made it.

use std::future::Future;

tokio::task_local! {
    static ACTOR: String;
}

/// Runs `work` with the catalog changes it makes recorded as `actor`'s.
pub async fn acting_as<F: Future>(actor: String, work: F) -> F::Output {
    ACTOR.scope(actor, work).await
}

/// The actor of the work running now, if any.
pub fn current() -> Option<String> {
    ACTOR.try_with(Clone::clone).ok()
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn the_actor_is_known_inside_its_work_only() {
        assert_eq!(super::current(), None);
        let inside = super::acting_as("user:default/ada".into(), async { super::current() }).await;
        assert_eq!(inside.as_deref(), Some("user:default/ada"));
        assert_eq!(super::current(), None);
    }
}
