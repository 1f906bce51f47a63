//! The `kubernetes` source: reads clusters through the Kubernetes API (the `kube` client) and
//! contributes what runs there as `Cluster` and `Workload` entities, with the two kinds
//! declared in the same scan. One scope is one cluster: a cluster that cannot be read fails
//! alone, and its entities stay as they were.
//!
//! The trade-off: everything is listed (paged) on every run rather than watched, so a run costs
//! a handful of list requests per cluster but needs no long-lived connections or RBAC `watch`.

mod fetch;
mod kinds;
mod map;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::json;

use crate::engine::{Provider, ProviderError, Scan, ScanContext, ScopeOutcome, ScopeScan};
use portico_catalog::SourceError;

pub const KIND: &str = "kubernetes";

/// The type-specific settings of a `kubernetes` source.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    /// Clusters to read; by default one cluster named `default`, from the default kubeconfig.
    #[serde(default = "default_clusters")]
    pub clusters: Vec<ClusterSettings>,
    /// Namespaces to read; empty means all.
    #[serde(default)]
    pub namespaces: Vec<String>,
    #[serde(default = "default_excluded")]
    pub exclude_namespaces: Vec<String>,
    /// Labels (and annotations) naming the Component a workload runs, first match wins.
    #[serde(default = "default_component_labels")]
    pub component_labels: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterSettings {
    pub name: String,
    /// A kubeconfig file; by default `$KUBECONFIG` or `~/.kube/config`.
    #[serde(default)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context; by default its current context.
    #[serde(default)]
    pub context: Option<String>,
    /// Use the pod's service account (`KUBERNETES_SERVICE_HOST`) instead of a kubeconfig.
    #[serde(default)]
    pub in_cluster: bool,
}

fn default_clusters() -> Vec<ClusterSettings> {
    vec![ClusterSettings { name: "default".into(), ..Default::default() }]
}

fn default_excluded() -> Vec<String> {
    ["kube-system", "kube-public", "kube-node-lease"].map(String::from).to_vec()
}

fn default_component_labels() -> Vec<String> {
    ["backstage.io/kubernetes-id", "app.kubernetes.io/name", "app.kubernetes.io/part-of", "app"]
        .map(String::from)
        .to_vec()
}

impl Settings {
    fn check(self) -> Result<Self, String> {
        let mut seen = std::collections::BTreeSet::new();
        for (i, c) in self.clusters.iter().enumerate() {
            if portico_model::naming::sanitize_object_name(&c.name).is_none() {
                return Err(format!("{KIND} source settings: clusters[{i}].name: {:?} is not a usable name", c.name));
            }
            if !seen.insert(&c.name) {
                return Err(format!("{KIND} source settings: clusters[{i}].name: cluster {:?} is listed twice", c.name));
            }
            if c.in_cluster && (c.kubeconfig.is_some() || c.context.is_some()) {
                return Err(format!(
                    "{KIND} source settings: clusters[{i}]: inCluster cannot be combined with kubeconfig or context"
                ));
            }
        }
        if self.clusters.is_empty() {
            return Err(format!("{KIND} source settings: clusters: list at least one cluster (or leave it out)"));
        }
        Ok(self)
    }
}

pub struct KubernetesProvider {
    settings: Settings,
}

impl KubernetesProvider {
    pub fn from_settings(settings: &serde_json::Value) -> Result<Self, String> {
        let settings: Settings = super::settings(KIND, settings)?;
        Ok(Self { settings: settings.check()? })
    }
}

#[async_trait::async_trait]
impl Provider for KubernetesProvider {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn scan(&self, ctx: &ScanContext) -> Result<Scan, ProviderError> {
        let clusters: Vec<&ClusterSettings> =
            self.settings.clusters.iter().filter(|c| ctx.only.as_ref().is_none_or(|o| *o == c.name)).collect();
        if let Some(only) = &ctx.only
            && clusters.is_empty()
        {
            return Err(ProviderError::new(format!("{KIND} source has no cluster named {only:?}")));
        }
        let total = clusters.len() as u64;
        let mut scopes = Vec::with_capacity(clusters.len());
        for (i, cluster) in clusters.into_iter().enumerate() {
            ctx.report(format!("cluster {}", cluster.name), i as u64, Some(total));
            let outcome = match fetch::read_cluster(cluster, &self.settings, &ctx.reader).await {
                Ok(snapshot) => ScopeOutcome::Full {
                    contributions: map::contributions(&cluster.name, &snapshot, &self.settings),
                    errors: Vec::new(),
                    complete: true,
                },
                Err(message) => ScopeOutcome::Failed {
                    error: SourceError { location: format!("k8s:{}", cluster.name), key: None, message },
                },
            };
            scopes.push(ScopeScan { scope: cluster.name.clone(), outcome });
        }
        Ok(Scan { scopes, exhaustive: ctx.only.is_none(), state: json!(null) })
    }
}
