//! The built-in actions, one file each under `builtin/<namespace>/<verb>.rs`.

use std::sync::Arc;

use crate::action::Action;

pub(crate) mod approval {
    pub mod wait;
}
mod catalog {
    pub mod fetch;
    pub mod register;
    pub mod write;
}
mod debug {
    pub mod log;
    pub mod wait;
}
mod fetch {
    pub mod plain;
    pub mod plain_file;
    pub mod source;
    pub mod template;
}
pub(crate) mod http {
    pub mod request;
}
mod github {
    pub mod dispatch;
}
mod portico {
    pub mod entity_update;
}
pub(crate) mod publish {
    pub mod git;
    pub mod github;
    pub mod gitlab;
    pub mod host;
}
mod fs {
    pub mod delete;
    pub mod rename;
}

pub(crate) use http::request::is_private as http_is_private;

/// Every built-in action.
pub fn all() -> Vec<Arc<dyn Action>> {
    vec![
        Arc::new(approval::wait::ApprovalWait),
        Arc::new(catalog::fetch::CatalogFetch),
        Arc::new(catalog::register::CatalogRegister),
        Arc::new(catalog::write::CatalogWrite),
        Arc::new(debug::log::DebugLog),
        Arc::new(debug::wait::DebugWait),
        Arc::new(fetch::plain::FetchPlain),
        Arc::new(fetch::plain_file::FetchPlainFile),
        Arc::new(fetch::template::FetchTemplate),
        Arc::new(fs::delete::FsDelete),
        Arc::new(fs::rename::FsRename),
        Arc::new(github::dispatch::GithubDispatch),
        Arc::new(http::request::HttpRequest),
        Arc::new(portico::entity_update::EntityUpdate),
        Arc::new(publish::git::PublishGit),
        Arc::new(publish::github::PublishGithub),
        Arc::new(publish::gitlab::PublishGitlab),
    ]
}

#[cfg(test)]
mod tests;
