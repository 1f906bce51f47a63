//! Helm charts as configuration of the components they deploy. A chart is a component's when
//! its name, `nameOverride`/`fullnameOverride` or image repository is one of the component's
//! names; its `values.yaml` then configures the component, and so do the ConfigMaps its values
//! name (mounted or loaded by name), including ConfigMaps another chart renders from its own
//! values with `toYaml .Values.x` (a shared chart of gateway routes, say).

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use regex::Regex;

use super::Cx;
use super::components::Component;
use super::settings::{Setting, yaml_lines};
use super::tree::{dir_of, file_name, join};
use super::workloads::image_base;
use super::yaml::is_yaml;

/// Values keys that never configure where a service connects (ingress host names).
fn is_ingress(key: &str) -> bool {
    key.split('.').any(|w| w.eq_ignore_ascii_case("ingress") || w.eq_ignore_ascii_case("ingresses"))
}

static TO_YAML: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"toYaml\s+\$?\.Values\.([A-Za-z0-9_.-]+)").unwrap());

/// A chart: its folder, name and values.
struct Chart {
    dir: String,
    name: String,
    values: Vec<Setting>,
}

fn charts(cx: &Cx<'_>) -> Vec<Chart> {
    let dirs: Vec<String> = cx.tree.paths.iter().filter(|p| file_name(p) == "Chart.yaml").map(|p| dir_of(p).to_owned()).collect();
    let mut out = Vec::new();
    for dir in dirs {
        let read = |name: &str| {
            let path = join(&dir, name);
            cx.tree.read(&path).ok().flatten().map(|t| yaml_lines(&path, &t)).unwrap_or_default()
        };
        let meta = read("Chart.yaml");
        let Some(name) = meta.iter().find(|s| s.key == "name").map(|s| s.value.clone()) else { continue };
        out.push(Chart { values: read("values.yaml"), dir, name });
    }
    out
}

/// ConfigMaps whose data a chart's templates render from its values: name → settings.
fn rendered_config_maps(cx: &Cx<'_>, charts: &[Chart]) -> HashMap<String, Vec<Setting>> {
    let mut out: HashMap<String, Vec<Setting>> = HashMap::new();
    for chart in charts {
        let templates = join(&chart.dir, "templates");
        for path in cx.tree.under(&templates).filter(|p| is_yaml(p)) {
            let Some(text) = cx.tree.read(path).ok().flatten() else { continue };
            for doc in text.split("\n---") {
                if !doc.contains("kind: ConfigMap") {
                    continue;
                }
                let name = doc.lines().skip_while(|l| !l.starts_with("metadata:")).find_map(|l| l.trim().strip_prefix("name:"));
                let Some(name) = name.map(|n| n.trim().trim_matches(['"', '\''])).filter(|n| !n.is_empty() && !n.contains("{{")) else { continue };
                for c in TO_YAML.captures_iter(doc) {
                    let prefix = format!("{}.", &c[1]);
                    let data = chart.values.iter().filter_map(|s| {
                        let key = s.key.strip_prefix(&prefix)?;
                        Some(Setting { key: key.to_owned(), ..s.clone() })
                    });
                    out.entry(name.to_owned()).or_default().extend(data);
                }
            }
        }
    }
    out
}

/// The component a chart deploys: the one named like the chart, its `nameOverride`,
/// `fullnameOverride` or image (at the top of its values or one level down, as wrapper
/// charts write them), by name first, then by alias. An umbrella chart naming several
/// components deploys none of them alone.
fn chart_component<'c>(chart: &Chart, components: &'c [Component]) -> Option<&'c Component> {
    let mut names = vec![chart.name.to_ascii_lowercase()];
    for s in chart.values.iter().filter(|s| s.key.matches('.').count() <= 2) {
        let last = s.key.rsplit('.').next().unwrap_or(&s.key);
        let top = s.key.matches('.').count() <= usize::from(last == "repository") + 1;
        if top && matches!(last, "nameOverride" | "fullnameOverride") && !s.key.contains("image") {
            names.push(s.value.to_ascii_lowercase());
        } else if top && s.key.ends_with("image.repository") {
            names.push(image_base(&s.value).to_ascii_lowercase());
        }
    }
    let by_name: Vec<&Component> = components.iter().filter(|c| names.contains(&c.name.to_ascii_lowercase())).collect();
    if by_name.len() > 1 && by_name.iter().any(|c| c.entity_ref() != by_name[0].entity_ref()) {
        return None;
    }
    by_name.first().copied().or_else(|| names.iter().find_map(|n| components.iter().find(|c| c.aliases.contains(n))))
}

/// Settings charts give components: entity reference → settings.
pub(crate) fn settings(cx: &Cx<'_>, components: &[Component]) -> BTreeMap<String, Vec<Setting>> {
    let charts = charts(cx);
    if charts.is_empty() {
        return BTreeMap::new();
    }
    let maps = rendered_config_maps(cx, &charts);
    let mut out: BTreeMap<String, Vec<Setting>> = BTreeMap::new();
    for chart in &charts {
        let Some(c) = chart_component(chart, components) else { continue };
        let entry = out.entry(c.entity_ref()).or_default();
        for s in chart.values.iter().filter(|s| !is_ingress(&s.key)) {
            entry.push(s.clone());
            for named in s.value.split(',').map(str::trim) {
                if let Some(data) = maps.get(named) {
                    entry.extend(data.iter().cloned());
                }
            }
        }
    }
    out
}
