#!/usr/bin/env python3
"""ja4-tshark.py: an independent referee for TLS client fingerprints (JA4, JA3).

Usage:  scripts/ja4-tshark.py [--no-decode-as-scan] PCAP... > out.jsonl

Prints one JSON object per line for every TLS/DTLS ClientHello that tshark
dissects, in file order, then frame order, then order inside the frame:

  file, frame, src, sport, dst, dport   where the ClientHello was seen (the
                                        innermost IP/TCP|UDP header before it)
  sni        first host_name in server_name, or null
  alpn       ALPN protocol names in order (UTF-8, invalid bytes replaced)
  ja4, ja4_r, ja4_o, ja4_ro             FoxIO JA4 (TLS client), hashed/raw,
                                        sorted/original order
  ja3, ja3_hash                         Salesforce JA3 string and its MD5
                                        (null for SSLv2-format ClientHellos)
  extra keys: proto ("tls"|"dtls"|"quic"), sslv2 (bool), reassembled (the
  ClientHello came out of TCP reassembly: tshark reports it on the frame of
  the segment that completed it), malformed (tshark flagged the record as
  malformed: the lists below may be short), alpn_hex (raw ALPN values, hex).

Nothing here calls a JA3/JA4 implementation: the fingerprints are computed
from tshark's dissected ClientHello fields (tshark 4.0 has tls.handshake.ja3,
but no JA4; its JA3 is not used).  The rules, from the published texts:

JA4 (FoxIO, technical_details/JA4.md; the JA4 TLS client part is BSD-3):
  a = proto + version + sni + nciphers + nexts + alpn
      proto    "t" TLS over TCP, "d" DTLS, "q" QUIC
      version  highest non-GREASE supported_versions (0x002b) value when that
               extension is present, else the ClientHello's legacy version
               (never the record version): 0304 13, 0303 12, 0302 11, 0301 10,
               0300 s3, 0002 s2, feff d1, fefd d2, fefc d3, anything else 00.
               "Highest" is numeric, so a TLS 1.3 draft value (7fxx) beats
               0304 and gives 00, as in the reference code.  DTLS versions
               count downwards (fefc is newer than fefd), so when every
               candidate is a DTLS value the numerically smallest is taken.
      sni      "d" if the server_name extension (0x0000) is present, else "i"
      counts   2 digits, GREASE excluded, capped at 99; SCSVs (00ff, 5600)
               count as ciphers; SNI and ALPN count as extensions
      alpn     first ALPN value: "00" if no extension/no value/empty value;
               its first and last byte if both are ASCII alphanumeric (a
               1-byte value gives that byte twice); otherwise the first and
               last character of the lowercase hex of the whole value.
  b = sha256(sorted ciphers)[:12]     4-digit lowercase hex, comma joined,
      GREASE removed; "000000000000" if the list is empty
  c = sha256(sorted extensions minus 0000 and 0010, then "_" + signature
      algorithms in wire order if there are any)[:12]; "000000000000" if the
      extension list is empty.  Signature algorithms are only those of the
      signature_algorithms extension (0x000d; not _cert, not delegated
      credentials), GREASE removed ("ignore GREASE values anywhere").
  ja4_r  = a_<sorted ciphers>_<sorted exts>[_<sigalgs>] (unhashed)
  ja4_o  = like ja4, but ciphers and extensions in wire order and SNI/ALPN
           kept in the extension list; ja4_ro its unhashed form.
  SSLv2-format ClientHellos (record header with the high bit set) carry
  3-byte cipher specs and no extensions: they count as 0 ciphers (as in the
  reference, which reads only tls.handshake.ciphersuite) and 0 extensions,
  version from the hello (0002 -> s2, 0300 -> s3, 0301 -> 10 ...).

JA3 (Salesforce): SSLVersion,Ciphers,Extensions,EllipticCurves,
  EllipticCurvePointFormats: decimal, "-" joined, GREASE removed from every
  list, empty lists give empty fields; SSLVersion is the ClientHello's legacy
  version; extensions in wire order; ja3_hash = md5(ja3).

How tshark is run (4.0.17), and why:
  tshark -n -r PCAP -o tcp.desegment_tcp_streams:TRUE
         -o tls.desegment_ssl_records:TRUE -o tcp.reassemble_out_of_order:TRUE
         --enable-heuristic tls_tcp --enable-heuristic dtls_udp
         -Y 'tls.handshake.type==1 || dtls.handshake.type==1 || (RAW)' -T pdml
  (RAW: the byte-pattern filter RAW_CH_FILTER below, see the decode-as scan)
  * PDML keeps the tree, so every handshake message is read on its own
    (fields of two ClientHellos in one frame never mix, and a frame holding
    both a ClientHello and other handshakes is not confused) and every
    extension's fields are read inside that extension.  "-T fields" would
    flatten all occurrences in the frame into one comma-separated list.
  * desegment_* are the defaults, given for certainty: a ClientHello spread
    over several TCP segments is dissected once, on the frame of the segment
    that completed it (suricata-verify tls-client-hello-frag-01 has one).
    tshark 4.0 also reassembles a handshake message split over several TLS
    records (tls.handshake.fragments); the corpus has no such ClientHello.  reassemble_out_of_order is off by
    default in 4.0; it lets a ClientHello whose segments arrive out of order
    be reassembled too.
  * TLS on ports tshark does not associate with TLS: the "tls_tcp" heuristic
    (enabled by default in 4.0, named here for certainty) finds TLS on
    ports no dissector is registered for, and tshark follows the upgrade to
    TLS after SMTP/IMAP/POP3/XMPP STARTTLS, PostgreSQL SSLRequest, MySQL
    SSL, HTTP CONNECT and SOCKS (all seen in the corpus).  It does not when
    a port-registered dissector claims the data first (a ClientHello sent to
    port 80 is taken by HTTP) and has no IRC STARTTLS.  So the first pass
    also selects TCP payloads that start like a TLS record holding a
    ClientHello (16 03 0x .. .. 01 .. .. .. 03) but carry no TLS layer; for
    streams with such a payload and no dissected ClientHello, a second pass
    adds "-d tcp.port==<server port>,tls" and keeps the ClientHellos of
    those streams only (noted on stderr).  --no-decode-as-scan turns this
    off.  In the corpus this finds zeek/Traces/tls/irc-starttls.pcap (6667),
    https-to-http.pcap (80) and ssl-to-http-server.pcap (80).
    Not covered: SSLv2-format ClientHellos on such ports, DTLS on ports the
    dtls_udp heuristic misses, and QUIC (tshark 4.0 decrypts QUIC Initials
    and the script would mark those "q", but the corpus has none).
  * Files tshark cannot open are skipped with a note on stderr; a file cut
    short in the middle of a packet is read up to the cut (noted on stderr).
"""

import hashlib
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

TSHARK = os.environ.get("TSHARK", "tshark")

BASE_OPTS = [
    "-n",
    "-o", "tcp.desegment_tcp_streams:TRUE",
    "-o", "tls.desegment_ssl_records:TRUE",
    "-o", "tcp.reassemble_out_of_order:TRUE",
    "--enable-heuristic", "tls_tcp",
    "--enable-heuristic", "dtls_udp",
]
CH_FILTER = "tls.handshake.type==1 || dtls.handshake.type==1"

# TCP payloads that start like a TLS record (handshake, version 3.x) holding a
# ClientHello but got no TLS layer: the decode-as scan (see the header).
RAW_CH_FILTER = (
    "tcp.len > 10 && tcp.payload[0]==16 && tcp.payload[1]==03 "
    "&& tcp.payload[2]<=04 && tcp.payload[5]==01 && tcp.payload[9]==03 && !tls"
)

VERSION_CODES = {
    0x0304: "13",
    0x0303: "12",
    0x0302: "11",
    0x0301: "10",
    0x0300: "s3",
    0x0002: "s2",
    0xFEFF: "d1",
    0xFEFD: "d2",
    0xFEFC: "d3",
}


def is_grease(v):
    """RFC 8701 GREASE values: 0x0a0a, 0x1a1a, ... 0xfafa."""
    return (v & 0x0F0F) == 0x0A0A and (v >> 8) == (v & 0xFF)


def note(msg):
    print(f"ja4-tshark: {msg}", file=sys.stderr)


def hash12(s):
    return hashlib.sha256(s.encode()).hexdigest()[:12]


def alpn_chars(first):
    """JA4 ALPN part from the raw bytes of the first ALPN value (or None)."""
    if not first:
        return "00"

    def alnum(b):
        return 0x30 <= b <= 0x39 or 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A

    if alnum(first[0]) and alnum(first[-1]):
        return chr(first[0]) + chr(first[-1])
    h = first.hex()
    return h[0] + h[-1]


def ja4_version(legacy, supported, has_sv_ext):
    cands = [v for v in supported if not is_grease(v)]
    if has_sv_ext and cands:
        if all(0xFE00 <= v <= 0xFEFF for v in cands):
            v = min(cands)  # DTLS numbering counts down
        else:
            v = max(cands)
    else:
        v = legacy
    return VERSION_CODES.get(v, "00")


def fingerprints(ch, proto):
    """ch: dict of lists/values read from one ClientHello."""
    ciphers = [c for c in ch["ciphers"] if not is_grease(c)]
    exts = [e for e in ch["exts"] if not is_grease(e)]
    sigs = [s for s in ch["sigalgs"] if not is_grease(s)]
    version = ja4_version(ch["version"], ch["supported_versions"], 0x002B in exts)
    a = "%s%s%s%02d%02d%s" % (
        {"tls": "t", "dtls": "d", "quic": "q"}[proto],
        version,
        "d" if 0x0000 in exts else "i",
        min(len(ciphers), 99),
        min(len(exts), 99),
        alpn_chars(ch["alpn"][0] if ch["alpn"] else None),
    )
    hx = lambda xs: ",".join("%04x" % x for x in xs)
    sig_s = hx(sigs)

    def parts(cl, el):
        cs = hx(cl)
        es = hx(el)
        ce = es + ("_" + sig_s if sig_s else "")
        hashed = "%s_%s_%s" % (
            a,
            hash12(cs) if cl else "000000000000",
            hash12(ce) if el else "000000000000",
        )
        raw = "%s_%s_%s" % (a, cs, ce)
        return hashed, raw

    ja4, ja4_r = parts(sorted(ciphers), sorted(e for e in exts if e not in (0x0000, 0x0010)))
    ja4_o, ja4_ro = parts(ciphers, exts)

    if ch["sslv2"]:
        ja3 = ja3_hash = None
    else:
        dj = lambda xs: "-".join(str(x) for x in xs if not is_grease(x))
        ja3 = "%d,%s,%s,%s,%s" % (
            ch["version"],
            dj(ciphers),
            dj(exts),
            dj(ch["groups"]),
            dj(ch["point_formats"]),
        )
        ja3_hash = hashlib.md5(ja3.encode()).hexdigest()
    return {
        "ja4": ja4,
        "ja4_r": ja4_r,
        "ja4_o": ja4_o,
        "ja4_ro": ja4_ro,
        "ja3": ja3,
        "ja3_hash": ja3_hash,
    }


# ---------------------------------------------------------------- PDML reading


def fval(el):
    """Integer value of a PDML field: from the raw bytes when present."""
    v = el.get("value")
    if v:
        return int(v, 16)
    s = el.get("show", "")
    return int(s, 0)


def children(el, name):
    return [c for c in el if c.get("name") == name]


def descendants(el, name):
    return [c for c in el.iter("field") if c.get("name") == name]


def read_client_hello(hs, p):
    """hs: the PDML element holding one ClientHello (p = 'tls'|'dtls')."""
    sslv2 = hs.get("name") == p + ".record"
    ver = children(hs, p + ".handshake.version")
    if not ver:
        return None
    ch = {
        "sslv2": sslv2,
        "version": fval(ver[0]),
        "ciphers": [],
        "exts": [],
        "sigalgs": [],
        "supported_versions": [],
        "groups": [],
        "point_formats": [],
        "alpn": [],
        "sni": None,
    }
    for cs in children(hs, p + ".handshake.ciphersuites"):
        ch["ciphers"] += [fval(c) for c in children(cs, p + ".handshake.ciphersuite")]
    if sslv2:
        return ch
    for ext in hs:
        t = children(ext, p + ".handshake.extension.type")
        if not t:
            continue
        et = fval(t[0])
        ch["exts"].append(et)
        if et == 0x0000:
            names = descendants(ext, p + ".handshake.extensions_server_name")
            if names and ch["sni"] is None:
                ch["sni"] = names[0].get("show", "")
        elif et == 0x0010:
            for s in descendants(ext, p + ".handshake.extensions_alpn_str"):
                ch["alpn"].append(bytes.fromhex(s.get("value") or ""))
        elif et == 0x000D:
            ch["sigalgs"] += [fval(s) for s in descendants(ext, p + ".handshake.sig_hash_alg")]
        elif et == 0x002B:
            ch["supported_versions"] += [
                fval(s) for s in descendants(ext, p + ".handshake.extensions.supported_version")
            ]
        elif et == 0x000A:
            ch["groups"] += [
                fval(s) for s in descendants(ext, p + ".handshake.extensions_supported_group")
            ]
        elif et == 0x000B:
            ch["point_formats"] += [
                fval(s) for s in descendants(ext, p + ".handshake.extensions_ec_point_format")
            ]
    return ch


def hello_elements(proto_el, p):
    """ClientHello elements inside one tls/dtls proto element, in order."""
    out = []
    for el in proto_el.iter("field"):
        name = el.get("name")
        if name not in (p + ".handshake", p + ".record"):
            continue
        t = children(el, p + ".handshake.type")
        if t and t[0].get("show") == "1":
            out.append(el)
    return out


def process_packet(pkt, path, warn):
    frame = None
    for f in pkt.iter("field"):
        if f.get("name") == "num":
            frame = int(f.get("show"))
            break
    src = dst = sport = dport = stream = None
    transport = None
    saw_tls = False
    quic = False
    reassembled = False
    records = []
    for el in pkt.iter():
        tag = el.tag
        name = el.get("name")
        if tag == "proto":
            if name in ("ip", "ipv6"):
                fs = {c.get("name"): c.get("show") for c in el.iter("field")}
                src = fs.get(name + ".src")
                dst = fs.get(name + ".dst")
                quic = False
            elif name in ("tcp", "udp"):
                fs = {c.get("name"): c.get("show") for c in el.iter("field")}
                sport = int(fs.get(name + ".srcport", -1))
                dport = int(fs.get(name + ".dstport", -1))
                stream = (name, fs.get(name + ".stream"))
                transport = name
                quic = False
            elif name == "quic":
                quic = True
            elif name in ("tls", "dtls"):
                saw_tls = True
                malformed = any(c.get("name") == "_ws.malformed" for c in el.iter())
                for hs in hello_elements(el, name):
                    ch = read_client_hello(hs, name)
                    if ch is None:
                        warn(f"frame {frame}: ClientHello without a version field (fragment?), skipped")
                        continue
                    proto = "quic" if (quic and name == "tls") else name
                    rec = {
                        "file": path,
                        "frame": frame,
                        "src": src,
                        "sport": sport,
                        "dst": dst,
                        "dport": dport,
                        "sni": ch["sni"],
                        "alpn": [a.decode("utf-8", "replace") for a in ch["alpn"]],
                    }
                    rec.update(fingerprints(ch, proto))
                    rec.update({
                        "proto": proto,
                        "sslv2": ch["sslv2"],
                        "reassembled": reassembled and transport == "tcp",
                        "malformed": malformed,
                        "alpn_hex": [a.hex() for a in ch["alpn"]],
                        "_stream": stream,
                    })
                    records.append(rec)
        elif tag == "field" and name == "tcp.reassembled.length":
            reassembled = True
    cand = None
    if not saw_tls and transport == "tcp":
        # a frame matched only by RAW_CH_FILTER: ClientHello-like bytes that
        # tshark did not dissect as TLS
        cand = (stream, dport)
    return records, cand


def run_tshark(path, extra, with_raw):
    """One tshark pass; returns (rc, records, stderr lines, raw candidates)."""
    flt = CH_FILTER + (" || (" + RAW_CH_FILTER + ")" if with_raw else "")
    cmd = [TSHARK, "-r", path] + BASE_OPTS + extra + ["-Y", flt, "-T", "pdml"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    records = []
    raw = set()
    warned = set()

    def warn(msg):
        if msg not in warned:
            warned.add(msg)
            note(f"{path}: {msg}")

    parser = ET.XMLPullParser(events=("end",))
    try:
        for chunk in iter(lambda: proc.stdout.read(1 << 16), b""):
            parser.feed(chunk)
            for _, el in parser.read_events():
                if el.tag == "packet":
                    recs, cand = process_packet(el, path, warn)
                    records += recs
                    if cand:
                        raw.add(cand)
                    el.clear()
    except ET.ParseError as e:
        warn(f"PDML parse error ({e}); keeping {len(records)} ClientHellos read so far")
    proc.stdout.close()
    err = proc.stderr.read().decode("utf-8", "replace")
    rc = proc.wait()
    lines = [l for l in err.splitlines() if l.strip() and "Running as user" not in l]
    return rc, records, lines, raw


def scan_file(path, decode_as_scan=True):
    rc, records, errs, raw = run_tshark(path, [], decode_as_scan)
    if rc != 0:
        msg = errs[-1] if errs else f"exit status {rc}"
        if msg.startswith("tshark: "):
            msg = msg[len("tshark: "):]
        if "cut short" in msg:
            note(f"{path}: {msg} Read up to the cut: {len(records)} ClientHello(s).")
        elif records:
            note(f"{path}: {msg} (kept the {len(records)} ClientHello(s) read before it)")
        else:
            note(f"{path}: tshark cannot read it, skipped: {msg}")
            return []
    seen = {r["_stream"] for r in records}
    ports = sorted({port for stream, port in raw if stream not in seen})
    if ports:
        extra = []
        for port in ports:
            extra += ["-d", f"tcp.port=={port},tls"]
        note(f"{path}: ClientHello-like TCP payload not dissected as TLS; "
             f"second pass decoding TCP port(s) {ports} as TLS")
        _, more, _, _ = run_tshark(path, extra, False)
        records += [r for r in more if r["_stream"] not in seen]
        records.sort(key=lambda r: r["frame"])  # stable: keeps in-frame order
    for r in records:
        del r["_stream"]
    return records


def main(argv):
    scan = True
    files = []
    for a in argv:
        if a == "--no-decode-as-scan":
            scan = False
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            files.append(a)
    if not files:
        print("usage: ja4-tshark.py [--no-decode-as-scan] PCAP...", file=sys.stderr)
        return 2
    out = sys.stdout
    for path in files:
        if not os.path.isfile(path):
            note(f"{path}: not a file, skipped")
            continue
        for rec in scan_file(path, scan):
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
