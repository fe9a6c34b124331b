"""Resolving Kafka's class paths from Maven Central with Maven (nothing of Kafka is vendored).

Two kinds per release, each copied into $KWIRE_KAFKA_CACHE (default ~/.cache/kwire/kafka) while the
jars themselves stay in ~/.m2:
  broker   org.apache.kafka:kafka_<scala>:<release> + runtime deps  -> <cache>/<release>/lib
  tools    org.apache.kafka:kafka-tools:<release> + runtime deps     -> <cache>/tools-<release>/lib
Each resolution is file-locked and leaves a marker, so the second call costs ~0.01 s.
"""

import fcntl
import os
import shutil
import subprocess
import sys
import time

from . import releases

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Maven's own wait: a first resolution downloads up to ~160 MB.
RESOLVE_TIMEOUT_S = 900


def cache_root():
    return os.environ.get("KWIRE_KAFKA_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "kwire", "kafka")


def log(msg):
    print("broker: " + msg, file=sys.stderr, flush=True)


def _command(release, kind, lib):
    mvn = os.environ.get("KWIRE_MVN", "mvn")
    pom = "broker-pom.xml" if kind == "broker" else "tools-pom.xml"
    cmd = [mvn, "-q", "-B", "-Dstyle.color=never", "-f", os.path.join(HERE, pom),
           "dependency:copy-dependencies", "-Dkafka.release=" + release, "-DoutputDirectory=" + lib]
    if kind == "broker":
        cmd.append("-Dkafka.scala=" + releases.scala_for(release))
        if releases.vtuple(release) < (4, 0):
            cmd.append("-Dkafka.log4j1=true")
        if releases.vtuple(release) < releases.ZOOKEEPER_OVERRIDE_BELOW:
            cmd.append("-Dkafka.zookeeper.release=" + releases.ZOOKEEPER_OVERRIDE)
    elif releases.vtuple(release) < (3, 5):
        # org.apache.kafka:kafka-tools carries the perf tools and FeatureCommand from 3.5/3.7 on.
        raise SystemExit("broker: kafka-tools %s: use a 3.7+ tools release (--tools-release)" % release)
    if release in releases.TOOLS_API_OVERRIDE:
        cmd.append("-Dkafka.toolsapi.release=" + releases.TOOLS_API_OVERRIDE[release])
    return cmd


def resolve(release, kind="broker", quiet=False):
    """Resolve a class path. Returns (libdir, seconds, resolved_now)."""
    base = os.path.join(cache_root(), release if kind == "broker" else "tools-" + release)
    lib = os.path.join(base, "lib")
    marker = os.path.join(base, ".complete")
    os.makedirs(base, exist_ok=True)
    t0 = time.monotonic()
    with open(os.path.join(base, ".lock"), "w") as lockf:
        fcntl.flock(lockf, fcntl.LOCK_EX)
        if os.path.exists(marker):
            return lib, time.monotonic() - t0, False
        if os.path.isdir(lib):
            shutil.rmtree(lib)
        cmd = _command(release, kind, lib)
        if not quiet:
            log("resolving Kafka %s (%s) from Maven Central: %s" % (release, kind, " ".join(cmd)))
        try:
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=RESOLVE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise SystemExit("broker: Maven did not resolve Kafka %s (%s) within %d s"
                             % (release, kind, RESOLVE_TIMEOUT_S))
        except FileNotFoundError:
            raise SystemExit("broker: %s not found: install Maven (or set KWIRE_MVN)" % cmd[0])
        if r.returncode != 0:
            sys.stderr.write(r.stdout)
            raise SystemExit("broker: Maven could not resolve Kafka %s (%s, exit %d)" % (release, kind, r.returncode))
        with open(marker, "w") as f:
            f.write("%s\n" % time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        with open(os.path.join(base, "resolve-seconds"), "w") as f:
            f.write("%.1f\n" % (time.monotonic() - t0))
    return lib, time.monotonic() - t0, True
