//! Real Apache Kafka brokers for the tests, through
//! `testsupport/kafka/broker` (resolved from Maven Central at test time;
//! see testsupport/kafka/README.md): single brokers and KRaft clusters
//! started on 127.0.0.1 by the test, stopped from a Drop guard (`broker
//! stop --dir D --clean`, `broker cluster stop ...`) also when an assertion
//! fails. Without java/mvn a test fails with the command to run.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// One broker at a time per test binary (the machine has two cores).
static BROKERS: Mutex<()> = Mutex::new(());

pub fn lock() -> MutexGuard<'static, ()> {
    BROKERS.lock().unwrap_or_else(|e| e.into_inner())
}

/// A file of testsupport/kafka (`$KWIRE_TESTSUPPORT_KAFKA` points at
/// another copy of that directory).
pub fn testsupport(name: &str) -> PathBuf {
    std::env::var_os("KWIRE_TESTSUPPORT_KAFKA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testsupport/kafka"))
        .join(name)
}

/// `java` and `mvn` are there, else the test fails with what to install.
pub fn require_java_and_maven() {
    for (tool, arg) in [("java", "-version"), ("mvn", "-v")] {
        let ok = Command::new(tool)
            .arg(arg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "`{tool}` is missing: install a JDK (17+) and Maven 3.8, then run \
             `testsupport/kafka/broker resolve --release all` (see testsupport/kafka/README.md)"
        );
    }
}

/// java and mvn present, Kafka's Java clients built (`clients-run --build`,
/// file-locked by the script), else the test fails with what to run.
pub fn build_java_clients() {
    require_java_and_maven();
    let t = Instant::now();
    let status = Command::new(testsupport("clients-run"))
        .arg("--build")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .expect("run testsupport/kafka/clients-run");
    assert!(
        status.success(),
        "`testsupport/kafka/clients-run --build` failed ({status}); Maven's output is above"
    );
    eprintln!("Java clients built in {:.1?}", t.elapsed());
}

/// How to start one broker.
#[derive(Debug, Clone, Default)]
pub struct Start<'a> {
    pub release: &'a str,
    /// `--transaction-version N` (4.x).
    pub transaction_version: Option<u8>,
    /// `--port P` (default: a free one).
    pub port: Option<u16>,
    /// `--config KEY=VALUE` each (server.properties lines).
    pub config: &'a [&'a str],
}

/// A running broker; dropping it stops it.
pub struct KafkaBroker {
    pub release: String,
    pub dir: String,
    pub bootstrap: String,
    pub cluster_id: String,
}

impl KafkaBroker {
    pub fn start(release: &str, transaction_version: Option<u8>) -> KafkaBroker {
        Self::start_with(Start {
            release,
            transaction_version,
            ..Default::default()
        })
    }

    pub fn start_with(s: Start<'_>) -> KafkaBroker {
        require_java_and_maven();
        let t = Instant::now();
        let mut cmd = Command::new(testsupport("broker"));
        cmd.args(["start", "--release", s.release, "--env"]);
        if let Some(tv) = s.transaction_version {
            cmd.args(["--transaction-version", &tv.to_string()]);
        }
        if let Some(p) = s.port {
            cmd.args(["--port", &p.to_string()]);
        }
        for c in s.config {
            cmd.args(["--config", c]);
        }
        // The launcher prints the broker log's tail on stderr when the broker does not come up.
        let out = cmd
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("cannot run testsupport/kafka/broker: {e}"));
        assert!(
            out.status.success(),
            "`testsupport/kafka/broker start --release {}` failed ({}; its log tail is above); \
             it needs a JDK, mvn and Maven Central or a warm cache \
             (`testsupport/kafka/broker resolve --release all`)",
            s.release,
            out.status
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let field = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("KAFKA_{k}=")))
                .unwrap_or_else(|| panic!("broker start printed no KAFKA_{k}: {text}"))
                .to_string()
        };
        let b = KafkaBroker {
            release: s.release.to_string(),
            dir: field("DIR"),
            bootstrap: field("BOOTSTRAP"),
            cluster_id: field("CLUSTER_ID"),
        };
        eprintln!(
            "{} (tv {:?}, config {:?}): broker up at {} in {:.1?}",
            s.release,
            s.transaction_version,
            s.config,
            b.bootstrap,
            t.elapsed()
        );
        b
    }
}

impl Drop for KafkaBroker {
    fn drop(&mut self) {
        let status = Command::new(testsupport("broker"))
            .args(["stop", "--dir", &self.dir, "--clean"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!(
                "{}: `broker stop --dir {}` failed: {status:?}",
                self.release, self.dir
            );
        }
    }
}

/// A current-thread runtime for a test that holds the broker lock.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A KRaft cluster of `testsupport/kafka/broker cluster start` (several
/// nodes, `node-stop`/`node-start`, features); dropping it stops it.
pub struct KafkaNodes {
    pub dir: String,
    /// `HOST:PORT,HOST:PORT,...`
    pub bootstrap: String,
    pub cluster_id: String,
}

/// `testsupport/kafka/broker cluster ARGS --env`; its stdout.
pub fn cluster_cmd(args: &[&str]) -> String {
    let out = Command::new(testsupport("broker"))
        .arg("cluster")
        .args(args)
        .arg("--env")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run testsupport/kafka/broker: {e}"));
    assert!(
        out.status.success(),
        "`testsupport/kafka/broker cluster {}` failed ({}; its output is above)",
        args.join(" "),
        out.status
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// [`cluster_cmd`] off the runtime, so connections keep being read (a
/// broker that stops is seen closing, as it would be by a running client).
pub async fn cluster_cmd_async(args: &[&str]) -> String {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cluster_cmd(&args)
    })
    .await
    .expect("cluster command")
}

impl KafkaNodes {
    /// `nodes` nodes of `release`; `transaction_version` finalizes that
    /// level (4.x), else the release's default.
    pub fn start(release: &str, nodes: u8, transaction_version: Option<u8>) -> KafkaNodes {
        let tv = transaction_version.map(|v| v.to_string());
        let mut extra = Vec::new();
        if let Some(tv) = &tv {
            extra.extend(["--transaction-version", tv.as_str()]);
        }
        Self::start_args(release, nodes, &extra)
    }

    /// `nodes` nodes of `release` with more `cluster start` arguments
    /// (`--config K=V`, `--transaction-version N`, ...).
    pub fn start_args(release: &str, nodes: u8, extra: &[&str]) -> KafkaNodes {
        require_java_and_maven();
        let help = Command::new(testsupport("broker"))
            .args(["cluster", "start", "--help"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            help,
            "this test needs `testsupport/kafka/broker cluster start` (KRaft clusters, \
             node-stop/node-start, features), and `broker cluster start --help` failed: run it \
             by hand to see why (python3, the launcher's own checks); `KWIRE_TESTSUPPORT_KAFKA=DIR` \
             points at another testsupport/kafka."
        );
        let t = Instant::now();
        let n = nodes.to_string();
        let mut args = vec!["start", "--release", release, "--nodes", &n];
        args.extend_from_slice(extra);
        let text = cluster_cmd(&args);
        let field = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("KAFKA_{k}=")))
                .unwrap_or_else(|| panic!("no KAFKA_{k} in: {text}"))
                .to_string()
        };
        let c = KafkaNodes {
            dir: field("DIR"),
            bootstrap: field("BOOTSTRAP"),
            cluster_id: field("CLUSTER_ID"),
        };
        eprintln!(
            "{release}: {nodes} nodes up at {} in {:.1?}",
            c.bootstrap,
            t.elapsed()
        );
        c
    }

    /// The bootstrap addresses, one per node.
    pub fn addrs(&self) -> Vec<String> {
        self.bootstrap.split(',').map(str::to_string).collect()
    }
}

impl Drop for KafkaNodes {
    fn drop(&mut self) {
        let status = Command::new(testsupport("broker"))
            .args(["cluster", "stop", "--dir", &self.dir, "--clean"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!(
                "`broker cluster stop --dir {}` failed: {status:?}",
                self.dir
            );
        }
    }
}
