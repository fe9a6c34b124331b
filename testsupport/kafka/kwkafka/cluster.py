"""A KRaft cluster of combined broker+controller nodes on 127.0.0.1: `broker cluster ...`.

Layout of a cluster dir D:
  D/kwire-cluster.json      the state (what `cluster start` printed, kept current by node-stop/node-start)
  D/node-<id>/server.properties, data/, broker.log, client-*.properties (SASL)

Every node gets the same kind of config (see props.py): it stays valid for each release the node
later runs, so a rolling upgrade or rollback only swaps the class path (`node-start --release R`).
"""

import fcntl
import json
import os
import shutil
import sys
import tempfile
import time

from . import maven, output, procs, props, releases, sasl, single, tools, wire

HOST = procs.HOST
STATE_FILE = "kwire-cluster.json"


# ---- state ------------------------------------------------------------------------------------

class Locked:
    """The state of a cluster dir, locked against other `broker cluster` commands on it."""

    def __init__(self, d):
        self.d = os.path.abspath(d)
        self.path = os.path.join(self.d, STATE_FILE)
        if not os.path.exists(self.path):
            raise SystemExit("broker: no %s in %s (not a cluster dir, or already stopped)" % (STATE_FILE, self.d))

    def __enter__(self):
        self.lockf = open(os.path.join(self.d, ".lock"), "w")
        fcntl.flock(self.lockf, fcntl.LOCK_EX)
        with open(self.path) as f:
            self.state = json.load(f)
        return self

    def save(self):
        save(self.d, self.state)

    def __exit__(self, *exc):
        self.lockf.close()


def save(d, state):
    tmp = os.path.join(d, STATE_FILE + ".tmp")
    with open(tmp, "w") as f:
        json.dump(state, f, indent=1, sort_keys=True)
    os.replace(tmp, os.path.join(d, STATE_FILE))


def node_by_id(state, node_id):
    for n in state["nodes"]:
        if n["id"] == node_id:
            return n
    raise SystemExit("broker: no node %d in this cluster (nodes: %s)"
                     % (node_id, ", ".join(str(n["id"]) for n in state["nodes"])))


def running(state):
    return [n for n in state["nodes"] if n["pid"] and procs.pid_alive(n["pid"])]


# ---- probing ----------------------------------------------------------------------------------

def probe_quorum(nodes):
    """DescribeQuorum answered by the active controller: each controller listener in turn (only the
    leader answers without error), then the broker listeners (which forward it)."""
    last = None
    for key in ("controller_port", "port"):
        for n in nodes:
            try:
                q = wire.describe_quorum(HOST, n[key], timeout=3)
                if q["error_code"] == 0 and q["partition_error_code"] == 0:
                    return q, None
                last = "DescribeQuorum errors %s/%s from node %d" % (q["error_code"], q["partition_error_code"], n["id"])
            except Exception as e:  # noqa: BLE001 - a node that does not answer yet
                last = "node %d %s: %s: %s" % (n["id"], key, type(e).__name__, e)
    return None, last


def quorum_summary(q):
    if q is None:
        return None
    return {"leader_id": q["leader_id"], "leader_epoch": q["leader_epoch"],
            "high_watermark": q["high_watermark"],
            "voters": [{"id": v["id"], "log_end_offset": v["log_end_offset"],
                        "lag": (q["high_watermark"] - v["log_end_offset"]) if v["log_end_offset"] >= 0 else None}
                       for v in q["voters"]],
            "observers": [o["id"] for o in q["observers"]]}


def check_ready(nodes, in_sync):
    """One look at the running nodes. Returns (ok, reason, details).

    Ready: every node answers ApiVersions, every node's Metadata lists every running node, and the
    quorum has a leader among them; with in_sync also no partition has ISR != replicas or no leader."""
    ids = sorted(n["id"] for n in nodes)
    details = {"nodes": {}}
    md = None
    for n in nodes:
        # before any network check: a node that died must fail the wait at once, whatever else is pending
        if not procs.pid_alive(n["pid"]):
            details["fatal"] = True
            return False, "node %d (pid %d) exited" % (n["id"], n["pid"]), details
    for n in nodes:
        try:
            av = wire.api_versions(HOST, n["port"], 0, timeout=3)
            if av["error_code"] != 0:
                return False, "node %d: ApiVersions error %d" % (n["id"], av["error_code"]), details
            md = wire.metadata_v1(HOST, n["port"], timeout=3)
        except Exception as e:  # noqa: BLE001
            return False, "node %d: %s: %s" % (n["id"], type(e).__name__, e), details
        listed = sorted(b["id"] for b in md["brokers"])
        details["nodes"][n["id"]] = listed
        missing = [i for i in ids if i not in listed]
        if missing:
            return False, "node %d's Metadata lacks brokers %s (lists %s)" % (n["id"], missing, listed), details
    q, why = probe_quorum(nodes)
    if q is None:
        return False, why, details
    details["quorum"] = quorum_summary(q)
    if q["leader_id"] not in ids or q["high_watermark"] < 0:
        # a new leader's high watermark is unknown (-1) until it commits in its epoch
        return False, "no working quorum leader among running nodes (leader %d, high watermark %d)" % (
            q["leader_id"], q["high_watermark"]), details
    if md is not None:
        details["partitions"] = wire.partition_health(md)
        if in_sync and (details["partitions"]["under_replicated"] or details["partitions"]["offline"]):
            return False, "partitions not in sync: %s" % json.dumps(details["partitions"]), details
    return True, "ready", details


def wait_ready(nodes, deadline, in_sync=False):
    """Poll check_ready until it passes, a node's JVM exits (at once), or the deadline."""
    while True:
        ok, why, details = check_ready(nodes, in_sync)
        if ok:
            return True, why, details
        if details.get("fatal"):
            return False, why, details
        if time.monotonic() >= deadline:
            return False, "timed out: %s" % why, details
        time.sleep(0.25)


def fail_with_logs(nodes, msg, since=None):
    """Log tails (and first errors, from byte `since[id]` on) of the nodes to stderr, then exit 1."""
    for n in nodes:
        sys.stderr.write(procs.log_report(n["log"], "node %d" % n["id"], lines=25,
                                          since=(since or {}).get(n["id"], 0)))
    raise SystemExit(msg)


# ---- start ------------------------------------------------------------------------------------

def node_base(java, heap, log_level, lib, jvm_opt=()):
    return [java] + procs.jvm_opts(heap, log_level, jvm_opt) + ["-cp", os.path.join(lib, "*")]


def format_args(args, release, sasl_lsn, users):
    out = []
    if args.metadata_version:
        out += ["--release-version", args.metadata_version]
    feats = []
    if args.transaction_version is not None:
        feats.append("transaction.version=%d" % args.transaction_version)
    if args.group_version is not None:
        feats.append("group.version=%d" % args.group_version)
    feats += args.feature
    if feats and not releases.has_feature_flags(release) and any(not f.startswith("kraft.version") for f in feats):
        raise SystemExit("broker: --transaction-version/--group-version need Kafka 4.x (got %s)" % release)
    for f in feats:
        out += ["--feature", f]
    out += sasl.scram_format_args([m for _n, _p, ms in sasl_lsn for m in ms], users)
    return out


def cmd_start(args):
    try:
        return _start(args)
    except SystemExit:
        # a half-started cluster: its JVMs are stopped below, its state file goes, the dir stays for the logs
        d = getattr(args, "_cluster_dir", None)
        if d and os.path.exists(os.path.join(d, STATE_FILE)):
            with open(os.path.join(d, STATE_FILE)) as f:
                pids = [n["pid"] for n in json.load(f)["nodes"] if n.get("pid")]
            procs.stop_pids([p for p in pids if procs.pid_alive(p)], grace=5, kill=True)
            os.unlink(os.path.join(d, STATE_FILE))
        raise


def _start(args):
    release = args.release
    releases.check_cluster_release(release)
    if args.nodes < 1:
        raise SystemExit("broker: --nodes must be at least 1")
    if args.quorum == "dynamic" and not releases.dynamic_quorum(release):
        raise SystemExit("broker: --quorum dynamic needs 3.9+ (KIP-853), got %s" % release)
    lib, resolve_s, fresh = maven.resolve(release)
    d = os.path.abspath(args.dir or tempfile.mkdtemp(prefix="kwire-cluster-%s-" % release))
    os.makedirs(d, exist_ok=True)
    if os.path.exists(os.path.join(d, STATE_FILE)):
        raise SystemExit("broker: %s already holds a cluster (%s); stop it or use another --dir" % (d, STATE_FILE))
    java = procs.java_cmd(args.java)
    base = node_base(java, args.heap, args.log_level, lib, args.jvm_opt)
    sasl_lsn, users, stores, tls_s = single.sasl_setup(args, release, java)
    replication = args.replication or min(3, args.nodes)
    min_isr = args.min_isr or (2 if replication >= 3 else 1)

    ids = list(range(1, args.nodes + 1))
    per_node = 2 + len(sasl_lsn)
    ports = procs.free_ports(per_node * args.nodes)
    nodes = []
    for i, nid in enumerate(ids):
        p = ports[i * per_node:(i + 1) * per_node]
        ndir = os.path.join(d, "node-%d" % nid)
        os.makedirs(os.path.join(ndir, "data"), exist_ok=True)
        nodes.append({"id": nid, "port": p[0], "controller_port": p[1],
                      "sasl_ports": dict(zip([n for n, _pr, _m in sasl_lsn], p[2:])),
                      "bootstrap": "%s:%d" % (HOST, p[0]), "dir": ndir,
                      "data_dir": os.path.join(ndir, "data"), "log": os.path.join(ndir, "broker.log"),
                      "config": os.path.join(ndir, "server.properties"),
                      "release": release, "lib": lib, "pid": None, "state": "formatting"})
    voters = ",".join("%d@%s:%d" % (n["id"], HOST, n["controller_port"]) for n in nodes)
    controllers = ",".join("%s:%d" % (HOST, n["controller_port"]) for n in nodes)
    cluster_id = single.new_cluster_id()
    dir_ids = {n["id"]: single.new_cluster_id() for n in nodes}
    for n in nodes:
        cfg = props.common_props(n["data_dir"], replication, min_isr, args.offsets_partitions, args.partitions)
        cfg += props.listener_props(n["port"], n["controller_port"], sasl_lsn, n["sasl_ports"], stores)
        if sasl_lsn:
            cfg += sasl.broker_props(sasl_lsn, users, args.reauth_ms)
        if args.quorum == "static":
            cfg += props.kraft_props(n["id"], voters=voters)
        else:
            cfg += props.kraft_props(n["id"], bootstrap_servers=controllers)
        cfg += props.parse_extra(args.config)
        props.write(n["config"], cfg)

    state = {"kind": "cluster", "dir": d, "cluster_id": cluster_id, "quorum": args.quorum,
             "controller_quorum_voters": voters if args.quorum == "static" else None,
             "controller_quorum_bootstrap_servers": controllers,
             "bootstrap": ",".join(n["bootstrap"] for n in nodes), "release": release,
             "replication_factor": replication, "min_insync_replicas": min_isr,
             "java": java, "heap": args.heap, "jvm_opt": args.jvm_opt, "log_level": args.log_level, "nodes": nodes,
             "sasl": None, "tls": dict(stores, seconds=round(tls_s, 2)) if stores else None,
             "format": {"release": release, "metadata_version": args.metadata_version,
                        "transaction_version": args.transaction_version, "group_version": args.group_version,
                        "features": args.feature},
             "resolve_seconds": round(resolve_s, 2), "resolved_now": fresh}
    if sasl_lsn:
        state["sasl"] = sasl.describe(sasl_lsn, [n["sasl_ports"] for n in nodes], users, args.reauth_ms,
                                      stores, d, HOST)
    save(d, state)
    args._cluster_dir = d

    t0 = time.monotonic()
    deadline = t0 + args.timeout
    # all nodes format in parallel: each is a JVM start, bound by CPU and class loading
    fmt_extra = format_args(args, release, sasl_lsn, users)
    running_fmt = []
    for n in nodes:
        cmd = base + ["kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", n["config"]] + fmt_extra
        if args.quorum == "dynamic":
            cmd += ["--initial-controllers", ",".join(
                "%d@%s:%d:%s" % (m["id"], HOST, m["controller_port"], dir_ids[m["id"]]) for m in nodes)]
        running_fmt.append((n, procs.spawn(cmd, n["log"], n["dir"])))
    for n, p in running_fmt:
        try:
            rc = p.wait(timeout=max(1.0, deadline - time.monotonic()))
        except Exception:  # noqa: BLE001 - TimeoutExpired
            p.kill()
            rc = None
        if rc != 0:
            for _m, q in running_fmt:
                if q.poll() is None:
                    q.kill()
            sys.stderr.write(procs.log_report(n["log"], "node %d" % n["id"], lines=25))
            raise SystemExit("broker: format of node %d failed (%s); log %s"
                             % (n["id"], "timed out" if rc is None else "exit %d" % rc, n["log"]))
    state["format_seconds"] = round(time.monotonic() - t0, 2)

    t1 = time.monotonic()
    for n in nodes:
        n["pid"] = procs.spawn(base + ["kafka.Kafka", n["config"]], n["log"], n["dir"]).pid
        n["state"] = "running"
        n["history"] = [{"event": "start", "release": release}]
    save(d, state)
    ok, why, details = wait_ready(nodes, deadline)
    if not ok:
        fail_with_logs(nodes, "broker: cluster of Kafka %s did not come up: %s" % (release, why))
    state["start_seconds"] = round(time.monotonic() - t1, 2)
    for n in nodes:
        n["cpu_seconds"] = procs.cpu_seconds(n["pid"])
        n["rss_mib"] = procs.rss_mib(n["pid"])
    state["quorum_state"] = details.get("quorum")
    describe_nodes(state["nodes"])
    state["finalized_features"] = state["nodes"][0].get("finalized_features")
    save(d, state)
    output.emit(state, args.env)
    return 0


def describe_nodes(nodes):
    """Adds api_versions and finalized features (ApiVersions v3) to each running node."""
    for n in nodes:
        if n["state"] != "running":
            continue
        try:
            av = wire.api_versions(HOST, n["port"], 3, timeout=5)
        except Exception as e:  # noqa: BLE001
            n["api_versions_error"] = "%s: %s" % (type(e).__name__, e)
            continue
        n["api_versions"] = {str(k): list(v) for k, v in sorted(av["apis"].items())}
        n["finalized_features"] = {k: v[1] for k, v in sorted(av.get("finalized_features", {}).items())}
        n["supported_features"] = av.get("supported_features", {})


# ---- stop -------------------------------------------------------------------------------------

def cmd_stop(args):
    with Locked(args.dir) as st:
        nodes = st.state["nodes"]
        res, secs = procs.stop_pids([n["pid"] for n in nodes if n["pid"]], grace=args.grace, kill=args.kill)
        out = {"nodes": {str(n["id"]): res.get(n["pid"], "not running") for n in nodes},
               "seconds": round(secs, 2)}
        os.unlink(st.path)
    if args.clean:
        shutil.rmtree(st.d, ignore_errors=True)
        out["dir"] = "removed"
    output.emit(out, args.env)
    return 0


def cmd_node_stop(args):
    with Locked(args.dir) as st:
        n = node_by_id(st.state, args.node)
        if not n["pid"] or not procs.pid_alive(n["pid"]):
            raise SystemExit("broker: node %d is not running" % n["id"])
        res, secs = procs.stop_pids([n["pid"]], grace=args.grace, kill=args.kill)
        n["state"] = "stopped"
        n["last_pid"], n["pid"] = n["pid"], None
        n.setdefault("history", []).append({"event": "kill" if args.kill else "stop", "release": n["release"],
                                            "result": res[n["last_pid"]], "seconds": round(secs, 2)})
        st.save()
        out = {"node": n["id"], "release": n["release"], "result": res[n["last_pid"]],
               "stop_seconds": round(secs, 2)}
        rest = running(st.state)
        if rest and len(rest) * 2 > len(st.state["nodes"]):
            # the others keep a quorum: report once they agree on a leader without this node
            t0 = time.monotonic()
            ok, why, details = wait_ready(rest, time.monotonic() + args.timeout)
            out.update(remaining_ready=ok, remaining_reason=why, remaining_seconds=round(time.monotonic() - t0, 2),
                       quorum=details.get("quorum"), partitions=details.get("partitions"))
            if not ok:
                fail_with_logs(rest, "broker: the remaining nodes are not ready: %s" % why)
    output.emit(out, args.env)
    return 0


# ---- node-start -------------------------------------------------------------------------------

def cmd_node_start(args):
    with Locked(args.dir) as st:
        state = st.state
        n = node_by_id(state, args.node)
        if n["pid"] and procs.pid_alive(n["pid"]):
            raise SystemExit("broker: node %d is already running (pid %d)" % (n["id"], n["pid"]))
        release = args.release or n["release"]
        releases.check_cluster_release(release)
        lib, resolve_s, _fresh = maven.resolve(release)
        previous = n["release"]
        base = node_base(state["java"], args.heap or state["heap"], state["log_level"], lib,
                         state.get("jvm_opt", []) + (args.jvm_opt or []))
        t0 = time.monotonic()
        with open(n["log"], "ab") as f:
            f.write(("# ---- node-start: release %s (was %s) ----\n" % (release, previous)).encode())
            log_from = {n["id"]: f.tell()}
        pid = procs.spawn(base + ["kafka.Kafka", n["config"]], n["log"], n["dir"]).pid
        n.update(pid=pid, release=release, lib=lib, state="running")
        n.setdefault("history", []).append({"event": "start", "release": release})
        st.save()
        nodes = running(state)
        ok, why, details = wait_ready(nodes, t0 + args.timeout)
        ready_s = time.monotonic() - t0
        if not ok:
            if procs.pid_alive(pid):
                procs.stop_pids([pid], grace=5, kill=True)
            n.update(pid=None, state="failed")
            n["history"][-1]["result"] = "failed: %s" % why
            st.save()
            fail_with_logs([n], "broker: node %d on Kafka %s did not come up: %s" % (n["id"], release, why),
                           since=log_from)
        insync_s = None
        if not args.no_wait_in_sync:
            ok, why, details = wait_ready(nodes, t0 + args.timeout, in_sync=True)
            if not ok:
                fail_with_logs([n], "broker: node %d on Kafka %s: %s" % (n["id"], release, why), since=log_from)
            insync_s = round(time.monotonic() - t0, 2)
        describe_nodes([n])
        n["history"][-1].update(result="ready", ready_seconds=round(ready_s, 2))
        st.save()
        out = {"node": n["id"], "release": release, "previous_release": previous, "pid": pid,
               "port": n["port"], "bootstrap": n["bootstrap"], "controller_port": n["controller_port"],
               "dir": n["dir"], "log": n["log"], "resolve_seconds": round(resolve_s, 2),
               "ready_seconds": round(ready_s, 2), "in_sync_seconds": insync_s,
               "cpu_seconds": procs.cpu_seconds(pid), "rss_mib": procs.rss_mib(pid),
               "api_versions": n.get("api_versions"), "finalized_features": n.get("finalized_features"),
               "quorum": details.get("quorum"), "partitions": details.get("partitions"),
               "releases": {str(m["id"]): m["release"] for m in state["nodes"]}}
    output.emit(out, args.env)
    return 0


# ---- status / wait ----------------------------------------------------------------------------

def cmd_status(args):
    with Locked(args.dir) as st:
        state = st.state
        nodes = running(state)
        ok, why, details = check_ready(nodes, in_sync=True) if nodes else (False, "no node running", {})
        describe_nodes(nodes)
        out = {"dir": state["dir"], "cluster_id": state["cluster_id"], "bootstrap": state["bootstrap"],
               "ready": ok, "reason": why, "quorum": details.get("quorum"),
               "partitions": details.get("partitions"), "nodes": []}
        for n in state["nodes"]:
            alive = bool(n["pid"]) and procs.pid_alive(n["pid"])
            out["nodes"].append({"id": n["id"], "release": n["release"], "running": alive, "pid": n["pid"],
                                 "port": n["port"], "controller_port": n["controller_port"],
                                 "rss_mib": procs.rss_mib(n["pid"]) if alive else None,
                                 "finalized_features": n.get("finalized_features") if alive else None,
                                 "metadata_brokers": details.get("nodes", {}).get(n["id"])})
    output.emit(out, args.env)
    return 0


def cmd_wait(args):
    with Locked(args.dir) as st:
        nodes = running(st.state)
    t0 = time.monotonic()
    ok, why, details = wait_ready(nodes, t0 + args.timeout, in_sync=args.in_sync)
    out = {"ready": ok, "reason": why, "seconds": round(time.monotonic() - t0, 2),
           "quorum": details.get("quorum"), "partitions": details.get("partitions")}
    output.emit(out, args.env)
    if not ok:
        fail_with_logs(nodes, "broker: cluster not ready: %s" % why)
    return 0


# ---- features ---------------------------------------------------------------------------------

def cmd_features(args):
    with Locked(args.dir) as st:
        state = st.state
        nodes = running(state)
    if not nodes:
        raise SystemExit("broker: no node of %s is running" % state["dir"])
    tools_release = args.tools_release or max((n["release"] for n in nodes), key=releases.vtuple)
    bootstrap = ",".join(n["bootstrap"] for n in nodes)
    t0 = time.monotonic()
    out = {"tools_release": tools_release, "bootstrap": bootstrap}
    if args.upgrade or args.downgrade:
        op = "upgrade" if args.upgrade else "downgrade"
        wanted = tools.parse_feature_levels(args.upgrade or args.downgrade, tools_release, bootstrap, args.timeout)
        run = tools.feature_command(tools_release, bootstrap, op, wanted, args.dry_run, args.timeout)
        out.update(operation=op, requested=wanted, exit_code=run["exit_code"], output=run["output"])
        if run["exit_code"] != 0:
            output.emit(out, args.env)
            raise SystemExit("broker: FeatureCommand %s failed (exit %s)" % (op, run["exit_code"]))
        if not args.dry_run:
            # every running node must report the new levels in ApiVersions before we return
            deadline = time.monotonic() + args.timeout
            while True:
                describe_nodes(nodes)
                behind = [n["id"] for n in nodes
                          if any(n.get("finalized_features", {}).get(k, 0) != v for k, v in wanted.items())]
                if not behind:
                    break
                if time.monotonic() >= deadline:
                    out["finalized_by_node"] = {str(n["id"]): n.get("finalized_features") for n in nodes}
                    output.emit(out, args.env)
                    raise SystemExit("broker: nodes %s do not report %s within %.0f s" % (behind, wanted, args.timeout))
                time.sleep(0.25)
    desc = tools.feature_command(tools_release, bootstrap, "describe", {}, False, args.timeout)
    if desc["exit_code"] != 0:
        sys.stderr.write(desc["output"] + "\n")
        raise SystemExit("broker: FeatureCommand describe failed (exit %s)" % desc["exit_code"])
    out["features"] = tools.parse_feature_describe(desc["output"])
    describe_nodes(nodes)
    out["finalized_by_node"] = {str(n["id"]): n.get("finalized_features") for n in nodes}
    out["seconds"] = round(time.monotonic() - t0, 2)
    with Locked(args.dir) as st:
        for n in st.state["nodes"]:
            for m in nodes:
                if m["id"] == n["id"]:
                    n["finalized_features"] = m.get("finalized_features")
        st.save()
    output.emit(out, args.env)
    return 0
