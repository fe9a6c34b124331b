"""Kafka's own command-line tools from the kafka-tools jar, run as one JVM each with a deadline.

  FeatureCommand (KIP-584/KIP-1022)   describe / upgrade / downgrade finalized features
  ProducerPerformance                 kafka-producer-perf-test
  ConsumerPerformance                 kafka-consumer-perf-test
  TopicCommand                        topic creation for the perf runs
"""

import os
import re
import subprocess
import time

from . import maven, procs, releases

# A tool's JVM: small like the brokers' (these are clients; -Xmx512m leaves the perf producer room
# for its buffer.memory of 32 MB plus batches in flight).
TOOL_HEAP = "512m"


def tool_cmd(release, main, args, java=None, jit="c1"):
    lib, _secs, _fresh = maven.resolve(release, "tools")
    opts = ["-Xmx" + TOOL_HEAP, "-XX:+UseSerialGC", "-XX:-UsePerfData",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-Dorg.slf4j.simpleLogger.logFile=System.err",
            "-Dlog4j2.configurationFile=" + os.path.join(procs.HERE, "log4j2.properties")]
    if jit == "c1":
        opts += ["-XX:TieredStopAtLevel=1"]
    return [procs.java_cmd(java)] + opts + ["-cp", os.path.join(lib, "*"), main] + list(args)


def run(release, main, args, timeout, java=None, jit="c1"):
    """{exit_code (None on timeout), output (stdout), errors (stderr), seconds, command}."""
    cmd = tool_cmd(release, main, args, java, jit)
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout)
        rc, out, err = r.returncode, r.stdout, r.stderr
    except subprocess.TimeoutExpired as e:
        rc = None
        out = (e.stdout or b"").decode("utf-8", "replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = (e.stderr or b"").decode("utf-8", "replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        err += "\n(killed after %.0f s)" % timeout
    return {"exit_code": rc, "output": out, "errors": err, "seconds": round(time.monotonic() - t0, 2),
            "command": " ".join(cmd)}


# ---- features ---------------------------------------------------------------------------------

FEATURE_COMMAND = "org.apache.kafka.tools.FeatureCommand"


def metadata_level(name, release, bootstrap, timeout):
    """metadata.version name (e.g. 4.4-IV2) -> feature level, from the tool's own version-mapping.
    (4.0's FeatureCommand insists on --bootstrap-server even for this offline lookup.)"""
    r = run(release, FEATURE_COMMAND, ["--bootstrap-server", bootstrap, "version-mapping", "--release-version", name],
            timeout)
    m = re.search(r"metadata\.version=(\d+)", r["output"])
    if r["exit_code"] != 0 or not m:
        raise SystemExit("broker: FeatureCommand %s does not know metadata.version %s:\n%s%s"
                         % (release, name, r["output"], r["errors"]))
    return int(m.group(1))


def parse_feature_levels(specs, release, bootstrap, timeout):
    """['metadata.version=4.4-IV2', 'transaction.version=2'] -> {name: level}."""
    out = {}
    for spec in specs:
        if "=" not in spec:
            raise SystemExit("broker: a feature is NAME=LEVEL, got %r" % spec)
        name, level = spec.split("=", 1)
        if level.isdigit():
            out[name] = int(level)
        elif name == "metadata.version":
            out[name] = metadata_level(level, release, bootstrap, timeout)
        else:
            raise SystemExit("broker: feature %s wants a numeric level, got %r" % (name, level))
    return out


def feature_command(release, bootstrap, op, wanted, dry_run, timeout, command_config=None):
    args = ["--bootstrap-server", bootstrap]
    if command_config:
        args += ["--command-config", command_config]
    args.append(op)
    for k, v in sorted(wanted.items()):
        args += ["--feature", "%s=%d" % (k, v)]
    if dry_run:
        args.append("--dry-run")
    r = run(release, FEATURE_COMMAND, args, timeout)
    r["output"] = (r["output"] + r["errors"]).strip()
    return r


_DESCRIBE = re.compile(r"Feature:\s*(\S+)\s+SupportedMinVersion:\s*(\S+)\s+SupportedMaxVersion:\s*(\S+)\s+"
                       r"FinalizedVersionLevel:\s*(\S+)\s+Epoch:\s*(\S+)")


def parse_feature_describe(text):
    """FeatureCommand describe lines -> {feature: {supported_min, supported_max, finalized, epoch}}."""
    out = {}
    for line in text.splitlines():
        m = _DESCRIBE.search(line)
        if m:
            out[m.group(1)] = {"supported_min": m.group(2), "supported_max": m.group(3),
                               "finalized": m.group(4), "epoch": m.group(5)}
    if not out:
        raise SystemExit("broker: FeatureCommand describe printed no feature lines:\n%s" % text)
    return out


# ---- performance tools ------------------------------------------------------------------------

PRODUCER_PERF = "org.apache.kafka.tools.ProducerPerformance"
CONSUMER_PERF = "org.apache.kafka.tools.ConsumerPerformance"
TOPIC_COMMAND = "org.apache.kafka.tools.TopicCommand"


def new_flags(release):
    # 4.4's perf tools mark --producer-props/--producer.config/--consumer.config/--messages deprecated
    # in favour of --command-property/--command-config/--num-records; older releases only have the former.
    return releases.vtuple(release) >= (4, 4)


def create_topic(release, bootstrap, topic, partitions, replication, config_file, timeout):
    args = ["--bootstrap-server", bootstrap, "--create", "--if-not-exists", "--topic", topic,
            "--partitions", str(partitions), "--replication-factor", str(replication)]
    if config_file:
        args += ["--command-config", config_file]
    r = run(release, TOPIC_COMMAND, args, timeout)
    if r["exit_code"] != 0:
        raise SystemExit("perf: TopicCommand --create %s failed (exit %s):\n%s%s"
                         % (topic, r["exit_code"], r["output"], r["errors"][-3000:]))
    return r


_PRODUCER_SUMMARY = re.compile(
    r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, "
    r"([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th")


def parse_producer_summary(text):
    """The last summary line of ProducerPerformance (interval lines have no percentiles)."""
    found = _PRODUCER_SUMMARY.findall(text)
    if not found:
        return None
    g = found[-1]
    return {"records": int(g[0]), "records_per_sec": float(g[1]), "mb_per_sec": float(g[2]),
            "avg_latency_ms": float(g[3]), "max_latency_ms": float(g[4]), "p50_ms": int(g[5]),
            "p95_ms": int(g[6]), "p99_ms": int(g[7]), "p999_ms": int(g[8])}


_CONSUMER_FIELDS = [("start_time", str), ("end_time", str), ("mb", float), ("mb_per_sec", float),
                    ("records", int), ("records_per_sec", float), ("rebalance_ms", int), ("fetch_ms", int),
                    ("fetch_mb_per_sec", float), ("fetch_records_per_sec", float)]


def parse_consumer_summary(text):
    """ConsumerPerformance's CSV: a header line (start.time, end.time, data.consumed.in.MB, ...) and
    one line of values."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for i, ln in enumerate(lines):
        if ln.startswith("start.time") and i + 1 < len(lines):
            vals = [v.strip() for v in lines[i + 1].split(",")]
            if len(vals) < len(_CONSUMER_FIELDS):
                return None
            out = {}
            for (name, conv), v in zip(_CONSUMER_FIELDS, vals):
                try:
                    out[name] = conv(v)
                except ValueError:
                    return None
            return out
    return None
