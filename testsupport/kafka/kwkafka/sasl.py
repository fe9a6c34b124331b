"""SASL listeners: users, the JAAS text the broker reads, SCRAM credentials, client properties.

Per enabled mechanism one listener that offers only that mechanism (SASL_PLAIN, SASL_SCRAM_SHA_256,
SASL_SCRAM_SHA_512), plus SASL_ANY offering all of them; with TLS the same again as SASL_SSL
listeners (SSL_PLAIN, ..., SSL_ANY). Inter-broker and controller traffic stays on PLAINTEXT, so the
SASL listeners are only what clients see.
"""

import os
import re

MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
SCRAM = ("SCRAM-SHA-256", "SCRAM-SHA-512")
DEFAULT_USER = ("kwire", "kwire-secret")

PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"
SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"

# Characters that would need quoting in JAAS text or in `kafka-storage format --add-scram`'s
# key=value list; test users never need them, so they are refused rather than escaped.
_SAFE = re.compile(r"^[A-Za-z0-9._~!@#$%^&*+:/-]+$")


def parse_mechanisms(text):
    mechs = [m.strip().upper() for m in text.split(",") if m.strip()]
    for m in mechs:
        if m not in MECHANISMS:
            raise SystemExit("broker: unknown SASL mechanism %r (known: %s)" % (m, ", ".join(MECHANISMS)))
    return list(dict.fromkeys(mechs))


def parse_users(specs):
    """['name:password', ...] -> [(name, password)]; the default user when none is given."""
    users = []
    for spec in specs or []:
        if ":" not in spec:
            raise SystemExit("broker: --user wants NAME:PASSWORD, got %r" % spec)
        name, pw = spec.split(":", 1)
        for what, v in (("user name", name), ("password", pw)):
            if not _SAFE.match(v):
                raise SystemExit("broker: %s %r: use letters, digits and ._~!@#$%%^&*+:/- only" % (what, v))
        users.append((name, pw))
    return users or [DEFAULT_USER]


def listener_name(mech_or_any, tls):
    return ("SSL_" if tls else "SASL_") + mech_or_any.replace("-", "_")


def listeners(mechs, tls):
    """[(listener name, security protocol, [mechanisms])] for the options given."""
    out = []
    for secure in ([False, True] if tls else [False]):
        proto = "SASL_SSL" if secure else "SASL_PLAINTEXT"
        for m in mechs:
            out.append((listener_name(m, secure), proto, [m]))
        out.append((listener_name("ANY", secure), proto, list(mechs)))
    return out


def _jaas_server(mech, users):
    if mech == "PLAIN":
        # PlainServerCallbackHandler checks passwords against the user_<name> options (KIP-86)
        creds = " ".join('user_%s="%s"' % (u, p) for u, p in users)
        return '%s required %s;' % (PLAIN_MODULE, creds)
    # SCRAM credentials live in the metadata log (KRaft) or ZooKeeper; the module only has to be named
    return "%s required;" % SCRAM_MODULE


def broker_props(lsn, users, reauth_ms):
    """server.properties lines for the SASL listeners (per-listener mechanisms and JAAS)."""
    props = []
    all_mechs = []
    for name, _proto, mechs in lsn:
        low = name.lower()
        props.append(("listener.name.%s.sasl.enabled.mechanisms" % low, ",".join(mechs)))
        for m in mechs:
            props.append(("listener.name.%s.%s.sasl.jaas.config" % (low, m.lower()), _jaas_server(m, users)))
            if m not in all_mechs:
                all_mechs.append(m)
    props.append(("sasl.enabled.mechanisms", ",".join(all_mechs)))
    if reauth_ms is not None:
        # KIP-368: the broker reports this as SaslAuthenticate's session_lifetime_ms and closes a
        # connection that is still used after it without re-authenticating
        props.append(("connections.max.reauth.ms", str(reauth_ms)))
    return props


def scram_format_args(mechs, users):
    """`kafka-storage format` arguments that put SCRAM credentials in the metadata log (KIP-900)."""
    args = []
    for m in mechs:
        if m in SCRAM:
            for u, p in users:
                args += ["--add-scram", "%s=[name=%s,password=%s]" % (m, u, p)]
    return args


def scram_config_command(mechs, user, password):
    """`kafka.admin.ConfigCommand` --add-config value for a ZooKeeper-mode broker (2.x)."""
    return ",".join("%s=[password=%s]" % (m, password) for m in mechs if m in SCRAM)


def client_props(proto, mech, user, password, tls_stores):
    module = PLAIN_MODULE if mech == "PLAIN" else SCRAM_MODULE
    props = [("security.protocol", proto), ("sasl.mechanism", mech),
             ("sasl.jaas.config", '%s required username="%s" password="%s";' % (module, user, password))]
    if proto == "SASL_SSL":
        props += [("ssl.truststore.location", tls_stores["truststore"]),
                  ("ssl.truststore.password", tls_stores["password"]),
                  ("ssl.truststore.type", tls_stores["store_type"])]
    return props


def describe(lsn, node_ports, users, reauth_ms, tls_stores, dirpath, host):
    """The `sasl` object of the JSON. node_ports: per node {listener name: port} (one entry for a
    single broker). Writes one client .properties file per listener + mechanism (first user,
    bootstrap.servers included) into dirpath for Kafka's Java tools and ../clients-run."""
    listeners_out = []
    ports = {}
    bootstraps = {}
    for name, proto, mechs in lsn:
        plist = [np[name] for np in node_ports]
        bootstrap = ",".join("%s:%d" % (host, p) for p in plist)
        files = {}
        for m in mechs:
            path = os.path.join(dirpath, "client-%s-%s.properties" % (name.lower(), m.lower()))
            with open(path, "w") as f:
                f.write("bootstrap.servers=%s\n" % bootstrap)
                for k, v in client_props(proto, m, users[0][0], users[0][1], tls_stores):
                    f.write("%s=%s\n" % (k, v))
            files[m] = path
        listeners_out.append({"name": name, "security_protocol": proto, "mechanisms": mechs,
                              "port": plist[0], "ports": plist, "bootstrap": bootstrap,
                              "client_config": files})
        if len(mechs) == 1:
            ports.setdefault(proto, {})[mechs[0]] = plist[0]
            bootstraps.setdefault(proto, {})[mechs[0]] = bootstrap
    return {"users": [{"name": u, "password": p} for u, p in users],
            "mechanisms": sorted({m for _n, _p, ms in lsn for m in ms}),
            "reauth_ms": reauth_ms, "listeners": listeners_out, "ports": ports, "bootstraps": bootstraps}
