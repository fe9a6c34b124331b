"""A throw-away test CA and a broker key store for SASL_SSL listeners, made with the JDK's keytool.

Made once per machine into $KWIRE_KAFKA_CACHE/tls (file-locked; every broker listens on 127.0.0.1,
so one certificate serves them all) and reused: 8 keytool runs cost ~6 s with EC P-256 keys (RSA
2048 key generation alone took ~2.7 s per key under C1). Files:
  ca.pem            the CA certificate (PEM): what a client trusts (rustls, Python ssl, openssl)
  broker.p12        PKCS12 key store: the broker key + certificate (SAN IP:127.0.0.1, DNS:localhost)
                    signed by the CA, and the CA certificate
  truststore.p12    PKCS12 trust store with the CA certificate, for Java clients
All stores share one password (reported in the JSON). The CA key never leaves ca.p12.
"""

import fcntl
import os
import subprocess
import time

from . import maven

PASSWORD = "kwire-test"
VALIDITY_DAYS = "3650"
KEYTOOL_TIMEOUT_S = 60


def keytool_cmd(java):
    d = os.path.dirname(java)
    return os.path.join(d, "keytool") if d else "keytool"


def stores(java):
    """The CA and broker stores (made on first use); returns (paths dict, seconds taken)."""
    t0 = time.monotonic()
    tdir = os.path.join(maven.cache_root(), "tls")
    os.makedirs(tdir, exist_ok=True)
    p = lambda name: os.path.join(tdir, name)  # noqa: E731
    out = {"ca_pem": p("ca.pem"), "keystore": p("broker.p12"), "truststore": p("truststore.p12"),
           "store_type": "PKCS12", "password": PASSWORD}
    with open(p(".lock"), "w") as lockf:
        fcntl.flock(lockf, fcntl.LOCK_EX)
        if not os.path.exists(p(".complete")):
            for name in os.listdir(tdir):
                if name.endswith((".p12", ".pem", ".csr")):
                    os.unlink(p(name))
            _make(p, keytool_cmd(java))
            with open(p(".complete"), "w") as f:
                f.write("%s\n" % time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    return out, time.monotonic() - t0


def _make(p, kt):
    # C1 only and serial GC: each keytool run is a JVM start
    kt = [kt, "-J-XX:TieredStopAtLevel=1", "-J-XX:+UseSerialGC"]
    key = ["-keyalg", "EC", "-groupname", "secp256r1"]
    common = ["-storetype", "PKCS12", "-storepass", PASSWORD, "-noprompt"]
    steps = [
        kt + ["-genkeypair", "-alias", "ca"] + key + [
         "-dname", "CN=kwire test CA", "-ext", "bc:c", "-validity", VALIDITY_DAYS, "-keystore", p("ca.p12")] + common,
        kt + ["-exportcert", "-rfc", "-alias", "ca", "-file", p("ca.pem"), "-keystore", p("ca.p12")] + common,
        kt + ["-genkeypair", "-alias", "broker"] + key + ["-dname", "CN=localhost",
         "-validity", VALIDITY_DAYS, "-keystore", p("broker.p12")] + common,
        kt + ["-certreq", "-alias", "broker", "-file", p("broker.csr"), "-keystore", p("broker.p12")] + common,
        # rustls/webpki insist on a subjectAltName and, when present, serverAuth in the EKU
        kt + ["-gencert", "-alias", "ca", "-infile", p("broker.csr"), "-outfile", p("broker.pem"), "-rfc",
         "-ext", "SAN=IP:127.0.0.1,DNS:localhost", "-ext", "KU=digitalSignature",
         "-ext", "EKU=serverAuth", "-validity", VALIDITY_DAYS, "-keystore", p("ca.p12")] + common,
        kt + ["-importcert", "-alias", "ca", "-file", p("ca.pem"), "-keystore", p("broker.p12")] + common,
        kt + ["-importcert", "-alias", "broker", "-file", p("broker.pem"), "-keystore", p("broker.p12")] + common,
        kt + ["-importcert", "-alias", "ca", "-file", p("ca.pem"), "-keystore", p("truststore.p12")] + common,
    ]
    for cmd in steps:
        try:
            r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, timeout=KEYTOOL_TIMEOUT_S)
        except FileNotFoundError:
            raise SystemExit("broker: %s not found (it comes with the JDK; set --java or KWIRE_KAFKA_JAVA_HOME)" % kt[0])
        except subprocess.TimeoutExpired:
            raise SystemExit("broker: keytool did not finish within %d s: %s" % (KEYTOOL_TIMEOUT_S, " ".join(cmd)))
        if r.returncode != 0:
            raise SystemExit("broker: keytool failed (exit %d): %s\n%s" % (r.returncode, " ".join(cmd), r.stdout))
