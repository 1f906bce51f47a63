//! Just enough of the W3C WebDriver protocol to drive Debian's `chromium` through its
//! `chromedriver`: start a headless session, navigate, find, click, type, press keys, read
//! text, run a script, take screenshots, and send a DevTools command. It is a few JSON requests over the HTTP client the tests already
//! have, which spares the build a WebDriver crate and its dependency tree.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

/// The key under which WebDriver returns element references.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long a wait for an element or a condition may take.
const PATIENCE: Duration = Duration::from_secs(15);

/// Chromium's flags for tests (DESIGN.md): headless, no sandbox, nothing fetched from outside.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
    "--window-size=1366,900",
];

/// Where the browser and its driver are, when both are installed.
pub fn installed() -> Option<(PathBuf, PathBuf)> {
    let browser = ["/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser"].iter().map(PathBuf::from).find(|p| p.exists())?;
    let driver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].iter().map(PathBuf::from).find(|p| p.exists())?;
    Some((browser, driver))
}

pub struct Browser {
    http: reqwest::Client,
    /// `http://127.0.0.1:<port>/session/<id>`
    session: String,
    driver: Child,
    driver_port: u16,
    session_id: String,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Browser {
    /// Starts chromedriver on a free loopback port and a headless session with a fresh profile.
    pub async fn start(browser: &Path, driver: &Path) -> Self {
        let port = free_port();
        let mut child = Command::new(driver)
            .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".to_owned()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(res) = http.get(format!("{base}/status")).send().await
                && res.status().is_success()
            {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("chromedriver did not come up on port {port}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": browser.display().to_string(), "args": args}
        }}});
        let res: Value = http.post(format!("{base}/session")).json(&caps).send().await.unwrap().json().await.unwrap();
        let Some(id) = res["value"]["sessionId"].as_str().map(str::to_owned) else {
            let _ = child.kill();
            panic!("chromedriver could not start chromium: {res}");
        };
        Self { http, session: format!("{base}/session/{id}"), driver: child, driver_port: port, session_id: id, _profile: profile }
    }

    async fn try_call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let mut req = self.http.request(method, format!("{}{path}", self.session));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res: Value = req.send().await.unwrap().json().await.unwrap();
        match res["value"].get("error") {
            Some(err) => Err(format!("webdriver {path}: {err}: {}", res["value"]["message"])),
            None => Ok(res["value"].clone()),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.try_call(method, path, body).await.unwrap_or_else(|e| panic!("{e}"))
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    pub async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None).await.as_str().unwrap_or_default().to_owned()
    }

    /// Runs a script in the page and returns its result.
    pub async fn script(&self, source: &str, args: Value) -> Value {
        self.call(reqwest::Method::POST, "/execute/sync", Some(json!({"script": source, "args": args}))).await
    }

    /// The first element matching `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let res: Value = self
                .http
                .post(format!("{}/element", self.session))
                .json(&json!({"using": "css selector", "value": css}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if let Some(id) = res["value"][ELEMENT].as_str() {
                return id.to_owned();
            }
            assert!(Instant::now() < deadline, "no element matches {css:?} on {}", self.url().await);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks the first element matching `css`, finding it again if the page changed under it.
    pub async fn click(&self, css: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let id = self.find(css).await;
            match self.try_call(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({}))).await {
                Ok(_) => return,
                Err(e) if e.contains("stale element") && Instant::now() < deadline => continue,
                Err(e) => panic!("{e}"),
            }
        }
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/value"), Some(json!({"text": text}))).await;
    }

    /// Presses and releases `key` (a character, or a WebDriver key code such as `"\u{E007}"`
    /// for Enter) in whatever has the focus.
    pub async fn press(&self, key: &str) {
        let keys = json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
            {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}
        ]}]});
        self.call(reqwest::Method::POST, "/actions", Some(keys)).await;
    }

    /// Gives the focus to the first element matching `css`.
    pub async fn focus(&self, css: &str) {
        self.find(css).await;
        self.script("document.querySelector(arguments[0]).focus();", json!([css])).await;
    }

    /// Runs a Chrome DevTools Protocol command (e.g. to emulate the system's dark setting).
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.call(reqwest::Method::POST, "/goog/cdp/execute", Some(json!({"cmd": cmd, "params": params}))).await
    }

    /// The text of the first element matching `css`, waiting for it to appear. Read by script,
    /// so a page that changes between finding and reading cannot leave a stale reference.
    pub async fn text(&self, css: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let script = json!({"script": "const e = document.querySelector(arguments[0]); return e ? e.innerText : null;", "args": [css]});
            // A page in the middle of loading may refuse the script: ask again.
            if let Ok(Value::String(text)) = self.try_call(reqwest::Method::POST, "/execute/sync", Some(script)).await {
                return text;
            }
            assert!(Instant::now() < deadline, "no element matches {css:?} on {}", self.url().await);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the page's URL satisfies `f`.
    pub async fn wait_for_url(&self, what: &str, f: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let url = self.url().await;
            if f(&url) {
                return url;
            }
            assert!(Instant::now() < deadline, "waited in vain for {what}; the page is {url}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the text of the first element matching `css` satisfies `f`.
    pub async fn wait_for_text(&self, css: &str, f: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let text = self.text(css).await;
            if f(&text) {
                return text;
            }
            assert!(Instant::now() < deadline, "waited in vain for the text of {css:?}; it is {text:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Lays the page out at `width` CSS pixels, as a phone (below 600) or a desktop shows it,
    /// until [`Self::reset_width`].
    pub async fn emulate_width(&self, width: u32) {
        let metrics = |height: u64| json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600});
        self.cdp("Emulation.setDeviceMetricsOverride", metrics(800)).await;
    }

    pub async fn reset_width(&self) {
        self.cdp("Emulation.clearDeviceMetricsOverride", json!({})).await;
    }

    /// Saves a PNG of the whole page laid out at `width` CSS pixels as `<dir>/<name>-<width>.png`.
    pub async fn screenshot_at(&self, dir: &Path, name: &str, width: u32) -> PathBuf {
        let height = self.script("return Math.min(document.documentElement.scrollHeight, 6000);", json!([])).await.as_u64().unwrap_or(800);
        let metrics = json!({"width": width, "height": height.max(600), "deviceScaleFactor": 1, "mobile": width < 600});
        self.cdp("Emulation.setDeviceMetricsOverride", metrics).await;
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap_or_default()).unwrap();
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join(format!("{name}-{width}.png"));
        std::fs::write(&path, bytes).unwrap();
        self.emulate_width(width).await;
        path
    }

    /// Saves a PNG of the whole page as `<dir>/<name>.png`.
    pub async fn screenshot(&self, dir: &Path, name: &str) -> PathBuf {
        // Make the window as tall as the page so the shot shows all of it.
        let height = self.script("return Math.min(document.documentElement.scrollHeight, 6000);", json!([])).await.as_u64().unwrap_or(900);
        self.call(reqwest::Method::POST, "/window/rect", Some(json!({"width": 1366, "height": height.max(600)}))).await;
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap_or_default()).unwrap();
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, bytes).unwrap();
        self.call(reqwest::Method::POST, "/window/rect", Some(json!({"width": 1366, "height": 900}))).await;
        path
    }
}

impl Drop for Browser {
    /// Ends the session (which closes chromium) with a plain blocking request, then stops the driver.
    fn drop(&mut self) {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.driver_port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let req = format!(
                "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                self.session_id, self.driver_port
            );
            if s.write_all(req.as_bytes()).is_ok() {
                let mut sink = Vec::new();
                let _ = s.read_to_end(&mut sink);
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
