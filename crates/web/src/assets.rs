//! The stylesheet, script and icon, embedded in the binary and served with long cache lifetimes:
//! pages link them as `/static/<file>?v=<fingerprint>`, and the fingerprint changes with their
//! content, so a new build is never served stale assets.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::PageError;

const ASSETS: &[(&str, &str, &str)] = &[
    ("app.css", "text/css; charset=utf-8", include_str!("../assets/app.css")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("../assets/app.js")),
    ("theme.js", "text/javascript; charset=utf-8", include_str!("../assets/theme.js")),
    ("favicon.svg", "image/svg+xml", include_str!("../assets/favicon.svg")),
];

/// FNV-1a over every asset: a fingerprint that changes when any of them does.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (_, _, body) in ASSETS {
        for b in body.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{:012x}", h & 0xffff_ffff_ffff)
});

pub(crate) fn version() -> &'static str {
    &VERSION
}

pub(crate) async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Result<Response, PageError> {
    let Some((_, mime, body)) = ASSETS.iter().find(|(name, _, _)| *name == file) else {
        return Err(PageError::NotFound(format!("there is no asset named {file:?}")));
    };
    let etag = format!("\"{}\"", version());
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        return Ok(StatusCode::NOT_MODIFIED.into_response());
    }
    let mut res = (*body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    /// The custom properties of the first rule of `css` whose selector is `selector`.
    fn palette(css: &str, selector: &str) -> std::collections::HashMap<String, String> {
        let rule = css.split(&format!("{selector} {{")).nth(1).unwrap().split('}').next().unwrap();
        rule.split(';')
            .filter_map(|d| d.trim().strip_prefix("--")?.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect()
    }

    /// WCAG 2 relative luminance of `#rrggbb`.
    fn luminance(hex: &str) -> f64 {
        let channel = |i: usize| {
            let c = f64::from(u8::from_str_radix(&hex[1 + 2 * i..3 + 2 * i], 16).unwrap()) / 255.0;
            if c <= 0.03928 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
        };
        0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2)
    }

    fn contrast(a: &str, b: &str) -> f64 {
        let (x, y) = (luminance(a), luminance(b));
        (x.max(y) + 0.05) / (x.min(y) + 0.05)
    }

    /// Small text (badges, muted notes, lifecycle, status and scorecard level colours) reads at 4.5:1 or more on
    /// every background it sits on, in both themes.
    #[test]
    fn small_text_colours_have_enough_contrast_in_both_themes() {
        let css = super::ASSETS.iter().find(|a| a.0 == "app.css").unwrap().2;
        for theme in [":root", "[data-theme=\"dark\"]"] {
            let p = palette(css, theme);
            for fg in ["text", "muted", "accent", "good", "warn", "bad", "bronze", "silver", "gold"] {
                for bg in ["bg", "surface", "surface-2"] {
                    let ratio = contrast(&p[fg], &p[bg]);
                    assert!(ratio >= 4.5, "{theme}: --{fg} {} on --{bg} {} is {ratio:.2}:1", p[fg], p[bg]);
                }
            }
        }
    }
}
