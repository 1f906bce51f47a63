use std::collections::HashMap;

use ldap3::SearchEntry;
use serde_json::{Value, json};

use super::org::{contributions, normalize_dn};
use super::{LdapProvider, Settings};

fn settings(v: Value) -> Settings {
    serde_json::from_value::<Settings>(v).unwrap().check().unwrap()
}

fn entry(dn: &str, attrs: &[(&str, &[&str])]) -> SearchEntry {
    SearchEntry {
        dn: dn.into(),
        attrs: attrs.iter().map(|(k, v)| ((*k).to_owned(), v.iter().map(|s| (*s).to_owned()).collect())).collect(),
        bin_attrs: HashMap::new(),
    }
}

#[test]
fn settings_defaults_follow_openldap_conventions() {
    let s = settings(json!({ "url": "ldap://127.0.0.1:389", "users": { "baseDn": "ou=people,dc=x" }, "groups": { "baseDn": "ou=groups,dc=x" } }));
    let (u, g) = (s.users.unwrap(), s.groups.unwrap());
    assert_eq!(u.filter, "(objectClass=inetOrgPerson)");
    assert_eq!((u.attributes.name.as_str(), u.attributes.display_name.as_str(), u.attributes.email.as_str()), ("uid", "cn", "mail"));
    assert!(g.filter.contains("groupOfUniqueNames") && g.filter.contains("posixGroup"));
    assert_eq!(g.attributes.members, ["member", "uniqueMember", "memberUid"]);
    assert_eq!(s.namespace, "default");
    assert_eq!(s.page_size, 500);
}

#[test]
fn bad_settings_name_the_field() {
    let err = |v: Value| LdapProvider::from_settings(&v).err().unwrap();
    let users = json!({ "baseDn": "dc=x" });
    assert!(err(json!({ "url": "http://x", "users": users })).contains("url: expected ldap://"));
    assert!(err(json!({ "url": "ldap://x" })).contains("give `users`, `groups` or both"));
    assert!(err(json!({ "url": "ldap://x", "users": users, "bindPassword": "s" })).contains("unknown field `bindPassword`"));
    assert!(err(json!({ "url": "ldap://x", "users": users, "bindPasswordEnv": "P" })).contains("bindPasswordEnv needs bindDn"));
    assert!(err(json!({ "url": "ldap://x", "users": users, "pageSize": 0 })).contains("pageSize"));
    assert!(err(json!({ "url": "ldap://x", "users": users, "namespace": "Not Valid" })).contains("namespace"));
    assert!(err(json!({ "url": "ldap://x", "users": { "baseDn": "dc=x", "attributes": { "mail": "x" } } })).contains("unknown field `mail`"));
    assert!(err(json!({ "url": "ldap://x", "users": {} })).contains("missing field `baseDn`"));
}

#[test]
fn dns_compare_however_they_are_spelled() {
    assert_eq!(normalize_dn("UID=Bob, OU=People,  DC=Example,DC=org"), "uid=bob,ou=people,dc=example,dc=org");
    assert_eq!(normalize_dn("uid=bob,ou=people,dc=example,dc=org#'0101'B"), "uid=bob,ou=people,dc=example,dc=org");
    assert_eq!(normalize_dn("cn=Smith\\, John,dc=x"), "cn=smith\\, john,dc=x");
    assert_eq!(normalize_dn("cn=Platform & Infra , dc=x"), "cn=platform & infra,dc=x");
}

#[test]
fn entries_without_a_usable_or_free_name_are_reported_not_contributed() {
    let s = settings(json!({ "url": "ldap://x", "users": { "baseDn": "dc=x" } }));
    let users = [
        entry("uid=ann,dc=x", &[("uid", &["ann"]), ("cn", &["Ann"])]),
        entry("uid=Ann,ou=b,dc=x", &[("UID", &["Ann"])]),
        entry("cn=nouid,dc=x", &[("cn", &["No Uid"])]),
        entry("uid=***,dc=x", &[("uid", &["***"])]),
    ];
    let (docs, errors) = contributions(&s, &users, &[]);
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].document["spec"], json!({ "profile": { "displayName": "Ann" }, "memberOf": [] }));
    let messages: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.location, e.message)).collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(messages[0].starts_with("uid=Ann,ou=b,dc=x: user name \"Ann\" is already taken by uid=ann,dc=x"), "{messages:?}");
    assert!(messages[1].contains("has no uid attribute"), "{messages:?}");
    assert!(messages[2].contains("\"***\""), "{messages:?}");
}

#[test]
fn a_group_in_two_groups_gets_the_first_parent_and_cycles_do_not_loop() {
    let s = settings(json!({ "url": "ldap://x", "groups": { "baseDn": "dc=x" } }));
    let groups = [
        entry("cn=a,dc=x", &[("cn", &["a"]), ("member", &["cn=c,dc=x", "cn=a,dc=x"])]),
        entry("cn=b,dc=x", &[("cn", &["b"]), ("member", &["cn=c,dc=x"])]),
        entry("cn=c,dc=x", &[("cn", &["c"]), ("member", &["cn=a,dc=x"])]),
    ];
    let (docs, errors) = contributions(&s, &[], &groups);
    assert!(errors.is_empty());
    let spec = |name: &str| docs.iter().find(|d| d.document["metadata"]["name"] == name).unwrap().document["spec"].clone();
    assert_eq!(spec("c")["parent"], "a");
    assert_eq!(spec("a")["children"], json!(["c"]), "a group is not its own child");
    assert_eq!(spec("a")["parent"], "c");
    assert_eq!(spec("b")["children"], json!(["c"]));
}
