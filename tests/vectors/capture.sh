#!/usr/bin/env bash
# Regenerates the second-implementation vectors in this directory:
# runs BIRD (two sessions: 4-octet AS, and `enable as4 off`) against GoBGP
# over loopback (127.0.0.2 -> 127.0.0.3:17903, 127.0.0.4 -> 127.0.0.5:17903), captures with tshark on
# lo, and writes every BGP message each side sent, one hex line per message.
# Bounded in time; all processes it starts are stopped on exit. Run as root.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
TMP="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

cat >"$TMP/bird.conf" <<'CONF'
router id 127.0.0.2;
protocol device {}
protocol static s4 {
  ipv4;
  route 10.10.0.0/16 blackhole { bgp_community.add((65001,100)); bgp_large_community.add((65001,1,2)); bgp_med = 50; };
  route 10.20.0.0/24 blackhole { bgp_ext_community.add((rt, 65001, 7)); };
  route 10.30.0.0/22 blackhole { bgp_path.prepend(4200000001); bgp_path.prepend(65010); };
  route 10.40.0.0/23 blackhole;
  route 192.0.2.128/25 blackhole { bgp_origin = ORIGIN_INCOMPLETE; };
}
protocol static s6 {
  ipv6;
  route 2001:db8:1::/48 blackhole;
  route 2001:db8:2::/64 blackhole { bgp_community.add((65001,200)); bgp_large_community.add((4200000001,5,6)); };
}
template bgp peer {
  hold time 30;
  connect retry time 1;
  multihop;
  ipv4 { import all; export all; next hop self; };
  ipv6 { import all; export all; next hop address 2001:db8::2; };
}
protocol bgp g1 from peer {
  local 127.0.0.2 as 65001;
  neighbor 127.0.0.3 port 17903 as 4200000002;
}
protocol bgp g2 from peer {
  local 127.0.0.4 as 65001;
  neighbor 127.0.0.5 port 17903 as 65002;
  enable as4 off;
}
CONF

cat >"$TMP/gobgp.toml" <<'CONF'
[global.config]
  as = 4200000002
  router-id = "127.0.0.3"
  port = 17903
  local-address-list = ["127.0.0.3", "127.0.0.5"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "127.0.0.2"
    peer-as = 65001
  [neighbors.transport.config]
    passive-mode = true
    local-address = "127.0.0.3"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "127.0.0.4"
    peer-as = 65001
    local-as = 65002
  [neighbors.transport.config]
    passive-mode = true
    local-address = "127.0.0.5"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
CONF

ip addr show lo | grep -q 127.0.0.2 || true
tshark -i lo -f "tcp port 17903" -w "$TMP/cap.pcapng" -q >"$TMP/tshark.log" 2>&1 &
PIDS+=($!)
sleep 2
gobgpd -f "$TMP/gobgp.toml" --api-hosts 127.0.0.1:50099 -l warn >"$TMP/gobgpd.log" 2>&1 &
PIDS+=($!)
sleep 1
bird -f -c "$TMP/bird.conf" -s "$TMP/bird.ctl" -P "$TMP/bird.pid" >"$TMP/bird.log" 2>&1 &
PIDS+=($!)
G="gobgp -u 127.0.0.1 -p 50099"
for _ in $(seq 1 30); do
  if [ "$($G neighbor | grep -c Establ)" = 2 ]; then break; fi
  sleep 1
done
$G neighbor
$G global rib add -a ipv4 10.99.0.0/24 nexthop 127.0.0.3 community 65002:1 large-community 4200000002:1:1 med 100
$G global rib add -a ipv4 10.98.0.0/16 nexthop 127.0.0.3 aspath 65020,4200000099 origin egp
$G global rib add -a ipv6 2001:db8:99::/48 nexthop 2001:db8::3 community 65002:2
sleep 3
$G global rib del -a ipv4 10.99.0.0/24
$G global rib del -a ipv6 2001:db8:99::/48
sleep 3
birdc -s "$TMP/bird.ctl" show route all >"$TMP/bird-routes.txt" || true; cat "$TMP/bird.log"; grep 127.0.0.4 "$TMP/gobgpd.log" | tail -5; birdc -s "$TMP/bird.ctl" show protocols all g2 | head -20
$G neighbor 127.0.0.2 shutdown --reason "maintenance" || true
sleep 2
birdc -s "$TMP/bird.ctl" disable g2 \"bird going down\" || true
sleep 2
kill "${PIDS[0]}"
sleep 1

tshark -r "$TMP/cap.pcapng" -Y "tcp.len>0" -T fields -e ip.src -e tcp.srcport -e ip.dst -e tcp.dstport -e tcp.seq_raw -e tcp.payload \
  >"$TMP/segments.tsv"
python3 - "$TMP/segments.tsv" "$HERE" <<'PY'
import sys, collections
seg_file, out_dir = sys.argv[1], sys.argv[2]
streams = collections.OrderedDict()
seen = set()
for line in open(seg_file):
    src, sport, dst, dport, seq, payload = line.rstrip("\n").split("\t")
    key = (src, sport, dst, dport)
    if (key, seq) in seen:
        continue  # retransmission
    seen.add((key, seq))
    streams.setdefault(key, bytearray()).extend(bytes.fromhex(payload.replace(":", "")))
names = {"127.0.0.2": ("bird", "as4"), "127.0.0.4": ("bird", "as2")}
files = {}
for (src, sport, dst, dport), data in streams.items():
    if src in ("127.0.0.3", "127.0.0.5"):
        who, mode = "gobgp", names[dst][1]
    else:
        who, mode = names[src]
    fname = f"{who}_{mode}.hex"
    out = files.setdefault(fname, [])
    i = 0
    while i + 19 <= len(data):
        n = int.from_bytes(data[i + 16:i + 18], "big")
        out.append(data[i:i + n].hex())
        i += n
notes = {
    "bird": "BIRD 2.0.12 (AS 65001)",
    "gobgp": "GoBGP 3.10 gobgpd (AS 4200000002; local-as 65002 toward the 2-octet session)",
}
for fname, msgs in files.items():
    who, mode = fname[:-4].split("_")
    with open(f"{out_dir}/{fname}", "w") as f:
        f.write(f"# Sent by {notes[who]} on a session with "
                + ("4-octet AS negotiated" if mode == "as4" else "BIRD `enable as4 off` (2-octet AS, AS4_PATH)")
                + ".\n# Captured on lo with tshark by tests/vectors/capture.sh; one BGP message per line.\n")
        for m in msgs:
            f.write(m + "\n")
    print(fname, len(msgs), "messages")
PY
