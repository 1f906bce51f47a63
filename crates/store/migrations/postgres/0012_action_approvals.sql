-- Approvals a run waits for: asked by an `approval:wait` step, or by a policy that lets a run
-- it would refuse go ahead once approved. A run waiting for one is `waiting` (no worker holds
-- it); when the approval is decided or times out, the run is queued again and a worker takes it
-- up from that step.
create table action_approvals (
    id text primary key,
    run_id text not null,
    -- The step that asked (its id), or `policy:<name>` for a policy's.
    step text not null,
    -- The group whose members approve (an entity key, `group:default/sre`).
    approvers text not null,
    -- How many of them must approve; one rejection rejects.
    required integer not null,
    requester text not null,
    template text not null,
    entity_key text,
    message text,
    -- pending | approved | rejected | expired | cancelled
    status text not null,
    created_at bigint not null,
    deadline bigint not null,
    decided_at bigint,
    unique (run_id, step)
);
create index action_approvals_by_status on action_approvals (status, approvers, created_at);

-- Each approver's decision, with their comment.
create table action_approval_decisions (
    approval_id text not null,
    approver text not null,
    -- approve | reject
    decision text not null,
    comment text,
    at bigint not null,
    primary key (approval_id, approver)
);
