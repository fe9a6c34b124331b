"""What every command prints: one JSON object, or with --env one KAFKA_<PATH>=value line per scalar.

The --env form is for callers without a JSON parser (kwire's Rust tests read it line by line):
nested keys join with '_' and are upper-cased, anything not [A-Z0-9] becomes '_'; a list of objects
is keyed by each object's "id" (nodes: KAFKA_NODES_2_PORT) or "name" (SASL listeners:
KAFKA_SASL_LISTENERS_SASL_PLAIN_PORT), else by index; a list of scalars is comma-joined; null is empty.
"""

import json
import re
import sys

_UNSAFE = re.compile(r"[^A-Z0-9]")


def _key(parts):
    return _UNSAFE.sub("_", "_".join(str(p) for p in parts).upper())


def flatten(obj, prefix=("KAFKA",)):
    out = []
    if isinstance(obj, dict):
        for k in sorted(obj):
            out += flatten(obj[k], prefix + (k,))
    elif isinstance(obj, list):
        if obj and all(isinstance(x, dict) for x in obj):
            for i, x in enumerate(obj):
                tag = x.get("id", x.get("name", i))
                out += flatten(x, prefix + (tag,))
        else:
            out.append((_key(prefix), ",".join("" if x is None else str(x) for x in obj)))
    elif isinstance(obj, bool):
        out.append((_key(prefix), "true" if obj else "false"))
    else:
        out.append((_key(prefix), "" if obj is None else str(obj)))
    return out


def emit(obj, env=False):
    if env:
        for k, v in flatten(obj):
            # values never span lines: a broker's text could otherwise forge a KEY= line
            print("%s=%s" % (k, v.replace("\n", "\\n").replace("\r", "\\r")))
    else:
        print(json.dumps(obj, sort_keys=True))
    sys.stdout.flush()
