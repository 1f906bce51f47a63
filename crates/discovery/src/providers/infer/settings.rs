//! Settings (`key = value`, with the file and line that sets it) read from the places real
//! repositories configure a service in: Dockerfile `ENV`, `.env` files, Java `.properties`,
//! YAML configuration (Spring's `application*.yml`, `bootstrap.yml`, any `config*.yml`), JSON
//! configuration (`appsettings*.json`), nginx/envoy/Caddy upstreams, and defaults written in
//! code (`os.getenv('CART_HOST', 'cart')`, `process.env.X || 'catalogue'`). Values keep their
//! `${VAR:-default}` placeholders; [`interpolate`] resolves them.

use std::sync::LazyLock;

use regex::Regex;

/// One setting and where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Setting {
    pub key: String,
    pub value: String,
    pub path: String,
    /// 1-based.
    pub line: usize,
    /// Given in bulk (every key of a ConfigMap through `envFrom`): it names a dependency only
    /// when the service's own files mention the key.
    pub bulk: bool,
}

impl Setting {
    pub fn new(key: impl Into<String>, value: impl Into<String>, path: &str, line: usize) -> Self {
        Self { key: key.into(), value: value.into(), path: path.to_owned(), line, bulk: false }
    }

    /// `path:line`.
    pub fn at(&self) -> String {
        format!("{}:{}", self.path, self.line)
    }
}

/// The line of `text` that sets `value`, looked for after the first line naming `key`.
pub(crate) fn line_of(text: &str, key: &str, value: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| l.contains(key)).unwrap_or(0);
    let found = lines[start..].iter().position(|l| l.contains(value)).map(|i| i + start);
    found.or_else(|| lines.iter().position(|l| l.contains(value))).or(Some(start)).map_or(1, |i| i + 1)
}

fn unquote(v: &str) -> &str {
    let v = v.trim();
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

/// Dockerfile `ENV KEY=value KEY2="v 2"` and the old `ENV KEY value` form.
pub(crate) fn dockerfile_env(path: &str, text: &str) -> Vec<Setting> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        let Some(rest) = t.strip_prefix("ENV ").or_else(|| t.strip_prefix("env ")) else { continue };
        let rest = rest.trim().trim_end_matches('\\').trim();
        if !rest.contains('=') {
            if let Some((k, v)) = rest.split_once(char::is_whitespace) {
                out.push(Setting::new(k, unquote(v), path, i + 1));
            }
            continue;
        }
        for cap in ENV_PAIR.captures_iter(rest) {
            out.push(Setting::new(&cap[1], unquote(&cap[2]), path, i + 1));
        }
    }
    out
}

static ENV_PAIR: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"([A-Za-z_][A-Za-z0-9_.-]*)=("[^"]*"|'[^']*'|\S*)"#).unwrap());

/// The images a Dockerfile builds from (`FROM postgres:15 AS db` → `postgres:15`).
pub(crate) fn dockerfile_from(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let t = l.trim_start();
            let rest = t.strip_prefix("FROM ").or_else(|| t.strip_prefix("from "))?;
            rest.split_whitespace().find(|w| !w.starts_with("--")).map(str::to_owned)
        })
        .collect()
}

/// `KEY=value` lines of a `.env` file (`export` and quotes allowed), and of Java
/// `.properties` files (`key=value`, `key: value`).
pub(crate) fn key_values(path: &str, text: &str) -> Vec<Setting> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with(['#', '!']) {
            continue;
        }
        let t = t.strip_prefix("export ").unwrap_or(t);
        let split = t.find(['=', ':']).map(|at| (&t[..at], &t[at + 1..]));
        if let Some((k, v)) = split {
            let k = k.trim();
            if !k.is_empty() && !k.contains(char::is_whitespace) {
                out.push(Setting::new(k, unquote(v), path, i + 1));
            }
        }
    }
    out
}

/// Scalars of a YAML file as dotted keys (`spring.datasource.url`), list items under their
/// list's key, read line by line so each keeps its line; several documents allowed. Block
/// scalars and flow collections are skipped.
pub(crate) fn yaml_lines(path: &str, text: &str) -> Vec<Setting> {
    let mut out = Vec::new();
    // (indent, key) of the enclosing mappings.
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut block_at: Option<usize> = None;
    for (i, raw) in text.lines().enumerate() {
        let content = raw.trim_start();
        let indent = raw.len() - content.len();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if let Some(b) = block_at {
            if indent > b {
                continue;
            }
            block_at = None;
        }
        if content.starts_with("---") {
            stack.clear();
            continue;
        }
        let content = strip_comment(content);
        let (item, body, indent) = match content.strip_prefix("- ") {
            Some(rest) => (true, rest.trim_start(), indent + 2),
            None if content == "-" => (true, "", indent + 2),
            None => (false, content, indent),
        };
        while stack.last().is_some_and(|(ind, _)| *ind >= indent) {
            stack.pop();
        }
        let prefix = stack.iter().map(|(_, k)| k.as_str()).collect::<Vec<_>>().join(".");
        match split_key(body) {
            Some((key, value)) => {
                let full = if prefix.is_empty() { key.to_owned() } else { format!("{prefix}.{key}") };
                let value = value.trim();
                if value.is_empty() {
                    stack.push((indent, key.to_owned()));
                } else if value.starts_with(['|', '>']) {
                    block_at = Some(indent);
                } else if !value.starts_with(['{', '[', '&', '*']) {
                    out.push(Setting::new(full, unquote(value), path, i + 1));
                }
            }
            None if item && !body.is_empty() => out.push(Setting::new(prefix, unquote(body), path, i + 1)),
            None => {}
        }
    }
    out
}

fn strip_comment(s: &str) -> &str {
    match s.find(" #") {
        Some(at) if !s[..at].contains(['"', '\'']) => s[..at].trim_end(),
        _ => s,
    }
}

/// `key: value` of a YAML line; `None` for a plain scalar (a list item without a key).
fn split_key(s: &str) -> Option<(&str, &str)> {
    let (k, v) = if let Some(rest) = s.strip_prefix('"') {
        let end = rest.find('"')?;
        (&rest[..end], rest[end + 1..].strip_prefix(':')?)
    } else {
        let at = s.find(": ").or_else(|| s.strip_suffix(':').map(|k| k.len()))?;
        (&s[..at], s.get(at + 1..).unwrap_or(""))
    };
    let k = k.trim();
    (!k.is_empty() && !k.contains(' ') && !k.contains("://")).then_some((k, v))
}

/// String values of a JSON file (`appsettings.json`), keyed by their dotted path, each at the
/// first line that holds it.
pub(crate) fn json_strings(path: &str, text: &str) -> Vec<Setting> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text.trim_start_matches('\u{feff}')) else { return Vec::new() };
    let mut out = Vec::new();
    let mut walk = vec![(String::new(), &value)];
    while let Some((prefix, v)) = walk.pop() {
        match v {
            serde_json::Value::Object(m) => {
                for (k, child) in m {
                    walk.push((if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") }, child));
                }
            }
            serde_json::Value::Array(a) => walk.extend(a.iter().map(|c| (prefix.clone(), c))),
            serde_json::Value::String(s) if !s.is_empty() => {
                let needle = serde_json::to_string(s).unwrap_or_default();
                let line = text.find(&needle).map_or(1, |at| text[..at].matches('\n').count() + 1);
                out.push(Setting::new(prefix, s.clone(), path, line));
            }
            _ => {}
        }
    }
    out.sort_by_key(|s| s.line);
    out
}

/// Upstreams of a proxy configuration: nginx `proxy_pass`/`grpc_pass`/`server host:port`,
/// envoy `address:`/`socket_address`, Caddy `reverse_proxy`, and any URL.
pub(crate) fn proxy_upstreams(path: &str, text: &str) -> Vec<Setting> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('#') {
            continue;
        }
        if let Some(c) = UPSTREAM.captures(t) {
            out.push(Setting::new("upstream", c[2].trim_end_matches(';'), path, i + 1));
        } else if let Some(c) = URL_IN_TEXT.find(t) {
            out.push(Setting::new("url", c.as_str(), path, i + 1));
        }
    }
    out
}

static UPSTREAM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(server|reverse_proxy|address:|upstream_host)\s+([A-Za-z0-9_.-]+(?::\d+)?);?").unwrap()
});
static URL_IN_TEXT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"[a-z][a-z0-9+.-]*://[^\s"'`;,)}<>$]+"#).unwrap());

/// Settings written in code: environment look-ups with a default (Python, JavaScript, Go,
/// Java, C#, Ruby, PHP, viper, struct tags), URLs in string literals, and host names passed
/// as `host=`/`Server=` in connection strings.
pub(crate) fn code(path: &str, text: &str) -> Vec<Setting> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with("//") || t.starts_with('#') || t.starts_with("* ") || t.starts_with("import ") {
            continue;
        }
        let before = out.len();
        for re in CODE_DEFAULTS.iter() {
            for c in re.captures_iter(line) {
                // Key: the first group that took part, value: the last.
                let groups: Vec<&str> = c.iter().skip(1).flatten().map(|m| m.as_str()).collect();
                if let [k, .., v] = groups[..] {
                    out.push(Setting::new(k, v, path, i + 1));
                }
            }
        }
        if out.len() > before {
            continue;
        }
        for m in QUOTED_URL.captures_iter(line) {
            out.push(Setting::new("url", &m[1], path, i + 1));
        }
        for c in HOST_ARG.captures_iter(line).chain(CLIENT_NAME.captures_iter(line)) {
            out.push(Setting::new("host", &c[1], path, i + 1));
        }
    }
    out
}

static CODE_DEFAULTS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // os.getenv('X', 'd'), os.environ.get("X", "d"), getEnv("X", "d"), GetEnv, env.get, ENV.fetch
        r#"(?i:getenv|environ\.get|get_env|env\.get|env\.fetch|ENV\.fetch|getEnvOrDefault|envOrDefault|env_or)\(\s*["']([A-Za-z0-9_.]+)["']\s*,\s*["']([^"']+)["']"#,
        // process.env.X || 'd', process.env.X ?? "d", process.env['X'] || 'd'
        r#"process\.env(?:\.([A-Za-z0-9_]+)|\[["']([A-Za-z0-9_]+)["']\])\s*(?:\|\||\?\?)\s*["'`]([^"'`]+)["'`]"#,
        // System.getenv().getOrDefault("X", "d"), Environment.GetEnvironmentVariable("X") ?? "d"
        r#"getOrDefault\(\s*"([A-Za-z0-9_.]+)"\s*,\s*"([^"]+)""#,
        r#"GetEnvironmentVariable\(\s*"([A-Za-z0-9_]+)"\s*\)\s*\?\?\s*"([^"]+)""#,
        // viper.SetDefault("db.host", "postgres")
        r#"SetDefault\(\s*"([A-Za-z0-9_.]+)"\s*,\s*"([^"]+)""#,
        // @Value("${catalog.host:catalog}")
        r#"\$\{([A-Za-z0-9_.-]+):([^}]+)\}"#,
        // Go struct tags: `env:"X" envDefault:"d"`, `env:"X" env-default:"d"`
        r#"env:"([A-Za-z0-9_]+)[^"]*"[^`]*?env-?[dD]efault:"([^"]+)""#,
    ]
    .iter()
    .map(|r| Regex::new(r).unwrap())
    .collect()
});
static QUOTED_URL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"["'`]([a-z][a-z0-9+.-]*://[^"'`\s$]+)"#).unwrap());
static CLIENT_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:@FeignClient\(\s*(?:name|value)?\s*=?\s*|\w*(?:Connect|Connection|connect|connection)\(\s*)["']([A-Za-z][A-Za-z0-9_.-]*(?::\d+)?)["']"#).unwrap()
});
static HOST_ARG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b(?:host|hostname|server|data source|address)\s*[=:]\s*["']?([A-Za-z][A-Za-z0-9_.-]*)(?:["';,]|\s*$)"#).unwrap()
});

/// Replaces `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:default}` (Spring) and
/// `$VAR` with what `lookup` knows of `VAR`, else the default, else nothing.
pub(crate) fn interpolate(value: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    if !value.contains('$') {
        return value.to_owned();
    }
    PLACEHOLDER
        .replace_all(value, |c: &regex::Captures<'_>| {
            let name = c.get(1).or_else(|| c.get(3)).map_or("", |m| m.as_str());
            let default = c.get(2).map_or("", |m| m.as_str());
            let default = default.strip_prefix(":-").or_else(|| default.strip_prefix('-')).or_else(|| default.strip_prefix(':')).unwrap_or(default);
            lookup(name).filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_owned())
        })
        .into_owned()
}

static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\$\{([A-Za-z0-9_.-]+)((?::-|:|-)[^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)").unwrap());

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(s: &[Setting]) -> Vec<(String, String, usize)> {
        s.iter().map(|s| (s.key.clone(), s.value.clone(), s.line)).collect()
    }

    #[test]
    fn dockerfile_env_in_both_forms() {
        let s = dockerfile_env("Dockerfile", "FROM node:20\nENV CART_URL=http://cart:8080 MODE=\"a b\"\nENV OLD_HOST redis\n");
        assert_eq!(
            pairs(&s),
            vec![("CART_URL".into(), "http://cart:8080".into(), 2), ("MODE".into(), "a b".into(), 2), ("OLD_HOST".into(), "redis".into(), 3)]
        );
        assert_eq!(dockerfile_from("FROM --platform=linux/amd64 mongo:6 AS db\nRUN x\n"), vec!["mongo:6".to_owned()]);
    }

    #[test]
    fn spring_yaml_keys_are_dotted_with_lines() {
        let text = "spring:\n  datasource:\n    url: jdbc:postgresql://orders-db:5432/orders # main\n  cloud:\n    gateway:\n      routes:\n        - id: cart\n          uri: lb://cart-service\n---\neureka:\n  client:\n    serviceUrl:\n      defaultZone: http://registry:8761/eureka/\n";
        let s = yaml_lines("application.yml", text);
        let found = pairs(&s);
        assert!(found.contains(&("spring.datasource.url".into(), "jdbc:postgresql://orders-db:5432/orders".into(), 3)), "{found:?}");
        assert!(found.contains(&("spring.cloud.gateway.routes.uri".into(), "lb://cart-service".into(), 8)), "{found:?}");
        assert!(found.contains(&("eureka.client.serviceUrl.defaultZone".into(), "http://registry:8761/eureka/".into(), 13)), "{found:?}");
    }

    #[test]
    fn properties_json_and_proxies() {
        let p = key_values("a.properties", "# c\nspring.rabbitmq.host=rabbitmq\nserver.port: 8080\n");
        assert_eq!(pairs(&p), vec![("spring.rabbitmq.host".into(), "rabbitmq".into(), 2), ("server.port".into(), "8080".into(), 3)]);
        let j = json_strings("appsettings.json", "{\n  \"ConnectionStrings\": {\n    \"Db\": \"Server=sqldata;Database=x\"\n  }\n}\n");
        assert_eq!(pairs(&j), vec![("ConnectionStrings.Db".into(), "Server=sqldata;Database=x".into(), 3)]);
        let n = proxy_upstreams("nginx.conf", "upstream api {\n  server product-service:3002;\n}\nlocation /o { proxy_pass http://order-service:3000/; }\n");
        assert_eq!(pairs(&n), vec![("upstream".into(), "product-service:3002".into(), 2), ("url".into(), "http://order-service:3000/".into(), 4)]);
    }

    #[test]
    fn code_defaults_in_several_languages() {
        let py = code("app.py", "redis_host = os.getenv('REDIS_HOST', 'redis')\nr = Redis(host=\"redis-cache\", db=0)\n");
        assert_eq!(pairs(&py), vec![("REDIS_HOST".into(), "redis".into(), 1), ("host".into(), "redis-cache".into(), 2)]);
        let js = code("server.js", "const url = process.env.CATALOG_URL || 'http://catalogue:80';\nconst pg = 'postgres://u:p@db/postgres';\n");
        assert_eq!(pairs(&js), vec![("CATALOG_URL".into(), "http://catalogue:80".into(), 1), ("url".into(), "postgres://u:p@db/postgres".into(), 2)]);
        let go = code("config.go", "  Addr string `env:\"PRODUCT_ADDR\" env-default:\"product:5001\"`\n");
        assert_eq!(pairs(&go), vec![("PRODUCT_ADDR".into(), "product:5001".into(), 1)]);
        let cs = code("Program.cs", "var c = \"Server=db;Username=postgres;\";\n");
        assert_eq!(pairs(&cs), vec![("host".into(), "db".into(), 1)]);
    }

    #[test]
    fn placeholders_resolve_to_known_values_or_defaults() {
        let env = |k: &str| (k == "CART_HOST").then(|| "carts".to_owned());
        assert_eq!(interpolate("http://${CART_HOST}:80", &env), "http://carts:80");
        assert_eq!(interpolate("${DB_HOST:-orders-db}:5432", &env), "orders-db:5432");
        assert_eq!(interpolate("${CONFIG:config}", &env), "config");
        assert_eq!(interpolate("$CART_HOST", &env), "carts");
        assert_eq!(interpolate("plain", &env), "plain");
    }
}
