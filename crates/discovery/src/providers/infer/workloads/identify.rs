//! What each workload is: a component (by build folder, mounted code, carved Dockerfile or
//! any name it carries), a declared entity, or a Resource; renames, carving, recipes and nested
//! modules folded into the service that deploys them.

use std::collections::BTreeMap;

use portico_model::naming::sanitize_object_name;

use super::super::components::{Component, holder};
use super::super::settings::dockerfile_from;
use super::super::tree::{file_name, join};
use super::super::Cx;
use super::images::{image_base, is_observability, resource_type, resource_type_of_name};
use super::{Deployments, Identity, Workload};

/// The longest `-`-ended prefix at least two image names share (`retail-store-sample-`).
fn common_prefix(names: &[String]) -> Option<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for n in names {
        for (i, _) in n.match_indices('-') {
            *counts.entry(&n[..=i]).or_default() += 1;
        }
    }
    counts.into_iter().filter(|(_, c)| *c >= 2).map(|(p, _)| p).max_by_key(|p| p.len()).map(str::to_owned)
}

/// The names an image goes by: its base, and the base without the shared prefix or the
/// repository's name (`go-coffeeshop-product` → `product`).
fn image_names(image: &str, prefix: Option<&str>, repo: &str) -> Vec<String> {
    let base = image_base(image).to_ascii_lowercase();
    let mut out = vec![base.clone()];
    let repo_prefix = format!("{}-", repo.to_ascii_lowercase());
    for p in [prefix, Some(repo_prefix.as_str())].into_iter().flatten() {
        if let Some(rest) = base.strip_prefix(p).filter(|r| !r.is_empty()) {
            out.push(rest.to_owned());
        }
    }
    out
}

/// Folders whose Dockerfile builds a datastore (`FROM mongo:6`): they are no component.
fn datastore_dirs(cx: &Cx<'_>, components: &mut Vec<Component>) -> BTreeMap<String, (&'static str, String)> {
    let mut out = BTreeMap::new();
    components.retain(|c| {
        if !super::super::manifests::is_dockerfile(file_name(&c.manifest)) {
            return true;
        }
        let Some(text) = cx.tree.read(&c.manifest).ok().flatten() else { return true };
        let from = dockerfile_from(&text);
        let Some(image) = from.last() else { return true };
        if is_observability(image) {
            // A folder configuring grafana, logstash, an OpenTelemetry collector: no service.
            return false;
        }
        match resource_type(image) {
            Some(t) => {
                out.insert(c.dir.clone(), (t, image.clone()));
                false
            }
            None => true,
        }
    });
    out
}

/// What each workload is; components matched to a workload take the name it deploys them
/// under and every other name it carries as aliases.
pub(crate) fn identify(cx: &mut Cx<'_>, components: &mut Vec<Component>, d: &mut Deployments) {
    d.datastore_dirs = datastore_dirs(cx, components);
    // An Aspire app host orchestrates the others: tooling, not a service of its own.
    for host in &d.app_hosts {
        if let Some(c) = components.iter_mut().find(|c| &c.dir == host) {
            c.spec_type = super::super::manifests::Type::Tool;
            c.type_reason = Some("a .NET Aspire app host: it starts the other services, it serves nothing itself".to_owned());
        }
    }
    let bases: Vec<String> = d.workloads.iter().flat_map(|w| w.images.iter().map(|i| image_base(i).to_ascii_lowercase())).collect();
    let prefix = common_prefix(&bases);
    let carved = carve(cx, components, &d.workloads);
    let mut renamed = vec![false; components.len()];
    let mut ids = Vec::with_capacity(d.workloads.len());
    for w in &d.workloads {
        let images: Vec<String> = w.images.iter().flat_map(|i| image_names(i, prefix.as_deref(), &cx.repo.name)).collect();
        let id = identify_one(cx, components, &d.datastore_dirs, w, &images);
        if let Identity::Component(i) = id {
            let by_deployment =
                !w.templated && (w.build_dir.is_some() || w.names.iter().any(|n| components[i].aliases.contains(&n.to_ascii_lowercase())));
            let c = &mut components[i];
            for n in w.names.iter().map(|n| n.to_ascii_lowercase()).chain(images) {
                if !c.aliases.contains(&n) {
                    c.aliases.push(n);
                }
            }
            let declared = cx.repo.declared.iter().any(|x| x.dir == c.dir);
            let wanted = w.names.first().and_then(|n| sanitize_object_name(n));
            if let Some(name) = wanted.filter(|_| by_deployment && !renamed[i] && !declared) {
                renamed[i] = true;
                let taken = components.iter().enumerate().any(|(j, o)| j != i && !is_recipe(o) && o.name.eq_ignore_ascii_case(&name));
                if !taken {
                    components[i].name = name;
                    components[i].name_from = Some(format!("{}:{}", w.path, w.line));
                }
            }
        }
        ids.push(id);
    }
    // A module whose deployables were all carved out of it is their shared code.
    for i in carved {
        if !ids.contains(&Identity::Component(i)) {
            components[i].spec_type = super::super::manifests::Type::Library;
        }
    }
    d.ids = fold_nested(cx, components, ids, &d.workloads);
}

/// Modules nested in a deployed component's folder that nothing deploys on its own and that
/// have no Dockerfile (an ASP.NET host's `ClientApp/package.json`, a service's helper module)
/// are part of that component: their files join it and they make no component. Returns the
/// identities with component indexes renumbered.
fn fold_nested(cx: &Cx<'_>, components: &mut Vec<Component>, ids: Vec<Identity>, workloads: &[Workload]) -> Vec<Identity> {
    let built: Vec<&str> = workloads.iter().filter_map(|w| w.build_dir.as_deref()).collect();
    let deployed: Vec<usize> = ids.iter().filter_map(|id| if let Identity::Component(i) = id { Some(*i) } else { None }).collect();
    let mut into: Vec<Option<usize>> = vec![None; components.len()];
    for (i, c) in components.iter().enumerate() {
        let declared = cx.repo.declared.iter().any(|d| d.dir == c.dir);
        let own_dockerfile = c.own.iter().any(|p| super::super::manifests::is_dockerfile(file_name(p)));
        if deployed.contains(&i) || declared {
            continue;
        }
        if is_recipe(c) && built.contains(&c.dir.as_str()) {
            // A Dockerfile with no code that workloads build but run other code with (a
            // development image mounting each service's folder): a recipe, no service.
            into[i] = Some(usize::MAX);
            continue;
        }
        if c.dir.is_empty() || own_dockerfile {
            continue;
        }
        if let Some(p) = holder(components, &c.dir).filter(|p| deployed.contains(p)) {
            into[i] = Some(p);
        }
    }
    for (i, p) in into.iter().enumerate() {
        if let Some(p) = p.filter(|p| *p != usize::MAX) {
            let files = std::mem::take(&mut components[i].own);
            components[p].own.extend(files);
        }
    }
    let mut renumber = Vec::with_capacity(components.len());
    let mut kept = 0;
    for f in &into {
        renumber.push(kept);
        if f.is_none() {
            kept += 1;
        }
    }
    let mut i = 0;
    components.retain(|_| {
        let keep = into[i].is_none();
        i += 1;
        keep
    });
    ids.into_iter().map(|id| if let Identity::Component(i) = id { Identity::Component(renumber[i]) } else { id }).collect()
}

/// The stem a Dockerfile's name gives (`Dockerfile-product`, `Dockerfile.product`,
/// `product.Dockerfile` → `product`).
fn dockerfile_stem(path: &str) -> Option<String> {
    let name = file_name(path).to_ascii_lowercase();
    let stem = name.strip_prefix("dockerfile").map(|s| s.trim_start_matches(['-', '.', '_'])).or_else(|| name.strip_suffix(".dockerfile"))?;
    (!stem.is_empty() && !matches!(stem, "dev" | "prod" | "production" | "local" | "debug" | "test" | "ci")).then(|| stem.to_owned())
}

/// Services built from one module by Dockerfiles kept together (`docker/Dockerfile-product`
/// building `cmd/product` of a root `go.mod`): each becomes a component of its own folder,
/// found by the Dockerfile's stem. Returns the modules carved.
fn carve(cx: &Cx<'_>, components: &mut Vec<Component>, workloads: &[Workload]) -> Vec<usize> {
    let mut carved = Vec::new();
    for w in workloads {
        let (Some(df), Some(dir)) = (&w.dockerfile, &w.build_dir) else { continue };
        let Some(stem) = dockerfile_stem(df) else { continue };
        let Some(parent) = holder(components, &join(dir, "Dockerfile")) else { continue };
        let root = components[parent].dir.clone();
        let mut folders: Vec<&str> = cx
            .tree
            .dirs
            .iter()
            .copied()
            .filter(|d| super::super::tree::is_within(d, &root) && file_name(d).eq_ignore_ascii_case(&stem) && !super::super::tree::in_test_dir(d))
            .collect();
        folders.sort_by_key(|d| (!d.split('/').any(|s| matches!(s, "cmd" | "apps" | "services" | "src")), d.len()));
        let Some(folder) = folders.first().map(|f| (*f).to_owned()) else { continue };
        if components.iter().any(|c| c.dir == folder) {
            continue;
        }
        let mut c = components[parent].derived(&folder, df);
        c.spec_type = super::super::manifests::Type::Service;
        c.own = cx.tree.under(&folder).map(str::to_owned).collect();
        components.push(c);
        carved.push(parent);
    }
    carved
}

fn identify_one(
    cx: &Cx<'_>,
    components: &[Component],
    datastores: &BTreeMap<String, (&'static str, String)>,
    w: &Workload,
    images: &[String],
) -> Identity {
    let resource_name = || w.names.first().and_then(|n| sanitize_object_name(n));
    // A test double in the main compose file (`firestore-component-tests`, `api-e2e`).
    let test_double = |n: &String| {
        let n = n.to_ascii_lowercase();
        ["-test", "-tests", "-e2e", "-it"].iter().any(|s| n.ends_with(s)) || n.starts_with("test-")
    };
    if w.names.first().is_some_and(test_double) {
        return Identity::Unknown;
    }
    let carved = |c: &Component, df: &str| c.manifest == df && c.dir != super::super::tree::dir_of(df);
    if let Some(i) = w.dockerfile.as_ref().and_then(|df| components.iter().position(|c| carved(c, df))) {
        return Identity::Component(i);
    }
    if let Some(dir) = &w.code_dir {
        let found = components.iter().position(|c| &c.dir == dir).or_else(|| holder(components, &join(dir, "x")));
        if let Some(i) = found.filter(|i| !components[*i].dir.is_empty() || dir.is_empty()) {
            return Identity::Component(i);
        }
    }
    if let Some(dir) = &w.build_dir {
        if let Some((t, _)) = datastores.get(dir) {
            return resource_name().map_or(Identity::Unknown, |n| Identity::Resource(n, t));
        }
        let exact = components.iter().position(|c| &c.dir == dir);
        if let Some(i) = exact.or_else(|| holder(components, &join(dir, "Dockerfile"))) {
            // A folder holding only a Dockerfile (a recipe several services share) names no
            // service by itself: the workload's names say which it is, when they can.
            if is_recipe(&components[i]) {
                if let Some(id) = by_names(cx, components, w) {
                    return id;
                }
                let named = w.names.iter().map(String::as_str).chain([file_name(dir)]).find_map(resource_type_of_name);
                if let (Some(t), Some(n)) = (named, resource_name()) {
                    return Identity::Resource(n, t);
                }
            }
            return Identity::Component(i);
        }
        // The Dockerfile sits above the only manifest (`svc/Dockerfile`, `svc/html/composer.json`):
        // that component is the deployed folder's service.
        let below: Vec<usize> = (0..components.len()).filter(|i| super::super::tree::is_within(&components[*i].dir, dir)).collect();
        if let [only] = below[..] {
            return Identity::Component(only);
        }
    }
    // A well-known datastore image in the main container is that datastore, whatever a
    // component is called; a one-off job running one (loading data) is none.
    // (A Helm template's name is the guessed release's: it names no datastore reliably.)
    if let Some(t) = w.images.first().and_then(|i| resource_type(i)).filter(|_| !w.job && !w.templated) {
        return resource_name().map_or(Identity::Unknown, |n| Identity::Resource(n, t));
    }
    if let Some(id) = by_names(cx, components, w) {
        return id;
    }
    if let Some(t) = w.images.iter().find_map(|i| resource_type(i)).filter(|_| !w.job) {
        return resource_name().map_or(Identity::Unknown, |n| Identity::Resource(n, t));
    }
    for image in images {
        if let Some((t, _)) = datastores.iter().find(|(dir, _)| file_name(dir).eq_ignore_ascii_case(image)).map(|(_, v)| v) {
            return resource_name().map_or(Identity::Unknown, |n| Identity::Resource(n, t));
        }
        if let Some(i) = components.iter().position(|c| c.aliases.contains(image)) {
            return Identity::Component(i);
        }
    }
    let named = w.names.iter().chain(images.iter()).find_map(|n| resource_type_of_name(n)).filter(|_| !w.job);
    match (named, resource_name()) {
        (Some(t), Some(n)) => Identity::Resource(n, t),
        _ => Identity::Unknown,
    }
}

/// A workload name without a role suffix (`-http`, `-grpc`, `-api`, `-service`, `-worker`…).
fn strip_role(name: &str) -> Option<String> {
    const ROLES: &[&str] = &["-http", "-grpc", "-api", "-service", "-svc", "-server", "-worker", "-web", "-app", "-backend"];
    ROLES.iter().find_map(|r| name.strip_suffix(r)).filter(|n| !n.is_empty()).map(str::to_owned)
}

/// A component made from a folder holding a Dockerfile and no source code.
fn is_recipe(c: &Component) -> bool {
    c.language.is_none() && super::super::manifests::is_dockerfile(file_name(&c.manifest))
}

/// The component or declared entity one of the workload's names is.
fn by_names(cx: &Cx<'_>, components: &[Component], w: &Workload) -> Option<Identity> {
    for name in &w.names {
        let lower = name.to_ascii_lowercase();
        if let Some(i) = components.iter().position(|c| c.aliases.contains(&lower) && !is_recipe(c)) {
            return Some(Identity::Component(i));
        }
        if let Some(d) = cx.repo.declared.iter().find(|d| d.kind.eq_ignore_ascii_case("component") && d.name.eq_ignore_ascii_case(name)) {
            return Some(Identity::Declared(format!("component:{}/{}", d.namespace, d.name)));
        }
    }
    // `trainer-http`, `orders-api`: a component's name with the protocol or role appended.
    let stripped = w.names.iter().filter_map(|n| strip_role(&n.to_ascii_lowercase()));
    stripped.filter_map(|n| components.iter().position(|c| c.aliases.contains(&n) && !is_recipe(c))).next().map(Identity::Component)
}
