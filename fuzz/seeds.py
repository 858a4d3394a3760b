#!/usr/bin/python3
"""Makes fuzz seeds from the public traces in ../shared/corpus.

Usage: seeds.py CORPUS OUT

Writes OUT/<target>/<n> in each target's input format:
  pcap      small capture files as they are
  decode    a selector byte (link type 0: Ethernet) and one frame
  pipeline  frames as (2-byte length, 1-byte time step, bytes)
  http, dns, redis, tls
            a selector byte, then the conversation of one flow on the
            protocol's port as chunks (control: bit 0 the direction;
            length / 4; bytes), as fuzz_targets/conv.rs reads them
  stream    none (its input is not a capture)
Ethernet and loopback pcap files are read (not pcapng); seeds stay under 4 KiB.
"""

import os
import struct
import sys

CORPUS, OUT = sys.argv[1], sys.argv[2]
MAX_SEED = 4096
PER_TARGET = 64
PORTS = {"http": {80, 8080}, "dns": {53}, "redis": {6379}, "mysql": {3306}, "pgsql": {5432}, "tls": {443}}


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = data[:4]
    if magic == b"\xd4\xc3\xb2\xa1" or magic == b"\x4d\x3c\xb2\xa1":
        e = "<"
    elif magic == b"\xa1\xb2\xc3\xd4" or magic == b"\xa1\xb2\x3c\x4d":
        e = ">"
    else:
        return
    link = struct.unpack(e + "I", data[20:24])[0]
    if link not in (0, 1, 108):  # BSD loopback, Ethernet, OpenBSD loopback
        return
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        if incl > 65535 or off + incl > len(data):
            return
        frame = data[off:off + incl]
        # Loopback frames get an Ethernet header the decode target reads.
        if link != 1:
            ip = frame[4:]
            et = b"\x86\xdd" if ip[:1] and ip[0] >> 4 == 6 else b"\x08\x00"
            frame = b"\x00" * 12 + et + ip
        yield frame
        off += incl


def transport(frame):
    """(proto, sport, dport, payload) of an Ethernet IPv4/IPv6 TCP/UDP frame."""
    if len(frame) < 14:
        return None
    et, off = struct.unpack("!H", frame[12:14])[0], 14
    while et == 0x8100 and len(frame) >= off + 4:
        et, off = struct.unpack("!H", frame[off + 2:off + 4])[0], off + 4
    if et == 0x0800 and len(frame) >= off + 20:
        ihl = (frame[off] & 15) * 4
        proto, off = frame[off + 9], off + ihl
    elif et == 0x86DD and len(frame) >= off + 40:
        proto, off = frame[off + 6], off + 40
    else:
        return None
    if proto == 6 and len(frame) >= off + 20:
        sp, dp = struct.unpack("!HH", frame[off:off + 4])
        return 6, sp, dp, frame[off + (frame[off + 12] >> 4) * 4:]
    if proto == 17 and len(frame) >= off + 8:
        sp, dp = struct.unpack("!HH", frame[off:off + 4])
        return 17, sp, dp, frame[off + 8:]
    return None


def write(target, n, blob):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "%04d" % n), "wb") as f:
        f.write(blob[:MAX_SEED])


def main():
    pcaps = []
    for root, _, files in os.walk(CORPUS):
        for name in sorted(files):
            if name.endswith(".pcap"):
                pcaps.append(os.path.join(root, name))
    pcaps.sort()
    count = {}

    def take(target):
        count[target] = count.get(target, 0) + 1
        return count[target] <= PER_TARGET

    for path in pcaps:
        fs = list(frames(path))
        if not fs:
            continue
        if os.path.getsize(path) <= MAX_SEED and take("pcap"):
            write("pcap", count["pcap"], open(path, "rb").read())
        if take("decode"):
            write("decode", count["decode"], b"\x00" + fs[0])
        if take("pipeline"):
            blob = b"".join(struct.pack("<HB", min(len(x), 65535), 1) + x for x in fs[:32])
            write("pipeline", count["pipeline"], blob)
        for target, ports in PORTS.items():
            chunks = b""
            for fr in fs:
                t = transport(fr)
                if t is None or not t[3]:
                    continue
                proto, sp, dp, payload = t
                if dp in ports:
                    d = 0
                elif sp in ports:
                    d = 1
                else:
                    continue
                payload = payload[: 255 * 4]
                pad = (-len(payload)) % 4
                chunks += bytes([d, (len(payload) + pad) // 4]) + payload + b"\r\n\r\n"[:pad]
            if chunks and take(target):
                # dns: selector 0 is UDP (conv.rs), which these seeds are
                # when the first payload was; the others ignore it.
                write(target, count[target], b"\x00" + chunks)
    for t, n in sorted(count.items()):
        print("seeds: %s %d" % (t, min(n, PER_TARGET)), file=sys.stderr)


main()
