"""Move the service address clients connect to: off the old primary's host (where it
can be reached: in a disaster its site may be gone, said in the record), onto the new
primary's host, announced by gratuitous ARP so the segment's neighbours forget the old
host's MAC at once. Needs a segment both sites share (a metro L2 extension); the
address is the plan's, never an address of either host."""

from __future__ import annotations

import ipaddress

from pydantic import BaseModel, ConfigDict, field_validator

from mzops.dr.steps import StepFailed


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str                      # CIDR: 10.20.40.10/24
    device: str = "eth1"              # the interface on the shared segment, the same name on both hosts
    follows: str | None = None        # the database (either side of a pair) whose primary holds it; default: the first pair

    @field_validator("address")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            found = ipaddress.ip_interface(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an address with its prefix (10.20.40.10/24)") from None
        if "/" not in value:
            raise ValueError(f"{value!r}: give the prefix too (10.20.40.10/24)")
        return str(found)

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if not value.replace("-", "").replace(".", "").replace("_", "").isalnum() or len(value) > 15:
            raise ValueError(f"{value!r} is not an interface name")
        return value


# sh -s -- ADDRESS/PREFIX DEVICE: gone from this host (idempotent).
RELEASE = b"""set -eu
ip -o addr show dev "$2" | grep -qF " $1 " || exit 0
ip addr del "$1" dev "$2"
"""

# sh -s -- ADDRESS/PREFIX DEVICE: on this host and announced. arping where installed
# (iputils-arping), else gratuitous ARP requests and replies from Python's raw sockets.
# Announced again for two seconds in the background: a neighbour ignores an update that
# comes within its locktime (1 s) of the last one (arp(7), neigh/locktime).
TAKE = b"""set -eu
addr=${1%/*}
ip link set "$2" up
ip -o addr show dev "$2" | grep -qF " $1 " || ip addr add "$1" dev "$2"
if command -v arping >/dev/null 2>&1; then
  arping -q -U -c 1 -I "$2" "$addr" || true
  (arping -q -U -c 4 -w 3 -I "$2" "$addr" >/dev/null 2>&1 &)
else
  cat > /run/mzops-garp.py <<'PY'
import socket, sys, time
dev, ip = sys.argv[1], socket.inet_aton(sys.argv[2])
mac = bytes.fromhex(open(f"/sys/class/net/{dev}/address").read().strip().replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((dev, 0))
head = b"\\xff" * 6 + mac + b"\\x08\\x06\\x00\\x01\\x08\\x00\\x06\\x04"
frames = [head + op + mac + ip + b"\\x00" * 6 + ip for op in (b"\\x00\\x01", b"\\x00\\x02")]
for n in range(int(sys.argv[3])):
    for frame in frames:
        s.send(frame)
    time.sleep(0.5)
PY
  python3 /run/mzops-garp.py "$2" "$addr" 1
  (python3 /run/mzops-garp.py "$2" "$addr" 5 >/dev/null 2>&1 &)
fi
"""


def run(mission, step) -> str:
    from mzops.dr.mission import DISASTER
    params = step.params
    said = []
    links = [link for link in mission.links if params.follows in (None, link.pair.primary, link.pair.standby)]
    if not links:
        raise StepFailed(f"follows: {params.follows!r} is in no pair of this plan")
    for link in links[:1]:
        source, target = link.source, link.target
        if mission.lost(source):
            said.append(f"{params.address} not removed from {source.server.name} (unreachable: its site is fenced)")
            done = None
        else:
            done = mission.run_script(source, RELEASE, [params.address, params.device],
                                      timeout=min(mission.remaining(), 20))
        if done is not None and done.rc != 0:
            if mission.mode != DISASTER:
                raise mission.fail(source, done, f"{params.address} could not be removed")
            said.append(f"{params.address} not removed from {source.server.name} (unreachable: its site is fenced)")
        taken = mission.run_script(target, TAKE, [params.address, params.device])
        if taken.rc != 0:
            raise mission.fail(target, taken, f"{params.address} could not be taken")
        said.append(f"{params.address} on {target.server.name} ({params.device}), announced")
    return "; ".join(said)
