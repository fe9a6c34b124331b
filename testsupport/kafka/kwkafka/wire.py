"""Raw Kafka requests over a socket (Python 3 stdlib only) for the launcher and its self-test.

Independent of kwire on purpose: the launcher must be able to tell whether a broker or a cluster is
up without trusting the code under test. Spoken here, each at one fixed version:

  ApiVersions v0 / v3 (key 18)       ranges, and at v3 the supported/finalized features (KIP-584)
  Metadata v1 (key 3)                brokers, controller id, topics with replicas and ISR
  DescribeQuorum v1 (key 55)         the KRaft quorum: leader, epoch, high watermark, voters (KIP-595)
  SaslHandshake v1 (key 17)          mechanism negotiation
  SaslAuthenticate v1 (key 36)       PLAIN and SCRAM-SHA-256/512 exchanges, session lifetime (KIP-368)

Every socket operation has a timeout. Text a broker sends back is returned as-is; callers print it
through json.dumps, which escapes control characters.
"""

import base64
import hashlib
import hmac
import os
import socket
import ssl
import struct

API_VERSIONS = 18
METADATA = 3
DESCRIBE_QUORUM = 55
SASL_HANDSHAKE = 17
SASL_AUTHENTICATE = 36

UNSUPPORTED_VERSION = 35
SASL_AUTHENTICATION_FAILED = 58
UNSUPPORTED_SASL_MECHANISM = 33

# The KRaft metadata log: topic name and partition that DescribeQuorum asks about (KIP-595).
METADATA_TOPIC = "__cluster_metadata"


class WireError(Exception):
    """A reply that cannot be parsed, or a connection that closed early."""


# ---- encoding ---------------------------------------------------------------------------------

def uvarint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def string(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def compact_string(s):
    b = s.encode()
    return uvarint(len(b) + 1) + b


def bytes_field(b):
    return struct.pack(">i", len(b)) + b


def request_header(api_key, version, correlation_id, client_id, flexible):
    """Request header v1, or v2 (v1 + empty tagged fields) for a flexible request version."""
    h = struct.pack(">hhi", api_key, version, correlation_id) + string(client_id)
    return h + (b"\x00" if flexible else b"")


# ---- decoding ---------------------------------------------------------------------------------

class Reader:
    def __init__(self, buf, pos=0):
        self.buf = buf
        self.pos = pos

    def _take(self, n):
        if n < 0 or self.pos + n > len(self.buf):
            raise WireError("reply truncated at byte %d (wanted %d more of %d)" % (self.pos, n, len(self.buf)))
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def i8(self):
        return struct.unpack(">b", self._take(1))[0]

    def i16(self):
        return struct.unpack(">h", self._take(2))[0]

    def i32(self):
        return struct.unpack(">i", self._take(4))[0]

    def i64(self):
        return struct.unpack(">q", self._take(8))[0]

    def uvarint(self):
        shift = 0
        value = 0
        while True:
            b = self._take(1)[0]
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7
            if shift > 35:
                raise WireError("varint too long at byte %d" % self.pos)

    def string(self):
        n = self.i16()
        return None if n < 0 else self._take(n).decode("utf-8", "replace")

    def compact_string(self):
        n = self.uvarint() - 1
        return None if n < 0 else self._take(n).decode("utf-8", "replace")

    def bytes(self):
        n = self.i32()
        return None if n < 0 else bytes(self._take(n))

    def array_len(self):
        n = self.i32()
        return max(n, 0)

    def compact_array_len(self):
        return max(self.uvarint() - 1, 0)

    def tags(self):
        """Tagged fields: {tag: raw bytes}."""
        out = {}
        for _ in range(self.uvarint()):
            tag = self.uvarint()
            out[tag] = bytes(self._take(self.uvarint()))
        return out


# ---- connection -------------------------------------------------------------------------------

class Conn:
    """One connection; plain TCP, or TLS when ca_file is given (server name 127.0.0.1 / localhost)."""

    def __init__(self, host, port, timeout=5.0, ca_file=None, client_id="kwire-testsupport"):
        self.client_id = client_id
        self.correlation_id = 0
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.settimeout(timeout)
        if ca_file:
            ctx = ssl.create_default_context(cafile=ca_file)
            try:
                sock = ctx.wrap_socket(sock, server_hostname=host)
            except Exception:
                sock.close()
                raise
        self.sock = sock

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _recv_exact(self, n):
        chunks = []
        while n:
            c = self.sock.recv(n)
            if not c:
                raise WireError("connection closed by broker")
            chunks.append(c)
            n -= len(c)
        return b"".join(chunks)

    def send_frame(self, frame):
        """Send a complete frame (size included); return the reply payload after its size."""
        self.sock.sendall(frame)
        (size,) = struct.unpack(">i", self._recv_exact(4))
        if size < 4 or size > 64 * 1024 * 1024:
            raise WireError("implausible response size %d" % size)
        return self._recv_exact(size)

    def request(self, api_key, version, body, flexible, response_header_tags=None):
        """Send one request; return a Reader positioned at the response body."""
        self.correlation_id += 1
        msg = request_header(api_key, version, self.correlation_id, self.client_id, flexible) + body
        payload = self.send_frame(struct.pack(">i", len(msg)) + msg)
        r = Reader(payload)
        corr = r.i32()
        if corr != self.correlation_id:
            raise WireError("correlation id %d, expected %d" % (corr, self.correlation_id))
        # ApiVersions answers with response header v0 even when flexible (KIP-511).
        if response_header_tags if response_header_tags is not None else flexible:
            r.tags()
        return r


# ---- ApiVersions ------------------------------------------------------------------------------

def api_versions_request(version, correlation_id=1, client_id="kwire-testsupport",
                         software_name="kwire-testsupport", software_version="0.1.0"):
    """Bytes of a complete ApiVersions request frame (size prefix included)."""
    header = request_header(API_VERSIONS, version, correlation_id, client_id, version >= 3)
    body = b""
    if version >= 3:
        body = compact_string(software_name) + compact_string(software_version) + b"\x00"
    msg = header + body
    return struct.pack(">i", len(msg)) + msg


def parse_api_versions_response(payload, version):
    """Parse an ApiVersions response (its header is always v0, KIP-511).

    Returns dict: correlation_id, error_code, apis {key: (min, max)}, throttle_time_ms, and for v3+
    supported_features {name: [min, max]}, finalized_features {name: [min, max]},
    finalized_features_epoch. On error 35 (UNSUPPORTED_VERSION) the broker answers in the v0 layout
    whatever version was asked, so the body is parsed as v0 then.
    """
    r = Reader(payload)
    corr = r.i32()
    err = r.i16()
    apis = {}
    flexible = version >= 3 and err != UNSUPPORTED_VERSION
    n = r.compact_array_len() if flexible else r.array_len()
    for _ in range(n):
        k, lo, hi = r.i16(), r.i16(), r.i16()
        if flexible:
            r.tags()
        apis[k] = (lo, hi)
    out = {"correlation_id": corr, "error_code": err, "apis": apis, "throttle_time_ms": None,
           "body_bytes": len(payload) - 4}
    if version >= 1 and err != UNSUPPORTED_VERSION and r.pos + 4 <= len(payload):
        out["throttle_time_ms"] = r.i32()
    if flexible:
        tags = r.tags()
        out["supported_features"] = _features(tags.get(0), finalized=False)
        out["finalized_features"] = _features(tags.get(2), finalized=True)
        out["finalized_features_epoch"] = (struct.unpack(">q", tags[1])[0] if 1 in tags else -1)
    return out


def _features(raw, finalized):
    if raw is None:
        return {}
    r = Reader(raw)
    out = {}
    for _ in range(r.compact_array_len()):
        name = r.compact_string()
        a, b = r.i16(), r.i16()
        r.tags()
        # SupportedFeatureKey is (min, max); FinalizedFeatureKey is (maxVersionLevel, minVersionLevel).
        out[name] = [b, a] if finalized else [a, b]
    return out


def api_versions(host, port, version=0, timeout=5.0):
    with Conn(host, port, timeout) as c:
        payload = c.send_frame(api_versions_request(version))
    return parse_api_versions_response(payload, version)


# kept for callers of the former module (selftest)
def roundtrip(host, port, frame, timeout=5.0):
    with Conn(host, port, timeout) as c:
        return c.send_frame(frame)


# ---- Metadata v1 ------------------------------------------------------------------------------

def metadata_v1(host, port, timeout=5.0):
    """Metadata v1 for all topics: {brokers: [{id, host, port, rack}], controller_id, topics: [...]}."""
    with Conn(host, port, timeout) as c:
        r = c.request(METADATA, 1, struct.pack(">i", -1), flexible=False)
    brokers = []
    for _ in range(r.array_len()):
        brokers.append({"id": r.i32(), "host": r.string(), "port": r.i32(), "rack": r.string()})
    controller = r.i32()
    topics = []
    for _ in range(r.array_len()):
        err = r.i16()
        name = r.string()
        internal = r.i8() != 0
        parts = []
        for _ in range(r.array_len()):
            perr, idx, leader = r.i16(), r.i32(), r.i32()
            replicas = [r.i32() for _ in range(r.array_len())]
            isr = [r.i32() for _ in range(r.array_len())]
            parts.append({"partition": idx, "error_code": perr, "leader": leader,
                          "replicas": replicas, "isr": isr})
        topics.append({"name": name, "error_code": err, "internal": internal, "partitions": parts})
    return {"brokers": brokers, "controller_id": controller, "topics": topics}


def metadata_v1_brokers(host, port, timeout=5.0):
    """(broker count, controller id) from a Metadata v1 response."""
    m = metadata_v1(host, port, timeout)
    return len(m["brokers"]), m["controller_id"]


def partition_health(md):
    """Counts over a metadata_v1 result: partitions, under-replicated (ISR < replicas), offline."""
    total = under = offline = 0
    for t in md["topics"]:
        for p in t["partitions"]:
            total += 1
            if p["leader"] < 0:
                offline += 1
            if set(p["isr"]) != set(p["replicas"]):
                under += 1
    return {"partitions": total, "under_replicated": under, "offline": offline}


# ---- DescribeQuorum v1 ------------------------------------------------------------------------

def describe_quorum(host, port, timeout=5.0):
    """DescribeQuorum v1 for __cluster_metadata-0; sent to a controller listener or a broker
    (brokers forward it to the active controller). Only the active controller answers with
    partition_error_code 0; another controller answers NOT_LEADER_OR_FOLLOWER (6).

    Returns {error_code, leader_id, leader_epoch, high_watermark, voters: [...], observers: [...]},
    each replica {id, log_end_offset, last_fetch_timestamp, last_caught_up_timestamp}."""
    body = (uvarint(2) + compact_string(METADATA_TOPIC) + uvarint(2) + struct.pack(">i", 0) + b"\x00"
            + b"\x00" + b"\x00")
    with Conn(host, port, timeout) as c:
        r = c.request(DESCRIBE_QUORUM, 1, body, flexible=True)
    out = {"error_code": r.i16(), "partition_error_code": None, "leader_id": -1, "leader_epoch": -1,
           "high_watermark": -1, "voters": [], "observers": []}
    for _ in range(r.compact_array_len()):
        r.compact_string()
        for _ in range(r.compact_array_len()):
            r.i32()
            perr = r.i16()
            out.update(partition_error_code=perr, leader_id=r.i32(), leader_epoch=r.i32(),
                       high_watermark=r.i64())
            for key in ("voters", "observers"):
                for _ in range(r.compact_array_len()):
                    out[key].append({"id": r.i32(), "log_end_offset": r.i64(),
                                     "last_fetch_timestamp": r.i64(), "last_caught_up_timestamp": r.i64()})
                    r.tags()
            r.tags()
        r.tags()
    return out


# ---- SASL -------------------------------------------------------------------------------------

def sasl_handshake(conn, mechanism):
    """SaslHandshake v1: {error_code, mechanisms} (the listener's enabled mechanisms)."""
    r = conn.request(SASL_HANDSHAKE, 1, string(mechanism), flexible=False)
    err = r.i16()
    return {"error_code": err, "mechanisms": [r.string() for _ in range(r.array_len())]}


def sasl_authenticate(conn, auth_bytes):
    """SaslAuthenticate v1: {error_code, error_message, auth_bytes, session_lifetime_ms}."""
    r = conn.request(SASL_AUTHENTICATE, 1, bytes_field(auth_bytes), flexible=False)
    return {"error_code": r.i16(), "error_message": r.string(), "auth_bytes": r.bytes(),
            "session_lifetime_ms": r.i64()}


def _scram_name(s):
    # RFC 5802 section 5.1: ',' and '=' in a user name are escaped.
    return s.replace("=", "=3D").replace(",", "=2C")


def sasl_login(conn, mechanism, user, password):
    """Handshake + authenticate (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) on an open connection.

    Returns {ok, step, error_code, error_message, mechanisms, session_lifetime_ms}; `step` names where
    it stopped (handshake / authenticate / server-final)."""
    hs = sasl_handshake(conn, mechanism)
    res = {"ok": False, "step": "handshake", "error_code": hs["error_code"], "error_message": None,
           "mechanisms": hs["mechanisms"], "session_lifetime_ms": None}
    if hs["error_code"] != 0:
        return res
    res["step"] = "authenticate"
    if mechanism == "PLAIN":
        a = sasl_authenticate(conn, b"\0" + user.encode() + b"\0" + password.encode())
        res.update(error_code=a["error_code"], error_message=a["error_message"],
                   session_lifetime_ms=a["session_lifetime_ms"], ok=a["error_code"] == 0)
        return res
    if mechanism not in ("SCRAM-SHA-256", "SCRAM-SHA-512"):
        raise ValueError("unsupported mechanism %s" % mechanism)
    algo = "sha256" if mechanism.endswith("256") else "sha512"
    cnonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = "n=%s,r=%s" % (_scram_name(user), cnonce)
    a = sasl_authenticate(conn, ("n,," + first_bare).encode())
    if a["error_code"] != 0:
        res.update(error_code=a["error_code"], error_message=a["error_message"])
        return res
    server_first = a["auth_bytes"].decode()
    attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
    if not attrs.get("r", "").startswith(cnonce):
        raise WireError("SCRAM server nonce does not extend ours")
    salted = hashlib.pbkdf2_hmac(algo, password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
    client_key = hmac.new(salted, b"Client Key", algo).digest()
    stored_key = hashlib.new(algo, client_key).digest()
    final_wo_proof = "c=biws,r=" + attrs["r"]
    auth_msg = ",".join((first_bare, server_first, final_wo_proof)).encode()
    sig = hmac.new(stored_key, auth_msg, algo).digest()
    proof = bytes(x ^ y for x, y in zip(client_key, sig))
    a = sasl_authenticate(conn, (final_wo_proof + ",p=" + base64.b64encode(proof).decode()).encode())
    res.update(error_code=a["error_code"], error_message=a["error_message"],
               session_lifetime_ms=a["session_lifetime_ms"])
    if a["error_code"] != 0:
        return res
    res["step"] = "server-final"
    server_key = hmac.new(salted, b"Server Key", algo).digest()
    expect = "v=" + base64.b64encode(hmac.new(server_key, auth_msg, algo).digest()).decode()
    res["ok"] = a["auth_bytes"].decode() == expect
    return res
