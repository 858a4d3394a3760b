#!/usr/bin/python3
"""Drives TLS handshakes at the testbed's servers and writes a manifest.

Usage: tls-driver.py CERTS SERVER_IP MANIFEST

CERTS is a directory holding ca.pem (the throwaway CA that signed both
certificates), cli-chain.pem (a client certificate followed by ca.pem) and
cli.key. Every handshake is its own TCP connection, made one after the
other by Python's ssl module (OpenSSL 3), curl or `openssl s_client`, and
is one JSON line of the manifest, written from what that client saw (the
negotiated version, cipher and ALPN, whether the session was resumed, the
alert it received, the certificate it was shown), so a test can compare a
sensor's `tls` records with it one to one. Exits non-zero if a handshake
does not end the way the scenario relies on.

The servers the test must start in its own namespace (certificate and key
of CN=tls.wirelog.test,O=wirelog with SANs DNS:tls.wirelog.test,
DNS:*.tls.wirelog.test, IP:SERVER_IP, signed by ca.pem):

  443   nginx, TLS 1.2 and 1.3, `listen SERVER_IP:443 ssl http2` (ALPN h2
        and http/1.1), the chain leaf + CA, `ssl_session_cache` and
        `ssl_session_tickets on` (one worker: one ticket key).
  4443  nginx, the same without http2 (ALPN http/1.1 only).
  8443  openssl s_server -tls1_2 -Verify 1 -CAfile ca.pem -www (a client
        certificate is required).
  8444  openssl s_server -tls1_3 -groups X25519 -www (a TLS 1.2 client is
        refused with protocol_version; a key share for another group gets
        a HelloRetryRequest).

The handshakes: TLS 1.3 fresh (h2; no ALPN; no SNI; h2 offered to a
server with http/1.1 only) and resumed by PSK; TLS 1.2 fresh with a ticket
and resumed by it, fresh without a ticket (OP_NO_TICKET, no ALPN) and
resumed by session id, an SNI the certificate does not match, a client
certificate; refused: no client certificate (the server's
handshake_failure), TLS 1.2 to a TLS 1.3 server (protocol_version), the
server's CA unknown to the client (its unknown_ca, TLS 1.2 and 1.3); a
ClientHello of about 1.9 KB (26 ALPN names: two segments); curl TLS 1.3
h2 and TLS 1.2 http/1.1; s_client TLS 1.2 (with the chain) and TLS 1.3
with a HelloRetryRequest.

Manifest lines
--------------
  name      the scenario, unique.
  client    python, curl or s_client.
  match     "port": the record is the one with src_port and dst_port;
            "sni": s_client cannot bind its port, so the record is the one
            with dst_port whose sni equals expect["sni"] (unique per run).
  src_port  the client's local port (null for s_client); dst_port.
  expect    the record's fields to compare, each equal to the record's, a
            null meaning the field must be absent. Lists are as sent
            (alpn_offered keeps the record's first 16, the most it lists).
  present   fields that must be in the record whatever their value (the
            client could not read them: a certificate it refused).
  ja4_prefix  what JA4 must begin with: t, the highest version offered
            (13, 12), d with an SNI or i without.
  ja4_alpn  JA4's characters 9-10: the first and last character of the
            first ALPN offered, 00 without ALPN.
  hello_min_bytes  (the big ClientHello only) a lower bound of the hello's
            size, more than one 1460-byte segment.

What each expect holds, by case:
  - every handshake: sni, client_version (TLSv12: OpenSSL's
    legacy_version), client_versions (["TLSv13", "TLSv12"] offering both,
    null with TLS 1.2 only: no supported_versions extension), alpn_offered,
    established.
  - a server hello seen: version (TLSv13/TLSv12), cipher (IANA name),
    alpn (TLS 1.2), resumed, resumed_by (psk for TLS 1.3; TLS 1.2: ticket
    when the session offered had a ticket, else session_id).
  - TLS 1.2, full handshake: cert_subject and cert_issuer (RFC 4514, last
    RDN first: `openssl x509 -nameopt RFC2253` of the certificate the
    client received), cert_sans (in certificate order, an IP address as
    text), sni_matches (RFC 6125 against the SNI sent; null without SNI),
    cert_sha256 (of the DER the client received), ticket_issued (true when
    the session got a ticket, null otherwise; not said for a resumption by
    ticket, which the server may or may not renew).
    s_client also gives cert_chain_len (the certificates it was sent).
  - TLS 1.2 resumed: no certificate fields.
  - TLS 1.3: no alpn (the server says it in its encrypted extensions),
    no cert_* or client_cert_* field (encrypted), no ticket_issued.
    s_client's hello_retry: it offers a key share for its first group
    (P-256) only, so a server key of another group (X25519, which the
    server at 8444 insists on) came after a HelloRetryRequest.
  - a client certificate (TLS 1.2): client_cert_subject,
    client_cert_sha256, client_cert_chain_len (the certificates of the
    file it loads: OpenSSL sends them all), client_cert_requested
    (true: the server at 8443 asks for one; null for nginx, which does
    not).
  - successful handshakes: alert null (close_notify is encrypted).
  - refused handshakes: established false, alert, alert_level, alert_from
    (received: the name OpenSSL gives the alert in the error; sent: the
    alert OpenSSL sends for the certificate verification error, per its
    ssl_x509err2alert table). The client's alert is in the clear in TLS 1.3
    too (no protected_alerts): OpenSSL's client takes its handshake write
    keys only after the server's Finished, and a TLS 1.3 record of type
    alert is never encrypted (encrypted records are application_data).
    When the client offered TLS 1.2 only and one suite, the ServerHello
    that came before the refusal is known: version and cipher.
"""

import hashlib
import json
import re
import socket
import ssl
import subprocess
import sys

CERTS, SRV = sys.argv[1], sys.argv[2]
OUT = open(sys.argv[3], "w")
CA = CERTS + "/ca.pem"
HOST = "tls.wirelog.test"
NGINX, NGINX_H1, S_CERT, S_TLS13 = 443, 4443, 8443, 8444
# curl binds one of these (outside the ephemeral range) and says which.
CURL_PORTS = "61001-61999"

IANA = {
    "ECDHE-RSA-AES256-GCM-SHA384": "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "ECDHE-RSA-AES128-GCM-SHA256": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "ECDHE-RSA-CHACHA20-POLY1305":
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
}
VERSION = {"TLSv1.3": "TLSv13", "TLSv1.2": "TLSv12"}
BOTH = ["TLSv13", "TLSv12"]
# OpenSSL's ssl_x509err2alert for the verification errors met here.
VERIFY_ALERT = {2: "unknown_ca", 19: "unknown_ca", 20: "unknown_ca",
                21: "unknown_ca"}
TLS13_ABSENT = ["alpn", "cert_subject", "cert_issuer", "cert_sans",
                "sni_matches", "cert_sha256", "cert_chain_len",
                "client_cert_subject", "client_cert_sha256",
                "client_cert_chain_len",
                "client_cert_requested", "ticket_issued"]
H2_PREFACE = (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
              b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")  # + empty SETTINGS
count = 0


def note(**kv):
    global count
    OUT.write(json.dumps(kv) + "\n")
    OUT.flush()
    count += 1


def iana(name):
    if name.startswith("TLS_"):
        return name
    return IANA[name]  # an unmapped name is a driver error: add it


def names(der):
    """(subject, issuer) of a DER certificate, RFC 4514 order."""
    out = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout",
                          "-subject", "-issuer", "-nameopt", "RFC2253"],
                         input=der, capture_output=True, check=True)
    got = dict(ln.split("=", 1) for ln in out.stdout.decode().splitlines())
    return got["subject"], got["issuer"]


def host_matches(pattern, host):
    """RFC 6125 for DNS names: exact, or one leftmost wildcard label."""
    pattern, host = pattern.lower(), host.lower()
    if pattern == host:
        return True
    if pattern.startswith("*.") and "." in host:
        return host.split(".", 1)[1] == pattern[2:]
    return False


def ja4_alpn(offered):
    if not offered:
        return "00"
    return offered[0][0] + offered[0][-1]


def ja4_prefix(versions, sni):
    return "t" + ("13" if "TLSv13" in (versions or []) else "12") + (
        "d" if sni else "i")


CONTEXTS = {}


def context(**kw):
    """One SSLContext per setting: a session is resumed from the context
    it was made in."""
    key = json.dumps(kw, sort_keys=True)
    if key not in CONTEXTS:
        CONTEXTS[key] = new_context(**kw)
    return CONTEXTS[key]


def new_context(max12=False, alpn=None, ciphers=None, cert=False,
                no_ticket=False, trust=True, check_hostname=True):
    c = ssl.create_default_context(cafile=CA if trust else None)
    c.check_hostname = check_hostname
    # Said, not left to the defaults: OpenSSL's supported_versions lists
    # everything from the minimum (TLS 1.0 unless set).
    c.minimum_version = ssl.TLSVersion.TLSv1_2
    if max12:
        c.maximum_version = ssl.TLSVersion.TLSv1_2
    if alpn:
        c.set_alpn_protocols(alpn)
    if ciphers:
        c.set_ciphers(ciphers)
    if cert:
        c.load_cert_chain(CERTS + "/cli-chain.pem", CERTS + "/cli.key")
    if no_ticket:
        c.options |= ssl.OP_NO_TICKET
    return c


def server_cert(der, dict_cert, sni):
    subject, issuer = names(der)
    sans = [v for _, v in dict_cert.get("subjectAltName", ())]
    dns = [v for k, v in dict_cert.get("subjectAltName", ()) if k == "DNS"]
    return dict(cert_subject=subject, cert_issuer=issuer, cert_sans=sans,
                cert_sha256=hashlib.sha256(der).hexdigest(),
                sni_matches=(any(host_matches(p, sni) for p in dns)
                             if sni else None))


def client_cert():
    with open(CERTS + "/cli-chain.pem") as f:
        pems = re.findall(r"-----BEGIN CERTIFICATE-----.*?"
                          r"-----END CERTIFICATE-----", f.read(), re.S)
    der = ssl.PEM_cert_to_DER_cert(pems[0])
    return dict(client_cert_subject=names(der)[0],
                client_cert_sha256=hashlib.sha256(der).hexdigest(),
                client_cert_chain_len=len(pems))


def request(t, port):
    """Some application data: the server's answer is read, which also
    takes in TLS 1.3's session tickets."""
    if t.selected_alpn_protocol() == "h2":
        t.sendall(H2_PREFACE)
    elif port in (S_CERT, S_TLS13):
        t.sendall(b"GET / HTTP/1.0\r\n\r\n")
    else:
        t.sendall(b"GET /small.txt HTTP/1.1\r\nHost: " + HOST.encode()
                  + b"\r\nConnection: close\r\n\r\n")
    got = t.recv(4096)
    assert got, "no answer"


def handshake(name, port, sni, alpn, session, ctx):
    """One handshake by Python's ssl: the manifest line begun, the fields
    every handshake has, and the socket (or the SSLError)."""
    c = context(alpn=alpn, **ctx)
    versions = None if ctx.get("max12") else BOTH
    s = socket.create_connection((SRV, port), timeout=5)
    line = dict(name=name, client="python", match="port",
                src_port=s.getsockname()[1], dst_port=port,
                ja4_prefix=ja4_prefix(versions, sni), ja4_alpn=ja4_alpn(alpn))
    e = dict(sni=sni, client_version="TLSv12", client_versions=versions,
             alpn_offered=alpn[:16] if alpn else None)
    try:
        return line, e, c.wrap_socket(s, server_hostname=sni,
                                      session=session)
    except ssl.SSLError as err:
        s.close()
        return line, e, err


def python(name, port, sni, alpn=None, session=None, extra=None, **ctx):
    """A handshake that must succeed; returns its session."""
    line, e, t = handshake(name, port, sni, alpn, session, ctx)
    if isinstance(t, Exception):
        raise AssertionError("%s: %r" % (name, t))
    v = VERSION[t.version()]
    e.update(version=v, cipher=iana(t.cipher()[0]),
             alpn=t.selected_alpn_protocol(), established=True,
             resumed=t.session_reused, alert=None)
    if t.session_reused:
        e["resumed_by"] = ("psk" if v == "TLSv13" else
                           "ticket" if session.has_ticket else "session_id")
    else:
        e["resumed_by"] = None
    if v == "TLSv13":
        e.update({k: None for k in TLS13_ABSENT})
    elif t.session_reused:
        # An abbreviated handshake: no certificate.
        e.update(cert_subject=None, cert_sha256=None, cert_sans=None,
                 client_cert_subject=None)
        if not session.has_ticket:
            e["ticket_issued"] = None
    else:
        cert = server_cert(t.getpeercert(True), t.getpeercert(), sni)
        if ctx.get("check_hostname", True) and sni:
            assert cert["sni_matches"], name  # OpenSSL checked it too
        e.update(cert)
        e["ticket_issued"] = True if t.session.has_ticket else None
        if ctx.get("cert"):
            e.update(client_cert())
            e["client_cert_requested"] = True
        else:
            e.update(client_cert_subject=None, client_cert_chain_len=None)
            if port in (NGINX, NGINX_H1):
                e["client_cert_requested"] = None
    request(t, port)
    sess = t.session
    t.close()
    line["expect"] = e
    line.update(extra or {})
    note(**line)
    return sess


def python_refused(name, port, sni, alert, side, hello, present=(),
                   alpn=None, **ctx):
    """A handshake that must fail with `alert`, sent by `side`. `hello`:
    the ServerHello's fields known to the client (it pins the one suite it
    offers), null fields when none came."""
    line, e, err = handshake(name, port, sni, alpn, None, ctx)
    if not isinstance(err, ssl.SSLError):
        raise AssertionError("%s: not refused" % name)
    e.update(hello, established=False, alert_level="fatal")
    if side == "client":
        # OpenSSL refused the server's certificate and said so.
        assert isinstance(err, ssl.SSLCertVerificationError), (name, err)
        # In TLS 1.3 too the alert goes out in the clear: OpenSSL's client
        # takes its handshake write keys only after the server's Finished.
        assert VERIFY_ALERT[err.verify_code] == alert, (name, err)
        e.update(alert=alert, alert_from="client", protected_alerts=None)
    else:
        m = re.fullmatch(r"(?:SSLV3|TLSV1|TLSV13)_ALERT_(\w+)",
                         err.reason or "")
        assert m and m.group(1).lower() == alert, (name, err)
        e.update(alert=alert, alert_from="server")
    line.update(expect=e, present=list(present))
    note(**line)


def curl(name, port, args):
    url = "https://%s%s/small.txt" % (HOST, "" if port == 443 else
                                       ":%d" % port)
    out = subprocess.run(
        ["curl", "-sS", "-v", "-o", "/dev/null", "--cacert", CA,
         "--resolve", "%s:%d:%s" % (HOST, port, SRV),
         "--local-port", CURL_PORTS] + args + [url],
        capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, (name, out.stderr)
    err = out.stderr
    lport = int(re.search(r"^\* Local port: (\d+)$", err, re.M).group(1))
    version, cipher = re.search(r"SSL connection using (\S+) / (\S+)",
                                err).groups()
    offers = re.search(r"ALPN: offers (\S+)", err).group(1).split(",")
    chosen = re.search(r"ALPN: server accepted (\S+)", err).group(1)
    v = VERSION[version]
    e = dict(sni=HOST, client_version="TLSv12", alpn_offered=offers,
             version=v, cipher=iana(cipher), alpn=chosen, established=True,
             resumed=False, resumed_by=None, alert=None)
    if v == "TLSv13":
        # --tlsv1.3 is curl's minimum: it offers TLS 1.3 alone.
        e["client_versions"] = ["TLSv13"] if "--tlsv1.3" in args else BOTH
        e.update({k: None for k in TLS13_ABSENT})
    else:
        subject = re.search(r"\*  subject: (.*)", err).group(1)
        issuer = re.search(r"\*  issuer: (.*)", err).group(1)
        e.update(client_versions=None, sni_matches=True,
                 cert_subject=",".join(reversed(subject.split("; "))),
                 cert_issuer=",".join(reversed(issuer.split("; "))))
    note(name=name, client="curl", match="port", src_port=lport,
         dst_port=port, ja4_prefix=ja4_prefix(e["client_versions"], HOST),
         ja4_alpn=ja4_alpn(offers), expect=e)


def s_client(name, port, sni, args):
    out = subprocess.run(
        ["openssl", "s_client", "-connect", "%s:%d" % (SRV, port),
         "-servername", sni, "-CAfile", CA, "-verify_return_error",
         "-nameopt", "RFC2253"] + args,
        stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=20)
    text = out.stdout
    assert out.returncode == 0 and "Verify return code: 0 (ok)" in text, (
        name, text, out.stderr)
    m = re.search(r"^(New|Reused), (TLSv1\.[23]), Cipher is (\S+)", text,
                  re.M)
    v = VERSION[m.group(2)]
    alpn = re.search(r"^ALPN protocol: (\S+)", text, re.M)
    offered = args[args.index("-alpn") + 1].split(",") if (
        "-alpn" in args) else None
    e = dict(sni=sni, client_version="TLSv12", alpn_offered=offered,
             version=v, cipher=iana(m.group(3)),
             alpn=alpn.group(1) if alpn else None, established=True,
             resumed=m.group(1) == "Reused", alert=None)
    if v == "TLSv13":
        e["client_versions"] = ["TLSv13"]
        e.update({k: None for k in TLS13_ABSENT})
        # It offered a key share for its first group only: the server
        # keyed with another one after a HelloRetryRequest.
        first = args[args.index("-groups") + 1].split(":")[0]
        temp = re.search(r"^Server Temp Key: ([^,]+),", text, re.M).group(1)
        e["hello_retry"] = True if temp != first else None
    else:
        e["client_versions"] = None
        chain = re.findall(r"^ (\d+) s:(.*)\n   i:(.*)", text, re.M)
        pem = re.search(r"-----BEGIN CERTIFICATE-----.*?"
                        r"-----END CERTIFICATE-----", text, re.S).group(0)
        der = ssl.PEM_cert_to_DER_cert(pem)
        e.update(cert_chain_len=len(chain), cert_subject=chain[0][1],
                 cert_issuer=chain[0][2],
                 cert_sha256=hashlib.sha256(der).hexdigest(),
                 sni_matches=True,
                 ticket_issued=(True if "TLS session ticket:" in text
                                else None))
    note(name=name, client="s_client", match="sni", src_port=None,
         dst_port=port, ja4_prefix=ja4_prefix(e["client_versions"], sni),
         ja4_alpn=ja4_alpn(offered), expect=e)


def main():
    hx = ["h2", "http/1.1"]
    # -- TLS 1.3 --------------------------------------------------------
    sess = python("tls13-h2", NGINX, HOST, alpn=hx)
    python("tls13-psk", NGINX, HOST, alpn=hx, session=sess)
    python("tls13-no-alpn", S_TLS13, HOST)
    python("tls13-no-sni", NGINX, None, alpn=["http/1.1"],
           check_hostname=False)
    python("tls13-http1-only-server", NGINX_H1, "www." + HOST, alpn=hx)
    # -- TLS 1.2 --------------------------------------------------------
    sess = python("tls12-ticket", NGINX, "www." + HOST, alpn=["http/1.1"],
                  max12=True)
    python("tls12-resumed-ticket", NGINX, "www." + HOST, alpn=["http/1.1"],
           max12=True, session=sess)
    sess = python("tls12-no-ticket-no-alpn", NGINX, HOST, max12=True,
                  no_ticket=True, ciphers="ECDHE-RSA-CHACHA20-POLY1305")
    python("tls12-resumed-session-id", NGINX, HOST, max12=True,
           no_ticket=True, ciphers="ECDHE-RSA-CHACHA20-POLY1305",
           session=sess)
    python("tls12-h2-sni-mismatch", NGINX, "other.example.net", alpn=hx,
           max12=True, check_hostname=False)
    python("tls12-client-cert", S_CERT, HOST, max12=True, cert=True)
    # -- refused --------------------------------------------------------
    aes128 = "ECDHE-RSA-AES128-GCM-SHA256"
    pinned = dict(version="TLSv12", cipher=iana(aes128), resumed=False)
    python_refused("tls12-no-client-cert", S_CERT, HOST,
                   "handshake_failure", "server",
                   dict(pinned, client_cert_requested=True,
                        client_cert_subject=None, client_cert_chain_len=None),
                   present=["cert_subject", "cert_sha256"], max12=True,
                   ciphers=aes128)
    python_refused("tls12-to-tls13-only", S_TLS13, HOST, "protocol_version",
                   "server", dict(version=None, cipher=None), max12=True)
    python_refused("tls12-unknown-ca", NGINX, HOST, "unknown_ca", "client",
                   pinned, present=["cert_subject", "cert_sha256"],
                   max12=True, ciphers=aes128, trust=False)
    # TLS 1.3 (both sides speak it): the certificate is encrypted.
    python_refused("tls13-unknown-ca", NGINX, HOST, "unknown_ca", "client",
                   dict(version="TLSv13", resumed=False,
                        **{k: None for k in TLS13_ABSENT}),
                   alpn=hx, trust=False)
    # -- a ClientHello of more than one segment: 25 ALPN names of 62 bytes
    many = ["proto%02d-%s%d" % (i, "a" * 51, i % 10) for i in range(25)]
    many.append("http/1.1")
    alpn_bytes = sum(1 + len(p) for p in many)
    assert alpn_bytes > 1460, alpn_bytes
    python("big-client-hello", NGINX_H1, HOST, alpn=many,
           extra=dict(hello_min_bytes=alpn_bytes))
    # -- curl and openssl s_client ---------------------------------------
    curl("curl-tls13-h2", NGINX, ["--http2", "--tlsv1.3", "--tls13-ciphers",
                                  "TLS_CHACHA20_POLY1305_SHA256"])
    curl("curl-tls12-http1", NGINX_H1, ["--http1.1", "--tlsv1.2",
                                        "--tls-max", "1.2"])
    s_client("s_client-tls12", NGINX, "sclient12." + HOST,
             ["-tls1_2", "-alpn", "http/1.1"])
    s_client("s_client-tls13-hrr", S_TLS13, "sclient13." + HOST,
             ["-tls1_3", "-groups", "P-256:X25519"])
    OUT.close()
    sys.stderr.write("tls-driver: %d handshakes\n" % count)


if __name__ == "__main__":
    main()
