#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into fuzz/corpus/<target>/:
the demo bundle's files in each target's input format, and a few encoded
requests. Run from anywhere; rerun after the demo bundle changes."""

import gzip
import io
import pathlib
import re
import shutil
import struct
import tarfile

FUZZ = pathlib.Path(__file__).resolve().parent
DEMO = FUZZ.parent / "bundles" / "demo"
CORPUS = FUZZ / "corpus"
NAMES = ["bundle.yaml", "plans.yaml", "merchants.yaml", "plan_change.yaml",
         "payment_link.yaml", "charge_funding.yaml", "plan_change_tests.yaml",
         "payment_tests.yaml", "locale_tests.yaml"]
# 2026-12-01T00:00:00Z, the targets' clock.
NOW = 1_795_996_800


def write(target, name, data):
    path = CORPUS / target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def demo(names):
    return [(n, (DEMO / n).read_bytes()) for n in names]


# --- bundle_dir: files separated by `\n#%%\n`, each led by its name line.
def dir_input(files):
    return b"\n#%%\n".join(n.encode() + b"\n" + c for n, c in files)


# --- bundle_archive: a mode byte (even: gzip as is; odd: tar, gzipped by
# the target) and the bytes.
def tar(files):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, content in files:
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = 0
            t.addfile(info, io.BytesIO(content))
    return out.getvalue()


# --- request_convert: a type byte (0 plan change, 1 payment link, 2 charge
# funding), a length byte and that many bytes of `accept-language`, then
# the protobuf message, encoded by hand.
def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(number, value):
    """A field: int as varint, float as double, bytes/str/list-of-fields as
    length-delimited."""
    if isinstance(value, bool) or isinstance(value, int):
        return varint(number << 3) + varint(int(value))
    if isinstance(value, float):
        return varint(number << 3 | 1) + struct.pack("<d", value)
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, list):
        value = b"".join(value)
    return varint(number << 3 | 2) + varint(len(value)) + value


def ts(seconds):
    return [field(1, seconds)]


def entry(k, v):
    return field(1, k) + field(2, v)


def plan_change(frm, to, role, usage, period=None, attrs=None):
    msg = [field(1, "t1"), field(2, frm), field(3, to), field(4, [field(1, role)])]
    msg += [field(5, [entry(k, v)]) for k, v in usage.items()]
    msg += [field(6, [entry(k, v)]) for k, v in (period or {}).items()]
    msg.append(field(7, [field(1, ts(NOW - 86400)), field(2, ts(NOW + 86400 * 20)),
                         field(3, ts(NOW + 86400 * 200)), field(4, 1), field(5, "Asia/Tokyo")]))
    msg += [field(8, [entry(k, v)]) for k, v in (attrs or {}).items()]
    msg += [field(9, ts(NOW)), field(10, True)]
    return b"".join(msg)


def method(mid, kind, status=1, rank=0):
    return field(1, mid) + field(2, kind) + field(3, status) + field(4, rank)


def wallet_fields(merchant, methods, auto):
    out = [field(1, "u1"), field(2, merchant)]
    return out, [method(*m) for m in methods], (
        [field(1, auto[0]), field(2, auto[1]), field(3, auto[2]), field(4, auto[3])] if auto else None)


def payment_link(merchant, methods, auto=None, score=None):
    head, ms, ac = wallet_fields(merchant, methods, auto)
    msg = head + [field(3, m) for m in ms]
    if ac:
        msg.append(field(4, ac))
    if score is not None:
        msg.append(field(5, [field(1, score), field(2, [entry("shortfalls", 1.0)])]))
    msg += [field(7, ts(NOW)), field(8, True)]
    return b"".join(msg)


def charge_funding(merchant, currency, amount, balance, methods, auto=None):
    head, ms, ac = wallet_fields(merchant, methods, auto)
    msg = head + [field(3, [field(1, currency), field(2, amount)]), field(4, balance)]
    msg += [field(5, m) for m in ms]
    if ac:
        msg.append(field(6, ac))
    msg += [field(8, ts(NOW)), field(9, True)]
    return b"".join(msg)


def main():
    if CORPUS.exists():
        shutil.rmtree(CORPUS)

    write("bundle_dir", "demo", dir_input(demo(NAMES)))
    write("bundle_dir", "demo-rules-only", dir_input(demo(NAMES[:6])))
    write("bundle_dir", "plans-only", dir_input(demo(NAMES[:2])))
    write("bundle_dir", "empty", b"")

    raw = tar(demo(NAMES[:6]))
    write("bundle_archive", "demo-tar", b"\x01" + raw)
    write("bundle_archive", "demo-tar-gz", b"\x00" + gzip.compress(raw, mtime=0))
    write("bundle_archive", "nested-tar", b"\x01" + tar([("billing/" + n, c) for n, c in demo(NAMES[:3])]))

    # Every distinct condition of the demo rules, with fact bytes for each
    # decision type (the first fact byte picks it: 0-1 plan change, 2 link,
    # 3 funding).
    kinds = {"plan_change.yaml": [0, 1], "payment_link.yaml": [2], "charge_funding.yaml": [3]}
    n = 0
    for name, picks in kinds.items():
        text = (DEMO / name).read_text()
        conds = re.findall(r"^\s+when: (.+)$", text, re.M)
        for i, cond in enumerate(dict.fromkeys(conds)):
            cond = cond.strip()
            if cond.startswith('"') and cond.endswith('"'):
                cond = cond[1:-1].replace('\\"', '"')
            kind = picks[i % len(picks)]
            facts = bytes([kind]) + bytes((i * 37 + j * 11) % 256 for j in range(48))
            write("cel_equivalence", f"{name.split('.')[0]}-{i:02}", cond.encode() + b"\0" + facts)
            n += 1
    write("cel_equivalence", "template", b"size(request.attributes) >= 0\n{request.tenant_id} {1 + 2} {'a' + 'b'}\0\x00" + bytes(range(48)))

    card, bank, balance = ("c1", 2), ("b1", 4), ("w", 1)
    write("request_convert", "plan-upgrade", b"\x00\x00" + plan_change("free", "premium", 1, {"users": 3.0}))
    write("request_convert", "plan-downgrade-reseller", b"\x00\x12ja;q=0.9, en;q=0.8" + plan_change(
        "enterprise", "standard", 2, {"users": 40.0, "storage_gb": 12.5}, {"api_calls": 90000.0}, {"channel": "web"}))
    write("request_convert", "link-two-methods", b"\x01\x02ja" + payment_link(
        "video-stream", [balance, card], score=80))
    write("request_convert", "link-auto-charge", b"\x01\x00" + payment_link(
        "ride-share", [balance, bank], auto=(True, "b1", 1000, 3000), score=55))
    write("request_convert", "funding-fallback", b"\x02\x02en" + charge_funding(
        "video-stream", "JPY", 5000, 1200, [balance, (*card, 1, 1)]))
    write("request_convert", "funding-auto-charge", b"\x02\x00" + charge_funding(
        "ride-share", "JPY", 9000, 100, [balance, bank], auto=(True, "b1", 500, 10000)))


if __name__ == "__main__":
    main()
