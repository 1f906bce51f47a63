//! Talking to one cluster: building the client from a kubeconfig or the pod's service account,
//! checking the API server against the reader's allow-list, and listing each resource type in
//! pages. Every error names the cluster and the request that failed.

use std::fmt::Debug;
use std::time::Duration;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{Namespace, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config, Resource};
use serde::de::DeserializeOwned;

use super::{ClusterSettings, Settings};
use portico_catalog::reader::Reader;

/// Objects per list request; the API server hands a `continue` token for the rest.
const PAGE: u32 = 500;

/// What one cluster holds, already narrowed to the namespaces the source reads.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    /// The API server's URL.
    pub server: String,
    /// Namespaces read: listed from the cluster, or the configured ones.
    pub namespaces: Vec<String>,
    pub deployments: Vec<Deployment>,
    pub statefulsets: Vec<StatefulSet>,
    pub daemonsets: Vec<DaemonSet>,
    pub cronjobs: Vec<CronJob>,
    pub services: Vec<Service>,
    pub ingresses: Vec<Ingress>,
}

pub(crate) async fn read_cluster(cluster: &ClusterSettings, settings: &Settings, reader: &Reader) -> Result<Snapshot, String> {
    let name = &cluster.name;
    let config = config(cluster).await.map_err(|e| format!("cluster {name}: {e}"))?;
    let server = config.cluster_url.to_string();
    if !cluster.in_cluster {
        let url: url::Url = server.parse().map_err(|e| format!("cluster {name}: API server URL {server:?}: {e}"))?;
        reader.check_url(&url).map_err(|e| format!("cluster {name}: {e}"))?;
    }
    let client = Client::try_from(config).map_err(|e| format!("cluster {name}: building the client: {e}"))?;
    let lister = Lister { cluster: name, client, settings };
    let namespaces = if settings.namespaces.is_empty() {
        let all: Vec<Namespace> = list(name, Api::all(lister.client.clone())).await?;
        all.into_iter().filter_map(|n| n.metadata.name).filter(|n| lister.wanted(n)).collect::<Vec<String>>()
    } else {
        settings.namespaces.iter().filter(|n| lister.wanted(n)).cloned().collect::<Vec<String>>()
    };
    Ok(Snapshot {
        server,
        deployments: lister.objects(&namespaces).await?,
        statefulsets: lister.objects(&namespaces).await?,
        daemonsets: lister.objects(&namespaces).await?,
        cronjobs: lister.objects(&namespaces).await?,
        services: lister.objects(&namespaces).await?,
        ingresses: lister.objects(&namespaces).await?,
        namespaces,
    })
}

async fn config(cluster: &ClusterSettings) -> Result<Config, String> {
    let mut config = if cluster.in_cluster {
        Config::incluster().map_err(|e| format!("in-cluster configuration: {e}"))?
    } else {
        let kubeconfig = match &cluster.kubeconfig {
            Some(path) => Kubeconfig::read_from(path).map_err(|e| format!("kubeconfig {}: {}", path.display(), portico_model::with_causes(&e)))?,
            None => Kubeconfig::read().map_err(|e| format!("default kubeconfig: {}", portico_model::with_causes(&e)))?,
        };
        let options = KubeConfigOptions { context: cluster.context.clone(), ..Default::default() };
        Config::from_custom_kubeconfig(kubeconfig, &options).await.map_err(|e| {
            let file = cluster.kubeconfig.as_ref().map_or("default kubeconfig".into(), |p| format!("kubeconfig {}", p.display()));
            match &cluster.context {
                Some(c) => format!("{file}, context {c:?}: {}", portico_model::with_causes(&e)),
                None => format!("{file}: {}", portico_model::with_causes(&e)),
            }
        })?
    };
    config.connect_timeout = Some(Duration::from_secs(10));
    config.read_timeout = Some(Duration::from_secs(60));
    Ok(config)
}

struct Lister<'a> {
    cluster: &'a str,
    client: Client,
    settings: &'a Settings,
}

impl Lister<'_> {
    fn wanted(&self, namespace: &str) -> bool {
        !self.settings.exclude_namespaces.iter().any(|x| x == namespace)
    }

    /// All objects of one type: one request set across namespaces when all are read (then
    /// filtered), else one per configured namespace.
    async fn objects<K>(&self, namespaces: &[String]) -> Result<Vec<K>, String>
    where
        K: Resource<Scope = NamespaceResourceScope, DynamicType = ()> + Clone + DeserializeOwned + Debug,
    {
        if self.settings.namespaces.is_empty() {
            let all: Vec<K> = list(self.cluster, Api::all(self.client.clone())).await?;
            Ok(all.into_iter().filter(|o| o.meta().namespace.as_deref().is_some_and(|n| namespaces.iter().any(|w| w == n))).collect())
        } else {
            let mut out = Vec::new();
            for ns in namespaces {
                out.extend(list(self.cluster, Api::<K>::namespaced(self.client.clone(), ns)).await?);
            }
            Ok(out)
        }
    }
}

/// Lists every object behind `api`, following `continue` tokens.
async fn list<K>(cluster: &str, api: Api<K>) -> Result<Vec<K>, String>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut params = ListParams::default().limit(PAGE);
        if let Some(t) = &token {
            params = params.continue_token(t);
        }
        let page = api
            .list(&params)
            .await
            .map_err(|e| format!("cluster {cluster}: GET {}: {}", api.resource_url(), describe(&e)))?;
        out.extend(page.items);
        match page.metadata.continue_ {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => return Ok(out),
        }
    }
}

/// An API error as a person reads it: the HTTP status and the server's message, or the cause
/// of a transport or decoding failure.
fn describe(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) => {
            let mut s = format!("HTTP {}", status.code);
            if !status.reason.is_empty() {
                s.push_str(&format!(" {}", status.reason));
            }
            if !status.message.is_empty() {
                s.push_str(&format!(": {}", status.message));
            }
            s
        }
        kube::Error::SerdeError(inner) => format!("malformed response: {inner}"),
        other => portico_model::with_causes(other),
    }
}

