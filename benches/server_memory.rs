//! Server memory benchmark. The design target: "<= 150 MB resident serving 100k SKUs and
//! the courses".
//!
//!     cargo bench --bench server_memory        (~30 s after compiling)
//!
//! It builds nothing itself: it starts the real server binary (`kaibo serve`, which
//! `cargo bench` builds in release mode) on a free port with an empty data folder and
//! `KAIBO_DEMO_CATALOG_SKUS=100000`, so the first start migrates the database, seeds the
//! demo accounts, generates the 100,000-SKU demo catalog into SQLite and builds the
//! matching index, and loads the bundled courses. Once `GET /healthz` answers, a few
//! pages are requested to warm up, then VmRSS and VmHWM (the peak) are read from
//! `/proc/<pid>/status`. The server is then stopped and started a second time on the
//! same data folder, which now only loads the catalog, as any restart does. Printed on
//! stdout:
//!
//!     server RSS with 100,000 SKUs loaded: N MB (ratio N/150 of the 150 MB target)
//!
//! MB here means MiB (2^20 bytes); `/proc` counts in KiB.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SKUS: u64 = 100_000;
const TARGET_MB: f64 = 150.0;
const WARM_UP_PATHS: &[&str] = &["/", "/login", "/courses", "/healthz"];
const WARM_UP_ROUNDS: usize = 5;
const START_TIMEOUT: Duration = Duration::from_secs(600);

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// A plain HTTP/1.1 GET; returns the status and the size of the body.
fn get(port: u16, path: &str) -> std::io::Result<(u16, usize)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/html\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .find("\r\n\r\n")
        .map_or(0, |at| response.len() - at - 4);
    Ok((status, body))
}

/// VmRSS, VmHWM, RssAnon and RssFile of `pid`, in KiB.
fn memory_kib(pid: u32) -> [u64; 4] {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in /proc/{pid}/status"))
    };
    [
        field("VmRSS:"),
        field("VmHWM:"),
        field("RssAnon:"),
        field("RssFile:"),
    ]
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

struct Server {
    child: Child,
    log: PathBuf,
}

impl Server {
    fn start(dir: &Path, data: &Path, port: u16, run: usize) -> Self {
        let log = dir.join(format!("server-{run}.log"));
        let out = std::fs::File::create(&log).expect("server log");
        let courses = Path::new(env!("CARGO_MANIFEST_DIR")).join("courses");
        let child = Command::new(env!("CARGO_BIN_EXE_kaibo"))
            .arg("serve")
            .arg("--data")
            .arg(data)
            .arg("--courses")
            .arg(&courses)
            .current_dir(dir)
            .env("KAIBO_BIND", format!("127.0.0.1:{port}"))
            .env("KAIBO_DEMO_CATALOG_SKUS", SKUS.to_string())
            .env_remove("KAIBO_CONFIG")
            .env_remove("KAIBO_DATABASE_URL")
            .env_remove("DATABASE_URL")
            .env_remove("KAIBO_WORKERS")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .expect("start the kaibo binary");
        Self { child, log }
    }

    /// Waits until `/healthz` answers 200; panics with the server's log otherwise.
    fn wait_healthy(&mut self, port: u16, started: Instant) -> Duration {
        loop {
            if let Ok((200, _)) = get(port, "/healthz") {
                return started.elapsed();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the server exited ({status}) before it was healthy:\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            if started.elapsed() > START_TIMEOUT {
                panic!(
                    "the server was not healthy after {START_TIMEOUT:?}:\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One start of the server: time to healthy, warm-up, memory. Returns VmRSS in MiB.
fn measure(dir: &Path, data: &Path, run: usize, what: &str) -> f64 {
    let port = free_port();
    let started = Instant::now();
    let mut server = Server::start(dir, data, port, run);
    let healthy = server.wait_healthy(port, started);
    let pid = server.child.id();
    let after_start = memory_kib(pid);
    let mut pages = Vec::new();
    for round in 0..WARM_UP_ROUNDS {
        for path in WARM_UP_PATHS {
            let (status, bytes) = get(port, path).expect("warm-up request");
            assert!(status < 500, "GET {path}: {status}");
            if round == 0 {
                pages.push(format!("{path} {status} ({bytes} B)"));
            }
        }
    }
    std::thread::sleep(Duration::from_millis(200));
    let [rss, hwm, anon, file] = memory_kib(pid);
    eprintln!(
        "{what}: healthy {:.2} s after the process was started; warm-up {WARM_UP_ROUNDS} x [{}]",
        healthy.as_secs_f64(),
        pages.join(", ")
    );
    eprintln!(
        "  VmRSS {:.1} MiB (anonymous {:.1}, file-backed {:.1}); peak VmHWM {:.1} MiB; VmRSS right at healthy {:.1} MiB",
        mib(rss),
        mib(anon),
        mib(file),
        mib(hwm),
        mib(after_start[0])
    );
    if run == 1 {
        println!(
            "first start (migrate, seed the {SKUS}-SKU demo catalog into SQLite, build the index, load the courses) until /healthz answered: {:.1} s",
            healthy.as_secs_f64()
        );
    } else {
        println!(
            "restart on the seeded database (load the catalog, build the index) until /healthz answered: {:.1} s",
            healthy.as_secs_f64()
        );
    }
    println!(
        "server RSS with 100,000 SKUs loaded ({what}): {:.1} MB (ratio {:.1}/{TARGET_MB:.0} = {:.2} of the 150 MB target); peak (VmHWM) {:.1} MB",
        mib(rss),
        mib(rss),
        mib(rss) / TARGET_MB,
        mib(hwm)
    );
    drop(server);
    mib(rss)
}

fn main() {
    // `cargo bench` passes `--bench`; this bench has nothing to filter.
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let first = measure(dir.path(), &data, 1, "first start");
    let second = measure(dir.path(), &data, 2, "restart");
    let worst = first.max(second);
    println!(
        "server RSS with 100,000 SKUs loaded: {worst:.1} MB (ratio {worst:.1}/{TARGET_MB:.0} = {:.2} of the 150 MB target) [the larger of the first start and a restart; MB = MiB]",
        worst / TARGET_MB
    );
}
