//! Versioned traffic profiles: seeded, reproducible frame streams.
//!
//! Each profile states what it makes ([`Profile::describe`]): frame sizes,
//! byte shares and transaction sizes. A [`Generator`] writes its frames one
//! at a time into the caller's buffer and counts what it produced (frames,
//! bytes, flows started, HTTP and DNS transactions completed), so a
//! benchmark can check the records it got against what was sent. The same
//! profile, version, parameters and seed give the same frames.
//!
//! Addresses: clients from 10.0.0.0 (client or flow number n is
//! 10+(n>>24)%64 . n>>16 . n>>8 . n), servers in 172.16.0.0/12, one server
//! per 4,096 clients; every frame is Ethernet/IPv4 with a valid IP header
//! checksum (TCP/UDP checksums are left zero, as offloading NICs leave them
//! on a mirror).

use crate::gen::Rng;

/// Bumped whenever a profile's frames change for the same parameters.
pub const VERSION: u32 = 2;

/// The profiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// 60-byte TCP frames (64 on the wire with FCS), each frame's flow drawn
    /// uniformly at random among N: the worst case for a flow table.
    Tcp64,
    /// Simple IMIX over N random TCP flows: frame sizes 60, 590 and 1514
    /// bytes in the ratio 7:4:1 (64/594/1518 with FCS).
    Imix,
    /// SYNs from random sources (10.x.y.z, random port) to one server port
    /// 80: every frame a new flow.
    SynFlood,
    /// Complete short TCP connections (handshake, 1-1460 bytes each way,
    /// FIN both ways: 8 frames), N open at once, each replaced by a new one
    /// when it ends: flows created and ended at the frame rate / 8.
    Churn,
    /// Complete application conversations, N open at once, by share of
    /// conversations: 45 % HTTP/1.1 connections (1-3 keep-alive GETs, 9
    /// request headers, a 200 with 6 headers and a body of 512 B, 4 KiB or
    /// 32 KiB (50/35/15 %)), 25 % DNS over UDP (an A query and its answer
    /// with two addresses), 15 % TLS 1.2 (full handshake with a 2.5 KB
    /// certificate chain, one 300 B request and 3.9 KB response), 5 % Redis (1-5
    /// GETs), 5 % MySQL (login, one query, a one-row result set), 5 %
    /// PostgreSQL (startup, one simple query, a one-row result).
    Enterprise,
}

impl Profile {
    /// Every profile, by name.
    pub const ALL: [(&'static str, Profile); 5] = [
        ("tcp64", Profile::Tcp64),
        ("imix", Profile::Imix),
        ("synflood", Profile::SynFlood),
        ("churn", Profile::Churn),
        ("enterprise", Profile::Enterprise),
    ];

    /// The profile called `name`.
    pub fn by_name(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|&(_, p)| p)
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, p)| *p == self)
            .map_or("?", |(n, _)| n)
    }

    /// What it makes, in words an operator can check against a capture.
    pub fn describe(self) -> &'static str {
        match self {
            Profile::Tcp64 => "60-byte Ethernet/IPv4/TCP frames (64 with FCS), ACK|PSH with 6 payload bytes, each frame's flow uniformly random among N flows; 100 % TCP bytes",
            Profile::Imix => "Ethernet/IPv4/TCP frames of 60, 590 and 1514 bytes in the ratio 7:4:1 (mean 353.8 B), each frame's flow uniformly random among N flows; 100 % TCP bytes",
            Profile::SynFlood => "60-byte TCP SYNs from random 10.0.0.0/8 sources and ports to 172.16.0.1:80; every frame a new flow",
            Profile::Churn => "complete TCP connections of 8 frames (SYN, SYN-ACK, ACK, request 1-1460 B, response 1-1460 B, FIN, FIN, ACK), N open at once, interleaved at random",
            Profile::Enterprise => "N conversations open at once, interleaved at random, by share: 45 % HTTP/1.1 connections (1-3 keep-alive GETs, 9 request headers, 200 with 6 headers and a 512 B / 4 KiB / 32 KiB body at 50/35/15 %), 25 % DNS A queries over UDP answered with two addresses, 15 % TLS 1.2 (full handshake, 2.5 KB certificate chain, 300 B request, 3.9 KB response), 5 % Redis (1-5 GETs), 5 % MySQL (login, one query, one-row result set), 5 % PostgreSQL (startup, one simple query, one-row result); 1460-byte segments, handshake and FINs",
        }
    }
}

/// What a generator has produced so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Generated {
    /// Frames.
    pub frames: u64,
    /// Frame bytes (without FCS).
    pub bytes: u64,
    /// Connections or flows started (a flow per frame drawn for the
    /// random-flow profiles counts once per distinct flow it can be: N).
    pub flows: u64,
    /// HTTP requests sent.
    pub http_requests: u64,
    /// HTTP responses whose last frame was produced.
    pub http: u64,
    /// DNS queries sent.
    pub dns_queries: u64,
    /// DNS answers produced.
    pub dns: u64,
    /// TLS handshakes completed (both Finished messages sent).
    pub tls: u64,
    /// Redis replies sent.
    pub redis: u64,
    /// MySQL result sets sent.
    pub mysql: u64,
    /// PostgreSQL query results sent.
    pub pgsql: u64,
    /// Frame bytes per conversation kind, in the order of [`KINDS`].
    pub bytes_by_kind: [u64; 7],
}

/// Names of [`Generated::bytes_by_kind`]'s entries.
pub const KINDS: [&str; 7] = ["tcp", "http", "dns", "tls", "redis", "mysql", "pgsql"];

impl Generated {
    /// Adds another generator's counts.
    pub fn add(&mut self, o: &Generated) {
        self.frames += o.frames;
        self.bytes += o.bytes;
        self.flows += o.flows;
        self.http_requests += o.http_requests;
        self.http += o.http;
        self.dns_queries += o.dns_queries;
        self.dns += o.dns;
        self.tls += o.tls;
        self.redis += o.redis;
        self.mysql += o.mysql;
        self.pgsql += o.pgsql;
        for (a, b) in self.bytes_by_kind.iter_mut().zip(o.bytes_by_kind) {
            *a += b;
        }
    }

    /// Each kind's share of the frame bytes, in percent (kinds with none
    /// left out).
    pub fn byte_shares(&self) -> Vec<(&'static str, f64)> {
        let all = self.bytes.max(1) as f64;
        KINDS
            .iter()
            .zip(self.bytes_by_kind)
            .filter(|(_, b)| *b > 0)
            .map(|(k, b)| (*k, (b as f64 * 1000.0 / all).round() / 10.0))
            .collect()
    }
}

/// One conversation of the churn or enterprise profile: its frames are
/// produced in order, one per call.
#[derive(Clone, Copy, Debug, Default)]
struct Conv {
    client: [u8; 4],
    server: [u8; 4],
    cport: u16,
    sport: u16,
    /// 0: TCP churn, 1: HTTP, 2: DNS, or one of the scripted kinds
    /// ([`TLS`] and after).
    kind: u8,
    step: u32,
    seq: [u32; 2],
    /// HTTP: requests left after this one; churn: request size;
    /// scripted: the message being sent.
    left: u32,
    /// HTTP: body bytes of the current response still to send; churn:
    /// response size; scripted: bytes of the message already sent.
    body: u32,
    /// DNS id.
    id: u16,
}

impl Conv {
    /// Writes a TCP segment from the client (`dir` 0) or the server (1)
    /// with the sender's sequence number and the peer's as the ACK, and
    /// advances the sender's (SYN and FIN count one).
    fn seg(&mut self, out: &mut Vec<u8>, dir: usize, flags: u8, p: Fill) {
        let (src, dst, sp, dp) = if dir == 0 {
            (self.client, self.server, self.cport, self.sport)
        } else {
            (self.server, self.client, self.sport, self.cport)
        };
        let n = match p {
            Fill::Zero(n) => n,
            Fill::Bytes(b) => b.len(),
        } as u32;
        let (seq, ack) = (self.seq[dir], self.seq[1 - dir]);
        tcp(out, src, dst, sp, dp, flags, seq, ack, p);
        self.seq[dir] = seq.wrapping_add(n + u32::from(flags & (SYN | FIN) != 0));
    }
}

/// A seeded frame stream of one profile.
pub struct Generator {
    profile: Profile,
    /// The scripted message being sent, rebuilt for each of its segments
    /// (kept here rather than cleared on the stack for every frame).
    msg: Box<[u8; 4096]>,
    rng: Rng,
    flows: u32,
    convs: Vec<Conv>,
    first: u32,
    next_client: u32,
    ts_ns: u64,
    step_ns: u64,
    seq: u32,
    /// Counters.
    pub made: Generated,
}

const MAC: [u8; 12] = [0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1];
const SYN: u8 = 0x02;
const FIN: u8 = 0x01;
const ACK: u8 = 0x10;
const PSH: u8 = 0x08;

/// The most flows a generator takes (churn and enterprise keep a
/// conversation of about 40 bytes per flow).
pub const MAX_FLOWS: u32 = 1 << 24;

impl Generator {
    /// A generator of `profile` over `flows` flows (or conversations open at
    /// once), frames spaced `1e9 / rate` ns apart from a fixed epoch.
    /// Flows and clients are numbered from `first` (one lane's share when
    /// several generators feed several workers: give each its own range).
    pub fn new(profile: Profile, flows: u32, first: u32, rate: u64, seed: u64) -> Self {
        let flows = flows.clamp(1, MAX_FLOWS);
        let mut g = Generator {
            profile,
            msg: Box::new([0; 4096]),
            rng: Rng::new(seed),
            flows,
            convs: Vec::new(),
            first,
            next_client: first,
            ts_ns: 1_700_000_000_000_000_000,
            step_ns: 1_000_000_000 / rate.max(1),
            seq: 0,
            made: Generated::default(),
        };
        if matches!(profile, Profile::Tcp64 | Profile::Imix) {
            g.made.flows = u64::from(flows);
        }
        if matches!(profile, Profile::Churn | Profile::Enterprise) {
            g.convs = Vec::with_capacity(flows as usize);
            for _ in 0..flows {
                let c = g.fresh();
                g.convs.push(c);
            }
        }
        g
    }

    /// Appends the next frame to `out`; returns its time.
    pub fn next_frame(&mut self, out: &mut Vec<u8>) -> u64 {
        self.ts_ns += self.step_ns;
        let at = out.len();
        // The conversation kind the frame belongs to (0: plain TCP).
        let mut class = 0usize;
        match self.profile {
            Profile::Tcp64 | Profile::Imix => {
                let f = self
                    .first
                    .wrapping_add(self.rng.below(u64::from(self.flows)) as u32);
                let len = if self.profile == Profile::Tcp64 {
                    60
                } else {
                    match self.rng.below(12) {
                        0..=6 => 60,
                        7..=10 => 590,
                        _ => 1514,
                    }
                };
                self.seq = self.seq.wrapping_add(1460);
                let (c, s) = addrs(f);
                let payload = len - 54;
                tcp(
                    out,
                    c,
                    s,
                    port(f),
                    80,
                    PSH | ACK,
                    self.seq,
                    1,
                    Fill::Zero(payload),
                );
            }
            Profile::SynFlood => {
                let r = self.rng.next_u64();
                let src = [
                    10 + (self.first >> 24) as u8 % 64,
                    (r >> 8) as u8,
                    (r >> 16) as u8,
                    (r >> 24) as u8,
                ];
                tcp(
                    out,
                    src,
                    [172, 16, 0, 1],
                    (r >> 32) as u16 | 1024,
                    80,
                    SYN,
                    r as u32,
                    0,
                    Fill::Zero(6),
                );
                self.made.flows += 1;
            }
            Profile::Churn | Profile::Enterprise => {
                let i = self.rng.below(self.convs.len() as u64) as usize;
                let mut c = self.convs[i];
                class = usize::from(c.kind);
                let done = self.conv_frame(&mut c, out);
                self.convs[i] = if done { self.fresh() } else { c };
            }
        }
        // Ethernet's minimum: 60 bytes before the FCS, padded after IP.
        if out.len() - at < 60 {
            out.resize(at + 60, 0);
        }
        self.made.frames += 1;
        self.made.bytes += (out.len() - at) as u64;
        self.made.bytes_by_kind[class] += (out.len() - at) as u64;
        self.ts_ns
    }

    /// A new conversation with a client address nobody used yet.
    fn fresh(&mut self) -> Conv {
        let n = self.next_client;
        self.next_client = self.next_client.wrapping_add(1);
        let (client, server) = addrs(n);
        let kind = match self.profile {
            Profile::Churn => 0,
            _ => match self.rng.below(20) {
                0..=8 => 1,
                9..=13 => 2,
                14..=16 => TLS,
                17 => REDIS,
                18 => MYSQL,
                _ => PGSQL,
            },
        };
        let r = self.rng.next_u64();
        Conv {
            client,
            server,
            cport: 1024 + (n % 60_000) as u16,
            sport: match kind {
                2 => 53,
                TLS => 443,
                REDIS => 6379,
                MYSQL => 3306,
                PGSQL => 5432,
                _ => 80,
            },
            kind,
            step: 0,
            seq: [r as u32, (r >> 32) as u32],
            left: match kind {
                0 => 1 + self.rng.below(1460) as u32,
                1 => self.rng.below(3) as u32,
                _ => 0,
            },
            body: match kind {
                0 => 1 + self.rng.below(1460) as u32,
                _ => 0,
            },
            id: (r >> 16) as u16,
        }
    }

    /// Writes conversation `c`'s next frame; true when it was its last.
    fn conv_frame(&mut self, c: &mut Conv, out: &mut Vec<u8>) -> bool {
        if c.kind == 2 {
            return self.dns_frame(c, out);
        }
        // Both TCP kinds: handshake, then the exchange, then FIN, FIN, ACK.
        let step = c.step;
        c.step += 1;
        match step {
            0 => {
                self.made.flows += 1;
                c.seg(out, 0, SYN, Fill::Zero(0));
                return false;
            }
            1 => {
                c.seg(out, 1, SYN | ACK, Fill::Zero(0));
                return false;
            }
            2 => {
                c.seg(out, 0, ACK, Fill::Zero(0));
                return false;
            }
            _ => {}
        }
        // The exchange: churn sends one request and one response; HTTP
        // sends requests and segmented responses until `left` runs out;
        // the scripted kinds send their messages in order.
        const END: u32 = u32::MAX - 8;
        if c.step <= END && c.kind >= TLS {
            let m = &mut *self.msg;
            let Some((dir, len, done)) = script(c.kind, c.left, c.id, m) else {
                c.step = END + 1;
                c.seg(out, 0, FIN | ACK, Fill::Zero(0));
                return false;
            };
            let off = c.body as usize;
            let n = (len - off).min(1460);
            c.seg(out, dir, PSH | ACK, Fill::Bytes(&m[off..off + n]));
            c.body += n as u32;
            if c.body as usize >= len {
                c.left += 1;
                c.body = 0;
                match done {
                    Some(Done::Tls) => self.made.tls += 1,
                    Some(Done::Redis) => self.made.redis += 1,
                    Some(Done::Mysql) => self.made.mysql += 1,
                    Some(Done::Pgsql) => self.made.pgsql += 1,
                    None => {}
                }
            }
            return false;
        }
        if c.step <= END {
            if c.kind == 0 {
                if step == 3 {
                    c.seg(out, 0, PSH | ACK, Fill::Zero(c.left as usize));
                } else {
                    c.seg(out, 1, PSH | ACK, Fill::Zero(c.body as usize));
                    c.step = END;
                }
                return false;
            }
            if c.body == 0 {
                // A request.
                let req = http_request(c.client, c.seq[0]);
                c.seg(out, 0, PSH | ACK, Fill::Bytes(&req.0[..req.1]));
                self.made.http_requests += 1;
                // The response's segments count from step 5.
                c.step = 4;
                c.body = match self.rng.below(20) {
                    0..=9 => 512,
                    10..=16 => 4096,
                    _ => 32768,
                } + 1;
                return false;
            }
            // The response: head and body in 1460-byte segments.
            let body = c.body - 1;
            let head = http_response_head(body);
            let total = head.1 as u32 + body;
            let sent = c.step - 5; // segments of this response sent so far
            let off = sent * 1460;
            let n = (total - off).min(1460);
            let mut seg = [0u8; 1460];
            let h = head.1.saturating_sub(off as usize).min(n as usize);
            if h > 0 {
                seg[..h].copy_from_slice(&head.0[off as usize..off as usize + h]);
            }
            for (i, x) in seg[h..n as usize].iter_mut().enumerate() {
                *x = b'a' + ((off as usize + h + i) % 26) as u8;
            }
            c.seg(out, 1, PSH | ACK, Fill::Bytes(&seg[..n as usize]));
            if off + n >= total {
                self.made.http += 1;
                c.body = 0;
                if c.left == 0 {
                    c.step = END;
                } else {
                    c.left -= 1;
                    c.step = 4;
                }
            }
            return false;
        }
        match c.step - END {
            1 => c.seg(out, 0, FIN | ACK, Fill::Zero(0)),
            2 => c.seg(out, 1, FIN | ACK, Fill::Zero(0)),
            _ => {
                c.seg(out, 0, ACK, Fill::Zero(0));
                return true;
            }
        }
        false
    }

    fn dns_frame(&mut self, c: &mut Conv, out: &mut Vec<u8>) -> bool {
        let mut m = [0u8; 128];
        let name: &[u8] = b"\x03www\x07example\x03com\x00";
        m[0..2].copy_from_slice(&c.id.to_be_bytes());
        m[12..12 + name.len()].copy_from_slice(name);
        let q = 12 + name.len();
        m[q..q + 4].copy_from_slice(&[0, 1, 0, 1]);
        let mut n = q + 4;
        if c.step == 0 {
            m[2..6].copy_from_slice(&[0x01, 0x00, 0, 1]);
            udp(out, c.client, c.server, c.cport, 53, &m[..n]);
            self.made.dns_queries += 1;
            self.made.flows += 1;
            c.step = 1;
            return false;
        }
        m[2..8].copy_from_slice(&[0x81, 0x80, 0, 1, 0, 2]);
        for k in 0..2u8 {
            m[n..n + 16].copy_from_slice(&[
                0xc0,
                12,
                0,
                1,
                0,
                1,
                0,
                0,
                0x0e,
                0x10,
                0,
                4,
                93,
                184,
                216,
                34 + k,
            ]);
            n += 16;
        }
        udp(out, c.server, c.client, 53, c.cport, &m[..n]);
        self.made.dns += 1;
        true
    }
}

/// A self-signed certificate for api.example.com made for the generator
/// (`openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=api.example.com/O=wirelog bench"
/// -days 36500 -outform DER`; the key was not kept), 843 bytes.
const CERT: &[u8] = include_bytes!("bench-cert.der");

/// Conversation kinds sent from a script of messages.
const TLS: u8 = 3;
const REDIS: u8 = 4;
const MYSQL: u8 = 5;
const PGSQL: u8 = 6;

/// What a scripted message completes, for the counts.
enum Done {
    Tls,
    Redis,
    Mysql,
    Pgsql,
}

/// Appends to a message buffer.
struct Msg<'a> {
    b: &'a mut [u8],
    n: usize,
}

impl Msg<'_> {
    fn put(&mut self, s: &[u8]) -> &mut Self {
        self.b[self.n..self.n + s.len()].copy_from_slice(s);
        self.n += s.len();
        self
    }
    fn be16(&mut self, v: usize) -> &mut Self {
        self.put(&(v as u16).to_be_bytes())
    }
    fn be24(&mut self, v: usize) -> &mut Self {
        self.put(&(v as u32).to_be_bytes()[1..])
    }
    fn be32(&mut self, v: usize) -> &mut Self {
        self.put(&(v as u32).to_be_bytes())
    }
    fn fill(&mut self, len: usize, seed: u16) -> &mut Self {
        for i in 0..len {
            self.b[self.n + i] = (i as u16).wrapping_mul(31).wrapping_add(seed) as u8;
        }
        self.n += len;
        self
    }
    /// Patches a big-endian length of `width` bytes at `at`.
    fn len_at(&mut self, at: usize, width: usize, v: usize) {
        self.b[at..at + width].copy_from_slice(&(v as u32).to_be_bytes()[4 - width..]);
    }
}

/// A TLS record of `kind` holding `body` bytes of filler (or what `f` writes).
fn tls_record(m: &mut Msg, kind: u8, f: impl FnOnce(&mut Msg)) {
    m.put(&[kind, 3, 3, 0, 0]);
    let at = m.n;
    f(m);
    let len = m.n - at;
    m.len_at(at - 2, 2, len);
}

/// A TLS handshake message of `ty` inside the current record.
fn tls_hs(m: &mut Msg, ty: u8, f: impl FnOnce(&mut Msg)) {
    m.put(&[ty, 0, 0, 0]);
    let at = m.n;
    f(m);
    let len = m.n - at;
    m.len_at(at - 3, 3, len);
}

/// A MySQL packet with sequence number `seq`.
fn mysql_pkt(m: &mut Msg, seq: u8, f: impl FnOnce(&mut Msg)) {
    m.put(&[0, 0, 0, seq]);
    let at = m.n;
    f(m);
    let len = m.n - at;
    m.b[at - 4..at - 1].copy_from_slice(&(len as u32).to_le_bytes()[..3]);
}

/// A PostgreSQL message of `ty` (0: the untyped startup message).
fn pg_msg(m: &mut Msg, ty: u8, f: impl FnOnce(&mut Msg)) {
    if ty != 0 {
        m.put(&[ty]);
    }
    let at = m.n;
    m.put(&[0, 0, 0, 0]);
    f(m);
    let len = m.n - at;
    m.len_at(at, 4, len);
}

/// Message `i` of a scripted conversation of `kind` into `b`: who sends
/// it (0 client, 1 server), its length and what it completes; `None` when
/// the script is over.
fn script(kind: u8, i: u32, id: u16, b: &mut [u8; 4096]) -> Option<(usize, usize, Option<Done>)> {
    let mut m = Msg { b, n: 0 };
    let query = b"SELECT id, name FROM users WHERE id = 42";
    let (dir, done) = match (kind, i) {
        // TLS 1.2: hello, server flight with a 2.5 KB certificate chain, key
        // exchange and Finished each way, then one request and response.
        (TLS, 0) => {
            tls_record(&mut m, 22, |m| {
                tls_hs(m, 1, |m| {
                    m.put(&[3, 3])
                        .fill(32, id)
                        .put(&[0, 0, 2, 0xc0, 0x2f, 1, 0]);
                    let ext = m.n;
                    m.put(&[0, 0]);
                    // server_name: api.example.com
                    m.put(&[0, 0, 0, 20, 0, 18, 0, 0, 15])
                        .put(b"api.example.com");
                    let len = m.n - ext - 2;
                    m.len_at(ext, 2, len);
                })
            });
            (0, None)
        }
        (TLS, 1) => {
            tls_record(&mut m, 22, |m| {
                tls_hs(m, 2, |m| {
                    m.put(&[3, 3])
                        .fill(32, id ^ 0x55)
                        .put(&[0, 0xc0, 0x2f, 0, 0, 0]);
                });
                // A chain of three copies of one real certificate: what
                // Wireshark's X.509 dissector reads without complaint.
                tls_hs(m, 11, |m| {
                    m.be24(3 * (3 + CERT.len()));
                    for _ in 0..3 {
                        m.be24(CERT.len()).put(CERT);
                    }
                });
                tls_hs(m, 14, |_| {});
            });
            (1, None)
        }
        (TLS, 2) => {
            tls_record(&mut m, 22, |m| {
                tls_hs(m, 16, |m| {
                    m.put(&[65]).fill(65, id);
                })
            });
            tls_record(&mut m, 20, |m| {
                m.put(&[1]);
            });
            tls_record(&mut m, 22, |m| {
                m.fill(40, id);
            });
            (0, None)
        }
        (TLS, 3) => {
            tls_record(&mut m, 20, |m| {
                m.put(&[1]);
            });
            tls_record(&mut m, 22, |m| {
                m.fill(40, id ^ 1);
            });
            (1, Some(Done::Tls))
        }
        (TLS, 4) => {
            tls_record(&mut m, 23, |m| {
                m.fill(300, id);
            });
            (0, None)
        }
        (TLS, 5) => {
            tls_record(&mut m, 23, |m| {
                m.fill(3900, id);
            });
            (1, None)
        }
        // Redis: one to five GETs, each answered with a 16-byte value.
        (REDIS, i) if i < 2 * (1 + u32::from(id % 5)) => {
            if i % 2 == 0 {
                m.put(b"*2\r\n$3\r\nGET\r\n$8\r\nkey:")
                    .put(&hex8(u32::from(id) + i)[4..])
                    .put(b"\r\n");
                (0, None)
            } else {
                m.put(b"$16\r\n")
                    .put(&hex8(u32::from(id)))
                    .put(&hex8(i))
                    .put(b"\r\n");
                (1, Some(Done::Redis))
            }
        }
        // MySQL: greeting, login, OK, one query and its two-column
        // result set, quit.
        (MYSQL, 0) => {
            mysql_pkt(&mut m, 0, |m| {
                m.put(&[10])
                    .put(b"8.0.36\0")
                    .put(&u32::from(id).to_le_bytes())
                    .fill(8, id)
                    .put(&[0]);
                m.put(&[0xff, 0xf7, 0xff, 2, 0, 0xff, 0xdf, 21])
                    .put(&[0; 10])
                    .fill(12, id)
                    .put(&[0]);
                m.put(b"mysql_native_password\0");
            });
            (1, None)
        }
        (MYSQL, 1) => {
            mysql_pkt(&mut m, 1, |m| {
                m.put(&[0x0d, 0xa6, 0xff, 0x01])
                    .put(&[0, 0, 0, 1, 0xff])
                    .put(&[0; 23]);
                m.put(b"app\0")
                    .put(&[20])
                    .fill(20, id)
                    .put(b"shop\0mysql_native_password\0");
            });
            (0, None)
        }
        (MYSQL, 2) => {
            mysql_pkt(&mut m, 2, |m| {
                m.put(&[0, 0, 0, 2, 0, 0, 0]);
            });
            (1, None)
        }
        (MYSQL, 3) => {
            mysql_pkt(&mut m, 0, |m| {
                m.put(&[3]).put(query);
            });
            (0, None)
        }
        (MYSQL, 4) => {
            mysql_pkt(&mut m, 1, |m| {
                m.put(&[2]);
            });
            for (k, (name, ty)) in [(&b"id"[..], 3u8), (&b"name"[..], 253)]
                .into_iter()
                .enumerate()
            {
                mysql_pkt(&mut m, 2 + k as u8, |m| {
                    m.put(&[3])
                        .put(b"def")
                        .put(&[4])
                        .put(b"shop")
                        .put(&[5])
                        .put(b"users");
                    m.put(&[5])
                        .put(b"users")
                        .put(&[name.len() as u8])
                        .put(name)
                        .put(&[name.len() as u8])
                        .put(name);
                    m.put(&[0x0c, 0x21, 0, 0xff, 0, 0, 0, ty, 0, 0, 0, 0, 0]);
                });
            }
            mysql_pkt(&mut m, 4, |m| {
                m.put(&[0xfe, 0, 0, 2, 0]);
            });
            mysql_pkt(&mut m, 5, |m| {
                m.put(&[2]).put(b"42").put(&[5]).put(b"alice");
            });
            mysql_pkt(&mut m, 6, |m| {
                m.put(&[0xfe, 0, 0, 2, 0]);
            });
            (1, Some(Done::Mysql))
        }
        (MYSQL, 5) => {
            mysql_pkt(&mut m, 0, |m| {
                m.put(&[1]);
            });
            (0, None)
        }
        // PostgreSQL: startup, authentication OK and ready, one simple
        // query and its one-row result, terminate.
        (PGSQL, 0) => {
            pg_msg(&mut m, 0, |m| {
                m.be32(196_608).put(b"user\0app\0database\0shop\0\0");
            });
            (0, None)
        }
        (PGSQL, 1) => {
            pg_msg(&mut m, b'R', |m| {
                m.be32(0);
            });
            pg_msg(&mut m, b'S', |m| {
                m.put(b"server_version\x0016.2\x00");
            });
            pg_msg(&mut m, b'K', |m| {
                m.be32(usize::from(id)).be32(0x5eed);
            });
            pg_msg(&mut m, b'Z', |m| {
                m.put(b"I");
            });
            (1, None)
        }
        (PGSQL, 2) => {
            pg_msg(&mut m, b'Q', |m| {
                m.put(query).put(&[0]);
            });
            (0, None)
        }
        (PGSQL, 3) => {
            pg_msg(&mut m, b'T', |m| {
                m.be16(2);
                for (name, oid) in [(&b"id"[..], 23usize), (&b"name"[..], 25)] {
                    m.put(name)
                        .put(&[0])
                        .be32(16_384)
                        .be16(1)
                        .be32(oid)
                        .be16(4)
                        .be32(0xffff_ffff)
                        .be16(0);
                }
            });
            pg_msg(&mut m, b'D', |m| {
                m.be16(2).be32(2).put(b"42").be32(5).put(b"alice");
            });
            pg_msg(&mut m, b'C', |m| {
                m.put(b"SELECT 1\0");
            });
            pg_msg(&mut m, b'Z', |m| {
                m.put(b"I");
            });
            (1, Some(Done::Pgsql))
        }
        (PGSQL, 4) => {
            pg_msg(&mut m, b'X', |_| {});
            (0, None)
        }
        _ => return None,
    };
    Some((dir, m.n, done))
}

/// Client and server of flow or client number `n` (10.0.0.0-73.255.255.255
/// for clients: the top byte of `n` modulo 64 is added to 10).
fn addrs(n: u32) -> ([u8; 4], [u8; 4]) {
    let b = n.to_be_bytes();
    let s = n >> 12;
    (
        [10 + b[0] % 64, b[1], b[2], b[3]],
        [172, 16 | ((s >> 16) as u8 & 0x0f), (s >> 8) as u8, s as u8],
    )
}

fn port(f: u32) -> u16 {
    1024 + (f % 60_000) as u16
}

enum Fill<'a> {
    Zero(usize),
    Bytes(&'a [u8]),
}

/// Appends an Ethernet header and an IPv4 header (valid checksum, DF) for
/// `l4_len` bytes of protocol `proto`.
pub(crate) fn ipv4(out: &mut Vec<u8>, src: [u8; 4], dst: [u8; 4], proto: u8, l4_len: usize) {
    out.extend_from_slice(&MAC);
    out.extend_from_slice(&[0x08, 0x00]);
    let total = (20 + l4_len) as u16;
    let mut h = [0u8; 20];
    h[0] = 0x45;
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h[6] = 0x40; // don't fragment
    h[8] = 64;
    h[9] = proto;
    h[12..16].copy_from_slice(&src);
    h[16..20].copy_from_slice(&dst);
    let mut sum: u32 = h
        .chunks_exact(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    h[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    out.extend_from_slice(&h);
}

#[allow(clippy::too_many_arguments)]
fn tcp(
    out: &mut Vec<u8>,
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    p: Fill,
) {
    let n = match p {
        Fill::Zero(n) => n,
        Fill::Bytes(b) => b.len(),
    };
    ipv4(out, src, dst, 6, 20 + n);
    out.extend_from_slice(&sport.to_be_bytes());
    out.extend_from_slice(&dport.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&(if flags & ACK != 0 { ack } else { 0 }).to_be_bytes());
    out.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    match p {
        Fill::Zero(n) => out.resize(out.len() + n, 0),
        Fill::Bytes(b) => out.extend_from_slice(b),
    }
}

fn udp(out: &mut Vec<u8>, src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, p: &[u8]) {
    ipv4(out, src, dst, 17, 8 + p.len());
    out.extend_from_slice(&sport.to_be_bytes());
    out.extend_from_slice(&dport.to_be_bytes());
    out.extend_from_slice(&((8 + p.len()) as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(p);
}

/// A GET with nine headers, in a stack buffer.
fn http_request(client: [u8; 4], seq: u32) -> ([u8; 512], usize) {
    let mut b = [0u8; 512];
    let mut n = 0;
    let mut put = |s: &[u8]| {
        b[n..n + s.len()].copy_from_slice(s);
        n += s.len();
    };
    put(b"GET /app/items/");
    put(&hex8(seq));
    put(b"?page=2&sort=name HTTP/1.1\r\nHost: shop.example.com\r\n");
    put(b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n");
    put(b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n");
    put(b"Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\n");
    put(b"Referer: https://shop.example.com/app/\r\nConnection: keep-alive\r\n");
    put(b"X-Forwarded-For: ");
    put(dataplane::record::ipv4(client, &mut [0; 16]));
    put(b"\r\nCookie: session=0123456789abcdef\r\n\r\n");
    (b, n)
}

/// A 200 head with six headers for a body of `len` bytes.
fn http_response_head(len: u32) -> ([u8; 256], usize) {
    let mut b = [0u8; 256];
    let mut n = 0;
    let mut put = |s: &[u8]| {
        b[n..n + s.len()].copy_from_slice(s);
        n += s.len();
    };
    put(b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\n");
    put(b"Content-Type: text/html; charset=utf-8\r\nContent-Length: ");
    put(dataplane::record::decimal(u64::from(len), &mut [0; 20]));
    put(b"\r\nConnection: keep-alive\r\nCache-Control: max-age=60\r\n\r\n");
    (b, n)
}

fn hex8(v: u32) -> [u8; 8] {
    let mut o = [0u8; 8];
    for (i, x) in o.iter_mut().enumerate() {
        *x = b"0123456789abcdef"[(v >> (28 - 4 * i) & 15) as usize];
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use dataplane::capture::LinkType;
    use dataplane::decode::{Decoded, Decoder, Outcome};

    fn frames(p: Profile, flows: u32, n: usize, seed: u64) -> (Vec<Vec<u8>>, Generated) {
        let mut g = Generator::new(p, flows, 0, 1_000_000, seed);
        let v = (0..n)
            .map(|_| {
                let mut f = Vec::new();
                g.next_frame(&mut f);
                f
            })
            .collect();
        (v, g.made)
    }

    #[test]
    fn reproducible_decodable_and_as_described() {
        for (name, p) in Profile::ALL {
            assert_eq!(Profile::by_name(name), Some(p));
            let (a, made) = frames(p, 50, 5000, 7);
            assert_eq!(
                a,
                frames(p, 50, 5000, 7).0,
                "{name}: same seed, same frames"
            );
            assert_ne!(a, frames(p, 50, 5000, 8).0, "{name}: another seed");
            assert_eq!(made.frames, 5000);
            assert_eq!(made.bytes_by_kind.iter().sum::<u64>(), made.bytes, "{name}");
            assert_eq!(made.bytes, a.iter().map(|f| f.len() as u64).sum::<u64>());
            let mut dec = Decoder::new(Default::default()).unwrap();
            let mut d = Decoded::EMPTY;
            for f in &a {
                assert_eq!(
                    dec.decode(f, LinkType::Ethernet, 0, &mut d),
                    Outcome::Packet,
                    "{name}"
                );
                let ip = d.ip_len as usize + 14;
                assert!(
                    ip == f.len() || (ip < 60 && f.len() == 60),
                    "{name}: IP length"
                );
                assert!(
                    f.len() >= 60 && f.len() <= 1514,
                    "{name}: {} bytes",
                    f.len()
                );
                // The IP header checksum is valid.
                let sum: u32 = f[14..34]
                    .chunks_exact(2)
                    .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
                    .sum();
                assert_eq!((sum & 0xffff) + (sum >> 16), 0xffff, "{name}");
            }
            match p {
                Profile::Tcp64 => assert!(a.iter().all(|f| f.len() == 60)),
                Profile::Imix => {
                    let small = a.iter().filter(|f| f.len() == 60).count() as f64 / 5000.0;
                    let big = a.iter().filter(|f| f.len() == 1514).count() as f64 / 5000.0;
                    assert!(
                        (small - 7.0 / 12.0).abs() < 0.03 && (big - 1.0 / 12.0).abs() < 0.02,
                        "{small} {big}"
                    );
                }
                Profile::SynFlood => assert_eq!(made.flows, 5000),
                Profile::Churn => assert!(made.flows >= 5000 / 8 && made.http == 0),
                Profile::Enterprise => assert!(
                    made.http > 0
                        && made.dns > 0
                        && made.tls > 0
                        && made.redis > 0
                        && made.mysql > 0
                        && made.pgsql > 0,
                    "{made:?}"
                ),
            }
        }
    }
}
