//! Headless Chromium (Debian's `chromium`, installed by `scripts/install-chromium.sh`) for testing
//! web pages in a real browser: [`load`] gives a page's DOM after its scripts ran and what it said
//! on its console, [`screenshot`] saves a PNG of it.
//!
//! Chromium's own log (`--enable-logging=stderr`) prints every console message of a web page at
//! level INFO (`[pid:tid:time:INFO:CONSOLE:1] "boom", source: http://…/err.js (1)`), whether it was
//! `console.log` or `console.error`, and says nothing of failed resource loads. So [`load`] reads
//! the console through the DevTools protocol instead, which has the levels: Chromium is started
//! from its command line with `--remote-debugging-port=0` and spoken to over a WebSocket on
//! loopback (a few lines of std below, no client crate).

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The longest any one run of Chromium may take: a hung browser fails the test.
const TIMEOUT: Duration = Duration::from_secs(60);
/// Virtual milliseconds that a page's scripts get after it loaded (timers fire at once; time stands
/// still while a fetch is pending), as with `--virtual-time-budget`.
const BUDGET_MS: u64 = 5000;
/// The size of the page in [`load`].
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 900;
const MISSING: &str = "Chromium is not installed. Install it with: scripts/install-chromium.sh";

/// A page as the browser left it.
#[derive(Debug)]
pub struct Page {
    /// The serialized DOM after the page's scripts ran (what `--dump-dom` prints).
    pub dom: String,
    /// Every console message, uncaught exception and browser log entry, in order, as
    /// `console.<level>: <text> (<url>:<line>)`, `Uncaught …` or `<source> <level>: <text>`.
    pub console: Vec<String>,
    /// Those of [`Page::console`] that are errors: `console.error` and failed `console.assert`,
    /// uncaught exceptions (promise rejections too), and the browser's error entries: resources
    /// that failed to load (HTTP status 400 or more, refused connections) and Content Security
    /// Policy violations. (A failed `/favicon.ico`, which the browser asks for by itself, is in
    /// neither list.)
    pub errors: Vec<String>,
}

/// Loads `url` in a new headless Chromium with a 1280×900 page, lets its scripts run (see
/// [`BUDGET_MS`]) and returns the page. Panics if the page cannot be reached at all.
pub fn load(url: &str) -> Page {
    let deadline = Instant::now() + TIMEOUT;
    let window = format!("--window-size={WIDTH},{HEIGHT}");
    let mut browser = Browser::start(&[&window, "--remote-debugging-port=0", "about:blank"]);
    let (port, path) = browser.devtools_endpoint(deadline);
    let mut cdp = Cdp::connect(port, &path, deadline, browser.log.clone());

    let target = cdp.call("Target.createTarget", json!({"url": "about:blank"}))["targetId"].clone();
    let session = cdp.call("Target.attachToTarget", json!({"targetId": target, "flatten": true}))["sessionId"].clone();
    cdp.session = Some(session);
    for domain in ["Page", "Runtime", "Log"] {
        cdp.call(&format!("{domain}.enable"), json!({}));
    }
    // The page of a 1280×900 window has less room than that (the window's frame takes some).
    cdp.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": false}),
    );
    let navigation = cdp.call("Page.navigate", json!({"url": url}));
    if let Some(error) = navigation.get("errorText") {
        cdp.fail(&format!("Chromium could not load {url}: {error}"));
    }
    cdp.wait_for("Page.loadEventFired");
    // What `--virtual-time-budget` does once the page loaded: timers fire at once, and time stands
    // still while a fetch is pending.
    cdp.call(
        "Emulation.setVirtualTimePolicy",
        json!({"policy": "pauseIfNetworkFetchesPending", "budget": BUDGET_MS, "maxVirtualTimeTaskStarvationCount": 9999}),
    );
    cdp.wait_for("Emulation.virtualTimeBudgetExpired");
    let result = cdp.call(
        "Runtime.evaluate",
        json!({
            "expression": "(document.doctype ? new XMLSerializer().serializeToString(document.doctype) + '\\n' : '') \
                           + document.documentElement.outerHTML",
            "returnByValue": true,
        }),
    );
    let Some(dom) = result["result"]["value"].as_str().map(str::to_string) else {
        cdp.fail(&format!("reading the DOM of {url} gave {result}"));
    };

    let (console, errors) = messages(&cdp.events);
    cdp.session = None;
    cdp.send("Browser.close", json!({}));
    browser.wait(Instant::now() + Duration::from_secs(10));
    Page { dom, console, errors }
}

/// Saves a PNG of `url`, as a `width`×`height` window shows it after the page's scripts ran
/// (Chromium's `--screenshot`), creating the directories of `path`.
pub fn screenshot(url: &str, path: &Path, width: u32, height: u32) {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).unwrap();
    }
    // A stale picture must not pass for this one.
    let _ = std::fs::remove_file(path);
    let mut browser = Browser::start(&[
        &format!("--window-size={width},{height}"),
        "--hide-scrollbars",
        &format!("--virtual-time-budget={BUDGET_MS}"),
        &format!("--screenshot={}", path.display()),
        url,
    ]);
    let status = browser.wait(Instant::now() + TIMEOUT);
    if !status.success() || !path.is_file() {
        fail(&browser.log, &format!("Chromium did not save a screenshot of {url} to {} ({status})", path.display()));
    }
}

/// The `chromium` on `path` (a `PATH` value), or a panic that says how to install it.
fn chromium_on(path: Option<&OsStr>) -> PathBuf {
    let found = path
        .into_iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("chromium"))
        .find(|file| std::fs::metadata(file).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0));
    found.unwrap_or_else(|| panic!("{MISSING}"))
}

/// One headless Chromium process (in a process group of its own) with a fresh profile.
struct Browser {
    child: Child,
    /// Chromium's stderr, for the message of a failure.
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Browser {
    fn start(args: &[&str]) -> Browser {
        let chromium = chromium_on(std::env::var_os("PATH").as_deref());
        let dir = tempfile::tempdir().unwrap();
        let profile = dir.path().join("profile");
        let log = dir.path().join("chromium.log");
        let mut command = Command::new(chromium);
        command.args(["--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check"]);
        command.arg(format!("--user-data-dir={}", profile.display()));
        // Chromium's sandbox does not run as root.
        if std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0) {
            command.arg("--no-sandbox");
        }
        command.args(args);
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(std::fs::File::create(&log).unwrap());
        command.process_group(0);
        let child = command.spawn().unwrap_or_else(|e| panic!("{MISSING} (starting it failed: {e})"));
        Browser { child, log, _dir: dir }
    }

    /// The port and path of the browser's DevTools WebSocket, from the line
    /// `DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID` that Chromium prints once
    /// it listens.
    fn devtools_endpoint(&mut self, deadline: Instant) -> (u16, String) {
        loop {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            // Only a whole line: the file may end in the middle of one.
            let listening = log.split_inclusive('\n').filter(|l| l.ends_with('\n')).find_map(|l| {
                let (_, address) = l.trim().split_once("DevTools listening on ws://")?;
                let (host_port, path) = address.split_once('/')?;
                Some((host_port.rsplit_once(':')?.1.parse().ok()?, format!("/{path}")))
            });
            if let Some(endpoint) = listening {
                return endpoint;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                fail(&self.log, &format!("Chromium exited before it listened for DevTools ({status})"));
            }
            if Instant::now() > deadline {
                fail(&self.log, &format!("Chromium did not listen for DevTools within {TIMEOUT:?}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for Chromium to exit, until `deadline`.
    fn wait(&mut self, deadline: Instant) -> ExitStatus {
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                fail(&self.log, "Chromium did not finish in time");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Browser {
    /// Kills the browser and its helper processes if it is still running (a failed test).
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.child.id())]).status();
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Panics with `what` and the end of Chromium's log.
fn fail(log: &Path, what: &str) -> ! {
    let log = std::fs::read_to_string(log).unwrap_or_default();
    // Without a D-Bus (a container), Chromium complains of it at length.
    let lines: Vec<&str> = log.lines().filter(|l| !l.contains(":dbus/")).collect();
    panic!("{what}\nChromium's log, last lines:\n{}", lines[lines.len().saturating_sub(30)..].join("\n"));
}

/// A DevTools protocol connection: JSON messages over a WebSocket.
struct Cdp {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
    deadline: Instant,
    log: PathBuf,
    next_id: u64,
    /// The session that commands go to (a page's), or the browser.
    session: Option<Value>,
    /// Every event received so far.
    events: Vec<Value>,
    /// How many of `events` [`Cdp::wait_for`] has looked at.
    seen: usize,
}

impl Cdp {
    fn connect(port: u16, path: &str, deadline: Instant, log: PathBuf) -> Cdp {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| fail(&log, &format!("DevTools: {e}")));
        let reader = BufReader::new(stream.try_clone().unwrap());
        let mut cdp = Cdp { stream, reader, deadline, log, next_id: 0, session: None, events: Vec::new(), seen: 0 };
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        cdp.write(request.as_bytes());
        let mut status = String::new();
        cdp.read_line(&mut status);
        if !status.starts_with("HTTP/1.1 101") {
            cdp.fail(&format!("DevTools refused the WebSocket: {status}"));
        }
        let mut header = String::new();
        while header != "\r\n" {
            header.clear();
            cdp.read_line(&mut header);
        }
        cdp
    }

    /// Sends a command without waiting for its answer; returns its id.
    fn send(&mut self, method: &str, params: Value) -> u64 {
        self.next_id += 1;
        let mut message = json!({"id": self.next_id, "method": method, "params": params});
        if let Some(session) = &self.session {
            message["sessionId"] = session.clone();
        }
        let payload = message.to_string().into_bytes();
        // A client's frames are masked (RFC 6455, 5.3): one text frame, FIN set.
        let mask = [0x5a, 0xa5, 0x3c, 0xc3];
        let mut frame = vec![0x81];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n <= 0xffff => {
                frame.push(0x80 | 126);
                frame.extend((n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend((n as u64).to_be_bytes());
            }
        }
        frame.extend(mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.write(&frame);
        self.next_id
    }

    /// Sends a command and returns its result; events that come meanwhile are kept.
    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.send(method, params);
        loop {
            let mut message = self.receive();
            if message["id"] == id {
                if let Some(error) = message.get("error") {
                    self.fail(&format!("DevTools: {method} failed: {error}"));
                }
                return message["result"].take();
            }
            if message.get("method").is_some() {
                self.events.push(message);
            }
        }
    }

    /// The parameters of the first event `method` not waited for yet.
    fn wait_for(&mut self, method: &str) -> Value {
        loop {
            while self.seen < self.events.len() {
                self.seen += 1;
                if self.events[self.seen - 1]["method"] == method {
                    return self.events[self.seen - 1]["params"].clone();
                }
            }
            let message = self.receive();
            if message.get("method").is_some() {
                self.events.push(message);
            }
        }
    }

    /// The next message: WebSocket frames up to one with FIN set.
    fn receive(&mut self) -> Value {
        let mut message = Vec::new();
        loop {
            let mut head = [0; 2];
            self.read(&mut head);
            let len = match head[1] & 0x7f {
                126 => {
                    let mut len = [0; 2];
                    self.read(&mut len);
                    u64::from(u16::from_be_bytes(len))
                }
                127 => {
                    let mut len = [0; 8];
                    self.read(&mut len);
                    u64::from_be_bytes(len)
                }
                n => u64::from(n),
            };
            let mut mask = [0; 4];
            if head[1] & 0x80 != 0 {
                self.read(&mut mask);
            }
            let mut payload = vec![0; usize::try_from(len).unwrap()];
            self.read(&mut payload);
            if head[1] & 0x80 != 0 {
                payload.iter_mut().enumerate().for_each(|(i, b)| *b ^= mask[i % 4]);
            }
            match head[0] & 0x0f {
                0x0..=0x2 => {
                    message.extend(payload);
                    if head[0] & 0x80 != 0 {
                        return serde_json::from_slice(&message)
                            .unwrap_or_else(|e| self.fail(&format!("DevTools sent no JSON ({e})")));
                    }
                }
                0x8 => self.fail("Chromium closed the DevTools connection"),
                0x9 => {
                    let mut pong = vec![0x8a, 0x80 | payload.len() as u8, 0, 0, 0, 0];
                    pong.extend(payload);
                    self.write(&pong);
                }
                _ => {}
            }
        }
    }

    /// Sets the read timeout to what is left until the deadline.
    fn arm(&mut self) {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            self.fail(&format!("Chromium did not finish within {TIMEOUT:?}"));
        }
        self.stream.set_read_timeout(Some(left)).unwrap();
    }

    fn read(&mut self, buf: &mut [u8]) {
        self.arm();
        if let Err(e) = self.reader.read_exact(buf) {
            self.fail(&format!("reading from DevTools: {e} (a timeout if Chromium took over {TIMEOUT:?})"));
        }
    }

    fn read_line(&mut self, line: &mut String) {
        self.arm();
        if let Err(e) = self.reader.read_line(line) {
            self.fail(&format!("reading from DevTools: {e}"));
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        if let Err(e) = self.stream.write_all(bytes) {
            self.fail(&format!("writing to DevTools: {e}"));
        }
    }

    fn fail(&self, what: &str) -> ! {
        fail(&self.log, what)
    }
}

/// The console messages and errors that the DevTools events `events` tell (see [`Page`]).
fn messages(events: &[Value]) -> (Vec<String>, Vec<String>) {
    let (mut console, mut errors) = (Vec::new(), Vec::new());
    for event in events {
        let params = &event["params"];
        let (line, error) = match event["method"].as_str() {
            Some("Runtime.consoleAPICalled") => {
                let level = params["type"].as_str().unwrap_or("log");
                let args = params["args"].as_array().map(Vec::as_slice).unwrap_or_default();
                let text: Vec<String> = args.iter().map(remote_object).collect();
                let frame = &params["stackTrace"]["callFrames"][0];
                let line =
                    format!("console.{level}: {}{}", text.join(" "), location(&frame["url"], &frame["lineNumber"]));
                (line, level == "error" || level == "assert")
            }
            Some("Runtime.exceptionThrown") => {
                let details = &params["exceptionDetails"];
                let mut text = details["text"].as_str().unwrap_or("Uncaught").to_string();
                let exception = &details["exception"];
                if !exception.is_null() {
                    let what =
                        exception["description"].as_str().map_or_else(|| remote_object(exception), str::to_string);
                    text = format!("{text} {}", what.lines().next().unwrap_or_default());
                }
                (format!("{text}{}", location(&details["url"], &details["lineNumber"])), true)
            }
            Some("Log.entryAdded") => {
                let entry = &params["entry"];
                // The browser asks every site for /favicon.ico by itself (the page did not), and
                // whether the answer comes before the page is read is a matter of timing.
                if entry["source"] == "network" && entry["url"].as_str().is_some_and(|u| u.ends_with("/favicon.ico")) {
                    continue;
                }
                let level = entry["level"].as_str().unwrap_or("info");
                let text = entry["text"].as_str().unwrap_or_default();
                let source = entry["source"].as_str().unwrap_or("other");
                (format!("{source} {level}: {text}{}", location(&entry["url"], &entry["lineNumber"])), level == "error")
            }
            _ => continue,
        };
        if error {
            errors.push(line.clone());
        }
        console.push(line);
    }
    (console, errors)
}

/// ` (url:line)` for a 0-based line number, or as much of it as is known.
fn location(url: &Value, line: &Value) -> String {
    match (url.as_str().filter(|u| !u.is_empty()), line.as_u64()) {
        (Some(url), Some(line)) => format!(" ({url}:{})", line + 1),
        (Some(url), None) => format!(" ({url})"),
        _ => String::new(),
    }
}

/// A console argument (a DevTools `RemoteObject`) as text.
fn remote_object(object: &Value) -> String {
    match (&object["value"], &object["unserializableValue"], &object["description"]) {
        (Value::String(s), _, _) => s.clone(),
        (Value::Null, Value::String(s), _) | (Value::Null, _, Value::String(s)) => s.clone(),
        (Value::Null, _, _) => object["type"].as_str().unwrap_or("undefined").to_string(),
        (value, _, _) => value.to_string(),
    }
}

/// A web server on loopback for these tests: serves `pages` (path, body), each with the
/// header `Content-Security-Policy: default-src 'self'`, and 404 for anything else. Returns its
/// base URL; it lives as long as the test process.
fn site(pages: &'static [(&'static str, &'static str)]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || respond(stream, pages));
        }
    });
    base
}

fn respond(stream: TcpStream, pages: &[(&str, &str)]) {
    let mut reader = BufReader::new(&stream);
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    let mut header = String::new();
    while reader.read_line(&mut header).is_ok_and(|n| n > 0) && header != "\r\n" {
        header.clear();
    }
    let path = request.split(' ').nth(1).unwrap_or("/");
    let (status, body) = match pages.iter().find(|(p, _)| *p == path) {
        Some((_, body)) => ("200 OK", *body),
        None => ("404 Not Found", "not found"),
    };
    let content_type = if path.ends_with(".js") {
        "text/javascript"
    } else if path.ends_with(".json") {
        "application/json"
    } else if status.starts_with("200") {
        "text/html; charset=utf-8"
    } else {
        "text/plain"
    };
    let _ = write!(
        &stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Content-Security-Policy: default-src 'self'\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

static PAGES: &[(&str, &str)] = &[
    // A page that its script fills in from JSON fetched after the load and a timer.
    (
        "/",
        "<!doctype html><html><head><meta charset=utf-8><title>app</title><script src=/app.js></script></head>\
         <body><p id=status>loading</p></body></html>",
    ),
    (
        "/app.js",
        r#"document.addEventListener("DOMContentLoaded", () => {
             fetch("/data.json").then(r => r.json()).then(data => setTimeout(() => {
               document.getElementById("status").textContent = `rendered ${data.name} at ${innerWidth}×${innerHeight}`;
               console.log("rendered", data.count);
             }, 1000));
           });"#,
    ),
    ("/data.json", r#"{"name": "by app.js", "count": 3}"#),
    ("/console-error", "<!doctype html><title>console.error</title><script src=/console-error.js></script>"),
    ("/console-error.js", r#"console.log("fine"); console.error("boom");"#),
    ("/throw", "<!doctype html><title>throw</title><script src=/throw.js></script>"),
    ("/throw.js", r#"throw new Error("kaboom");"#),
    ("/reject", "<!doctype html><title>reject</title><script src=/reject.js></script>"),
    ("/reject.js", r#"Promise.reject(new Error("nobody caught me"));"#),
    ("/inline", "<!doctype html><title>inline</title><script>document.title = 'inline ran'</script>"),
    ("/missing", "<!doctype html><title>missing</title><script src=/missing.js></script>"),
    ("/red", "<!doctype html><title>red</title><link rel=stylesheet href=/red.css><p>a red page</p>"),
    ("/red.css", "html { background: #c00; }"),
];

#[test]
fn load_sees_the_dom_that_scripts_made() {
    let base = site(PAGES);
    let page = load(&format!("{base}/"));
    assert!(page.dom.contains(r#"<p id="status">rendered by app.js at 1280×900</p>"#), "{page:#?}");
    assert!(page.dom.starts_with("<!DOCTYPE html>"), "{page:#?}");
    assert_eq!(page.console, [format!("console.log: rendered 3 ({base}/app.js:4)")], "{page:#?}");
    assert!(page.errors.is_empty(), "{page:#?}");
}

#[test]
fn console_errors_are_errors() {
    let base = site(PAGES);
    let page = load(&format!("{base}/console-error"));
    let source = format!("{base}/console-error.js:1");
    assert_eq!(page.console, [format!("console.log: fine ({source})"), format!("console.error: boom ({source})")]);
    assert_eq!(page.errors, [format!("console.error: boom ({source})")]);
}

#[test]
fn uncaught_exceptions_are_errors() {
    let base = site(PAGES);
    let page = load(&format!("{base}/throw"));
    assert_eq!(page.errors, [format!("Uncaught Error: kaboom ({base}/throw.js:1)")], "{page:#?}");
    let page = load(&format!("{base}/reject"));
    assert_eq!(page.errors.len(), 1, "{page:#?}");
    assert!(page.errors[0].starts_with("Uncaught (in promise) Error: nobody caught me"), "{page:#?}");
}

#[test]
fn content_security_policy_violations_are_errors() {
    let base = site(PAGES);
    let page = load(&format!("{base}/inline"));
    assert!(page.dom.contains("<title>inline</title>"), "the inline script ran: {page:#?}");
    assert_eq!(page.errors.len(), 1, "{page:#?}");
    assert!(page.errors[0].contains("violates the following Content Security Policy directive"), "{page:#?}");
}

#[test]
fn failed_loads_are_errors() {
    let base = site(PAGES);
    let page = load(&format!("{base}/missing"));
    assert_eq!(page.errors.len(), 1, "{page:#?}");
    assert!(page.errors[0].contains("404"), "{page:#?}");
    assert!(page.errors[0].contains(&format!("{base}/missing.js")), "{page:#?}");
}

#[test]
#[should_panic(expected = "Chromium could not load")]
fn an_unreachable_page_fails() {
    // A port that nothing listens on (any more).
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    load(&format!("http://127.0.0.1:{port}/"));
}

#[test]
#[should_panic(expected = "Chromium is not installed. Install it with: scripts/install-chromium.sh")]
fn a_missing_chromium_says_how_to_install_it() {
    chromium_on(Some(OsStr::new("/nonexistent")));
}

#[test]
fn screenshot_writes_a_png() {
    let base = site(PAGES);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shots/red.png");
    screenshot(&format!("{base}/red"), &path, 640, 480);
    let png = std::fs::read(&path).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG: {} bytes", png.len());
    // The IHDR chunk: the width and height.
    assert_eq!(&png[16..24], [640u32.to_be_bytes(), 480u32.to_be_bytes()].concat());
}
