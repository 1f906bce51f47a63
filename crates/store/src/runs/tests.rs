use crate::testing::TestDb;
use crate::*;

use crate::testing::sample_run as run;

#[tokio::test]
async fn runs_are_claimed_once_saved_under_lease_and_taken_over_when_it_expires() {
    for db in TestDb::all().await {
        let s = &db.store;
        let b = db.backend();
        s.create_run(&run("r1", "template:default/a", "user:default/ana", 10)).await.unwrap();
        s.create_run(&run("r2", "template:default/a", "user:default/bo", 20)).await.unwrap();
        assert_eq!(s.active_runs(Some("template:default/a"), None).await.unwrap(), 2, "{b}");
        assert_eq!(s.active_runs(None, Some("user:default/ana")).await.unwrap(), 1, "{b}");
        // Oldest first; each claimed once.
        let c1 = s.claim_run("w1", 100, 130).await.unwrap().unwrap();
        assert_eq!((c1.id.as_str(), c1.status.as_str(), c1.attempts, c1.started_at), ("r1", "running", 1, Some(100)), "{b}");
        let c2 = s.claim_run("w2", 100, 130).await.unwrap().unwrap();
        assert_eq!(c2.id, "r2", "{b}");
        assert!(s.claim_run("w3", 100, 130).await.unwrap().is_none(), "{b}");
        // Progress is written only by the lease holder.
        let p = RunProgress { status: "running", steps: r#"[{"id":"fetch","status":"completed"}]"#, output: None, error: None, finished_at: None };
        assert!(s.save_run("r1", "w1", &p).await.unwrap(), "{b}");
        assert!(!s.save_run("r1", "w2", &p).await.unwrap(), "{b}");
        assert!(s.renew_run("r1", "w1", 120, 160).await.unwrap(), "{b}");
        // w2 dies: after its lease expires, another worker takes r2 over, keeping what it saved.
        assert!(s.claim_run("w3", 125, 160).await.unwrap().is_none(), "{b}: r2's lease still holds at 125");
        let taken = s.claim_run("w3", 131, 170).await.unwrap().unwrap();
        assert_eq!((taken.id.as_str(), taken.attempts, taken.lease_holder.as_deref(), taken.started_at), ("r2", 2, Some("w3"), Some(100)), "{b}");
        assert!(!s.renew_run("r2", "w2", 131, 200).await.unwrap(), "{b}: the dead worker lost it");
        // Finishing gives the lease up.
        let done = RunProgress { status: "completed", steps: "[]", output: Some(r#"{"links":[]}"#), error: None, finished_at: Some(140) };
        assert!(s.save_run("r1", "w1", &done).await.unwrap(), "{b}");
        let r1 = s.run("r1").await.unwrap().unwrap();
        assert_eq!((r1.status.as_str(), r1.lease_holder, r1.finished_at, r1.output.as_deref()), ("completed", None, Some(140), Some(r#"{"links":[]}"#)), "{b}");
        assert!(s.claim_run("w4", 1000, 1100).await.unwrap().is_none_or(|r| r.id != "r1"), "{b}: a finished run is never claimed");
        assert!(s.set_run_output("r1", r#"{"rollback":[]}"#).await.unwrap(), "{b}");
        assert_eq!(s.run("r1").await.unwrap().unwrap().output.as_deref(), Some(r#"{"rollback":[]}"#), "{b}");
        assert!(!s.set_run_output("r2", "{}").await.unwrap(), "{b}: only a finished run's");
        assert_eq!(s.runs(&RunFilter { actor: Some("user:default/ana".into()), ..Default::default() }, 10).await.unwrap().len(), 1, "{b}");
        assert_eq!(s.runs(&RunFilter::default(), 10).await.unwrap()[0].id, "r2", "{b}: newest first");
        assert!(s.run("nope").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn logs_append_idempotently_and_cancel_stops_queued_runs_at_once() {
    for db in TestDb::all().await {
        let s = &db.store;
        let b = db.backend();
        s.create_run(&run("q", "template:default/a", "guest", 1)).await.unwrap();
        let line = |seq: i64| RunLogLine { seq, step: "fetch".into(), at: seq, line: format!("line {seq}") };
        s.append_run_log("q", &[line(1), line(2)]).await.unwrap();
        s.append_run_log("q", &[line(2), line(3)]).await.unwrap();
        let lines = s.run_log("q", 1, 10).await.unwrap();
        assert_eq!(lines.iter().map(|l| l.seq).collect::<Vec<_>>(), [2, 3], "{b}");
        assert!(s.cancel_run("q", 5).await.unwrap(), "{b}");
        let q = s.run("q").await.unwrap().unwrap();
        assert_eq!((q.status.as_str(), q.cancel_requested), ("cancelled", true), "{b}");
        assert!(!s.cancel_run("q", 6).await.unwrap(), "{b}: already finished");
        assert!(s.claim_run("w", 10, 20).await.unwrap().is_none(), "{b}");
        s.create_run(&run("r", "template:default/a", "guest", 2)).await.unwrap();
        s.claim_run("w", 10, 20).await.unwrap().unwrap();
        assert!(s.cancel_run("r", 11).await.unwrap(), "{b}");
        let r = s.run("r").await.unwrap().unwrap();
        assert_eq!((r.status.as_str(), r.cancel_requested), ("running", true), "{b}: the worker stops it");
    }
}
