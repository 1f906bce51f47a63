//! The `ldap` source against a real OpenLDAP `slapd` on 127.0.0.1 (Debian packages `slapd` and
//! `ldap-utils`), started per test from a slapd.conf in a temporary directory with an mdb
//! database, seeded through LDAP adds. Skipped with a message when slapd is not installed,
//! unless `PORTICO_TEST_REQUIRE_LDAP=1` (CI), where that is a failure.
//!
//! The bind password reaches the provider through an environment variable it names. The
//! workspace forbids `unsafe`, so tests cannot `set_var`; they name `CARGO_PKG_NAME`, which
//! cargo sets for every test process, and give the reader entry that value as its password.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ldap3::LdapConnAsync;
use portico_discovery::engine::{Contribution, ScanContext, ScopeOutcome};
use portico_discovery::providers;
use portico_catalog::{Reader, ReaderConfig};
use serde_json::{Value, json};

const BASE: &str = "dc=example,dc=org";
const ROOT_DN: &str = "cn=admin,dc=example,dc=org";
const ROOT_PW: &str = "root-secret";
const READER_DN: &str = "cn=reader,dc=example,dc=org";
/// Cargo sets `CARGO_PKG_NAME` to this when it runs the tests.
const READER_PW: &str = env!("CARGO_PKG_NAME");
/// The reader may get 5 entries per page at most and 5 in a search without paging.
const READER_LIMIT: usize = 5;

fn slapd_binary() -> Option<PathBuf> {
    let candidates = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/sbin")]);
    candidates.map(|d| d.join("slapd")).find(|p| p.is_file())
}

struct Slapd {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile {d}/slapd.pid
argsfile {d}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 16777216
suffix \"{BASE}\"
rootdn \"{ROOT_DN}\"
rootpw {ROOT_PW}
directory {d}/data
limits dn.exact=\"{READER_DN}\" size.soft={READER_LIMIT} size.hard={READER_LIMIT} size.pr={READER_LIMIT} size.prtotal=unlimited
"
    )
}

/// Starts slapd, or says why the test is skipped.
async fn start() -> Option<Slapd> {
    let Some(bin) = slapd_binary() else {
        if std::env::var("PORTICO_TEST_REQUIRE_LDAP").as_deref() == Ok("1") {
            panic!("slapd is not installed and PORTICO_TEST_REQUIRE_LDAP=1 (apt-get install slapd ldap-utils)");
        }
        eprintln!("skipping: slapd is not installed (apt-get install slapd ldap-utils); set PORTICO_TEST_REQUIRE_LDAP=1 to fail instead");
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let conf = dir.path().join("slapd.conf");
    std::fs::write(&conf, config(dir.path())).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("ldap://127.0.0.1:{port}");
    let child = Command::new(bin)
        .arg("-f")
        .arg(&conf)
        .arg("-h")
        .arg(format!("{url}/"))
        .args(["-d", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start slapd");
    let mut slapd = Slapd { child, url, _dir: dir };
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = slapd.child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(slapd.child.stderr.as_mut().unwrap(), &mut err).unwrap();
            panic!("slapd exited with {status}: {err}");
        }
        assert!(Instant::now() < deadline, "slapd did not listen on {} within 20 s", slapd.url);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    seed(&slapd.url).await;
    Some(slapd)
}

fn entry(dn: &str, attrs: &[(&str, &[&str])]) -> (String, Vec<(String, HashSet<String>)>) {
    let attrs = attrs.iter().map(|(k, vs)| ((*k).to_owned(), vs.iter().map(|v| (*v).to_owned()).collect())).collect();
    (dn.to_owned(), attrs)
}

fn person(uid: &str, cn: &str, ou: &str) -> (String, Vec<(String, HashSet<String>)>) {
    let mail = format!("{}@example.org", uid.to_lowercase().replace(' ', "."));
    entry(
        &format!("uid={uid},ou={ou},{BASE}"),
        &[("objectClass", &["inetOrgPerson"]), ("uid", &[uid]), ("cn", &[cn]), ("sn", &["Doe"]), ("mail", &[&mail])],
    )
}

async fn seed(url: &str) {
    // A loaded machine may accept the port before slapd serves it, and even drop the first
    // connection it accepted: retry connecting and binding for a while.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut ldap = loop {
        let attempt = async {
            let (conn, mut ldap) = LdapConnAsync::new(url).await?;
            ldap3::drive!(conn);
            ldap.simple_bind(ROOT_DN, ROOT_PW).await?.success()?;
            Ok::<_, ldap3::LdapError>(ldap)
        };
        match attempt.await {
            Ok(l) => break l,
            Err(e) if Instant::now() < deadline => {
                eprintln!("slapd at {url} not ready yet ({e}); retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("cannot connect to and bind at slapd at {url}: {e}"),
        }
    };
    let people = format!("ou=people,{BASE}");
    let groups = format!("ou=groups,{BASE}");
    let mut entries = vec![
        entry(BASE, &[("objectClass", &["dcObject", "organization"]), ("dc", &["example"]), ("o", &["Example"])]),
        entry(READER_DN, &[("objectClass", &["organizationalRole", "simpleSecurityObject"]), ("cn", &["reader"]), ("userPassword", &[READER_PW])]),
        entry(&people, &[("objectClass", &["organizationalUnit"]), ("ou", &["people"])]),
        entry(&groups, &[("objectClass", &["organizationalUnit"]), ("ou", &["groups"])]),
        entry(&format!("ou=outside,{BASE}"), &[("objectClass", &["organizationalUnit"]), ("ou", &["outside"])]),
        person("alice", "Alice Liddell", "people"),
        person("bob", "Bob Builder", "people"),
        person("Carol Jones", "Carol Jones", "people"),
        person("outsider", "Out Sider", "outside"),
    ];
    for i in 1..=12 {
        entries.push(person(&format!("user{i:02}"), &format!("User {i}"), "people"));
    }
    let alice = format!("uid=alice,{people}");
    let bob = format!("UID=bob, OU=People, {BASE}");
    let carol = format!("uid=Carol Jones,{people}");
    let platform = format!("cn=Platform & Infra,{groups}");
    let web = format!("cn=web,{groups}");
    entries.extend([
        entry(
            &format!("cn=engineering,{groups}"),
            &[("objectClass", &["groupOfNames"]), ("cn", &["engineering"]), ("description", &["All of engineering"]), ("member", &[&platform, &web, &carol])],
        ),
        entry(
            &platform,
            &[("objectClass", &["groupOfNames"]), ("cn", &["Platform & Infra"]), ("member", &[&alice, &format!("uid=outsider,ou=outside,{BASE}")])],
        ),
        entry(&web, &[("objectClass", &["groupOfUniqueNames"]), ("cn", &["web"]), ("uniqueMember", &[&format!("{bob}#'0101'B")])]),
        entry(&format!("cn=ops,{groups}"), &[("objectClass", &["posixGroup"]), ("cn", &["ops"]), ("gidNumber", &["5000"]), ("memberUid", &["alice", "bob"])]),
    ]);
    for (dn, attrs) in entries {
        ldap.add(&dn, attrs).await.unwrap().success().unwrap_or_else(|e| panic!("add {dn}: {e}"));
    }
    ldap.unbind().await.unwrap();
}

fn settings(url: &str) -> Value {
    json!({
        "url": url,
        "bindDn": READER_DN,
        "bindPasswordEnv": "CARGO_PKG_NAME",
        "users": { "baseDn": format!("ou=people,{BASE}") },
        "groups": { "baseDn": format!("ou=groups,{BASE}"), "attributes": { "displayName": "cn" } },
        "pageSize": READER_LIMIT,
    })
}

fn context() -> ScanContext {
    ScanContext::new(Reader::new(ReaderConfig::default()), std::env::temp_dir())
}

async fn scan_ok(settings: Value) -> (HashMap<String, Contribution>, usize) {
    let scan = providers::build("ldap", &settings).unwrap().scan(&context()).await.unwrap();
    assert!(scan.exhaustive);
    assert_eq!(scan.scopes.len(), 1);
    let ScopeOutcome::Full { contributions, errors, complete } = &scan.scopes[0].outcome else { panic!("{:?}", scan.scopes[0].outcome) };
    assert!(complete);
    let by_name = contributions.iter().map(|c| (c.key().unwrap(), c.clone())).collect();
    (by_name, errors.len())
}

#[tokio::test]
async fn users_and_groups_come_with_membership_and_hierarchy() {
    let Some(slapd) = start().await else { return };
    let (got, errors) = scan_ok(settings(&slapd.url)).await;
    assert_eq!(errors, 0);
    assert_eq!(got.len(), 15 + 4, "15 users below ou=people (not the outsider) and 4 groups: {:?}", got.keys());
    assert!(!got.contains_key("user:default/outsider"));

    let alice = &got["user:default/alice"];
    assert_eq!(alice.evidence, portico_discovery::engine::Evidence::Observed);
    assert_eq!(alice.location, format!("uid=alice,ou=people,{BASE}"));
    assert_eq!(alice.document["spec"], json!({ "profile": { "displayName": "Alice Liddell", "email": "alice@example.org" }, "memberOf": ["Platform-Infra", "ops"] }));
    assert_eq!(got["user:default/bob"].document["spec"]["memberOf"], json!(["ops", "web"]));
    let carol = &got["user:default/carol-jones"].document;
    assert_eq!(carol["metadata"]["name"], "Carol-Jones", "uid `Carol Jones` is sanitized");
    assert_eq!(carol["spec"]["memberOf"], json!(["engineering"]));

    let eng = &got["group:default/engineering"].document;
    assert_eq!(eng["metadata"]["description"], "All of engineering");
    assert_eq!(eng["spec"]["type"], "team");
    assert_eq!(eng["spec"]["children"], json!(["Platform-Infra", "web"]));
    assert_eq!(eng["spec"]["members"], json!(["Carol-Jones"]));
    assert!(eng["spec"].get("parent").is_none());
    let platform = &got["group:default/platform-infra"].document;
    assert_eq!(platform["spec"]["parent"], "engineering");
    assert_eq!(platform["spec"]["profile"]["displayName"], "Platform & Infra");
    assert_eq!(platform["spec"]["members"], json!(["alice"]), "the member outside ou=people is ignored");
    assert_eq!(got["group:default/web"].document["spec"]["parent"], "engineering");
    assert_eq!(got["group:default/ops"].document["spec"]["members"], json!(["alice", "bob"]));
}

#[tokio::test]
async fn a_paged_search_reads_past_the_servers_size_limit() {
    let Some(slapd) = start().await else { return };
    // The reader may receive 5 entries per page; 15 users need three pages.
    let (got, _) = scan_ok(settings(&slapd.url)).await;
    assert_eq!(got.keys().filter(|k| k.starts_with("user:")).count(), 15);
    for i in 1..=12 {
        assert!(got.contains_key(&format!("user:default/user{i:02}")));
    }
    // Pages larger than the server allows fail, which shows the limit is real.
    let mut big = settings(&slapd.url);
    big["pageSize"] = json!(100);
    let err = providers::build("ldap", &big).unwrap().scan(&context()).await.unwrap_err();
    assert!(err.message.contains(&slapd.url) && err.message.contains("ou=people"), "{err}");
}

#[tokio::test]
async fn a_wrong_password_is_a_clear_error_without_the_password() {
    let Some(slapd) = start().await else { return };
    let mut s = settings(&slapd.url);
    s["bindPasswordEnv"] = json!("CARGO_PKG_VERSION");
    let err = providers::build("ldap", &s).unwrap().scan(&context()).await.unwrap_err();
    assert!(err.message.contains(&slapd.url) && err.message.contains(READER_DN), "{err}");
    assert!(err.message.contains("rc=49"), "invalidCredentials: {err}");
    assert!(!err.message.contains(env!("CARGO_PKG_VERSION")), "{err}");

    s["bindPasswordEnv"] = json!("PORTICO_TEST_UNSET_PASSWORD_VARIABLE");
    let err = providers::build("ldap", &s).unwrap().scan(&context()).await.unwrap_err();
    assert!(err.message.contains("PORTICO_TEST_UNSET_PASSWORD_VARIABLE is not set"), "{err}");
}

#[tokio::test]
async fn a_stopped_server_fails_the_whole_source() {
    let Some(slapd) = start().await else { return };
    let url = slapd.url.clone();
    drop(slapd);
    let err = providers::build("ldap", &settings(&url)).unwrap().scan(&context()).await.unwrap_err();
    assert!(err.message.contains(&url), "{err}");
    assert!(err.message.to_lowercase().contains("connection refused"), "{err}");
    assert!(!err.message.contains(READER_PW), "{err}");
}

#[tokio::test]
async fn groups_only_and_custom_namespaces_work() {
    let Some(slapd) = start().await else { return };
    let s = json!({
        "url": slapd.url,
        "groups": { "baseDn": format!("ou=groups,{BASE}"), "filter": "(objectClass=groupOfNames)" },
        "namespace": "corp",
    });
    // No bindDn: an anonymous bind, which slapd's default access allows to read.
    let (got, _) = scan_ok(s).await;
    let mut keys: Vec<&String> = got.keys().collect();
    keys.sort();
    assert_eq!(keys, ["group:corp/engineering", "group:corp/platform-infra"]);
    assert_eq!(got["group:corp/engineering"].document["spec"]["children"], json!(["Platform-Infra"]));
    assert_eq!(got["group:corp/engineering"].document["spec"]["members"], json!([]), "users were not read");
}
