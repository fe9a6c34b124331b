"""One broker of any release on 127.0.0.1: `broker start` / `broker stop`.

3.3+ runs in KRaft combined mode (broker+controller, static voter 1@127.0.0.1:<controller port>);
2.x runs with a ZooKeeper started from the zookeeper jar the broker depends on.
"""

import base64
import json
import os
import shutil
import sys
import tempfile
import time
import uuid

from . import maven, output, procs, props, releases, sasl, tls, wire

HOST = procs.HOST
STATE_FILE = "kwire-broker.json"


def new_cluster_id():
    # like Kafka's Uuid.randomUuid(): never starting with '-', which the tools would take for an option
    cid = "-"
    while cid.startswith("-"):
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    return cid


def wait_ready(proc, port, deadline, extra_procs=(), brokers=1):
    """Wait until the broker answers ApiVersions v0 and Metadata v1 lists >= `brokers` brokers."""
    last = "port not open"
    while time.monotonic() < deadline:
        for p in (proc,) + tuple(extra_procs):
            if p.poll() is not None:
                return False, "process %d exited with status %d" % (p.pid, p.returncode)
        if procs.port_open(port):
            try:
                av = wire.api_versions(HOST, port, 0, timeout=3)
                if av["error_code"] != 0 or not av["apis"]:
                    last = "ApiVersions error %d" % av["error_code"]
                else:
                    n, _ = wire.metadata_v1_brokers(HOST, port, timeout=3)
                    if n >= brokers:
                        return True, "ready"
                    last = "Metadata lists %d of %d brokers" % (n, brokers)
            except Exception as e:  # noqa: BLE001 - any failure here just means "not yet"
                last = "%s: %s" % (type(e).__name__, e)
        time.sleep(0.2)
    return False, "timed out (%s)" % last


def sasl_setup(args, release, java):
    """(sasl listeners, users, tls stores or None, seconds) from --sasl/--user/--sasl-ssl."""
    if not args.sasl:
        if args.sasl_ssl or args.user or args.reauth_ms is not None:
            raise SystemExit("broker: --user/--sasl-ssl/--reauth-ms need --sasl MECHANISMS")
        return [], [], None, 0.0
    mechs = sasl.parse_mechanisms(args.sasl)
    users = sasl.parse_users(args.user)
    if any(m in sasl.SCRAM for m in mechs) and releases.mode_for(release) == "kraft" \
            and not releases.kraft_scram_at_format(release):
        raise SystemExit("broker: SCRAM on KRaft needs 3.5+ (KIP-900), got %s" % release)
    stores, secs = (tls.stores(java) if args.sasl_ssl else (None, 0.0))
    return sasl.listeners(mechs, args.sasl_ssl), users, stores, secs


def cmd_start(args):
    release = args.release
    mode = releases.mode_for(release)
    if args.transaction_version is not None and not releases.has_feature_flags(release):
        raise SystemExit("broker: --transaction-version needs Kafka 4.x (got %s)" % release)
    lib, resolve_s, fresh = maven.resolve(release)

    d = os.path.abspath(args.dir or tempfile.mkdtemp(prefix="kwire-kafka-%s-" % release))
    os.makedirs(d, exist_ok=True)
    if os.path.exists(os.path.join(d, STATE_FILE)):
        raise SystemExit("broker: %s already holds a broker (%s); stop it or use another --dir" % (d, STATE_FILE))
    data = os.path.join(d, "data")
    os.makedirs(data, exist_ok=True)
    logpath = os.path.join(d, "broker.log")
    java = procs.java_cmd(args.java)
    base = [java] + procs.jvm_opts(args.heap, args.log_level, args.jvm_opt) + ["-cp", os.path.join(lib, "*")]

    sasl_lsn, users, stores, tls_s = sasl_setup(args, release, java)
    sasl_ports = dict(zip([n for n, _p, _m in sasl_lsn], procs.free_ports(len(sasl_lsn))))
    port = args.port or procs.free_port()
    cport = (args.controller_port or procs.free_port()) if mode == "kraft" else None

    cfg_props = props.common_props(data, 1, 1, args.offsets_partitions, 1)
    cfg_props += props.single_broker_extras(release)
    cfg_props += props.listener_props(port, cport, sasl_lsn, sasl_ports, stores)
    if sasl_lsn:
        cfg_props += sasl.broker_props(sasl_lsn, users, args.reauth_ms)

    info = {"release": release, "mode": mode, "host": HOST, "port": port,
            "bootstrap": "%s:%d" % (HOST, port), "dir": d, "data_dir": data, "log": logpath,
            "lib": lib, "java": java, "pid": None, "zk_pid": None, "zk_port": None,
            "controller_port": cport, "cluster_id": None,
            "transaction_version": args.transaction_version,
            "resolve_seconds": round(resolve_s, 2), "resolved_now": fresh,
            "sasl": None, "tls": None}
    if stores:
        info["tls"] = dict(stores, seconds=round(tls_s, 2))

    t0 = time.monotonic()
    deadline = t0 + args.timeout
    zk = None
    cfg = os.path.join(d, "server.properties")
    if mode == "kraft":
        cluster_id = new_cluster_id()
        info["cluster_id"] = cluster_id
        cfg_props += props.kraft_props(1, voters="1@%s:%d" % (HOST, cport))
        cfg_props += props.parse_extra(args.config)
        props.write(cfg, cfg_props)
        fmt = base + ["kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", cfg, "--ignore-formatted"]
        if args.transaction_version is not None:
            fmt += ["--feature", "transaction.version=%d" % args.transaction_version]
        fmt += sasl.scram_format_args([m for _n, _p, ms in sasl_lsn for m in ms], users)
        rc = procs.run_logged(fmt, logpath, d, max(1.0, deadline - time.monotonic()))
        info["format_seconds"] = round(time.monotonic() - t0, 2)
        if rc != 0:
            sys.stderr.write(procs.tail(logpath) + "\n")
            raise SystemExit("broker: kafka.tools.StorageTool format failed (%s); log %s"
                             % ("timed out" if rc is None else "exit %d" % rc, logpath))
    else:
        zport = args.zk_port or procs.free_port()
        zdir = os.path.join(d, "zookeeper")
        os.makedirs(zdir, exist_ok=True)
        zlog = os.path.join(d, "zookeeper.log")
        zcfg = os.path.join(d, "zookeeper.properties")
        props.write(zcfg, [("dataDir", zdir), ("clientPort", str(zport)), ("clientPortAddress", HOST),
                           ("maxClientCnxns", "0"), ("admin.enableServer", "false"), ("tickTime", "2000")])
        zk = procs.spawn(base + ["org.apache.zookeeper.server.ZooKeeperServerMain", zcfg], zlog, d)
        info.update(zk_pid=zk.pid, zk_port=zport, zk_log=zlog)
        while not procs.port_open(zport):
            if zk.poll() is not None or time.monotonic() > deadline:
                sys.stderr.write(procs.tail(zlog) + "\n")
                if zk.poll() is None:
                    procs.stop_pid(zk.pid)
                raise SystemExit("broker: ZooKeeper did not start; log %s" % zlog)
            time.sleep(0.2)
        info["zk_seconds"] = round(time.monotonic() - t0, 2)
        cfg_props += [("broker.id", "0"), ("zookeeper.connect", "%s:%d" % (HOST, zport)),
                      ("zookeeper.connection.timeout.ms", "30000")]
        cfg_props += props.parse_extra(args.config)
        props.write(cfg, cfg_props)
        scram_mechs = [m for _n, _p, ms in sasl_lsn for m in ms if m in sasl.SCRAM]
        for u, pw in (users if scram_mechs else []):
            # SCRAM credentials live in ZooKeeper before KRaft (KIP-84)
            cc = base + ["kafka.admin.ConfigCommand", "--zookeeper", "%s:%d" % (HOST, zport), "--alter",
                         "--add-config", sasl.scram_config_command(scram_mechs, u, pw),
                         "--entity-type", "users", "--entity-name", u]
            rc = procs.run_logged(cc, logpath, d, max(1.0, deadline - time.monotonic()))
            if rc != 0:
                sys.stderr.write(procs.tail(logpath) + "\n")
                procs.stop_pid(zk.pid)
                raise SystemExit("broker: kafka.admin.ConfigCommand (SCRAM user %s) failed" % u)

    if sasl_lsn:
        info["sasl"] = sasl.describe(sasl_lsn, [sasl_ports], users, args.reauth_ms, stores, d, HOST)
    proc = procs.spawn(base + ["kafka.Kafka", cfg], logpath, d)
    info["pid"] = proc.pid
    with open(os.path.join(d, STATE_FILE), "w") as f:
        json.dump(info, f, indent=1)
    ok, why = wait_ready(proc, port, deadline, (zk,) if zk else ())
    if not ok:
        sys.stderr.write(procs.log_report(logpath, "broker"))
        procs.stop_pids([p.pid for p in (proc, zk) if p is not None and p.poll() is None])
        os.unlink(os.path.join(d, STATE_FILE))
        raise SystemExit("broker: Kafka %s did not come up: %s" % (release, why))
    info["start_seconds"] = round(time.monotonic() - t0, 2)
    info["cpu_seconds"] = procs.cpu_seconds(proc.pid)
    info["rss_mib"] = procs.rss_mib(proc.pid)
    av = wire.api_versions(HOST, port, 0)
    info["api_versions"] = {str(k): list(v) for k, v in sorted(av["apis"].items())}
    with open(os.path.join(d, STATE_FILE), "w") as f:
        json.dump(info, f, indent=1)
    output.emit(info, args.env)
    return 0


def cmd_stop(args):
    results = {}
    if args.dir:
        d = os.path.abspath(args.dir)
        sf = os.path.join(d, STATE_FILE)
        if not os.path.exists(sf):
            raise SystemExit("broker: no %s in %s (a cluster dir? use `broker cluster stop`)" % (STATE_FILE, d))
        with open(sf) as f:
            info = json.load(f)
        for key in ("pid", "zk_pid"):  # broker first, then its ZooKeeper
            if info.get(key):
                results[key] = procs.stop_pid(int(info[key]))
        os.unlink(sf)
        if args.clean:
            shutil.rmtree(d, ignore_errors=True)
            results["dir"] = "removed"
    if args.pid:
        results[str(args.pid)] = procs.stop_pid(args.pid)
    output.emit(results)
    return 0


def cmd_apiversions(args):
    r = wire.api_versions(args.host, args.port, args.version)
    r["apis"] = {str(k): list(v) for k, v in sorted(r["apis"].items())}
    print(json.dumps(r, sort_keys=True))
    return 0


def cmd_resolve(args):
    rels = releases.RELEASES if args.release == "all" else [args.release]
    for r in rels:
        lib, secs, fresh = maven.resolve(r, "tools" if args.tools else "broker")
        print(json.dumps({"release": r, "kind": "tools" if args.tools else "broker", "lib": lib,
                          "seconds": round(secs, 2), "resolved_now": fresh}))
    return 0
