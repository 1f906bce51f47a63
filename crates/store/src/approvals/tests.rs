use crate::testing::TestDb;
use crate::*;

fn run(id: &str) -> RunRecord {
    RunRecord { entity_key: Some("component:default/cart".into()), ..crate::testing::sample_run(id, "template:default/deploy", "user:default/ana", 10) }
}

fn ask(id: &str, run: &str, step: &str, required: i32, deadline: i64) -> ApprovalRecord {
    ApprovalRecord {
        id: id.into(),
        run_id: run.into(),
        step: step.into(),
        approvers: "group:default/sre".into(),
        required,
        requester: "user:default/ana".into(),
        template: "template:default/deploy".into(),
        entity_key: Some("component:default/cart".into()),
        message: Some("Deploy cart to production".into()),
        status: "pending".into(),
        created_at: 100,
        deadline,
        decided_at: None,
        decisions: Vec::new(),
    }
}

fn decide(who: &str, what: &str, at: i64) -> Decision {
    Decision { approver: who.into(), decision: what.into(), comment: Some(format!("{what} from {who}")), at }
}

#[tokio::test]
async fn a_parked_run_waits_for_its_approvals_and_is_queued_again_once_they_settle() {
    for db in TestDb::all().await {
        let s = &db.store;
        let b = db.backend();
        s.create_run(&run("r1")).await.unwrap();
        let claimed = s.claim_run("w1", 100, 200).await.unwrap().unwrap();
        assert!(!s.park_run("r1", "w2", "[]", &[ask("a1", "r1", "approve", 2, 10_000)]).await.unwrap(), "{b}: only the holder parks it");
        assert!(s.park_run(&claimed.id, "w1", r#"[{"id":"approve","status":"waiting"}]"#, &[ask("a1", "r1", "approve", 2, 10_000)]).await.unwrap(), "{b}");
        let parked = s.run("r1").await.unwrap().unwrap();
        assert_eq!((parked.status.as_str(), parked.lease_holder.as_deref()), ("waiting", None), "{b}");
        assert!(s.claim_run("w2", 300, 400).await.unwrap().is_none(), "{b}: a waiting run is not claimed");
        assert_eq!(s.active_runs(None, Some("user:default/ana")).await.unwrap(), 1, "{b}: waiting counts against the limits");

        // The inbox of the group's members; other groups see nothing.
        let mine = s.approvals(&ApprovalFilter { status: Some("pending".into()), approvers: Some(vec!["group:default/sre".into()]), ..Default::default() }, 10).await.unwrap();
        assert_eq!(mine.len(), 1, "{b}");
        assert!(s.approvals(&ApprovalFilter { approvers: Some(vec!["group:default/web".into()]), ..Default::default() }, 10).await.unwrap().is_empty(), "{b}");

        // Two approvals needed: the first leaves it pending, a second vote by the same person is refused.
        let Decided::Recorded(one) = s.decide_approval("a1", &decide("user:default/bo", "approve", 500)).await.unwrap() else { panic!("{b}") };
        assert_eq!((one.status.as_str(), one.decisions.len()), ("pending", 1), "{b}");
        assert_eq!(s.decide_approval("a1", &decide("user:default/bo", "approve", 510)).await.unwrap(), Decided::AlreadyDecided, "{b}");
        assert_eq!(s.run("r1").await.unwrap().unwrap().status, "waiting", "{b}");
        let Decided::Recorded(two) = s.decide_approval("a1", &decide("user:default/cy", "approve", 520)).await.unwrap() else { panic!("{b}") };
        assert_eq!((two.status.as_str(), two.decided_at), ("approved", Some(520)), "{b}");
        assert_eq!(two.decisions.iter().map(|d| d.approver.as_str()).collect::<Vec<_>>(), ["user:default/bo", "user:default/cy"], "{b}");
        assert_eq!(s.run("r1").await.unwrap().unwrap().status, "queued", "{b}: settled, the run goes on");
        assert_eq!(s.decide_approval("a1", &decide("user:default/di", "reject", 530)).await.unwrap(), Decided::Closed("approved".into()), "{b}");
        assert_eq!(s.decide_approval("nope", &decide("user:default/di", "reject", 530)).await.unwrap(), Decided::Missing, "{b}");

        // Taken up again, the step asks once more: the settled approval is kept and the run goes on.
        let again = s.claim_run("w3", 600, 700).await.unwrap().unwrap();
        assert!(s.park_run(&again.id, "w3", "[]", &[ask("a1-bis", "r1", "approve", 2, 10_000)]).await.unwrap(), "{b}");
        assert_eq!(s.run("r1").await.unwrap().unwrap().status, "queued", "{b}");
        assert_eq!(s.approvals(&ApprovalFilter { run_id: Some("r1".into()), ..Default::default() }, 10).await.unwrap().len(), 1, "{b}");
    }
}

#[tokio::test]
async fn a_rejection_or_a_deadline_ends_the_wait_and_a_cancel_closes_its_approvals() {
    for db in TestDb::all().await {
        let s = &db.store;
        let b = db.backend();
        // A policy's approvals, asked before the run starts: one rejection cancels the other.
        s.create_waiting_run(&run("r2"), &[ask("p1", "r2", "policy:prod", 1, 10_000), ask("p2", "r2", "policy:change-freeze", 1, 10_000)]).await.unwrap();
        assert_eq!(s.run("r2").await.unwrap().unwrap().status, "waiting", "{b}");
        let Decided::Recorded(no) = s.decide_approval("p1", &decide("user:default/bo", "reject", 200)).await.unwrap() else { panic!("{b}") };
        assert_eq!(no.status, "rejected", "{b}");
        assert_eq!(s.approval("p2").await.unwrap().unwrap().status, "cancelled", "{b}");
        assert_eq!(s.run("r2").await.unwrap().unwrap().status, "queued", "{b}: queued, to fail saying why");

        // A deadline passed.
        s.create_waiting_run(&run("r3"), &[ask("t1", "r3", "policy:prod", 1, 1_000)]).await.unwrap();
        assert!(s.expire_approvals(999).await.unwrap().is_empty(), "{b}");
        assert_eq!(s.expire_approvals(1_001).await.unwrap(), ["r3"], "{b}");
        assert_eq!(s.approval("t1").await.unwrap().unwrap().status, "expired", "{b}");
        assert_eq!(s.run("r3").await.unwrap().unwrap().status, "queued", "{b}");
        assert_eq!(s.decide_approval("t1", &decide("user:default/bo", "approve", 1_100)).await.unwrap(), Decided::Closed("expired".into()), "{b}");

        // Cancelling a waiting run closes what it waits for.
        s.create_waiting_run(&run("r4"), &[ask("c1", "r4", "policy:prod", 1, 10_000)]).await.unwrap();
        assert!(s.cancel_run("r4", 300).await.unwrap(), "{b}");
        let r4 = s.run("r4").await.unwrap().unwrap();
        assert_eq!((r4.status.as_str(), r4.error.as_deref()), ("cancelled", Some("cancelled")), "{b}");
        assert_eq!(s.approval("c1").await.unwrap().unwrap().status, "cancelled", "{b}");
    }
}
