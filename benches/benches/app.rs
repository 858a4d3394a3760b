//! criterion: the application layer per transaction, through a worker:
//! one HTTP/1.1 request and response (typical browser headers, a 1 KiB
//! body) on a keep-alive connection, and one DNS query and answer over
//! UDP. Each iteration is a new transaction on the same flows, so the cost
//! is the steady state: reassembly, parsing, pairing and the record.
//! Also whole recorded conversations from the corpus (`recorded/...`):
//! each iteration is one pass over a trace, rewritten per pass, through a
//! worker with every analyzer on, an hour of packet time after the last
//! (so the pass also ends the previous pass's flows and writes their
//! records); `redis_django_txns` counts Redis transactions, the `tls_`
//! ones TLS handshakes, the others packets.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dataplane::app::AppConfig;
use dataplane::decode::{ipproto, synth, tcpflag, Decoded};
use dataplane::record::{RecordOut, MAX_RECORD};
use dataplane::worker::{FlatPayloads, Worker, WorkerConfig};

const REQ: &[u8] = b"GET /api/v1/items?page=2&sort=name HTTP/1.1\r\nHost: shop.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\nAccept: application/json\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\nReferer: https://shop.example.com/items\r\nCookie: session=0123456789abcdef\r\nConnection: keep-alive\r\n\r\n";

/// Records go nowhere: a buffer emptied when it fills.
struct Sink(Vec<u8>);

impl RecordOut for Sink {
    fn buffer(&mut self) -> Option<&mut Vec<u8>> {
        if self.0.len() + MAX_RECORD > self.0.capacity() {
            self.0.clear();
        }
        Some(&mut self.0)
    }
    fn flush(&mut self) {}
}

const TS: u64 = 1_700_000_000_000_000_000;

fn pkt(
    proto: u8,
    dir: usize,
    ports: (u16, u16),
    flags: u8,
    seq: [u32; 2],
    off: usize,
    len: usize,
) -> Decoded {
    synth::packet(proto, dir, ports, flags, seq, off, len, TS)
}

/// A worker whose HTTP analyzer keeps `body` bytes of each body.
fn worker(body: usize) -> Worker {
    let mut app = AppConfig::sized(8 << 20);
    app.protos.http.limits.body_bytes = body;
    Worker::new(WorkerConfig {
        flows: 1024,
        huge_pages: false,
        app,
        ..Default::default()
    })
    .unwrap()
}

fn http(c: &mut Criterion) {
    let mut resp = b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 23 Nov 2026 13:00:00 GMT\r\nContent-Type: application/json\r\nContent-Length: 1024\r\nConnection: keep-alive\r\nCache-Control: no-store\r\nSet-Cookie: session=0123456789abcdef; HttpOnly\r\n\r\n".to_vec();
    resp.extend(std::iter::repeat_n(b'x', 1024));
    let mut flat = REQ.to_vec();
    flat.extend_from_slice(&resp);
    let mut g = c.benchmark_group("app");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(5));
    for body in [0usize, 1024] {
        let mut w = worker(body);
        let mut out = Sink(Vec::with_capacity(1 << 20));
        let ports = (40000, 80);
        let mut seq = [1000u32, 5000u32];
        let hs = [
            pkt(ipproto::TCP, 0, ports, tcpflag::SYN, seq, 0, 0),
            pkt(
                ipproto::TCP,
                1,
                ports,
                tcpflag::SYN | tcpflag::ACK,
                [seq[0] + 1, seq[1]],
                0,
                0,
            ),
        ];
        w.process(&hs, &FlatPayloads(&flat), &mut out);
        seq = [seq[0] + 1, seq[1] + 1];
        let name = if body == 0 {
            "http_transaction"
        } else {
            "http_transaction_body_1k"
        };
        g.bench_function(name, |b| {
            b.iter(|| {
                let f = tcpflag::ACK | tcpflag::PSH;
                let p = [
                    pkt(ipproto::TCP, 0, ports, f, seq, 0, REQ.len()),
                    pkt(
                        ipproto::TCP,
                        1,
                        ports,
                        f,
                        [seq[0] + REQ.len() as u32, seq[1]],
                        REQ.len(),
                        resp.len(),
                    ),
                ];
                w.process(&p, &FlatPayloads(&flat), &mut out);
                seq[0] = seq[0].wrapping_add(REQ.len() as u32);
                seq[1] = seq[1].wrapping_add(resp.len() as u32);
            })
        });
    }
    g.finish();
}

fn dns(c: &mut Criterion) {
    let mut q = vec![0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for l in ["www", "example", "com"] {
        q.push(l.len() as u8);
        q.extend_from_slice(l.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    let mut a = q.clone();
    a[2] = 0x81;
    a[3] = 0x80;
    a[7] = 2;
    for ip in [[93, 184, 216, 34], [93, 184, 216, 35]] {
        a.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4]);
        a.extend_from_slice(&ip);
    }
    let mut flat = q.clone();
    flat.extend_from_slice(&a);
    let mut w = worker(0);
    let mut out = Sink(Vec::with_capacity(1 << 20));
    let mut g = c.benchmark_group("app");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("dns_udp_transaction", |b| {
        b.iter(|| {
            let p = [
                pkt(ipproto::UDP, 0, (53000, 53), 0, [0, 0], 0, q.len()),
                pkt(ipproto::UDP, 1, (53000, 53), 0, [0, 0], q.len(), a.len()),
            ];
            w.process(&p, &FlatPayloads(&flat), &mut out);
        })
    });
    g.finish();
}

/// Payloads from the frames of one batch, through the decoder (which
/// also holds reassembled datagrams).
struct Framed<'a> {
    dec: &'a dataplane::decode::Decoder,
    arena: &'a [u8],
    /// Each packet's frame in `arena`.
    frames: &'a [(usize, usize)],
}

impl dataplane::worker::Payloads for Framed<'_> {
    fn payload(&self, k: usize, d: &Decoded) -> &[u8] {
        let (a, e) = self.frames[k];
        self.dec.payload(&self.arena[a..e], &d.payload)
    }
}

fn recorded(c: &mut Criterion) {
    use benches::mix::Traces;
    use dataplane::capture::LinkType;
    use dataplane::decode::{DecodeConfig, Decoder, Outcome};
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus");
    let mut g = c.benchmark_group("recorded");
    g.measurement_time(Duration::from_secs(5));
    let (enterprise, made) = enterprise_trace(None);
    let made_tls = made.tls;
    // The same mix's database conversations alone, so the time is theirs.
    let (pg_trace, pg_made) = enterprise_trace(Some(5432));
    let (my_trace, my_made) = enterprise_trace(Some(3306));
    // (name, trace, the record type whose records are the throughput's
    // elements: none for packets).
    for (name, file, per) in [
        ("http_wikipedia", "zeek/Traces/wikipedia.pcap", None),
        (
            "http_pipelined",
            "zeek/Traces/http/pipelined-requests.pcap",
            None,
        ),
        ("dns_dns53", "zeek/Traces/dns53.pcap", None),
        (
            "redis_django_txns",
            "zeek/Traces/redis/django-cloud.pcapng",
            Some("redis"),
        ),
        // 40 TLS 1.2 handshakes with certificates, among 1.6 MB of
        // browsing whose encrypted bytes are skipped.
        (
            "tls_browsing_handshakes",
            "suricata-verify/tests/tls/tls-subjectaltname/input.pcap",
            Some("tls"),
        ),
        (
            "tls_google_cert_repeat_handshakes",
            "zeek/Traces/tls/google-cert-repeat.pcap",
            Some("tls"),
        ),
        // The generator's enterprise mix, written to a file here: the
        // established tls records must be its handshakes.
        (
            "tls_enterprise_handshakes",
            enterprise.as_str(),
            Some("tls"),
        ),
        // A pooled application's two long connections, 100 statements
        // (BEGIN, SELECT, ROLLBACK and the like).
        (
            "pgsql_greenhouse_statements",
            "zeek/Traces/postgresql/greenhouse-app.pcap",
            Some("pgsql"),
        ),
        // The enterprise mix's PostgreSQL and MySQL conversations: each
        // query record must be one the generator made.
        (
            "pgsql_enterprise_statements",
            pg_trace.as_str(),
            Some("pgsql"),
        ),
        ("mysql_enterprise_queries", my_trace.as_str(), Some("mysql")),
    ] {
        let path = if file.starts_with('/') {
            file.to_string()
        } else {
            format!("{dir}/{file}")
        };
        let loaded = Traces::load(&[path]);
        if file.starts_with('/') {
            // Loaded in memory: the file is not needed any more.
            let _ = std::fs::remove_file(file);
        }
        let Ok(t) = loaded else {
            eprintln!("recorded: {file} not found, skipped");
            continue;
        };
        let mut w = Worker::new(WorkerConfig {
            flows: 1 << 16,
            huge_pages: false,
            app: AppConfig::sized(32 << 20),
            ..Default::default()
        })
        .unwrap();
        let mut dec = Decoder::new(DecodeConfig::default()).unwrap();
        let mut out = Sink(Vec::with_capacity(1 << 22));
        let mut arena = Vec::with_capacity(t.bytes() as usize);
        let mut spans = Vec::with_capacity(t.len());
        let mut pass = 0u64;
        let (mut ds, mut fs) = (Vec::with_capacity(64), Vec::with_capacity(64));
        let mut one_pass = |out: &mut Sink| {
            arena.clear();
            spans.clear();
            let shift = pass * 3_600_000_000_000;
            for i in 0..t.len() {
                let at = arena.len();
                let (ts, _) = t.copy_into(i, (pass % 256) as u32, &mut arena);
                spans.push((at, arena.len(), ts + shift));
            }
            pass += 1;
            for chunk in spans.chunks(64) {
                ds.clear();
                fs.clear();
                for &(a, e, ts) in chunk {
                    let mut d = Decoded::EMPTY;
                    if dec.decode(&arena[a..e], LinkType::Ethernet, ts, &mut d) == Outcome::Packet {
                        ds.push(d);
                        fs.push((a, e));
                    }
                }
                let pay = Framed {
                    dec: &dec,
                    arena: &arena,
                    frames: &fs,
                };
                w.process(&ds, &pay, out);
                dec.end_batch();
            }
        };
        let elements = match per {
            None => t.len() as u64,
            Some(kind) => {
                // Two passes: the second ends the first's flows, so its
                // records are one whole pass's.
                let mut count = Sink(Vec::with_capacity(64 << 20));
                one_pass(&mut count);
                count.0.clear();
                one_pass(&mut count);
                let tag = format!("\"type\":\"{kind}\"");
                let n = std::str::from_utf8(&count.0)
                    .unwrap_or("")
                    .lines()
                    .filter(|l| l.contains(&tag))
                    .count() as u64;
                eprintln!("recorded: {name}: {n} {kind} records per pass");
                let lines = || std::str::from_utf8(&count.0).unwrap_or("").lines();
                let mut n = n;
                for (bench, made) in [
                    ("pgsql_enterprise_statements", pg_made.pgsql),
                    ("mysql_enterprise_queries", my_made.mysql),
                ] {
                    if name == bench {
                        // Statements: the query records (a login is one
                        // too, and not counted as a statement).
                        let q = lines()
                            .filter(|l| l.contains(&tag) && l.contains("\"op\":\"query\""))
                            .filter(|l| l.contains("\"success\":true"))
                            .count() as u64;
                        eprintln!(
                            "recorded: {name}: {q} successful queries, the generator made {made}"
                        );
                        assert_eq!(q, made, "query records and the generator's queries");
                        // The throughput's elements: statements.
                        n = q;
                    }
                }
                if name == "tls_enterprise_handshakes" {
                    let established = std::str::from_utf8(&count.0)
                        .unwrap_or("")
                        .lines()
                        .filter(|l| l.contains(&tag) && l.contains("\"established\":true"))
                        .count() as u64;
                    eprintln!("recorded: {name}: {established} established, the generator made {made_tls} handshakes");
                    assert_eq!(
                        established, made_tls,
                        "established tls records and the generator's handshakes"
                    );
                }
                n.max(1)
            }
        };
        g.throughput(Throughput::Elements(elements));
        g.bench_function(name, |b| b.iter(|| one_pass(&mut out)));
    }
    g.finish();
}

/// The enterprise profile (200 conversations open, 100,000 frames) as a
/// capture file (with `port`, only the TCP frames to or from it), and
/// what the generator completed in it.
fn enterprise_trace(port: Option<u16>) -> (String, benches::profile::Generated) {
    use benches::profile::{Generator, Profile};
    use dataplane::capture::{pcap, LinkType};
    let path = std::env::temp_dir().join(format!(
        "wirelog-bench-enterprise-{}-{}.pcap",
        std::process::id(),
        port.unwrap_or(0)
    ));
    // An untagged IPv4 TCP frame's ports.
    let on = |f: &[u8], p: u16| {
        let ihl = usize::from(f.get(14).map_or(0, |b| b & 15)) * 4;
        f.get(12..14) == Some(&[8, 0])
            && f.get(23) == Some(&6)
            && f.get(14 + ihl..18 + ihl).is_some_and(|x| {
                u16::from_be_bytes([x[0], x[1]]) == p || u16::from_be_bytes([x[2], x[3]]) == p
            })
    };
    let mut g = Generator::new(Profile::Enterprise, 200, 0, 1_000_000, 1);
    let mut bytes = Vec::with_capacity(80 << 20);
    pcap::write_header(&mut bytes, LinkType::Ethernet, 65535);
    let mut frame = Vec::with_capacity(2048);
    for _ in 0..100_000 {
        frame.clear();
        let ts = g.next_frame(&mut frame);
        if port.is_none_or(|p| on(&frame, p)) {
            pcap::write_record(&mut bytes, ts, &frame, frame.len() as u32);
        }
    }
    std::fs::write(&path, &bytes).expect("a temporary file");
    (path.display().to_string(), g.made)
}

criterion_group!(benches, http, dns, recorded);
criterion_main!(benches);
