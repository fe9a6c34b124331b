"""JVMs for Kafka: options, spawning, stopping by pid, waiting with deadlines, log tails."""

import os
import signal
import socket
import subprocess
import time

HOST = "127.0.0.1"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Main classes this launcher starts; signal_pid refuses to signal anything else.
OUR_MAIN_CLASSES = (b"kafka.Kafka", b"org.apache.zookeeper.server.ZooKeeperServerMain")


def java_cmd(java=None):
    if java:
        return java
    jh = os.environ.get("KWIRE_KAFKA_JAVA_HOME")
    if jh:
        return os.path.join(jh, "bin", "java")
    return "java"


def jvm_opts(heap, log_level="info", extra=()):
    """Small JVMs for a 2-core machine shared with builds: serial GC, C1 only, no perf data file.

    C1 only (TieredStopAtLevel=1) starts a broker ~20-30% sooner and keeps compiler threads off the
    cores; it also caps throughput, which is why ./perf numbers are for comparing runs on this set-up,
    not for absolute claims. `extra` (--jvm-opt) comes last, so it overrides any of these."""
    return ["-Xmx%s" % heap, "-Xms64m", "-Xss1m",
            "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
            "-XX:ReservedCodeCacheSize=64m", "-XX:CICompilerCount=1",
            "-Djava.awt.headless=true",
            "-Dzookeeper.jmx.log4j.disable=true",  # ZooKeeper 3.4 wants log4j.jmx, absent from reload4j
            # ZooKeeper 3.4 clients cannot build a SASL principal on JDK 14+ ("Unable to canonicalize
            # address 127.0.0.1/<unresolved>", ZOOKEEPER-3779); the ZooKeeper link never uses SASL here.
            "-Dzookeeper.sasl.client=false",
            "-Dorg.slf4j.simpleLogger.showDateTime=true",
            "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSS",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=" + log_level,
            "-Dlog4j.configuration=file:" + os.path.join(HERE, "log4j.properties"),
            "-Dlog4j2.configurationFile=" + os.path.join(HERE, "log4j2.properties")] + list(extra)


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def free_ports(n):
    """n distinct free ports (held open together so they differ)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def port_open(port, host=HOST):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def tail(path, n=60):
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-n:])
    except OSError as e:
        return "(no log: %s)" % e


def error_lines(path, n=15, since=0):
    """The first ERROR/FATAL/exception lines of a log from byte `since` on: usually the cause, where
    the tail has the fallout."""
    out = []
    try:
        with open(path, "rb") as f:
            f.seek(since)
            for raw in f:
                line = raw.decode("utf-8", "replace").rstrip()
                if " ERROR " in line or " FATAL " in line or "Exception:" in line or line.startswith("Caused by"):
                    out.append(line[:400])
                    if len(out) >= n:
                        break
    except OSError:
        pass
    return "\n".join(out)


def log_report(path, what="log", lines=60, since=0):
    return ("---- %s %s (tail) ----\n%s\n---- %s (first errors%s) ----\n%s\n"
            % (what, path, tail(path, lines), path, " since byte %d" % since if since else "",
               error_lines(path, since=since)))


def spawn(cmd, logpath, cwd):
    """Start a process in its own session, stdout+stderr appended to logpath."""
    with open(logpath, "ab") as logf:
        logf.write(("# %s\n" % " ".join(cmd)).encode())
        logf.flush()
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                cwd=cwd, start_new_session=True)


def run_logged(cmd, logpath, cwd, timeout):
    """Run a short-lived JVM (a tool) with its output appended to logpath. Returns the exit status,
    or None when it did not finish within timeout (it is killed then)."""
    with open(logpath, "ab") as lf:
        lf.write(("# %s\n" % " ".join(cmd)).encode())
        lf.flush()
        try:
            return subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=lf, stderr=subprocess.STDOUT,
                                  cwd=cwd, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            return None


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (our own child that exited) counts as dead
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def is_our_java(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return False
    return b"java" in argv[0] and any(a in OUR_MAIN_CLASSES for a in argv)


def cpu_seconds(pid):
    """user+system CPU time a process has used so far (a load-independent cost, unlike wall time)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 2)
    except (OSError, IndexError, ValueError):
        return None


def rss_mib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024.0, 1)
    except OSError:
        pass
    return None


def signal_pid(pid, kill=False):
    """SIGTERM (or SIGKILL) a JVM this launcher started; refuses any other process."""
    if not pid_alive(pid):
        return False
    if not is_our_java(pid):
        raise SystemExit("broker: pid %d is not a Kafka/ZooKeeper JVM; refusing to signal it" % pid)
    os.kill(pid, signal.SIGKILL if kill else signal.SIGTERM)
    return True


def wait_dead(pid, deadline):
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    return not pid_alive(pid)


def stop_pids(pids, grace=20.0, kill=False):
    """Stop several JVMs at once: SIGTERM all (or SIGKILL with kill=True), then SIGKILL whatever is still
    alive after `grace` seconds. Returns {pid: 'not running' | 'stopped' | 'killed'} and the seconds taken."""
    t0 = time.monotonic()
    out = {}
    live = []
    for pid in pids:
        if signal_pid(pid, kill):
            live.append(pid)
        else:
            out[pid] = "not running"
    deadline = time.monotonic() + grace
    for pid in live:
        if wait_dead(pid, deadline):
            out[pid] = "killed" if kill else "stopped"
    for pid in live:
        if pid not in out:
            os.kill(pid, signal.SIGKILL)
            wait_dead(pid, time.monotonic() + 5)
            out[pid] = "killed"
    return out, time.monotonic() - t0


def stop_pid(pid, grace=20.0):
    return stop_pids([pid], grace)[0][pid]
