"""server.properties for a node: listeners (PLAINTEXT, CONTROLLER, SASL), replication, small threads.

One file per node, written once at `start` / `cluster start` and used unchanged by every release the
node later runs (`cluster node-start --release R`). A broker silently ignores keys it does not know
(3.9 ignores share.coordinator.*; 4.4 ignores the removed log.message.format.version and
inter.broker.protocol.version), but a value outside a key's allowed set stops it (already at
format time). So the file holds only keys whose values every release from 3.9 to 4.4 accepts; left
out on purpose:
  * group.coordinator.rebalance.protocols: 3.9 rejects `streams` (ConfigException: must be one of
    consumer, classic, share, unknown), and 4.x enables `consumer` (KIP-848) without it. Pass it with
    --config when a test needs it on 3.9.
  * share.coordinator.state.topic.*: 4.x only (KIP-932); its defaults (RF 3, min ISR 2) fit a 3-node
    cluster, and only a single 4.x broker sets them to 1.
"""

from . import releases

HOST = "127.0.0.1"


def write(path, props):
    with open(path, "w") as f:
        for k, v in props:
            f.write("%s=%s\n" % (k, v))


def read(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line.startswith("#") and "=" in line:
                out.append(tuple(line.split("=", 1)))
    return out


def parse_extra(kvs):
    out = []
    for kv in kvs:
        if "=" not in kv:
            raise SystemExit("broker: --config wants KEY=VALUE, got %r" % kv)
        out.append(tuple(kv.split("=", 1)))
    return out


def listener_props(port, controller_port, sasl_listeners, sasl_ports, tls_stores):
    """listeners, advertised.listeners and the protocol map; the controller listener is not advertised."""
    names = [("PLAINTEXT", "PLAINTEXT", port)]
    names += [(n, proto, sasl_ports[n]) for n, proto, _m in sasl_listeners]
    lst = ["%s://%s:%d" % (n, HOST, p) for n, _proto, p in names]
    adv = list(lst)
    pmap = ["%s:%s" % (n, proto) for n, proto, _p in names]
    props = []
    if controller_port is not None:
        lst.append("CONTROLLER://%s:%d" % (HOST, controller_port))
        pmap.append("CONTROLLER:PLAINTEXT")
        props += [("controller.listener.names", "CONTROLLER")]
    props += [("listeners", ",".join(lst)), ("advertised.listeners", ",".join(adv)),
              ("listener.security.protocol.map", ",".join(pmap)),
              ("inter.broker.listener.name", "PLAINTEXT")]
    if tls_stores is not None:
        props += [("ssl.keystore.location", tls_stores["keystore"]),
                  ("ssl.keystore.password", tls_stores["password"]),
                  ("ssl.key.password", tls_stores["password"]),
                  ("ssl.keystore.type", tls_stores["store_type"]),
                  ("ssl.truststore.location", tls_stores["truststore"]),
                  ("ssl.truststore.password", tls_stores["password"]),
                  ("ssl.truststore.type", tls_stores["store_type"])]
    return props


def common_props(data_dir, replication, min_isr, offsets_partitions, num_partitions):
    return [
        ("log.dirs", data_dir),
        ("num.partitions", str(num_partitions)),
        ("default.replication.factor", str(replication)),
        ("min.insync.replicas", str(min_isr)),
        ("offsets.topic.replication.factor", str(replication)),
        ("offsets.topic.num.partitions", str(offsets_partitions)),
        ("transaction.state.log.replication.factor", str(replication)),
        ("transaction.state.log.min.isr", str(min_isr)),
        ("transaction.state.log.num.partitions", str(offsets_partitions)),
        ("group.initial.rebalance.delay.ms", "0"),
        # two cores shared with builds: few threads
        ("num.network.threads", "2"),
        ("num.io.threads", "2"),
        ("num.recovery.threads.per.data.dir", "1"),
        ("num.replica.fetchers", "1"),
        ("background.threads", "2"),
        ("log.cleaner.dedupe.buffer.size", str(8 * 1024 * 1024)),
        ("auto.create.topics.enable", "true"),
    ]


def kraft_props(node_id, voters=None, bootstrap_servers=None):
    """Combined broker+controller. Static voters (controller.quorum.voters) run on every KRaft
    release; a dynamic quorum (controller.quorum.bootstrap.servers, KIP-853) needs 3.9+."""
    props = [("process.roles", "broker,controller"), ("node.id", str(node_id))]
    if voters:
        props.append(("controller.quorum.voters", voters))
    else:
        props.append(("controller.quorum.bootstrap.servers", bootstrap_servers))
    return props


def single_broker_extras(release):
    # 4.x creates __share_group_state (KIP-932) with RF 3 / min ISR 2 by default
    if releases.vtuple(release) >= (4, 0):
        return [("share.coordinator.state.topic.replication.factor", "1"),
                ("share.coordinator.state.topic.min.isr", "1")]
    return []
