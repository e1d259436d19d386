//! Browser tests: Debian's headless Chromium driven through chromedriver
//! (WebDriver, with the `fantoccini` crate), against pages served on
//! loopback, with axe-core for accessibility checks.
//!
//! ```no_run
//! # async fn example() {
//! use focal_tests::browser::Browser;
//! let browser = Browser::start().await;
//! browser.goto("http://127.0.0.1:7480/").await;
//! browser.fill("Name", "Ada").await;
//! browser.click_text("Save").await;
//! browser.wait_for_text("Saved").await;
//! browser.screenshot("saved").await;
//! browser.assert_no_serious_violations("saved page").await;
//! # }
//! ```
//!
//! Every [`Browser`] has its own chromedriver, on a port chromedriver picks
//! itself (`--port=0`, read back from its output), and its own Chromium
//! profile in a fresh temporary directory, so tests may run several at once.
//! Both processes are killed when the `Browser` is dropped (chromedriver's
//! whole process group, then anything still naming the temporary
//! directory). Helpers panic, with what they were doing and where the
//! browser was, instead of returning errors: a panic is how a test fails.
//! When a test panics while a `Browser` is alive, its drop saves a
//! screenshot, the page source and the tail of chromedriver's log into
//! `target/web-screenshots/` (`panic-<name>.*`).
//!
//! Nothing here skips: without Chromium, chromedriver or axe-core, starting
//! a `Browser` panics and says what is missing and how to install it
//! (`bash tests/run.sh`). Nothing sleeps and hopes either: waits poll with
//! a deadline ([`BrowserBuilder::timeout`]).

use std::{
    fmt, fs,
    io::{Read, Write},
    net::{Ipv4Addr, SocketAddr, TcpStream},
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use base64::Engine as _;
pub use cookie::{self, Cookie, SameSite};
pub use fantoccini::{self, Locator, elements::Element};
use fantoccini::{
    ClientBuilder,
    error::{CmdError, ErrorStatus},
    wd::TimeoutConfiguration,
};
use hyper_util::client::legacy::connect::HttpConnector;
use serde::Deserialize;
use serde_json::{Value as Json, json};

/// Where Chromium is, unless `FOCAL_CHROMIUM` says otherwise.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// How to install what the browser tests need.
const INSTALL_HINT: &str = "install what is missing with `bash tests/run.sh` (it installs the \
     Debian packages chromium and chromium-driver, and runs `npm ci` in tests/web for axe-core)";

/// What chromedriver prints when the port it picked is taken. Asked for
/// any port (`--port=0`), it binds [::1] on a port the kernel picks, then
/// 127.0.0.1 on the same number, and exits when that one is in use there:
/// on a machine running other tests, some loopback connection may hold it.
const PORT_TAKEN: &str = "port not available";

/// How many times in all chromedriver is started when the port it picked
/// was taken ([`PORT_TAKEN`]); any other early exit fails at once.
const DRIVER_ATTEMPTS: usize = 5;

/// How long chromedriver and Chromium may take to start, on a loaded CI
/// machine.
const START_DEADLINE: Duration = crate::DEADLINE;

/// The default for waits and for each WebDriver command.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How often waits look again.
const POLL: Duration = Duration::from_millis(50);

/// The workspace's root directory.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_owned()
}

/// The directory screenshots (and failure artifacts) go to:
/// `$FOCAL_SCREENSHOT_DIR`, or `web-screenshots/` in the target directory
/// the running test binary was built into (`<workspace>/target` unless
/// `CARGO_TARGET_DIR` moved it).
pub fn screenshot_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("FOCAL_SCREENSHOT_DIR") {
        return PathBuf::from(dir);
    }
    // target/<profile>/deps/<test binary>
    let target = std::env::current_exe().ok().and_then(|exe| {
        let deps = exe.parent()?;
        let profile = deps.parent()?;
        (deps.file_name()? == "deps").then(|| profile.parent().map(Path::to_owned))?
    });
    target
        .unwrap_or_else(|| workspace().join("target"))
        .join("web-screenshots")
}

/// The axe-core script the browser tests inject, as `tests/web`'s
/// package-lock.json pins it.
pub fn axe_path() -> PathBuf {
    workspace().join("tests/web/node_modules/axe-core/axe.min.js")
}

fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        fs::read_to_string(axe_path()).unwrap_or_else(|e| {
            panic!(
                "axe-core is missing ({}: {e}): {INSTALL_HINT}",
                axe_path().display()
            )
        })
    })
}

/// The axe-core version `tests/web/package-lock.json` pins.
fn axe_pinned_version() -> Option<String> {
    let lock = fs::read_to_string(workspace().join("tests/web/package-lock.json")).ok()?;
    let lock: Json = serde_json::from_str(&lock).ok()?;
    Some(
        lock["packages"]["node_modules/axe-core"]["version"]
            .as_str()?
            .to_owned(),
    )
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    })
}

/// The tools' paths, or a panic naming every missing one.
struct Tools {
    chromium: PathBuf,
    chromedriver: PathBuf,
}

/// The chromedriver the browsers run: `$FOCAL_CHROMEDRIVER`, or the one
/// on `PATH`; `None` if it is not there.
pub fn chromedriver() -> Option<PathBuf> {
    match std::env::var_os("FOCAL_CHROMEDRIVER") {
        Some(path) => Some(PathBuf::from(path)).filter(|path| path.is_file()),
        None => find_on_path("chromedriver"),
    }
}

fn tools() -> Tools {
    let chromium = std::env::var_os("FOCAL_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(CHROMIUM));
    let chromedriver = chromedriver();
    let mut missing = Vec::new();
    if !chromium.is_file() {
        missing.push(format!("chromium ({})", chromium.display()));
    }
    if chromedriver.is_none() {
        missing.push(match std::env::var_os("FOCAL_CHROMEDRIVER") {
            Some(path) => format!("chromedriver ({})", PathBuf::from(path).display()),
            None => "chromedriver (on PATH)".to_owned(),
        });
    }
    let axe = axe_path();
    let pinned = axe_pinned_version();
    let installed = fs::read_to_string(axe.with_file_name("package.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<Json>(&text).ok())
        .and_then(|package| package["version"].as_str().map(str::to_owned));
    if !axe.is_file() {
        missing.push(format!("axe-core ({})", axe.display()));
    } else if pinned.is_some() && installed != pinned {
        missing.push(format!(
            "axe-core {} as tests/web/package-lock.json pins it (installed: {})",
            pinned.unwrap_or_default(),
            installed.as_deref().unwrap_or("unknown version")
        ));
    }
    assert!(
        missing.is_empty(),
        "the browser tests need {}: {INSTALL_HINT}",
        missing.join(", ")
    );
    Tools {
        chromium,
        chromedriver: chromedriver.expect("checked above"),
    }
}

/// A name safe as a file name: ASCII letters, digits, `-`, `_` and `.`,
/// everything else replaced by `-`, no leading dot.
fn file_stem(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let stem = stem.trim_start_matches('.').to_owned();
    assert!(!stem.is_empty(), "{name:?} makes an empty file name");
    stem
}

/// One HTTP request to chromedriver, synchronously (also used from `Drop`,
/// where there is no awaiting): the status and the body. HTTP/1.1, which
/// chromedriver insists on; it keeps the connection open whatever the
/// request says, so the answer ends where its Content-Length (or its last
/// chunk) says.
fn driver_http(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&Json>,
    timeout: Duration,
) -> std::io::Result<(u16, String)> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let body = body.map(Json::to_string).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    let mut buffer = [0; 64 * 1024];
    loop {
        if let Some(answer) = http_answer(&raw) {
            return Ok(answer);
        }
        let n = stream.read(&mut buffer)?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "chromedriver closed the connection mid-answer",
            ));
        }
        raw.extend_from_slice(&buffer[..n]);
    }
}

/// The status and body of a complete HTTP answer, `None` while incomplete.
fn http_answer(raw: &[u8]) -> Option<(u16, String)> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).to_lowercase();
    let mut content = &raw[split + 4..];
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let header = |name: &str| {
        head.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .map(str::trim)
    };
    if header("transfer-encoding").is_some_and(|te| te.contains("chunked")) {
        let mut body = Vec::new();
        loop {
            let line_end = content.windows(2).position(|w| w == b"\r\n")?;
            let size_line = std::str::from_utf8(&content[..line_end]).ok()?;
            let size = usize::from_str_radix(size_line.split(';').next()?.trim(), 16).ok()?;
            content = &content[line_end + 2..];
            if size == 0 {
                return Some((status, String::from_utf8_lossy(&body).into_owned()));
            }
            body.extend_from_slice(content.get(..size)?);
            content = content.get(size + 2..)?;
        }
    }
    let length: usize = header("content-length")?.parse().ok()?;
    let body = content.get(..length)?;
    Some((status, String::from_utf8_lossy(body).into_owned()))
}

/// The last `max` bytes of a file (a log), as text.
fn tail(path: &Path, max: usize) -> String {
    let bytes = fs::read(path).unwrap_or_default();
    let start = bytes.len().saturating_sub(max);
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

/// Processes whose command line mentions `needle` (a path unique to one
/// browser), other than this one.
fn processes_mentioning(needle: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(needle))
        })
        .collect()
}

/// Options for [`Browser`]; [`Browser::builder`] makes one.
#[derive(Debug, Clone)]
pub struct BrowserBuilder {
    name: Option<String>,
    lang: String,
    timezone: String,
    window: (u32, u32),
    timeout: Duration,
    base_url: Option<String>,
    chromedriver: Option<PathBuf>,
}

impl Default for BrowserBuilder {
    fn default() -> Self {
        Self {
            name: None,
            lang: "en-US".to_owned(),
            timezone: "UTC".to_owned(),
            window: (1280, 900),
            timeout: DEFAULT_TIMEOUT,
            base_url: None,
            chromedriver: None,
        }
    }
}

impl BrowserBuilder {
    /// Names the browser in failure messages and `panic-<name>.*` files
    /// (default: the test's name and a counter).
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// The browser's language (`--lang`, the `Accept-Language` header,
    /// `navigator.language`); default `en-US`. A list such as `fr,en` sets
    /// the header's preference order; the first is the interface language.
    pub fn lang(mut self, lang: &str) -> Self {
        self.lang = lang.to_owned();
        self
    }

    /// The browser's time zone (`TZ`); default `UTC`.
    pub fn timezone(mut self, timezone: &str) -> Self {
        self.timezone = timezone.to_owned();
        self
    }

    /// The viewport's size in CSS pixels (what the page and screenshots
    /// get); default 1280×900.
    pub fn window_size(mut self, width: u32, height: u32) -> Self {
        self.window = (width, height);
        self
    }

    /// How long a wait (and a single WebDriver command) may take before the
    /// test fails; default 30 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// What [`Browser::goto`] resolves paths (`/login`) against.
    pub fn base_url(mut self, url: &str) -> Self {
        self.base_url = Some(url.trim_end_matches('/').to_owned());
        self
    }

    /// The chromedriver to run, instead of `$FOCAL_CHROMEDRIVER` or the
    /// one on `PATH` (the harness's tests give it wrappers that fail).
    pub fn chromedriver(mut self, path: &Path) -> Self {
        self.chromedriver = Some(path.to_owned());
        self
    }

    /// Starts chromedriver and a headless Chromium session. When the port
    /// chromedriver picked is taken, it is started again (at most five
    /// attempts in all); any other early exit panics at once.
    pub async fn start(self) -> Browser {
        Browser::launch(self).await
    }
}

/// A headless Chromium session through its own chromedriver. Both are
/// killed on drop.
pub struct Browser {
    client: fantoccini::Client,
    timeout: Duration,
    base_url: Option<String>,
    /// Dropped after `client`: kills the processes.
    processes: Processes,
}

/// chromedriver (and through it Chromium) and their temporary directory.
/// Killed on drop; kept apart from [`Browser`] so that a failure while
/// starting kills them too.
struct Processes {
    name: String,
    port: u16,
    session: String,
    driver: Child,
    /// chromedriver was seen to exit (and reaped): its process group is
    /// not signalled, as its number may belong to another by then.
    reaped: bool,
    /// Holds the Chromium profile and chromedriver's logs; removed on drop,
    /// after the processes are gone.
    dir: tempfile::TempDir,
}

impl fmt::Debug for Browser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Browser")
            .field("name", &self.processes.name)
            .field("chromedriver_port", &self.processes.port)
            .field("session", &self.processes.session)
            .field("dir", &self.processes.dir.path())
            .finish_non_exhaustive()
    }
}

impl Browser {
    /// A browser with the default options (see [`BrowserBuilder`]).
    pub async fn start() -> Self {
        BrowserBuilder::default().start().await
    }

    /// Options for a browser: `Browser::builder().lang("fr").start().await`.
    pub fn builder() -> BrowserBuilder {
        BrowserBuilder::default()
    }

    async fn launch(options: BrowserBuilder) -> Self {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let mut tools = tools();
        if let Some(path) = &options.chromedriver {
            tools.chromedriver.clone_from(path);
        }
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        let name = options.name.clone().unwrap_or_else(|| {
            let test = std::thread::current()
                .name()
                .filter(|name| *name != "main")
                .map(|name| name.rsplit("::").next().unwrap_or(name).to_owned())
                .unwrap_or_else(|| "browser".to_owned());
            format!("{test}-{n}")
        });
        // The first language is the interface's; the whole list is the
        // Accept-Language header's.
        let ui_lang = options
            .lang
            .split(',')
            .next()
            .unwrap_or("en-US")
            .trim()
            .to_owned();

        let mut attempt = 1;
        let mut processes = loop {
            match Processes::spawn(name.clone(), &tools, &options, &ui_lang).await {
                Ok(processes) => break processes,
                Err(output) if output.contains(PORT_TAKEN) && attempt < DRIVER_ATTEMPTS => {
                    eprintln!("browser {name}: chromedriver's port was taken; starting it again");
                    attempt += 1;
                }
                Err(output) => panic!(
                    "chromedriver exited before listening (attempt {attempt} of at most \
                     {DRIVER_ATTEMPTS}):\n{output}"
                ),
            }
        };
        let profile = processes.dir.path().join("profile");
        processes.wait_for_driver_ready(START_DEADLINE).await;
        let client = processes
            .connect(&tools, &options, &profile, &ui_lang)
            .await;
        processes.session = match client.session_id().await {
            Ok(Some(session)) => session,
            other => panic!("chromedriver gave no session id: {other:?}"),
        };
        let browser = Self {
            client,
            timeout: options.timeout,
            base_url: options.base_url,
            processes,
        };
        browser
            .run(
                "setting WebDriver timeouts",
                browser.client.update_timeouts(TimeoutConfiguration::new(
                    Some(options.timeout),
                    Some(options.timeout),
                    Some(Duration::ZERO),
                )),
            )
            .await;
        browser.size_viewport(options.window).await;
        browser
    }

    /// Makes the viewport (what pages and screenshots see) `width` ×
    /// `height`: `--window-size` sets the window, which headless Chromium
    /// still gives some height of browser interface.
    async fn size_viewport(&self, (width, height): (u32, u32)) {
        let viewport = "return [window.innerWidth, window.innerHeight, \
                        window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight]";
        let measured: Vec<i64> = serde_json::from_value(self.execute(viewport, vec![]).await)
            .unwrap_or_else(|e| self.fail(format_args!("measuring the window: {e}")));
        let [inner_width, inner_height, extra_width, extra_height] = measured[..] else {
            self.fail(format_args!("measuring the window: {measured:?}"));
        };
        if (inner_width, inner_height) == (i64::from(width), i64::from(height)) {
            return;
        }
        let outer =
            |size: u32, extra: i64| u32::try_from(i64::from(size) + extra.max(0)).unwrap_or(size);
        self.run(
            "sizing the window",
            self.client
                .set_window_size(outer(width, extra_width), outer(height, extra_height)),
        )
        .await;
        let measured: Vec<i64> =
            serde_json::from_value(self.execute(viewport, vec![]).await).unwrap_or_default();
        if measured.get(..2) != Some(&[i64::from(width), i64::from(height)][..]) {
            self.fail(format_args!(
                "the viewport is {measured:?} (width, height, then the window's extra), not \
                 {width}×{height}"
            ));
        }
    }
}

impl Processes {
    /// Starts chromedriver on a port it picks and waits until it says
    /// which. `Err` holds its output when it exited first.
    async fn spawn(
        name: String,
        tools: &Tools,
        options: &BrowserBuilder,
        ui_lang: &str,
    ) -> Result<Self, String> {
        let dir = tempfile::Builder::new()
            .prefix("focal-browser-")
            .tempdir()
            .expect("a temporary directory for the browser");
        let driver_log = dir.path().join("chromedriver.log");
        let driver_out = dir.path().join("chromedriver.out");
        let mut command = Command::new(&tools.chromedriver);
        command
            .arg("--port=0")
            .arg(format!("--log-path={}", driver_log.display()))
            .arg("--log-level=INFO")
            // Chromium inherits this environment: its language and time
            // zone, and a crash-report database inside the temporary
            // directory, not in $HOME (the crash handler then names the
            // directory on its command line, and drop finds it).
            .env("LANGUAGE", ui_lang.replace('-', "_"))
            .env("TZ", &options.timezone)
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .stdin(Stdio::null())
            .stdout(fs::File::create(&driver_out).expect("chromedriver output file"))
            .stderr(
                fs::OpenOptions::new()
                    .append(true)
                    .open(&driver_out)
                    .expect("chromedriver output file"),
            )
            // A process group of its own, which Chromium's processes join:
            // drop kills the group.
            .process_group(0);
        // A script just written (a test's wrapper) is busy while a process
        // forked elsewhere in this test binary still holds it open, until
        // that process execs: try again for a moment.
        let busy_until = Instant::now() + Duration::from_secs(5);
        let driver = loop {
            match command.spawn() {
                Ok(driver) => break driver,
                Err(e)
                    if e.raw_os_error() == Some(nix::libc::ETXTBSY)
                        && Instant::now() < busy_until =>
                {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(e) => panic!(
                    "could not run chromedriver ({}): {e}; {INSTALL_HINT}",
                    tools.chromedriver.display()
                ),
            }
        };
        let mut processes = Processes {
            name,
            port: 0,
            session: String::new(),
            driver,
            reaped: false,
            dir,
        };
        processes.port = processes
            .wait_for_driver_port(&driver_out, START_DEADLINE)
            .await?;
        Ok(processes)
    }

    /// The port chromedriver says it listens on; `Err` with its exit status
    /// and output if it exits first.
    async fn wait_for_driver_port(&mut self, out: &Path, timeout: Duration) -> Result<u16, String> {
        let start = Instant::now();
        loop {
            let text = fs::read_to_string(out).unwrap_or_default();
            if let Some(port) = text
                .lines()
                .find_map(|line| line.split("started successfully on port ").nth(1))
                .and_then(|rest| rest.trim().trim_end_matches('.').parse::<u16>().ok())
            {
                return Ok(port);
            }
            if let Ok(Some(status)) = self.driver.try_wait() {
                self.reaped = true;
                // Read again: it may have written its last words since.
                let text = fs::read_to_string(out).unwrap_or_default();
                return Err(format!("chromedriver exited with {status}:\n{text}"));
            }
            if start.elapsed() >= timeout {
                panic!("chromedriver did not say its port within {timeout:?}:\n{text}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn wait_for_driver_ready(&mut self, timeout: Duration) {
        let start = Instant::now();
        let port = self.port;
        loop {
            let answer = tokio::task::spawn_blocking(move || {
                driver_http(port, "GET", "/status", None, Duration::from_secs(2))
            })
            .await
            .expect("the /status request ran");
            let ready = match &answer {
                Ok((200, body)) => serde_json::from_str::<Json>(body)
                    .is_ok_and(|status| status["value"]["ready"] == json!(true)),
                _ => false,
            };
            if ready {
                return;
            }
            if let Ok(Some(status)) = self.driver.try_wait() {
                self.reaped = true;
                panic!(
                    "chromedriver exited with {status} before it was ready:\n{}",
                    self.driver_output()
                );
            }
            if start.elapsed() >= timeout {
                panic!(
                    "chromedriver on port {port} was not ready within {timeout:?} (last answer: \
                     {answer:?}):\n{}",
                    self.driver_output()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn connect(
        &self,
        tools: &Tools,
        options: &BrowserBuilder,
        profile: &Path,
        ui_lang: &str,
    ) -> fantoccini::Client {
        let (width, height) = options.window;
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--no-default-browser-check".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-breakpad".to_owned(),
            "--disable-domain-reliability".to_owned(),
            "--disable-client-side-phishing-detection".to_owned(),
            "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication"
                .to_owned(),
            "--password-store=basic".to_owned(),
            "--no-proxy-server".to_owned(),
            format!("--user-data-dir={}", profile.display()),
            format!("--window-size={width},{height}"),
            format!("--lang={ui_lang}"),
        ];
        let mut capabilities = fantoccini::wd::Capabilities::new();
        capabilities.insert("browserName".to_owned(), json!("chrome"));
        capabilities.insert("pageLoadStrategy".to_owned(), json!("normal"));
        capabilities.insert("goog:loggingPrefs".to_owned(), json!({"browser": "ALL"}));
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": tools.chromium,
                "args": args,
                "prefs": {"intl.accept_languages": options.lang},
            }),
        );
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        let url = format!("http://127.0.0.1:{}", self.port);
        match tokio::time::timeout(START_DEADLINE, builder.connect(&url)).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => panic!(
                "chromedriver could not start Chromium ({}): {e}\n{}",
                tools.chromium.display(),
                self.driver_output()
            ),
            Err(_) => panic!(
                "Chromium did not start within {START_DEADLINE:?}\n{}",
                self.driver_output()
            ),
        }
    }

    /// chromedriver's output and the end of its log, for failure messages.
    fn driver_output(&self) -> String {
        format!(
            "--- chromedriver output:\n{}\n--- chromedriver log (end):\n{}",
            tail(&self.dir.path().join("chromedriver.out"), 8 * 1024),
            tail(&self.dir.path().join("chromedriver.log"), 8 * 1024)
        )
    }
}

impl Browser {
    /// Panics with what failed and the browser's name.
    fn fail(&self, what: impl fmt::Display) -> ! {
        panic!("browser {}: {what}", self.processes.name)
    }

    /// Runs one WebDriver command with the deadline; panics on its error.
    async fn run<T>(
        &self,
        what: impl fmt::Display,
        command: impl Future<Output = Result<T, CmdError>>,
    ) -> T {
        match tokio::time::timeout(self.timeout, command).await {
            Ok(Ok(value)) => value,
            Ok(Err(e)) => self.fail(format_args!("{what}: {e}")),
            Err(_) => self.fail(format_args!("{what}: no answer within {:?}", self.timeout)),
        }
    }

    /// Polls `check` until it gives `Some`, or panics after the timeout
    /// with `what`, the URL and the start of the page's text.
    pub async fn poll<T, F, Fut>(&self, what: impl fmt::Display, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let start = Instant::now();
        loop {
            if let Ok(Some(value)) = tokio::time::timeout(self.timeout, check()).await {
                return value;
            }
            if start.elapsed() >= self.timeout {
                let url = self.try_current_url().await.unwrap_or_default();
                let text = self.try_text().await.unwrap_or_default();
                let text: String = text.chars().take(2000).collect();
                self.fail(format_args!(
                    "timed out after {:?} waiting for {what}\n  at {url}\n  page text:\n{text}",
                    self.timeout
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The fantoccini client, for anything the helpers don't cover.
    pub fn client(&self) -> &fantoccini::Client {
        &self.client
    }

    /// The browser's name (failure messages, `panic-<name>.*` files).
    pub fn name(&self) -> &str {
        &self.processes.name
    }

    /// The temporary directory holding the Chromium profile
    /// (`profile/`) and chromedriver's logs; removed on drop.
    pub fn dir(&self) -> &Path {
        self.processes.dir.path()
    }

    /// chromedriver's port on 127.0.0.1.
    pub fn driver_port(&self) -> u16 {
        self.processes.port
    }

    /// The base `goto` resolves paths against.
    pub fn set_base_url(&mut self, url: &str) {
        self.base_url = Some(url.trim_end_matches('/').to_owned());
    }

    fn resolve(&self, url: &str) -> String {
        match (&self.base_url, url.starts_with('/')) {
            (Some(base), true) => format!("{base}{url}"),
            _ => url.to_owned(),
        }
    }

    /// Navigates to `url` (absolute, or a path against the base URL) and
    /// waits for the page to load.
    pub async fn goto(&self, url: &str) {
        let url = self.resolve(url);
        self.run(format_args!("going to {url}"), self.client.goto(&url))
            .await;
    }

    /// Reloads the page.
    pub async fn refresh(&self) {
        self.run("reloading", self.client.refresh()).await;
    }

    /// Goes back in history.
    pub async fn back(&self) {
        self.run("going back", self.client.back()).await;
    }

    /// The current URL.
    pub async fn current_url(&self) -> String {
        self.run("reading the URL", self.client.current_url())
            .await
            .to_string()
    }

    async fn try_current_url(&self) -> Option<String> {
        tokio::time::timeout(Duration::from_secs(5), self.client.current_url())
            .await
            .ok()?
            .ok()
            .map(|url| url.to_string())
    }

    async fn try_text(&self) -> Option<String> {
        let text = tokio::time::timeout(
            Duration::from_secs(5),
            self.client.execute(
                "return document.body ? document.body.innerText : ''",
                vec![],
            ),
        )
        .await
        .ok()?
        .ok()?;
        text.as_str().map(str::to_owned)
    }

    /// The document's title.
    pub async fn title(&self) -> String {
        self.run("reading the title", self.client.title()).await
    }

    /// The page's HTML, as the browser has it now (after scripts).
    pub async fn page_source(&self) -> String {
        self.run("reading the page source", self.client.source())
            .await
    }

    /// The page's visible text (`document.body.innerText`).
    pub async fn text(&self) -> String {
        let text = self
            .execute(
                "return document.body ? document.body.innerText : ''",
                vec![],
            )
            .await;
        text.as_str().unwrap_or_default().to_owned()
    }

    /// The element matching a CSS selector; panics if there is none now
    /// (use [`Browser::wait_for`] for one that is coming).
    pub async fn find(&self, css: &str) -> Element {
        self.run(
            format_args!("finding {css:?}"),
            self.client.find(Locator::Css(css)),
        )
        .await
    }

    /// Every element matching a CSS selector (maybe none).
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.run(
            format_args!("finding all {css:?}"),
            self.client.find_all(Locator::Css(css)),
        )
        .await
    }

    /// The element matching a CSS selector, if there is one now.
    pub async fn try_find(&self, css: &str) -> Option<Element> {
        match tokio::time::timeout(self.timeout, self.client.find(Locator::Css(css))).await {
            Ok(Ok(element)) => Some(element),
            Ok(Err(e)) if e.is_no_such_element() => None,
            Ok(Err(e)) => self.fail(format_args!("finding {css:?}: {e}")),
            Err(_) => self.fail(format_args!(
                "finding {css:?}: no answer within {:?}",
                self.timeout
            )),
        }
    }

    /// The visible text of the element matching a CSS selector.
    pub async fn text_of(&self, css: &str) -> String {
        let element = self.find(css).await;
        self.run(format_args!("reading the text of {css:?}"), element.text())
            .await
    }

    /// The current value of the form field matching a CSS selector.
    pub async fn value_of(&self, css: &str) -> String {
        let element = self.find(css).await;
        self.run(
            format_args!("reading the value of {css:?}"),
            element.prop("value"),
        )
        .await
        .unwrap_or_default()
    }

    /// An attribute of the element matching a CSS selector.
    pub async fn attr_of(&self, css: &str, attribute: &str) -> Option<String> {
        let element = self.find(css).await;
        self.run(
            format_args!("reading {attribute:?} of {css:?}"),
            element.attr(attribute),
        )
        .await
    }

    /// Waits until an element matches the CSS selector, and returns it.
    pub async fn wait_for(&self, css: &str) -> Element {
        self.poll(format_args!("an element matching {css:?}"), || async {
            self.client.find(Locator::Css(css)).await.ok()
        })
        .await
    }

    /// Waits until no element matches the CSS selector.
    pub async fn wait_for_gone(&self, css: &str) {
        self.poll(format_args!("no element matching {css:?}"), || async {
            match self.client.find(Locator::Css(css)).await {
                Err(e) if e.is_no_such_element() => Some(()),
                _ => None,
            }
        })
        .await
    }

    /// Waits until the page's visible text contains `text`.
    pub async fn wait_for_text(&self, text: &str) {
        let wanted = json!(text);
        self.poll(format_args!("the text {text:?}"), || async {
            self.client
                .execute(
                    "return !!document.body && document.body.innerText.includes(arguments[0])",
                    vec![wanted.clone()],
                )
                .await
                .ok()
                .filter(|found| *found == json!(true))
                .map(drop)
        })
        .await
    }

    /// Waits until the current URL contains `part`, and returns the URL.
    pub async fn wait_for_url(&self, part: &str) -> String {
        self.poll(format_args!("a URL containing {part:?}"), || async {
            let url = self.client.current_url().await.ok()?.to_string();
            url.contains(part).then_some(url)
        })
        .await
    }

    /// Waits until the JavaScript `expression` is truthy (evaluated as
    /// `return (EXPRESSION)`); `what` says what for, in the failure.
    pub async fn wait_until(&self, what: &str, expression: &str) {
        let script = format!("return !!({expression})");
        self.poll(what, || async {
            self.client
                .execute(&script, vec![])
                .await
                .ok()
                .filter(|truthy| *truthy == json!(true))
                .map(drop)
        })
        .await
    }

    /// Runs JavaScript in the page (a function body: `return` gives the
    /// result; `arguments` holds `args`; elements may be passed with
    /// `serde_json::to_value(&element)`).
    pub async fn execute(&self, script: &str, args: Vec<Json>) -> Json {
        self.run("running a script", self.client.execute(script, args))
            .await
    }

    /// Runs asynchronous JavaScript: the script calls
    /// `arguments[arguments.length - 1](result)` when done.
    pub async fn execute_async(&self, script: &str, args: Vec<Json>) -> Json {
        self.run(
            "running an asynchronous script",
            self.client.execute_async(script, args),
        )
        .await
    }

    /// Clicks the element matching a CSS selector, waiting for it to
    /// appear and to be clickable (not covered, not disabled).
    pub async fn click(&self, css: &str) {
        let what = format!("clicking {css:?}");
        self.poll(&what, || async {
            let element = self.client.find(Locator::Css(css)).await.ok()?;
            self.try_click(&what, &element).await
        })
        .await;
    }

    /// Clicks the button or link whose text (or value, or aria-label) is
    /// `text`, after whitespace is collapsed; waits for it like `click`.
    pub async fn click_text(&self, text: &str) {
        let what = format!("clicking the button or link {text:?}");
        self.poll(&what, || async {
            let found = self
                .client
                .execute(FIND_CLICKABLE, vec![json!(text)])
                .await
                .ok()?;
            if found["count"].as_u64().is_some_and(|n| n > 1) {
                self.fail(format_args!(
                    "{what}: {} buttons or links say so",
                    found["count"]
                ));
            }
            let element = self.element_from(&found["element"])?;
            self.try_click(&what, &element).await
        })
        .await;
    }

    /// One click: `Some` when done, `None` when it should be tried again
    /// (the element is covered, not yet interactable, or was replaced).
    async fn try_click(&self, what: &str, element: &Element) -> Option<()> {
        match element.click().await {
            Ok(()) => Some(()),
            Err(CmdError::Standard(e))
                if matches!(
                    e.error,
                    ErrorStatus::ElementClickIntercepted
                        | ErrorStatus::ElementNotInteractable
                        | ErrorStatus::StaleElementReference
                        | ErrorStatus::NoSuchElement
                ) =>
            {
                None
            }
            Err(e) => self.fail(format_args!("{what}: {e}")),
        }
    }

    fn element_from(&self, reference: &Json) -> Option<Element> {
        let id = reference
            .as_object()?
            .get("element-6066-11e4-a52e-4f735466cecf")?
            .as_str()?;
        Some(Element::from_element_id(
            self.client.clone(),
            id.to_owned().into(),
        ))
    }

    /// The form field (input, select, textarea) labelled `field` (by its
    /// `<label>`, `aria-label` or `aria-labelledby`; exactly, after
    /// whitespace is collapsed, ignoring a trailing `*` or `:`), or else
    /// named `field` (its `name` or `id`), or else whose label starts with
    /// `field`. Waits for it; panics, listing the form's fields, if none or
    /// several match.
    pub async fn field(&self, field: &str) -> Element {
        let start = Instant::now();
        loop {
            let found = self
                .client
                .execute(FIND_FIELD, vec![json!(field)])
                .await
                .unwrap_or_default();
            if let Some(element) = self.element_from(&found["element"]) {
                return element;
            }
            let problem = found["error"].as_str().unwrap_or("none");
            if problem == "ambiguous" || start.elapsed() >= self.timeout {
                let candidates: Vec<String> = found["candidates"]
                    .as_array()
                    .map(|all| {
                        all.iter()
                            .filter_map(|c| c.as_str().map(|c| format!("  {c}")))
                            .collect()
                    })
                    .unwrap_or_default();
                let url = self.try_current_url().await.unwrap_or_default();
                self.fail(format_args!(
                    "{} form field labelled or named {field:?} at {url}; the fields:\n{}",
                    if problem == "ambiguous" {
                        "more than one"
                    } else {
                        "no"
                    },
                    candidates.join("\n")
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Fills the form field labelled or named `field` (see
    /// [`Browser::field`]) with `value`: types it into text fields (after
    /// clearing them), picks the option with that text (or else value) in
    /// a `<select>`, sets date, time, colour and range inputs directly
    /// (with `input` and `change` events). Returns the field.
    pub async fn fill(&self, field: &str, value: &str) -> Element {
        let element = self.field(field).await;
        let what = format!("filling {field:?}");
        let tag = self.run(&what, element.tag_name()).await.to_lowercase();
        let kind = self
            .run(&what, element.attr("type"))
            .await
            .unwrap_or_default()
            .to_lowercase();
        match (tag.as_str(), kind.as_str()) {
            ("select", _) => {
                if element.select_by_label(value).await.is_err() {
                    self.run(
                        format_args!("{what}: no option with the text or value {value:?}"),
                        element.select_by_value(value),
                    )
                    .await;
                }
            }
            ("input", "checkbox" | "radio") => self.fail(format_args!(
                "{what}: a {kind} is not filled; use check({field:?}, true|false)"
            )),
            (
                "input",
                "date" | "time" | "datetime-local" | "month" | "week" | "color" | "range",
            ) => {
                let element_json = serde_json::to_value(&element).expect("an element serializes");
                self.run(
                    &what,
                    self.client
                        .execute(SET_VALUE, vec![element_json, json!(value)]),
                )
                .await;
            }
            ("input", "file") => self.run(&what, element.send_keys(value)).await,
            _ => {
                self.run(&what, element.clear()).await;
                self.run(&what, element.send_keys(value)).await;
            }
        }
        element
    }

    /// Ticks (`on`) or unticks the checkbox, or selects the radio button,
    /// labelled or named `field`, by clicking it (or its label, when a
    /// styled label covers it); waits until it is in that state.
    pub async fn check(&self, field: &str, on: bool) -> Element {
        let element = self.field(field).await;
        let what = format!("{} {field:?}", if on { "checking" } else { "unchecking" });
        let element_json = serde_json::to_value(&element).expect("an element serializes");
        self.poll(&what, || async {
            if element.is_selected().await.ok()? == on {
                return Some(());
            }
            if self.try_click(&what, &element).await.is_none() {
                let label = self
                    .client
                    .execute(
                        "return {element: (arguments[0].labels || [])[0] || null}",
                        vec![element_json.clone()],
                    )
                    .await
                    .ok()?;
                let label = self.element_from(&label["element"])?;
                self.try_click(&what, &label).await?;
            }
            (element.is_selected().await.ok()? == on).then_some(())
        })
        .await;
        element
    }

    /// Saves a PNG screenshot of the viewport as
    /// `target/web-screenshots/<name>.png`, and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self
            .run(
                format_args!("taking the screenshot {name:?}"),
                self.client.screenshot(),
            )
            .await;
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n"),
            "the screenshot {name:?} is not a PNG"
        );
        let dir = screenshot_dir();
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        let path = dir.join(format!("{}.png", file_stem(name)));
        fs::write(&path, png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        path
    }

    /// The cookies the browser would send to the current page (HttpOnly
    /// ones too).
    pub async fn cookies(&self) -> Vec<Cookie<'static>> {
        self.run("reading the cookies", self.client.get_all_cookies())
            .await
    }

    /// The cookie named `name` for the current page, if any.
    pub async fn cookie(&self, name: &str) -> Option<Cookie<'static>> {
        self.cookies()
            .await
            .into_iter()
            .find(|cookie| cookie.name() == name)
    }

    /// Sets a cookie for the current page's site (navigate there first).
    /// Without a path, the path is `/`; without a SameSite, `Lax` (Chromium
    /// refuses `SameSite=None` without `Secure`, on plain HTTP).
    pub async fn set_cookie(&self, mut cookie: Cookie<'static>) {
        if cookie.path().is_none() {
            cookie.set_path("/");
        }
        if cookie.same_site().is_none() {
            cookie.set_same_site(SameSite::Lax);
        }
        // fantoccini sends a missing domain as `null`, which chromedriver
        // refuses; left out, the cookie is the page host's alone.
        let mut wire = json!({
            "name": cookie.name(),
            "value": cookie.value(),
            "path": cookie.path(),
            "secure": cookie.secure().unwrap_or(false),
            "httpOnly": cookie.http_only().unwrap_or(false),
            "sameSite": cookie.same_site().map(|s| s.to_string()),
        });
        if let Some(domain) = cookie.domain() {
            wire["domain"] = json!(domain);
        }
        if let Some(expiry) = cookie.expires().and_then(|e| e.datetime()) {
            wire["expiry"] = json!(expiry.unix_timestamp());
        }
        self.driver_command(
            &format!("setting the cookie {:?}", cookie.name()),
            "POST",
            "cookie",
            Some(json!({"cookie": wire})),
        )
        .await;
    }

    /// Gives the existing cookie `name` another value, keeping its path,
    /// flags and expiry (e.g. a forged or stale session token).
    pub async fn set_cookie_value(&self, name: &str, value: &str) {
        let mut cookie = self
            .cookie(name)
            .await
            .unwrap_or_else(|| self.fail(format_args!("no cookie {name:?} to change")));
        cookie.set_value(value.to_owned());
        // The browser reports the host as the domain; set back, it would
        // make a domain cookie (`.host`) beside the host's own.
        cookie.unset_domain();
        self.set_cookie(cookie).await;
    }

    /// Deletes the cookie `name` (as an expired session would be).
    pub async fn delete_cookie(&self, name: &str) {
        self.run(
            format_args!("deleting the cookie {name:?}"),
            self.client.delete_cookie(name),
        )
        .await;
    }

    /// Deletes every cookie of the current page's site.
    pub async fn delete_all_cookies(&self) {
        self.run("deleting the cookies", self.client.delete_all_cookies())
            .await;
    }

    /// The browser console's messages since the last call (each is read
    /// once): level (`SEVERE`, `WARNING`, `INFO`…) and text. Uncaught
    /// errors, failed loads and Content-Security-Policy violations are
    /// `SEVERE`.
    pub async fn console(&self) -> Vec<ConsoleMessage> {
        let value = self
            .driver_command(
                "reading the console",
                "POST",
                "se/log",
                Some(json!({"type": "browser"})),
            )
            .await;
        serde_json::from_value(value.clone())
            .unwrap_or_else(|e| self.fail(format_args!("reading the console: {e}: {value}")))
    }

    /// The console's errors (`SEVERE`) since the last read of the console.
    pub async fn console_errors(&self) -> Vec<ConsoleMessage> {
        let mut messages = self.console().await;
        messages.retain(|m| m.level == "SEVERE");
        messages
    }

    /// A WebDriver command sent to chromedriver directly (for what
    /// fantoccini lacks or gets wrong): `path` is relative to the session.
    /// Returns the answer's `value`; panics on an error.
    async fn driver_command(
        &self,
        what: &str,
        method: &str,
        path: &str,
        body: Option<Json>,
    ) -> Json {
        let port = self.processes.port;
        let (method, path) = (
            method.to_owned(),
            format!("/session/{}/{path}", self.processes.session),
        );
        let timeout = self.timeout;
        let answer = tokio::task::spawn_blocking(move || {
            driver_http(port, &method, &path, body.as_ref(), timeout)
        })
        .await
        .expect("the WebDriver request ran");
        let (status, body) = answer.unwrap_or_else(|e| self.fail(format_args!("{what}: {e}")));
        let answer: Json = serde_json::from_str(&body).unwrap_or_default();
        if status != 200 {
            self.fail(format_args!(
                "{what}: {} {}",
                answer["value"]["error"].as_str().unwrap_or("error"),
                answer["value"]["message"].as_str().unwrap_or(&body)
            ));
        }
        answer["value"].clone()
    }

    /// Runs axe-core on the current page (injected if the page has not got
    /// it yet) with its default rules, and returns what it found.
    pub async fn axe(&self) -> AxeReport {
        self.axe_with(json!({})).await
    }

    /// Runs axe-core with `options` (axe.run's: e.g.
    /// `{"runOnly": ["wcag2a", "wcag2aa"]}`).
    pub async fn axe_with(&self, options: Json) -> AxeReport {
        let present = self
            .execute("return typeof window.axe === 'object'", vec![])
            .await;
        if present != json!(true) {
            self.execute(axe_source(), vec![]).await;
        }
        let answer = self.execute_async(RUN_AXE, vec![options]).await;
        if let Some(error) = answer["error"].as_str() {
            self.fail(format_args!("axe.run failed: {error}"));
        }
        serde_json::from_value(answer["ok"].clone())
            .unwrap_or_else(|e| self.fail(format_args!("reading axe's results: {e}: {answer}")))
    }

    /// Runs axe-core and panics, listing them, if it finds any serious or
    /// critical violation on the page (`page_name` says which page, in the
    /// message; a screenshot `axe-<page_name>.png` is saved then).
    /// Returns the report otherwise (minor and moderate findings included).
    pub async fn assert_no_serious_violations(&self, page_name: &str) -> AxeReport {
        let report = self.axe().await;
        if !report.serious().is_empty() {
            let shot = self.screenshot(&format!("axe-{page_name}")).await;
            eprintln!("screenshot of {page_name:?}: {}", shot.display());
        }
        report.assert_no_serious_violations(page_name);
        report
    }

    /// Ends the WebDriver session cleanly, then stops the processes (as
    /// drop would).
    pub async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(10), self.client.clone().close()).await;
    }
}

impl Processes {
    /// On a panic: a screenshot, the page and chromedriver's log into the
    /// screenshot directory, as `panic-<name>.*`.
    fn save_failure_artifacts(&self) {
        if self.session.is_empty() {
            return;
        }
        let dir = screenshot_dir();
        if fs::create_dir_all(&dir).is_err() {
            return;
        }
        let stem = format!("panic-{}", file_stem(&self.name));
        let timeout = Duration::from_secs(5);
        let get = |what: &str| {
            driver_http(
                self.port,
                "GET",
                &format!("/session/{}/{what}", self.session),
                None,
                timeout,
            )
            .inspect_err(|e| eprintln!("browser {}: {what}: {e}", self.name))
            .ok()
            .filter(|(status, _)| *status == 200)
            .and_then(|(_, body)| serde_json::from_str::<Json>(&body).ok())
            .and_then(|answer| answer["value"].as_str().map(str::to_owned))
        };
        let mut saved = Vec::new();
        if let Some(png) = get("screenshot")
            .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        {
            let path = dir.join(format!("{stem}.png"));
            if fs::write(&path, png).is_ok() {
                saved.push(path);
            }
        }
        if let Some(html) = get("source") {
            let url = get("url").unwrap_or_default();
            let path = dir.join(format!("{stem}.html"));
            let url = url.replace("--", "%2D%2D");
            if fs::write(&path, format!("<!-- {url} -->\n{html}")).is_ok() {
                saved.push(path);
            }
        }
        let log = tail(&self.dir.path().join("chromedriver.log"), 256 * 1024);
        let path = dir.join(format!("{stem}.chromedriver.log"));
        if fs::write(&path, log).is_ok() {
            saved.push(path);
        }
        for path in saved {
            eprintln!("browser {}: saved {}", self.name, path.display());
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Before the client's own drop ends the session.
        if std::thread::panicking() {
            self.processes.save_failure_artifacts();
        }
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        // chromedriver's process group holds Chromium's processes too.
        if !self.reaped
            && let Ok(pgid) = i32::try_from(self.driver.id())
        {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pgid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.driver.wait();
        // Anything that left the group (the crash handler starts a session
        // of its own) names the temporary directory on its command line.
        let needle = self.dir.path().to_string_lossy().into_owned();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = processes_mentioning(&needle);
            if left.is_empty() || Instant::now() >= deadline {
                break;
            }
            for pid in left {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Live processes (not zombies) whose command line mentions `path`: after
/// a [`Browser`] is dropped, none should mention its [`Browser::dir`].
pub fn processes_using(path: &Path) -> Vec<i32> {
    processes_mentioning(&path.to_string_lossy())
        .into_iter()
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                // pid (comm) STATE …; comm may hold spaces and parentheses.
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().next())
                    .is_some_and(|state| state != "Z" && state != "X")
            })
        })
        .collect()
}

/// One message of the browser's console ([`Browser::console`]).
#[derive(Debug, Clone, Deserialize)]
pub struct ConsoleMessage {
    pub level: String,
    pub message: String,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub timestamp: Option<i64>,
}

/// How bad an axe finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Impact {
    Minor,
    Moderate,
    Serious,
    Critical,
}

impl fmt::Display for Impact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Minor => "minor",
            Self::Moderate => "moderate",
            Self::Serious => "serious",
            Self::Critical => "critical",
        })
    }
}

/// What axe-core found on a page ([`Browser::axe`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AxeReport {
    /// The page axe ran on.
    pub url: String,
    /// axe-core's version.
    pub axe_version: String,
    /// Rules the page breaks.
    pub violations: Vec<AxeViolation>,
    /// Rules axe could not decide (to review by hand: e.g. the contrast of
    /// text over an image).
    pub incomplete: Vec<AxeViolation>,
}

/// One rule, and the elements where it failed.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AxeViolation {
    /// The rule (`label`, `color-contrast`…).
    pub id: String,
    pub impact: Option<Impact>,
    /// What the rule asks, in a sentence.
    pub help: String,
    pub help_url: String,
    pub description: String,
    pub tags: Vec<String>,
    pub nodes: Vec<AxeNode>,
}

/// An element a rule failed on.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AxeNode {
    /// CSS selectors leading to the element (one per frame or shadow
    /// root on the way).
    pub target: Vec<String>,
    pub html: String,
    pub impact: Option<Impact>,
    /// What to fix.
    pub failure_summary: Option<String>,
}

impl AxeViolation {
    /// Serious or critical.
    pub fn is_serious(&self) -> bool {
        self.impact >= Some(Impact::Serious)
    }
}

impl AxeReport {
    /// The serious and critical violations.
    pub fn serious(&self) -> Vec<&AxeViolation> {
        self.violations.iter().filter(|v| v.is_serious()).collect()
    }

    /// The violation of rule `id` (`label`, `color-contrast`…), if any.
    pub fn violation(&self, id: &str) -> Option<&AxeViolation> {
        self.violations.iter().find(|v| v.id == id)
    }

    /// The ids of the rules violated.
    pub fn violation_ids(&self) -> Vec<&str> {
        self.violations.iter().map(|v| v.id.as_str()).collect()
    }

    /// Panics, listing them all, if there is any serious or critical
    /// violation.
    #[track_caller]
    pub fn assert_no_serious_violations(&self, page_name: &str) {
        let serious = self.serious();
        if serious.is_empty() {
            return;
        }
        let mut message = format!(
            "axe-core {} found {} serious or critical accessibility violation(s) on {page_name} \
             ({}):\n",
            self.axe_version,
            serious.len(),
            self.url
        );
        for violation in serious {
            message.push_str(&violation.to_string());
        }
        panic!("{message}");
    }
}

impl fmt::Display for AxeViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let impact = self
            .impact
            .map_or_else(|| "unknown".to_owned(), |i| i.to_string());
        writeln!(
            f,
            "- [{impact}] {}: {} ({})",
            self.id, self.help, self.help_url
        )?;
        for node in &self.nodes {
            writeln!(f, "    at {}: {}", node.target.join(" >> "), node.html)?;
            if let Some(summary) = &node.failure_summary {
                for line in summary.lines() {
                    writeln!(f, "      {line}")?;
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for AxeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "axe-core {} on {}: {} violation(s), {} to review",
            self.axe_version,
            self.url,
            self.violations.len(),
            self.incomplete.len()
        )?;
        for violation in &self.violations {
            write!(f, "{violation}")?;
        }
        Ok(())
    }
}

/// `axe.run`, its results reduced to what [`AxeReport`] holds.
const RUN_AXE: &str = r#"
const done = arguments[arguments.length - 1];
const options = arguments[0] || {};
const target = t => typeof t === 'string' ? t : JSON.stringify(t);
const rules = list => list.map(r => ({
  id: r.id, impact: r.impact || null, help: r.help, helpUrl: r.helpUrl,
  description: r.description, tags: r.tags,
  nodes: r.nodes.map(n => ({
    target: n.target.map(target), html: n.html, impact: n.impact || null,
    failureSummary: n.failureSummary || null,
  })),
}));
window.axe.run(document, options).then(
  r => done({ok: {url: r.url, axeVersion: r.testEngine.version,
                  violations: rules(r.violations), incomplete: rules(r.incomplete)}}),
  e => done({error: String(e && e.stack || e)}));
"#;

/// Finds the one form field labelled or named `arguments[0]`.
const FIND_FIELD: &str = r#"
const wanted = arguments[0];
const norm = s => (s || '').replace(/\s+/g, ' ').trim();
const bare = s => norm(s).replace(/\s*[*:]+$/, '').trim();
const ownText = label => {
  const copy = label.cloneNode(true);
  copy.querySelectorAll('input, select, textarea, button').forEach(n => n.remove());
  return copy.textContent;
};
const labels = el => {
  const out = [];
  for (const label of (el.labels || [])) out.push(norm(ownText(label)));
  const aria = el.getAttribute('aria-label');
  if (aria) out.push(norm(aria));
  const by = el.getAttribute('aria-labelledby');
  if (by) out.push(norm(by.split(/\s+/).map(id => {
    const n = document.getElementById(id);
    return n ? n.textContent : '';
  }).join(' ')));
  return out;
};
const fields = [...document.querySelectorAll('input:not([type=hidden]), select, textarea')];
const w = norm(wanted);
const visible = list => {
  const shown = list.filter(el => el.getClientRects().length > 0);
  return shown.length === 1 ? shown : list;
};
let hits = fields.filter(el => labels(el).some(n => n === w || bare(n) === bare(w)));
if (hits.length === 0) hits = fields.filter(el => el.getAttribute('name') === wanted || el.id === wanted);
if (hits.length === 0) hits = fields.filter(el => labels(el).some(n => n.toLowerCase().startsWith(w.toLowerCase())));
hits = visible(hits);
if (hits.length === 1) return {element: hits[0]};
const describe = el => `<${el.tagName.toLowerCase()}${el.type ? ' type=' + el.type : ''}` +
  `${el.name ? ' name=' + el.name : ''}${el.id ? ' id=' + el.id : ''}> labels: ${JSON.stringify(labels(el))}`;
return {error: hits.length ? 'ambiguous' : 'none', candidates: (hits.length ? hits : fields).map(describe)};
"#;

/// Finds the one button or link whose text is `arguments[0]`.
const FIND_CLICKABLE: &str = r#"
const norm = s => (s || '').replace(/\s+/g, ' ').trim();
const wanted = norm(arguments[0]);
const all = [...document.querySelectorAll(
  'button, a[href], input[type=submit], input[type=button], input[type=reset], [role=button], [role=link], summary')];
const name = el => [norm(el.innerText), norm(el.value), norm(el.getAttribute('aria-label'))];
let hits = all.filter(el => name(el).includes(wanted));
const shown = hits.filter(el => el.getClientRects().length > 0);
if (shown.length > 0) hits = shown;
return hits.length === 1 ? {element: hits[0]} : {count: hits.length};
"#;

/// Sets an input's value as the browser's own widgets would.
const SET_VALUE: &str = r#"
const [el, value] = arguments;
const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
setter.call(el, value);
el.dispatchEvent(new Event('input', {bubbles: true}));
el.dispatchEvent(new Event('change', {bubbles: true}));
"#;
