"""Minimal raw Kafka wire helpers (Python 3 stdlib only) for the test launcher.

Independent of kwire on purpose: the launcher must be able to tell whether a
broker is up without trusting the code under test.  Only ApiVersions (key 18)
and Metadata v1 (key 3) are spoken, and only to 127.0.0.1.
"""

import socket
import struct

API_VERSIONS = 18
METADATA = 3


def _uvarint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _read_uvarint(buf, pos):
    shift = 0
    value = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def _compact_string(s):
    b = s.encode()
    return _uvarint(len(b) + 1) + b


def api_versions_request(version, correlation_id=1, client_id="kwire-testsupport",
                         software_name="kwire-testsupport", software_version="0.1.0"):
    """Bytes of a complete ApiVersions request frame (size prefix included)."""
    cid = client_id.encode()
    header = struct.pack(">hhih", API_VERSIONS, version, correlation_id, len(cid)) + cid
    if version >= 3:
        header += b"\x00"  # request header v2: empty tagged fields
        body = _compact_string(software_name) + _compact_string(software_version) + b"\x00"
    else:
        body = b""
    msg = header + body
    return struct.pack(">i", len(msg)) + msg


def metadata_v1_request(correlation_id=2, client_id="kwire-testsupport"):
    """Metadata v1 with a null topic array (= all topics)."""
    cid = client_id.encode()
    msg = struct.pack(">hhih", METADATA, 1, correlation_id, len(cid)) + cid + struct.pack(">i", -1)
    return struct.pack(">i", len(msg)) + msg


def _recv_exact(sock, n):
    chunks = []
    while n:
        c = sock.recv(n)
        if not c:
            raise ConnectionError("connection closed by broker")
        chunks.append(c)
        n -= len(c)
    return b"".join(chunks)


def roundtrip(host, port, frame, timeout=5.0):
    """Send one frame, return the response payload (after the size prefix)."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(frame)
        (size,) = struct.unpack(">i", _recv_exact(s, 4))
        return _recv_exact(s, size)


def parse_api_versions_response(payload, version):
    """Parse an ApiVersions response (header is always v0, KIP-511).

    Returns dict: correlation_id, error_code, apis {key: (min, max)}, throttle_time_ms.
    On error 35 (UNSUPPORTED_VERSION) the broker answers in v0 layout, whatever
    version was asked, so the body is parsed as v0 then.
    """
    (corr,) = struct.unpack_from(">i", payload, 0)
    pos = 4
    (err,) = struct.unpack_from(">h", payload, pos)
    pos += 2
    apis = {}
    flexible = version >= 3 and err != 35
    if flexible:
        n, pos = _read_uvarint(payload, pos)
        n -= 1
    else:
        (n,) = struct.unpack_from(">i", payload, pos)
        pos += 4
    for _ in range(max(n, 0)):
        k, lo, hi = struct.unpack_from(">hhh", payload, pos)
        pos += 6
        if flexible:
            ntag, pos = _read_uvarint(payload, pos)
            for _ in range(ntag):
                _, pos = _read_uvarint(payload, pos)
                size, pos = _read_uvarint(payload, pos)
                pos += size
        apis[k] = (lo, hi)
    throttle = None
    if version >= 1 and err != 35 and pos + 4 <= len(payload):
        (throttle,) = struct.unpack_from(">i", payload, pos)
        pos += 4
    return {"correlation_id": corr, "error_code": err, "apis": apis,
            "throttle_time_ms": throttle, "body_bytes": len(payload) - 4}


def api_versions(host, port, version=0, timeout=5.0):
    payload = roundtrip(host, port, api_versions_request(version), timeout)
    return parse_api_versions_response(payload, version)


def metadata_v1_brokers(host, port, timeout=5.0):
    """Return (broker count, controller id) from a Metadata v1 response."""
    p = roundtrip(host, port, metadata_v1_request(), timeout)
    pos = 4  # correlation id
    (n,) = struct.unpack_from(">i", p, pos)
    pos += 4
    for _ in range(n):
        pos += 4  # node id
        (hl,) = struct.unpack_from(">h", p, pos)
        pos += 2 + hl + 4  # host, port
        (rl,) = struct.unpack_from(">h", p, pos)
        pos += 2 + max(rl, 0)  # rack (nullable)
    (controller,) = struct.unpack_from(">i", p, pos)
    return n, controller
