//! The `ldap` source: reads people and groups from an LDAP directory (OpenLDAP, 389 DS, Active
//! Directory) with paged searches and contributes them as `User` and `Group` entities, the
//! group hierarchy taken from groups that are members of groups.
//!
//! The trade-off: the whole directory below the configured bases is read on every run (the
//! simple paged results control keeps each response small), so a run needs no change log or
//! sync cookies and works on any server, at the cost of reading unchanged entries again.

mod org;
#[cfg(test)]
mod tests;

use std::time::Duration;

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry};
use serde::Deserialize;
use serde_json::json;

use crate::engine::{Provider, ProviderError, Scan, ScanContext, ScopeOutcome, ScopeScan};

pub const KIND: &str = "ldap";

/// The type-specific settings of an `ldap` source.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    /// `ldap://host:389` or `ldaps://host:636`.
    pub url: String,
    /// DN to bind as; anonymous when absent.
    #[serde(default)]
    pub bind_dn: Option<String>,
    /// Name of the environment variable holding the bind password.
    #[serde(default)]
    pub bind_password_env: Option<String>,
    /// Upgrade an `ldap://` connection with StartTLS.
    #[serde(default)]
    pub start_tls: bool,
    #[serde(default)]
    pub users: Option<UserSettings>,
    #[serde(default)]
    pub groups: Option<GroupSettings>,
    /// Catalog namespace of the users and groups.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// Entries per page of the simple paged results control (RFC 2696).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Seconds to wait for the connection and for each operation.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserSettings {
    pub base_dn: String,
    #[serde(default = "default_user_filter")]
    pub filter: String,
    #[serde(default)]
    pub attributes: UserAttributes,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct UserAttributes {
    pub name: String,
    pub display_name: String,
    pub email: String,
    /// A URL-valued attribute (`labeledURI`) or a binary photo (`jpegPhoto`, read as a data URL).
    pub picture: Option<String>,
}

impl Default for UserAttributes {
    fn default() -> Self {
        Self { name: "uid".into(), display_name: "cn".into(), email: "mail".into(), picture: None }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupSettings {
    pub base_dn: String,
    #[serde(default = "default_group_filter")]
    pub filter: String,
    #[serde(default)]
    pub attributes: GroupAttributes,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct GroupAttributes {
    pub name: String,
    pub description: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    /// Attributes listing members: DNs (`member`, `uniqueMember`) or user names (`memberUid`).
    pub members: Vec<String>,
}

impl Default for GroupAttributes {
    fn default() -> Self {
        Self {
            name: "cn".into(),
            description: "description".into(),
            display_name: None,
            email: None,
            members: ["member", "uniqueMember", "memberUid"].map(String::from).to_vec(),
        }
    }
}

fn default_namespace() -> String {
    portico_model::DEFAULT_NAMESPACE.into()
}
fn default_page_size() -> u32 {
    500
}
fn default_timeout() -> u64 {
    30
}
fn default_user_filter() -> String {
    "(objectClass=inetOrgPerson)".into()
}
fn default_group_filter() -> String {
    "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))".into()
}

impl Settings {
    fn check(self) -> Result<Self, String> {
        let err = |m: String| Err(format!("{KIND} source settings: {m}"));
        match url::Url::parse(&self.url) {
            Ok(u) if matches!(u.scheme(), "ldap" | "ldaps") && u.host_str().is_some() => {}
            Ok(_) => return err(format!("url: expected ldap://host[:port] or ldaps://host[:port], got {:?}", self.url)),
            Err(e) => return err(format!("url: {:?}: {e}", self.url)),
        }
        if self.users.is_none() && self.groups.is_none() {
            return err("give `users`, `groups` or both".into());
        }
        if self.bind_password_env.is_some() && self.bind_dn.is_none() {
            return err("bindPasswordEnv needs bindDn".into());
        }
        if self.page_size == 0 || self.page_size > i32::MAX as u32 {
            return err(format!("pageSize: expected 1 or more, got {}", self.page_size));
        }
        if !portico_model::naming::is_valid_dns_label(&self.namespace) {
            return err(format!("namespace: {:?} is not a valid namespace (a DNS label)", self.namespace));
        }
        Ok(self)
    }
}

pub struct LdapProvider {
    settings: Settings,
}

impl LdapProvider {
    pub fn from_settings(settings: &serde_json::Value) -> Result<Self, String> {
        let settings: Settings = super::settings(KIND, settings)?;
        Ok(Self { settings: settings.check()? })
    }

    /// Connects and binds. Errors name the URL and the bind DN, never the password.
    async fn connect(&self) -> Result<Ldap, ProviderError> {
        let s = &self.settings;
        let url = &s.url;
        let timeout = Duration::from_secs(s.timeout_seconds);
        let conn_settings = LdapConnSettings::new().set_conn_timeout(timeout).set_starttls(s.start_tls);
        let (conn, mut ldap) = LdapConnAsync::with_settings(conn_settings, url)
            .await
            .map_err(|e| ProviderError::new(format!("ldap {url}: cannot connect: {e}")))?;
        ldap3::drive!(conn);
        ldap.with_timeout(timeout);
        if let Some(dn) = &s.bind_dn {
            let password = match &s.bind_password_env {
                Some(var) => std::env::var(var).map_err(|_| {
                    ProviderError::new(format!("ldap {url}: the bind password variable {var} is not set"))
                })?,
                None => String::new(),
            };
            let result = ldap.simple_bind(dn, &password).await;
            result.and_then(|r| r.success()).map_err(|e| ProviderError::new(format!("ldap {url}: bind as {dn} failed: {e}")))?;
        }
        Ok(ldap)
    }

    /// Every entry below `base` matching `filter`, in pages.
    async fn search(&self, ldap: &mut Ldap, base: &str, filter: &str, attrs: Vec<String>) -> Result<Vec<SearchEntry>, ProviderError> {
        let url = &self.settings.url;
        let fail = |e: ldap3::LdapError| ProviderError::new(format!("ldap {url}: search of {base} with {filter}: {e}"));
        let page = self.settings.page_size as i32;
        let adapters: Vec<Box<dyn Adapter<String, Vec<String>>>> =
            vec![Box::new(EntriesOnly::new()), Box::new(PagedResults::new(page))];
        let mut stream = ldap.streaming_search_with(adapters, base, Scope::Subtree, filter, attrs).await.map_err(fail)?;
        let mut out = Vec::new();
        while let Some(entry) = stream.next().await.map_err(fail)? {
            out.push(SearchEntry::construct(entry));
        }
        stream.finish().await.success().map_err(fail)?;
        Ok(out)
    }
}

#[async_trait::async_trait]
impl Provider for LdapProvider {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn scan(&self, ctx: &ScanContext) -> Result<Scan, ProviderError> {
        let s = &self.settings;
        ctx.report(format!("directory {}", s.url), 0, Some(2));
        let mut ldap = self.connect().await?;
        let users = match &s.users {
            Some(u) => self.search(&mut ldap, &u.base_dn, &u.filter, org::user_attributes(u)).await?,
            None => Vec::new(),
        };
        ctx.report(format!("directory {}", s.url), 1, Some(2));
        let groups = match &s.groups {
            Some(g) => self.search(&mut ldap, &g.base_dn, &g.filter, org::group_attributes(g)).await?,
            None => Vec::new(),
        };
        let _ = ldap.unbind().await;
        let (contributions, errors) = org::contributions(s, &users, &groups);
        let outcome = ScopeOutcome::Full { contributions, errors, complete: true };
        Ok(Scan { scopes: vec![ScopeScan { scope: s.url.clone(), outcome }], exhaustive: true, state: json!(null) })
    }
}
