//! What the `portico` binary's tests share: the binary, a demo started on a free port, and
//! plain GETs on the loopback interface.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn portico() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_portico"));
    c.env_remove("PORTICO_CONFIG").env("PORTICO_LOG", "error");
    c
}

/// Starts `portico demo` with `args`, with `TMPDIR` set to `tmp`; returns the child and the URL
/// it printed (the port opens before the catalog is read).
pub fn start_demo(args: &[&str], tmp: &std::path::Path) -> (std::process::Child, String) {
    let mut child = portico().arg("demo").args(args).env("TMPDIR", tmp).stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started = Instant::now();
    let url = loop {
        let line = lines.next().expect("demo printed its URL").unwrap();
        if let Some(rest) = line.split("running at ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
        assert!(started.elapsed() < Duration::from_secs(60), "demo did not start");
    };
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    (child, url)
}

/// Waits until `/readyz` answers 200 (the first read of the catalog ended); returns what it
/// answered before, while loading.
pub fn wait_ready(url: &str) -> Vec<String> {
    let started = Instant::now();
    let mut before = Vec::new();
    loop {
        let (status, body) = reqwest::blocking_get_status(&format!("{url}/readyz"));
        if status == 200 {
            return before;
        }
        assert_eq!(status, 503, "{body}");
        before.push(body);
        assert!(started.elapsed() < Duration::from_secs(60), "the demo's catalog was not read in a minute");
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub mod reqwest {
    /// A GET on the loopback interface without pulling an async runtime into this test.
    pub fn blocking_get(url: &str) -> String {
        blocking_get_status(url).1
    }

    /// A GET: the status and the body.
    pub fn blocking_get_status(url: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let rest = url.strip_prefix("http://").unwrap();
        let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap();
        let mut s = std::net::TcpStream::connect(host).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        (status, body.to_owned())
    }
}
