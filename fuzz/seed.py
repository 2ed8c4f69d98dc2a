#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ (python3, stdlib only).

Deterministic: the same sources give the same files. Sources:
  - tests/vectors.json: the shared conformance vectors (inputs and expected
    events); inputs longer than MAX_INPUT bytes are truncated;
  - the byte-string literals (b"...") that look like event streams in the
    decoder tests (tests/rules.rs, tests/limits.rs, tests/adapters_tokio.rs,
    codec/src/field_decoder.rs, codec/src/field.rs);
  - a short list of hostile values for the encoder targets (below).

Every file written is named `seed-*`; old `seed-*` files are removed first,
so other files in the corpus directories (inputs the fuzzer found and that
were merged in on purpose) are left alone.

The header layouts are documented in testkit/src/lib.rs; keep them in sync.

Usage: python3 fuzz/seed.py   (from anywhere)
"""

import base64
import hashlib
import json
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
MAX_INPUT = 4096

UNBOUNDED = bytes([0xF0, 0xF0, 0xF0])
# (max_line_len, max_event_len, max_data_lines) header bytes that bite on
# the vectors: see read_limits in testkit/src/lib.rs.
SMALL_LIMITS = [bytes([16, 64, 2]), bytes([40, 200, 5]), bytes([7, 30, 1]), bytes([0, 0, 0])]

# flag bits of the encoder targets' frames (testkit/src/lib.rs)
HAS_TYPE, HAS_ID, HAS_RETRY, HAS_COMMENT, HAS_DATA, OWNED, KEEP_ALIVE = (1 << i for i in range(7))

TEST_SOURCES = [
    "tests/rules.rs",
    "tests/limits.rs",
    "tests/adapters_tokio.rs",
    "codec/src/field_decoder.rs",
    "codec/src/field.rs",
]

# Values that try to break out of their line, or that sit on a rule's edge.
HOSTILE = [
    b"",
    b" ",
    b"plain",
    b"7\nevent: evil",
    b"a\rdata: injected",
    b"x\r\n\r\ndata: second",
    b"\n\n",
    b"\r",
    b"a\0b",
    b"\0",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b":not a comment",
    b"data: x",
    b"  two leading spaces",
    b"message",
    "caf\u00e9 \u2028 \U0001F600".encode(),
]


def slug(text):
    s = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return s[:60] or "x"


def unescape_rust_bytes(body):
    """The bytes of a Rust byte-string literal's body (between the quotes)."""
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        e = body[i + 1]
        i += 2
        if e == "n":
            out.append(10)
        elif e == "r":
            out.append(13)
        elif e == "t":
            out.append(9)
        elif e == "0":
            out.append(0)
        elif e in "\\\"'":
            out += e.encode()
        elif e == "x":
            out.append(int(body[i : i + 2], 16))
            i += 2
        elif e == "\n":  # line continuation: skip leading whitespace
            while i < len(body) and body[i] in " \t\n\r":
                i += 1
        else:
            raise ValueError("unknown escape \\" + e)
    return bytes(out)


def test_streams():
    """Byte-string literals from the tests that look like event streams."""
    seen = set()
    found = []
    pattern = re.compile(r'(?<![A-Za-z0-9_])b"((?:[^"\\]|\\.|\\\n)*)"', re.S)
    for rel in TEST_SOURCES:
        with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
            text = f.read()
        for n, m in enumerate(pattern.finditer(text)):
            data = unescape_rust_bytes(m.group(1))
            if len(data) < 2 or data in seen:
                continue
            if not (b"\n" in data or b"\r" in data or b":" in data):
                continue
            seen.add(data)
            found.append((f"{slug(os.path.basename(rel))}-{n:03}", data[:MAX_INPUT]))
    return found


def vectors():
    with open(os.path.join(ROOT, "tests", "vectors.json"), encoding="utf-8") as f:
        cases = json.load(f)["cases"]
    out = []
    for c in cases:
        data = base64.b64decode(c["input_b64"])
        out.append((c["name"], data[:MAX_INPUT], c))
    return out


def value(b):
    """A length-prefixed value (at most 255 bytes)."""
    b = b[:255]
    return bytes([len(b)]) + b


def frame(flags, comment=b"", event_type=b"", id_=b"", retry=0, data=b""):
    """One encode_no_injection frame (length-prefixed data)."""
    out = bytes([flags])
    if flags & KEEP_ALIVE:
        return out
    if flags & HAS_COMMENT:
        out += value(comment)
    if flags & HAS_TYPE:
        out += value(event_type)
    if flags & HAS_ID:
        out += value(id_)
    if flags & HAS_RETRY:
        out += retry.to_bytes(8, "little")
    if flags & HAS_DATA:
        out += value(data)
    return out


def roundtrip_input(flags, comment=b"", event_type=b"", id_=b"", retry=0, data=b""):
    """One roundtrip input (the data is the rest of the input)."""
    out = bytes([flags])
    if flags & HAS_COMMENT:
        out += value(comment)
    if flags & HAS_TYPE:
        out += value(event_type)
    if flags & HAS_ID:
        out += value(id_)
    if flags & HAS_RETRY:
        out += retry.to_bytes(8, "little")
    return out + data


def line_end_splits(data, limit=16):
    """Chunk lengths that cut just after each CR (CRLF across chunks) and in
    the middle of the first line, as the decode_chunked header wants them."""
    cuts = [i + 1 for i, b in enumerate(data) if b == 13][: limit - 1]
    if not cuts:
        cuts = [len(data) // 2]
    lengths, prev = [], 0
    for c in cuts:
        d = c - prev
        while d > 255 and len(lengths) < limit - 1:
            lengths.append(255)
            d -= 255
        lengths.append(min(d, 255))
        prev = c
    return lengths[:limit]


def chunk_header(lengths):
    return bytes([len(lengths)]) + bytes(lengths)


def build():
    seeds = {t: {} for t in
             ["decode", "decode_chunked", "decode_borrowed", "roundtrip", "encode_no_injection",
              "tokio_codec"]}

    def put(target, name, data):
        seeds[target]["seed-" + name] = data

    streams = [("v-" + slug(name), data) for name, data, _ in vectors()]
    streams += [("t-" + name, data) for name, data in test_streams()]
    modes = [0x00, 0x80 | 1, 0x40 | 7, 0xC0 | 3, 0x80, 0x40 | 2]
    for i, (name, data) in enumerate(streams):
        small = SMALL_LIMITS[i % len(SMALL_LIMITS)]
        put("decode", name, UNBOUNDED + bytes([modes[i % len(modes)]]) + data)
        put("decode", name + ".small", small + bytes([modes[(i + 1) % len(modes)]]) + data)
        put("decode_chunked", name, UNBOUNDED + chunk_header(line_end_splits(data)) + data)
        put("decode_chunked", name + ".small",
            small + chunk_header([1, 2, 3, 0, 5, 8, 13]) + data)
        put("decode_borrowed", name, UNBOUNDED + chunk_header(line_end_splits(data)) + data)
        put("decode_borrowed", name + ".small",
            small + chunk_header([2, 1, 0, 7, 3, 40]) + data)
        put("tokio_codec", name, UNBOUNDED + chunk_header([0] if len(data) < 300 else [6, 0, 13]) + data)
        put("tokio_codec", name + ".small", small + chunk_header([]) + data)

    # Encoder targets: the vectors' expected events, then hostile values.
    for name, _, case in vectors():
        frames = b""
        for j, ev in enumerate(case["events"][:16]):
            ty = ev["type"].encode()
            id_ = ev["id"].encode()
            data = ev["data"].encode()
            flags = HAS_DATA
            if ty != b"message":
                flags |= HAS_TYPE
            if id_:
                flags |= HAS_ID
            if j == 0 and case["retries"]:
                flags |= HAS_RETRY
            if j % 2:
                flags |= OWNED
            retry = case["retries"][0] if case["retries"] else 0
            frames += frame(flags, b"", ty, id_, retry, data)
            if j == 0:
                put("roundtrip", "v-" + slug(name),
                    roundtrip_input(flags & ~OWNED, b"", ty, id_, retry, data[:MAX_INPUT]))
        if case["comments"]:
            frames += frame(HAS_COMMENT, comment=case["comments"][0].encode())
        if frames:
            put("encode_no_injection", "v-" + slug(name), frames)

    all_parts = HAS_TYPE | HAS_ID | HAS_RETRY | HAS_COMMENT | HAS_DATA
    for i, v in enumerate(HOSTILE):
        tag = f"h{i:02}-{slug(v.decode('utf-8', 'replace'))}"
        other = HOSTILE[(i + 5) % len(HOSTILE)]
        put("roundtrip", tag + "-data", roundtrip_input(HAS_DATA, data=v))
        put("roundtrip", tag + "-all",
            roundtrip_input(all_parts, v, v, v, 2**64 - 1 - i, other))
        put("roundtrip", tag + "-id", roundtrip_input(HAS_ID | HAS_DATA, id_=v, data=b"x"))
        put("roundtrip", tag + "-type", roundtrip_input(HAS_TYPE | HAS_DATA, event_type=v, data=b"x"))
        put("roundtrip", tag + "-comment", roundtrip_input(HAS_COMMENT, comment=v))
        put("encode_no_injection", tag,
            frame(all_parts, v, v, v, i, other)
            + frame(HAS_ID | HAS_DATA | OWNED, id_=v, data=v)
            + frame(KEEP_ALIVE)
            + frame(HAS_TYPE | HAS_DATA, event_type=v, data=b"after")
            + frame(HAS_DATA | OWNED, data=b"last"))
    return seeds


def main():
    seeds = build()
    total = 0
    for target, files in seeds.items():
        d = os.path.join(CORPUS, target)
        os.makedirs(d, exist_ok=True)
        for old in os.listdir(d):
            if old.startswith("seed-"):
                os.remove(os.path.join(d, old))
        for name, data in sorted(files.items()):
            # Names stay short and unique even if two slugs collide.
            digest = hashlib.sha1(data).hexdigest()[:8]
            with open(os.path.join(d, f"{name}-{digest}"), "wb") as f:
                f.write(data)
            total += len(data)
        print(f"{target}: {len(files)} seeds")
    print(f"total: {total} bytes")


if __name__ == "__main__":
    main()
