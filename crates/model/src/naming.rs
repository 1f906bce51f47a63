//! Backstage's naming rules (its `KubernetesValidatorFunctions` and `FieldFormatEntityPolicy`).
//! Each check returns `Ok(())` or a message that says what was expected.

fn is_alnum(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}

/// `metadata.name`, label values: 1–63 characters, `[a-zA-Z0-9]` runs separated by `-_.`.
pub fn is_valid_object_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && is_alnum(b[0])
        && is_alnum(b[b.len() - 1])
        && b.iter().all(|&c| is_alnum(c) || matches!(c, b'-' | b'_' | b'.'))
}

/// Makes a valid `metadata.name` out of an outside-world name (a package name such as
/// `@acme/cart-ui`, a Terraform address, an LDAP cn): characters outside `[a-zA-Z0-9-_.]`
/// become `-`, runs of separators collapse, separators are trimmed from both ends, and the
/// result is cut to 63 characters. `None` when nothing usable is left.
pub fn sanitize_object_name(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len().min(63));
    let mut pending: Option<char> = None;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            if let Some(sep) = pending.take()
                && !out.is_empty()
            {
                out.push(sep);
            }
            out.push(c);
        } else if pending.is_none() {
            pending = Some(if matches!(c, '-' | '_' | '.') { c } else { '-' });
        }
    }
    if out.len() > 63 {
        out.truncate(63);
        while out.ends_with(['-', '_', '.']) {
            out.pop();
        }
    }
    (!out.is_empty()).then_some(out)
}

/// A DNS label: 1–63 characters of `[a-z0-9]` runs separated by single `-`.
pub fn is_valid_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
        && b.iter().all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && !s.contains("--")
}

/// A DNS subdomain: at most 253 characters of dot-separated DNS labels.
pub fn is_valid_dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_valid_dns_label)
}

/// `metadata.namespace`: a DNS label.
pub fn is_valid_namespace(s: &str) -> bool {
    is_valid_dns_label(s)
}

/// `kind`: a letter followed by letters and digits, at most 63 characters.
pub fn is_valid_kind(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && b.len() <= 63 && b[0].is_ascii_alphabetic() && b.iter().all(|c| c.is_ascii_alphanumeric())
}

/// `apiVersion`: `prefix/version` with a DNS-subdomain prefix, or a bare version.
pub fn is_valid_api_version(s: &str) -> bool {
    let version_ok = |v: &str| !v.is_empty() && v.len() <= 63 && v.bytes().all(|c| c.is_ascii_alphanumeric());
    match s.split_once('/') {
        Some((prefix, version)) => is_valid_dns_subdomain(prefix) && version_ok(version),
        None => version_ok(s),
    }
}

/// Label and annotation keys: `[prefix/]name`, prefix a DNS subdomain, name an object name.
pub fn is_valid_key(s: &str) -> bool {
    match s.split_once('/') {
        Some((prefix, name)) => is_valid_dns_subdomain(prefix) && is_valid_object_name(name),
        None => is_valid_object_name(s),
    }
}

/// Label values: empty or an object name.
pub fn is_valid_label_value(s: &str) -> bool {
    s.is_empty() || is_valid_object_name(s)
}

/// Tags: 1–63 characters of `[a-z0-9:+#]` runs separated by single `-`.
pub fn is_valid_tag(s: &str) -> bool {
    let ok = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b':' | b'+' | b'#');
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && s.split('-').all(|part| !part.is_empty() && part.bytes().all(ok))
}

pub const NAME_RULE: &str =
    "expected a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total";
pub const NAMESPACE_RULE: &str =
    "expected a string that is sequences of [a-z0-9] separated by [-], at most 63 characters in total";
pub const KIND_RULE: &str = "expected a string that is a letter followed by letters and digits, at most 63 characters";
pub const API_VERSION_RULE: &str = "expected a string of the form `prefix/version`, such as `backstage.io/v1alpha1`";
pub const KEY_RULE: &str = "expected a string of the form `[prefix/]name`, prefix a DNS subdomain and name sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters";
pub const TAG_RULE: &str =
    "expected a string that is sequences of [a-z0-9+#:] separated by [-], at most 63 characters in total";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names_follow_backstage_rules() {
        for ok in ["a", "LoremService", "a-b_c.d", "x1", &"a".repeat(63)] {
            assert!(is_valid_object_name(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "invalid component", "a/b", &"a".repeat(64), "é"] {
            assert!(!is_valid_object_name(bad), "{bad}");
        }
    }

    #[test]
    fn namespaces_are_dns_labels() {
        assert!(is_valid_namespace("default"));
        assert!(is_valid_namespace("team-a1"));
        for bad in ["Default", "a_b", "-a", "a--b", ""] {
            assert!(!is_valid_namespace(bad), "{bad}");
        }
    }

    #[test]
    fn keys_allow_a_dns_prefix() {
        assert!(is_valid_key("backstage.io/managed-by-location"));
        assert!(is_valid_key("product_name"));
        assert!(!is_valid_key("Back_stage.io/x"));
        assert!(!is_valid_key("a/b/c"));
        assert!(!is_valid_key("/x"));
    }

    #[test]
    fn tags_are_lowercase_and_dashed() {
        for ok in ["java", "c++", "go:1", "c#", "a-b"] {
            assert!(is_valid_tag(ok), "{ok}");
        }
        for bad in ["Java", "go 1.15.3", "a--b", "-a", "", "a_b"] {
            assert!(!is_valid_tag(bad), "{bad}");
        }
    }

    #[test]
    fn api_versions_and_kinds() {
        assert!(is_valid_api_version("backstage.io/v1alpha1"));
        assert!(is_valid_api_version("scaffolder.backstage.io/v1beta3"));
        assert!(!is_valid_api_version("backstage.io/"));
        assert!(is_valid_kind("AiResource"));
        assert!(!is_valid_kind("1Kind"));
        assert!(!is_valid_kind("my-kind"));
    }
}

#[cfg(test)]
mod sanitize_tests {
    use super::*;

    #[test]
    fn sanitized_names_are_valid() {
        for (input, expected) in [
            ("@acme/cart-ui", Some("acme-cart-ui")),
            ("module.vpc.aws_subnet.private[0]", Some("module.vpc.aws_subnet.private-0")),
            ("Payments Team", Some("Payments-Team")),
            ("--x--", Some("x")),
            ("a//b", Some("a-b")),
            ("???", None),
            ("", None),
        ] {
            let got = sanitize_object_name(input);
            assert_eq!(got.as_deref(), expected, "{input}");
            if let Some(g) = got {
                assert!(is_valid_object_name(&g), "{g}");
            }
        }
        let long = sanitize_object_name(&"ab-".repeat(40)).unwrap();
        assert!(long.len() <= 63 && is_valid_object_name(&long), "{long}");
    }
}
