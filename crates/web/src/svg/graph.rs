//! A relation graph as SVG, laid out in rings: the start entities in the middle, each further
//! hop on a wider ring. On each ring, entities follow the angle of the entity they were reached
//! from, so links mostly run outwards instead of across. Deterministic: the same graph draws
//! the same picture. Every existing entity is a link to its page.

use std::collections::HashMap;
use std::f64::consts::TAU;
use std::sync::Arc;

use portico_graph::{Id, Neighbourhood, Visible};
use portico_model::EntityRef;
use serde::Serialize;

use crate::error::PageError;
use crate::view::{entity_url, short_label};

/// Most entities drawn in one graph.
pub(crate) const MAX_NODES: usize = 150;
/// Room each entity needs along its ring.
const SPACING: f64 = 112.0;
/// Distance between rings.
const RING: f64 = 170.0;
const MARGIN: f64 = 90.0;
/// The widest a ring may get, however crowded.
const MAX_RADIUS: f64 = 2400.0;

#[derive(Debug, Serialize)]
pub(crate) struct Node {
    x: i32,
    y: i32,
    label: String,
    full: String,
    kind: String,
    colour: String,
    url: Option<String>,
    seed: bool,
    /// Stands for a group of leaves.
    group: bool,
}

#[derive(Debug, Serialize)]
pub(crate) struct Edge {
    x1: i32,
    y1: i32,
    x2: i32,
    y2: i32,
    /// Midpoint, for the label.
    mx: i32,
    my: i32,
    relation: String,
    colour: String,
    title: String,
    labelled: bool,
}

/// A laid-out graph, ready for `graph.svg`.
#[derive(Debug, Serialize)]
pub(crate) struct Drawing {
    pub width: i32,
    pub height: i32,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// Relation types drawn, with their colour class, for the legend.
    pub legend: Vec<(String, String)>,
    /// Kinds drawn, with their colour class.
    pub kinds: Vec<(String, String)>,
    pub omitted: usize,
    pub title: String,
    /// Nodes standing for groups of leaves, and the entities drawn (a group counting all).
    pub groups: usize,
    pub entities: usize,
}

impl Drawing {
    pub fn to_svg(&self) -> Result<String, PageError> {
        crate::templates::render("graph.svg", self).map(|h| h.0)
    }
}

/// Leaves of one kind hanging off one entity by one relation, beyond this many, are drawn
/// as one node ("12 users").
pub(crate) const LEAF_GROUP: usize = 6;

/// A node standing for many leaves: how many, of which kind, and their names.
struct Collapsed {
    count: usize,
    kind: String,
    names: Vec<String>,
    parent: Id,
}

/// Folds large groups of leaves (entities linked to nothing else drawn, all of one kind and
/// hanging off one entity by one relation) into their first member, which then stands for the
/// group. Returns the neighbourhood without the others, and the groups by their stand-in.
fn collapse_leaves(graph: &Visible<'_>, hood: &Neighbourhood) -> (Neighbourhood, HashMap<Id, Collapsed>) {
    let depth: HashMap<Id, u8> = hood.nodes.iter().copied().collect();
    let mut neighbours: HashMap<Id, Vec<Id>> = HashMap::new();
    for e in &hood.edges {
        for (a, b) in [(e.from, e.to), (e.to, e.from)] {
            let list = neighbours.entry(a).or_default();
            if !list.contains(&b) {
                list.push(b);
            }
        }
    }
    let mut groups: HashMap<(Id, String, Arc<str>), Vec<Id>> = HashMap::new();
    for (id, d) in &hood.nodes {
        let Some([parent]) = neighbours.get(id).map(Vec::as_slice) else { continue };
        if *d == 0 || depth.get(parent).is_none_or(|pd| *pd >= *d) {
            continue;
        }
        let relation = hood.edges.iter().find(|e| e.from == *parent && e.to == *id || e.to == *parent && e.from == *id).map(|e| e.relation.clone());
        let kind = display_ref(graph, *id).kind().to_owned();
        groups.entry((*parent, kind, relation.unwrap_or_default())).or_default().push(*id);
    }
    let mut hidden: std::collections::HashSet<Id> = std::collections::HashSet::new();
    let mut collapsed = HashMap::new();
    for ((parent, kind, _), mut ids) in groups {
        if ids.len() <= LEAF_GROUP {
            continue;
        }
        ids.sort_by(|a, b| graph.key_of(*a).cmp(graph.key_of(*b)));
        let names = ids
            .iter()
            .map(|id| {
                let r = display_ref(graph, *id);
                short_label(&r, Some(r.kind()))
            })
            .collect();
        hidden.extend(ids[1..].iter().copied());
        collapsed.insert(ids[0], Collapsed { count: ids.len(), kind, names, parent });
    }
    let folded = Neighbourhood {
        nodes: hood.nodes.iter().copied().filter(|(id, _)| !hidden.contains(id)).collect(),
        edges: hood.edges.iter().filter(|e| !hidden.contains(&e.from) && !hidden.contains(&e.to)).cloned().collect(),
        omitted: hood.omitted,
        relation_types: hood.relation_types.clone(),
    };
    (folded, collapsed)
}

/// Lays out `hood` (from [`Visible::neighbourhood`]), large groups of leaves folded into
/// one node each.
pub(crate) fn layout(graph: &Visible<'_>, hood: &Neighbourhood, title: String) -> Drawing {
    let (folded, collapsed) = collapse_leaves(graph, hood);
    let hood = &folded;
    let depth = hood.nodes.iter().map(|n| n.1).max().unwrap_or(0) as usize;
    let mut rings: Vec<Vec<Id>> = vec![Vec::new(); depth + 1];
    for (id, d) in &hood.nodes {
        rings[*d as usize].push(*id);
    }
    let angle = radial_tree(graph, hood);
    let mut radius = vec![0.0f64; depth + 1];
    for d in 0..=depth {
        let mut angles: Vec<f64> = rings[d].iter().map(|id| angle[id]).collect();
        angles.sort_by(f64::total_cmp);
        // The closest neighbours on the ring decide how far out it must be for labels to fit.
        let gap = angles.windows(2).map(|w| w[1] - w[0]).chain(angles.first().zip(angles.last()).map(|(f, l)| f + TAU - l)).fold(TAU, f64::min);
        let needed = (SPACING / gap.max(1e-3)).min(MAX_RADIUS);
        radius[d] = match d {
            0 if rings[0].len() <= 1 => 0.0,
            0 => (rings[0].len() as f64 * SPACING / TAU).max(60.0),
            _ => needed.max(radius[d - 1] + RING),
        };
    }
    let outer = radius.iter().copied().fold(0.0, f64::max);
    let half = outer + MARGIN;
    let mut at: HashMap<Id, (i32, i32)> = HashMap::new();
    let mut nodes = Vec::with_capacity(hood.nodes.len());
    for (d, ring) in rings.iter().enumerate() {
        for id in ring {
            let a = angle[id];
            let (x, y) = ((half + radius[d] * a.cos()).round() as i32, (half + radius[d] * a.sin()).round() as i32);
            at.insert(*id, (x, y));
            let r = display_ref(graph, *id);
            let node = match collapsed.get(id) {
                Some(group) => {
                    let parent = display_ref(graph, group.parent);
                    let shown = group.names.iter().take(30).cloned().collect::<Vec<_>>().join(", ");
                    let more = if group.count > 30 { format!(" and {} more", group.count - 30) } else { String::new() };
                    Node {
                        x,
                        y,
                        label: format!("{} {}", group.count, plural(&group.kind, group.count)),
                        full: format!("{} {} of {parent}: {shown}{more}", group.count, plural(&group.kind, group.count)),
                        kind: group.kind.clone(),
                        colour: String::new(),
                        url: Some(format!("{}#relations", entity_url(&parent))),
                        seed: false,
                        group: true,
                    }
                }
                None => Node {
                    x,
                    y,
                    label: super::clip(&short_label(&r, Some(r.kind())), 18),
                    full: r.to_string(),
                    kind: r.kind().to_owned(),
                    colour: String::new(),
                    url: graph.is_present(*id).then(|| entity_url(&r)),
                    seed: d == 0,
                    group: false,
                },
            };
            nodes.push(node);
        }
    }
    let label_edges = hood.edges.len() <= 16;
    // Each kind drawn its own colour: its usual one unless another kind took it first.
    let mut names: Vec<String> = nodes.iter().map(|n| n.kind.clone()).collect();
    names.sort();
    names.dedup();
    let kinds = super::distinct_colours(&names, super::kind_colour);
    for n in &mut nodes {
        n.colour = kinds.iter().find(|k| k.0 == n.kind).map(|k| k.1.clone()).unwrap_or_default();
    }
    let mut legend: Vec<(String, String)> = Vec::new();
    let edges = hood
        .edges
        .iter()
        .filter_map(|e| {
            let ((x1, y1), (x2, y2)) = (*at.get(&e.from)?, *at.get(&e.to)?);
            let colour = super::colour(&e.relation);
            if !legend.iter().any(|(t, _)| **t == *e.relation) {
                legend.push((e.relation.to_string(), colour.clone()));
            }
            Some(Edge {
                x1,
                y1,
                x2,
                y2,
                mx: (x1 + x2) / 2,
                my: (y1 + y2) / 2,
                relation: e.relation.to_string(),
                colour,
                title: format!("{} {} {}", graph.key_of(e.from), e.relation, graph.key_of(e.to)),
                labelled: label_edges,
            })
        })
        .collect();
    legend.sort();
    let size = (2.0 * half).round() as i32;
    let groups = collapsed.len();
    let entities = nodes.len() + collapsed.values().map(|g| g.count - 1).sum::<usize>();
    Drawing { width: size, height: size, nodes, edges, legend, kinds, omitted: hood.omitted, title, groups, entities }
}

/// Angles of a radial tree: each entity gets a sector of the circle in proportion to how many
/// entities it leads to, and its children share that sector, so branches never interleave.
fn radial_tree(graph: &Visible<'_>, hood: &Neighbourhood) -> HashMap<Id, f64> {
    let depth: HashMap<Id, u8> = hood.nodes.iter().copied().collect();
    let mut children: HashMap<Id, Vec<Id>> = HashMap::new();
    let mut has_parent: HashMap<Id, bool> = HashMap::new();
    // The first link into an entity from one hop nearer is the one it was reached by.
    for e in &hood.edges {
        let (Some(df), Some(dt)) = (depth.get(&e.from), depth.get(&e.to)) else { continue };
        if *dt == df + 1 && !has_parent.contains_key(&e.to) {
            has_parent.insert(e.to, true);
            children.entry(e.from).or_default().push(e.to);
        }
    }
    for list in children.values_mut() {
        list.sort_by(|a, b| graph.key_of(*a).cmp(graph.key_of(*b)));
    }
    let mut weight: HashMap<Id, f64> = HashMap::new();
    for (id, _) in hood.nodes.iter().rev() {
        let w: f64 = children.get(id).map_or(0.0, |c| c.iter().map(|c| weight[c]).sum());
        weight.insert(*id, w.max(1.0));
    }
    let seeds: Vec<Id> = hood.nodes.iter().filter(|(id, d)| *d == 0 || !has_parent.contains_key(id)).map(|n| n.0).collect();
    let mut angle = HashMap::new();
    let mut stack: Vec<(Vec<Id>, f64, f64)> = vec![(seeds, -TAU / 4.0, TAU)];
    while let Some((ids, start, span)) = stack.pop() {
        let total: f64 = ids.iter().map(|id| weight[id]).sum();
        let mut at = start;
        for id in ids {
            let share = span * weight[&id] / total;
            angle.insert(id, at + share / 2.0);
            if let Some(c) = children.get(&id) {
                stack.push((c.clone(), at, share));
            }
            at += share;
        }
    }
    angle
}

/// `kind` counted: `users`, `groups`, `apis`.
fn plural(kind: &str, n: usize) -> String {
    let k = kind.to_ascii_lowercase();
    if n == 1 { k } else if k.ends_with('s') { format!("{k}es") } else { format!("{k}s") }
}

/// The reference of an id: the entity's own when present, else parsed from its key.
fn display_ref(graph: &Visible<'_>, id: Id) -> EntityRef {
    match graph.entry(id) {
        Some(e) => e.entity_ref(),
        None => EntityRef::parse_full(graph.key_of(id)).unwrap_or_else(|_| EntityRef::new("unknown", "default", graph.key_of(id))),
    }
}

#[cfg(test)]
mod tests {
    use portico_graph::{CatalogGraph, Visible};
    use portico_model::{CatalogEntry, Validator};
    use serde_json::json;

    use super::*;

    fn graph() -> CatalogGraph {
        let v = Validator::default();
        let mut g = CatalogGraph::new();
        for (name, deps) in [("a", vec!["component:b", "component:c"]), ("b", vec![]), ("c", vec!["component:d"]), ("d", vec![])] {
            let e = v
                .validate(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": name},
                    "spec": {"type": "service", "lifecycle": "production", "owner": "team-a", "dependsOn": deps}}))
                .unwrap();
            g.upsert(CatalogEntry::new(e, "test"), &v);
        }
        g
    }

    #[test]
    fn rings_grow_outwards_and_links_join_drawn_nodes() {
        let g = graph();
        let a = g.id_of("component:default/a").unwrap();
        let hood = g.neighbourhood(&[a], 2, &["dependsOn".into()], MAX_NODES);
        let d = layout(&Visible::all(&g), &hood, "a".into());
        assert_eq!(d.nodes.len(), 4);
        let centre = (d.width / 2, d.height / 2);
        assert_eq!((d.nodes[0].x, d.nodes[0].y), centre, "the start is in the middle");
        let dist = |n: &Node| (((n.x - centre.0).pow(2) + (n.y - centre.1).pow(2)) as f64).sqrt();
        let far = d.nodes.iter().find(|n| n.full.ends_with("/d")).unwrap();
        let near = d.nodes.iter().find(|n| n.full.ends_with("/c")).unwrap();
        assert!(dist(far) > dist(near) + 100.0);
        assert_eq!(d.edges.len(), 3);
        assert_eq!(d.legend, [("dependsOn".to_owned(), crate::svg::colour("dependsOn"))]);
        assert!(d.nodes.iter().all(|n| n.url.is_some()));
    }

    #[test]
    fn the_same_graph_draws_the_same_picture() {
        let g = graph();
        let a = g.id_of("component:default/a").unwrap();
        let svg = |_: u8| layout(&Visible::all(&g), &g.neighbourhood(&[a], 3, &[], MAX_NODES), "a".into()).to_svg().unwrap();
        assert_eq!(svg(0), svg(1));
        assert!(svg(0).replace("&#x2f;", "/").contains("href=\"/catalog/default/component/d\""), "{}", svg(0));
    }

    #[test]
    fn many_leaves_of_one_kind_fold_into_one_node_and_kinds_get_distinct_colours() {
        let v = Validator::default();
        let mut g = CatalogGraph::new();
        let mut add = |value: serde_json::Value| g.upsert(CatalogEntry::new(v.validate(value).unwrap(), "test"), &v);
        add(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": {"name": "team"}, "spec": {"type": "team", "children": []}}));
        for i in 0..9 {
            add(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "User", "metadata": {"name": format!("u{i}")}, "spec": {"memberOf": ["team"]}}));
        }
        add(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Resource", "metadata": {"name": "db"}, "spec": {"type": "database", "owner": "team"}}));
        add(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "System", "metadata": {"name": "shop"}, "spec": {"owner": "team"}}));
        let team = g.id_of("group:default/team").unwrap();
        let d = layout(&Visible::all(&g), &g.neighbourhood(&[team], 1, &[], MAX_NODES), "team".into());
        let group: Vec<&Node> = d.nodes.iter().filter(|n| n.group).collect();
        assert_eq!(group.len(), 1, "the nine users are one node");
        assert_eq!(group[0].label, "9 users");
        assert!(group[0].full.contains("u0, u1") && group[0].url.as_deref() == Some("/catalog/default/group/team#relations"), "{}", group[0].full);
        assert_eq!((d.nodes.len(), d.entities, d.groups), (4, 12, 1), "the team, the group node and the two resources; twelve entities");
        assert_eq!(d.kinds.iter().map(|k| k.0.as_str()).collect::<Vec<_>>(), ["group", "resource", "system", "user"]);
        // AiResource and Resource both prefer c7: the later one takes the first colour free.
        let kinds = ["AiResource".to_owned(), "Resource".to_owned(), "Group".to_owned()];
        let colours = crate::svg::distinct_colours(&kinds, crate::svg::kind_colour);
        assert_eq!(colours.iter().map(|c| c.1.as_str()).collect::<Vec<_>>(), ["c7", "c0", "c1"], "{colours:?}");
    }
}
