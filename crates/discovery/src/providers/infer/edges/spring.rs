//! Spring Cloud Config servers' own files configure their clients.

use super::super::components::Component;
use super::super::settings::Setting;
use super::super::tree::{dir_of, file_name};
use super::Settings;

/// Spring Cloud Config servers serving files of their own (`native.search-locations:
/// classpath:/shared`): `<application>.yml` configures the client of that name,
/// `application.yml` every client (a component configured with `spring.cloud.config` or a
/// `configserver:` import). The files' settings move from the server to their clients.
pub(super) fn spring_config_server(components: &[Component], settings: &mut Settings) {
    for server in components {
        let sref = server.entity_ref();
        let Some((own, _, _)) = settings.get(&sref) else { continue };
        let dirs: Vec<String> = own
            .iter()
            .filter(|s| s.key.ends_with("native.search-locations") || s.key.ends_with("native.searchLocations"))
            .flat_map(|s| s.value.split(',').filter_map(|l| l.trim().strip_prefix("classpath:")).map(|l| format!("{}/{}", dir_of(&s.path), l.trim_matches('/'))).collect::<Vec<_>>())
            .collect();
        if dirs.is_empty() {
            continue;
        }
        let served = |s: &Setting| dirs.iter().any(|d| dir_of(&s.path) == d);
        let (moved, kept): (Vec<Setting>, Vec<Setting>) = settings[&sref].0.iter().cloned().partition(|s| served(s));
        if let Some(e) = settings.get_mut(&sref) {
            e.0 = kept;
        }
        let clients: Vec<String> = settings
            .iter()
            .filter(|(r, (s, _, _))| **r != sref && s.iter().any(|x| x.key.starts_with("spring.cloud.config") || x.value.contains("configserver:")))
            .map(|(r, _)| r.clone())
            .collect();
        for s in moved {
            let stem = file_name(&s.path).split('.').next().unwrap_or("").to_ascii_lowercase();
            let broadcast = stem == "application" || stem.starts_with("application-");
            let s = Setting { bulk: broadcast, ..s };
            let targets: Vec<String> = if broadcast {
                clients.clone()
            } else {
                let named = |c: &&Component| c.aliases.iter().any(|a| *a == stem || stem.starts_with(&format!("{a}-")));
                components.iter().filter(named).map(Component::entity_ref).collect()
            };
            for t in targets {
                settings.entry(t).or_default().0.push(s.clone());
            }
        }
    }
}
