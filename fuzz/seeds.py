#!/usr/bin/env python3
"""Writes the seed inputs of the `session` and `config` fuzz targets into
fuzz/corpus/session/ and fuzz/corpus/config/ (names seed-*; existing
corpus entries are kept), and the dictionary fuzz/dict/config.dict.

session: `[cfg][ctl_len][ctl...][stream]` (see fuzz_targets/session.rs);
the streams are the peer sides captured from BIRD and GoBGP in
tests/vectors/*.hex, and a hand-encoded OPEN + KEEPALIVE + UPDATEs +
ROUTE-REFRESH + End-of-RIB + NOTIFICATION stream from AS 64500.
config: the shipped configs (see fuzz_targets/config.rs for the shapes).

Run from anywhere: python3 fuzz/seeds.py
"""
import hashlib
import pathlib
import re
import struct

FUZZ = pathlib.Path(__file__).resolve().parent
ROOT = FUZZ.parent


def write(target, name, data):
    d = FUZZ / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    (d / f"seed-{name}").write_bytes(data)


# --- session -----------------------------------------------------------------

def msg(kind, body=b""):
    return b"\xff" * 16 + struct.pack(">HB", 19 + len(body), kind) + body


def cap(code, value=b""):
    return bytes([code, len(value)]) + value


def open_msg(my_as, hold, bgp_id, caps):
    params = b"".join(bytes([2, len(c)]) + c for c in caps)
    return msg(1, bytes([4]) + struct.pack(">HH", my_as, hold) + bytes(bgp_id)
               + bytes([len(params)]) + params)


def attr(flags, code, value):
    if len(value) > 255:
        return bytes([flags | 0x10, code]) + struct.pack(">H", len(value)) + value
    return bytes([flags, code, len(value)]) + value


def update(withdrawn=b"", attrs=b"", nlri=b""):
    return msg(2, struct.pack(">H", len(withdrawn)) + withdrawn
               + struct.pack(">H", len(attrs)) + attrs + nlri)


KEEPALIVE = msg(4)
AS = 64500
OPEN_64500 = open_msg(AS, 90, [198, 51, 100, 2], [
    cap(1, struct.pack(">HBB", 1, 0, 1)),           # MP IPv4 unicast
    cap(1, struct.pack(">HBB", 2, 0, 1)),           # MP IPv6 unicast
    cap(2),                                         # route refresh
    cap(70),                                        # enhanced route refresh
    cap(6),                                         # extended message
    cap(65, struct.pack(">I", AS)),                 # 4-octet AS
    cap(64, struct.pack(">H", 120) + struct.pack(">HBB", 1, 1, 0x80)
        + struct.pack(">HBB", 2, 1, 0x80)),         # graceful restart
])
ORIGIN = attr(0x40, 1, b"\x00")
AS_PATH = attr(0x40, 2, bytes([2, 2]) + struct.pack(">II", AS, 65010))
NEXT_HOP = attr(0x40, 3, bytes([198, 51, 100, 2]))
COMMS = attr(0xC0, 8, struct.pack(">HH", AS, 100) + struct.pack(">HH", 65535, 65281))
LARGE = attr(0xC0, 32, struct.pack(">III", AS, 1, 2))
MED = attr(0x80, 4, struct.pack(">I", 50))
MP_REACH_V6 = attr(0x80, 14, struct.pack(">HBB", 2, 1, 16)
                   + bytes.fromhex("20010db8000000000000000000000002") + b"\x00"
                   + bytes([48]) + bytes.fromhex("20010db80001"))
MP_UNREACH_V6 = attr(0x80, 15, struct.pack(">HB", 2, 1) + bytes([48]) + bytes.fromhex("20010db80001"))
STREAM_64500 = b"".join([
    OPEN_64500,
    KEEPALIVE,
    update(attrs=ORIGIN + AS_PATH + NEXT_HOP + MED + COMMS + LARGE,
           nlri=bytes([24, 203, 0, 113]) + bytes([22, 198, 18, 0])),
    update(attrs=ORIGIN + AS_PATH + MP_REACH_V6),
    update(withdrawn=bytes([24, 203, 0, 113])),
    update(attrs=MP_UNREACH_V6),
    update(),                                       # End-of-RIB IPv4
    msg(5, struct.pack(">HBB", 1, 0, 1)),           # ROUTE-REFRESH IPv4 unicast
    msg(5, struct.pack(">HBB", 2, 1, 1)),           # BoRR IPv6
    msg(5, struct.pack(">HBB", 2, 2, 1)),           # EoRR IPv6
    KEEPALIVE,
    msg(3, bytes([6, 2, 11]) + b"maintenance"),     # Cease / Admin Shutdown
])


def vector(name):
    text = (ROOT / "tests" / "vectors" / name).read_text()
    return b"".join(bytes.fromhex(l.strip()) for l in text.splitlines()
                    if l.strip() and not l.startswith("#"))


def session_seed(name, cfg, more, ctl, stream):
    assert 1 <= len(ctl) <= 16
    write("session", name, bytes([cfg, more | (len(ctl) - 1)]) + bytes(ctl) + stream)


ALL, MSG, ONE, SMALL, MID, PASS35, PASS250, OTHER = 7, 6, 0, 2, 5, 0x10, 0x18, 0x20
streams = {
    # name: (stream, index of the peer's AS in session.rs REMOTE_AS)
    "bird-as4": (vector("bird_as4.hex"), 1),
    "bird-as2": (vector("bird_as2.hex"), 1),
    "bird-bad-peer-as": (vector("bird_bad_peer_as.hex"), 1),
    "gobgp-as4": (vector("gobgp_as4.hex"), 2),
    "gobgp-as2": (vector("gobgp_as2.hex"), 3),
    "as64500": (STREAM_64500, 0),
}
for name, (stream, idx) in streams.items():
    for passive in (0, 1):
        cfg = passive | (idx << 1)
        mode = "passive" if passive else "active"
        session_seed(f"{name}-{mode}-whole", cfg, 0, [ALL], stream)
        session_seed(f"{name}-{mode}-pieces", cfg, 0,
                     [ONE, SMALL, MID, SMALL | PASS35, 3, 4, MID | PASS35], stream)
    # Collision: the OPEN on the session's connection, then on a second
    # one (resolved in OpenConfirm), KEEPALIVE and the rest on the winner.
    for passive in (0, 1):
        session_seed(f"{name}-collision-{passive}", passive | (idx << 1), 0,
                     [MSG, MSG | OTHER, MSG, ALL],
                     stream[:int.from_bytes(stream[16:18], "big")] + stream)
    # Messages one by one, alternating between two connections.
    session_seed(f"{name}-alternate", idx << 1, 0, [MSG, MSG | OTHER], stream)
    # Time passes (keepalives, hold timer) between reads; the session restarts.
    session_seed(f"{name}-slow", 1 | (idx << 1), 0, [MID, MID | PASS35, MID | PASS250], stream)
# Options: ADD-PATH receive, roles, hold time 0, no GR, IPv4 only, iBGP.
session_seed("as64500-addpath", 0x20, 0, [ALL], STREAM_64500)
session_seed("as64500-role", 0x40, 0, [ALL], STREAM_64500)
session_seed("as64500-strict-role", 0xC0, 0, [ALL], STREAM_64500)
session_seed("as64500-hold0", 0x10, 0, [ALL], STREAM_64500)
session_seed("as64500-nogr-v4", 0x01, 0x30, [ALL], STREAM_64500)
session_seed("as64500-ibgp", 0x08, 0, [ALL], STREAM_64500)
# Events from outside the stream: peer close, BFD, teardown / stop / start.
session_seed("as64500-events", 0x01, 0, [MID | 0x40, MID | 0x80, MID | 0xC0, MID | 0x80, ALL | 0xC0],
             STREAM_64500 + STREAM_64500)
# Decode errors: a bad marker after the OPEN, a bad length, an unknown type.
session_seed("as64500-bad-marker", 0, 0, [ALL], OPEN_64500 + KEEPALIVE + b"\x00" * 19)
session_seed("as64500-bad-type", 0, 0, [ALL], OPEN_64500 + KEEPALIVE + b"\xff" * 16 + b"\x00\x13\x09")
session_seed("as64500-bad-len", 0, 0, [ALL], OPEN_64500 + b"\xff" * 16 + b"\x00\x12\x04")
session_seed("as64500-bad-update", 0, 0, [ALL],
             OPEN_64500 + KEEPALIVE + update(attrs=ORIGIN + ORIGIN + NEXT_HOP, nlri=b"\x18\xcb\x00\x71"))

# --- config ------------------------------------------------------------------

main = (ROOT / "config" / "coldpotato.toml").read_bytes()
policy = (ROOT / "config" / "policy.toml").read_bytes()
lab = ((ROOT / "src" / "lab" / "lab.toml").read_bytes()
       .replace(b"@BGP_PORT@", b"17900").replace(b"@API_PORT@", b"17901"))
write("config", "coldpotato", main)
write("config", "coldpotato-with-policy", main + b"\0" + policy)
write("config", "coldpotato-inline-policy",
      main.replace(b'policy = "policy.toml"', b"", 1) + b"\n" + policy)
write("config", "coldpotato-missing-policy", main.replace(b'"policy.toml"', b'"missing.toml"', 1))
write("config", "lab", lab)
write("config", "policy-as-main", policy)
write("config", "minimal",
      b'[router]\nasn = 8075\nrouter_id = "192.0.2.1"\nlocation = "a"\n')
for base in range(3):
    write("config", f"edit-{base}", bytes([1, base]))
    write("config", f"edit-{base}-ops", bytes([1, base, 3, 5, 9, 3, 40, 14, 0, 11, 0, 2, 3, 90]))

# A dictionary of the config's keys and enum values.
keys = set()
for f in ("model.rs", "policy_model.rs"):
    src = (ROOT / "src" / "config" / f).read_text()
    keys.update(re.findall(r"pub (\w+):", src))
    keys.update(re.findall(r'rename = "(\w+)"', src))
values = ["peering-service", "transit", "internal", "ipv4", "ipv6", "teardown", "warn",
          "refuse", "next", "internet", "provider", "customer", "peer", "rs", "rs-client", "accept", "reject",
          "none", "igp", "egp", "incomplete"]
tokens = sorted(keys - {"warnings", "policies", "policy_file"})
d = FUZZ / "dict"
d.mkdir(exist_ok=True)
lines = [f'"{k} = "' for k in tokens] + [f'"\\"{v}\\""' for v in values]
lines += ['"[router]"', '"[api]"', '"[rules]"', '"[rpki]"', '"[[neighbors]]"',
          '"[[locations]]"', '"[[registered_prefixes]]"', '"[[originate]]"',
          '"[policy."', '"[[policy."', '".rule]]"', '"policy = \\"policy.toml\\""']
(d / "config.dict").write_text("# Keys and values of the coldpotato config (fuzz/seeds.py).\n"
                               + "\n".join(lines) + "\n")
print("seeds written:",
      len(list((FUZZ / "corpus" / "session").glob("seed-*"))), "session,",
      len(list((FUZZ / "corpus" / "config").glob("seed-*"))), "config")
