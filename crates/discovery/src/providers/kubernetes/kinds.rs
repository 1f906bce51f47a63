//! The kinds this source declares for itself, as `Kind` entities contributed in every scan, so
//! a catalog that reads a cluster needs no hand-written declarations.

use serde_json::{Value, json};

/// apiVersion of `Cluster`, `Workload` and `Kind`.
pub(crate) const API_VERSION: &str = portico_model::PORTICO_API_VERSION;

pub(crate) fn documents() -> Vec<Value> {
    let string = json!({ "type": "string" });
    let cluster = json!({
        "kind": "Cluster",
        "description": "A Kubernetes cluster, read by a kubernetes discovery source.",
        "schema": {
            "type": "object",
            "properties": { "server": string },
        },
    });
    let workload = json!({
        "kind": "Workload",
        "description": "A Deployment, StatefulSet, DaemonSet or CronJob running in a Kubernetes cluster.",
        "schema": {
            "type": "object",
            "required": ["type", "cluster", "namespace"],
            "properties": {
                "type": { "enum": ["deployment", "statefulset", "daemonset", "cronjob"] },
                "cluster": string,
                "namespace": string,
                "component": string,
                "owner": string,
            },
        },
        "relations": [
            { "field": "spec.cluster", "type": "partOf", "inverse": "hasPart", "targetKind": "Cluster" },
            { "field": "spec.component", "type": "instanceOf", "inverse": "hasInstance", "targetKind": "Component" },
            { "field": "spec.owner", "type": "ownedBy", "inverse": "ownerOf", "targetKind": "Group" },
        ],
    });
    [("cluster", cluster), ("workload", workload)]
        .into_iter()
        .map(|(name, spec)| json!({ "apiVersion": API_VERSION, "kind": "Kind", "metadata": { "name": name }, "spec": spec }))
        .collect()
}
