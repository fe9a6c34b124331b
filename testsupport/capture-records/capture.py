#!/usr/bin/env python3
"""Re-captures tests/fixtures/records/*.bin: record batches written by
librdkafka (through kcat) to librdkafka's mock cluster, fetched back raw.

Needs: gcc, kcat and librdkafka-dev (Debian: apt-get install -y gcc kcat
librdkafka-dev). Optionally LIBRDKAFKA_DIR=<dir with librdkafka.so.1> runs
kcat against another librdkafka build (e.g. 2.16.0 from the
confluent-kafka wheel), recorded in the fixture names via --tag.

Usage: python3 capture.py [--out DIR] [--tag NAME]
"""
import argparse, os, socket, struct, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
# (key, value) lines sent to kcat with -K '|'; an empty value with -Z is NULL.
LINES = [b"k1|hello", b"k2|world", b"|", b"k4|" + b"x" * 300]
HEADERS = ["h1=v1", "h2="]


def build_mock(tmp):
    exe = os.path.join(tmp, "mock")
    subprocess.check_call(["gcc", "-O1", os.path.join(HERE, "mock.c"), "-o", exe, "-lrdkafka"])
    return exe


def kstr(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def fetch_raw(bootstrap, topic):
    """Fetch v4 of partition 0 from offset 0; returns the records bytes."""
    host, port = bootstrap.split(",")[0].rsplit(":", 1)
    body = struct.pack(">iiiib", -1, 500, 1, 16 << 20, 0)
    body += struct.pack(">i", 1) + kstr(topic) + struct.pack(">i", 1)
    body += struct.pack(">iqi", 0, 0, 16 << 20)
    req = struct.pack(">hhi", 1, 4, 7) + kstr("kwire-capture") + body
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(struct.pack(">i", len(req)) + req)
        n = struct.unpack(">i", recvn(s, 4))[0]
        resp = recvn(s, n)
    pos = 4 + 4  # correlation id, throttle
    (ntopics,) = struct.unpack_from(">i", resp, pos); pos += 4
    assert ntopics == 1
    (tl,) = struct.unpack_from(">h", resp, pos); pos += 2 + tl
    (nparts,) = struct.unpack_from(">i", resp, pos); pos += 4
    assert nparts == 1
    part, err, hw, lso = struct.unpack_from(">ihqq", resp, pos); pos += 22
    assert err == 0, f"fetch error {err}"
    (naborted,) = struct.unpack_from(">i", resp, pos); pos += 4
    pos += max(naborted, 0) * 16
    (rl,) = struct.unpack_from(">i", resp, pos); pos += 4
    return resp[pos:pos + rl]


def recvn(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise EOFError("connection closed")
        out += chunk
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "tests", "fixtures", "records"))
    ap.add_argument("--tag", default="rdkafka-2.0.2")
    a = ap.parse_args()
    env = dict(os.environ)
    if os.environ.get("LIBRDKAFKA_DIR"):
        env["LD_LIBRARY_PATH"] = os.environ["LIBRDKAFKA_DIR"]
    cases = [(c, False) for c in CODECS] + [("lz4", True)]
    topics = [f"fx-{c}{'-idem' if idem else ''}" for c, idem in cases]
    with tempfile.TemporaryDirectory() as tmp:
        mock = subprocess.Popen([build_mock(tmp)] + topics, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            bootstrap = mock.stdout.readline().decode().strip()
            for (codec, idem), topic in zip(cases, topics):
                cmd = ["kcat", "-b", bootstrap, "-P", "-t", topic, "-p", "0", "-K", "|", "-Z",
                       "-z", codec, "-X", "linger.ms=200"]
                for h in HEADERS:
                    cmd += ["-H", h]
                if idem:
                    cmd += ["-X", "enable.idempotence=true"]
                subprocess.run(cmd, input=b"\n".join(LINES) + b"\n", check=True, env=env)
                raw = fetch_raw(bootstrap, topic)
                name = os.path.join(a.out, f"{a.tag}-{codec}{'-idempotent' if idem else ''}.bin")
                os.makedirs(a.out, exist_ok=True)
                with open(name, "wb") as f:
                    f.write(raw)
                print(f"{name}: {len(raw)} bytes")
        finally:
            mock.stdin.close()
            mock.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
