//! Differential tests: what `parse.rs` reads from the PostgreSQL messages
//! of the corpus traces against what the rust-postgres project's
//! `postgres-protocol` reads from the same bytes.
//!
//! Each TCP connection of the traces is put back together per direction
//! (segments in sequence order; a hole ends the direction there). The
//! server's messages go through `Message::parse` and through our framing
//! and field readers, message by message: type and length, authentication
//! codes and the SASL mechanism, CommandComplete tags (and the row count,
//! against the tag's grammar), ErrorResponse and NoticeResponse severity,
//! SQLSTATE and message, RowDescription's column count, ParameterStatus,
//! BackendKeyData's process id, ReadyForQuery's status. Where
//! `postgres-protocol` rejects bytes, ours must reject them too.
//!
//! `postgres-protocol` has no parser for the client's messages, only
//! writers: what our readers take from an Execute, Parse, Describe, Close
//! or Query is written again with them and must give the message's bytes
//! back. A StartupMessage's pairs are split by hand. Bind is framed only
//! (our reader does not return its format codes, which writing it again
//! would need).

use std::collections::BTreeMap;

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use postgres_protocol::message::backend::{Header, Message};
use postgres_protocol::message::frontend;

use super::parse::{self, Frame};
use crate::app::tests::corpus_packets;

/// The PostgreSQL traces of the corpus, and two that are other protocols
/// on PostgreSQL's port (both parsers must reject them alike).
const TRACES: &[&str] = &[
    "zeek/Traces/postgresql/bad-backend-message-1.pcap",
    "zeek/Traces/postgresql/bad-startup-message-1.pcap",
    "zeek/Traces/postgresql/greenhouse-app.pcap",
    "zeek/Traces/postgresql/http-on-port-5432.pcap",
    "zeek/Traces/postgresql/mysql-on-port-5432.pcap",
    "zeek/Traces/postgresql/psql-aws-ssl-disable-15432.pcap",
    "zeek/Traces/postgresql/psql-aws-ssl-disable.pcap",
    "zeek/Traces/postgresql/psql-aws-ssl-preferred.pcap",
    "zeek/Traces/postgresql/psql-aws-ssl-require-15432.pcap",
    "zeek/Traces/postgresql/psql-aws-ssl-require.pcap",
    "zeek/Traces/postgresql/psql-create-insert-select-delete-drop.pcap",
    "zeek/Traces/postgresql/psql-insert-fail-drop-fail.pcap",
    "zeek/Traces/postgresql/psql-login-fail.pcap",
    "zeek/Traces/postgresql/psql-login-no-role.pcap",
    "zeek/Traces/postgresql/psql-login-no-sslrequest.pcap",
    "zeek/Traces/postgresql/psql-login-wrong.pcap",
    "zeek/Traces/postgresql/psql-login.pcap",
    "zeek/Traces/postgresql/psql-select-now.pcap",
    "suricata-verify/tests/pgsql-bug-6080-probe-test-01/input.pcap",
    "suricata-verify/tests/pgsql/pgsql-5000-query-results/input.pcap",
    "suricata-verify/tests/pgsql/pgsql-5524/input.pcap",
    "suricata-verify/tests/pgsql/pgsql-bug-5579/input.pcap",
    "suricata-verify/tests/pgsql/pgsql-cancel-request/input.pcap",
    "suricata-verify/tests/pgsql/pgsql-copy-data-in/TLPW-Jason-copyfrom-small.pcap",
    "suricata-verify/tests/pgsql/pgsql-copy-data-out/input.pcap",
    "suricata-verify/tests/pgsql/pgsql-events/UnknownMessage.pcap",
    "suricata-verify/tests/pgsql/pgsql-pwd-output-disabled/input.pcap",
    "suricata-verify/tests/pgsql/pgsql-query-keyword-01/input.pcap",
    "suricata-verify/tests/pgsql/pgsql-simple-query-rollback/input.pcap",
    "suricata-verify/tests/pgsql/pgsql-ssl-rejected-md5-auth-simple-query/input.pcap",
    "suricata-verify/tests/pgsql/pgsql-upgrade-tls/input.pcap",
];

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;

/// One side of a connection: its address and port.
type End = ([u8; 16], u16);

/// A connection's bytes: the client's (`[0]`) and the server's (`[1]`).
struct Conn {
    name: String,
    bytes: [Vec<u8>; 2],
}

/// What a connection's packets showed: the client (by its SYN), and per
/// direction the first sequence number of data (after a SYN) and the
/// segments.
type Seen = (Option<End>, [Option<u32>; 2], [Vec<(u32, Vec<u8>)>; 2]);

/// Every TCP connection of `file`, put back together per direction (the
/// client's bytes first).
fn connections(file: &str) -> Option<Vec<Conn>> {
    let (pkts, flat) = corpus_packets(file)?;
    // Per connection (its ends in order): the client, and per direction
    // the sequence number its data starts at and its segments.
    let mut conns: BTreeMap<(End, End), Seen> = BTreeMap::new();
    for d in pkts.iter().filter(|d| d.proto == 6) {
        let (a, b) = ((d.src, d.sport), (d.dst, d.dport));
        let key = if a < b { (a, b) } else { (b, a) };
        let c = conns.entry(key).or_default();
        if d.tcp_flags & (SYN | ACK) == SYN {
            c.0 = Some(a);
        }
        // Which direction: fixed by the SYN, else by the server's port.
        let client = c.0.unwrap_or(if [5432, 15432].contains(&d.dport) {
            a
        } else {
            b
        });
        let dir = usize::from(a != client);
        if d.tcp_flags & SYN != 0 {
            c.1[dir] = Some(d.seq.wrapping_add(1));
        }
        let off = d.payload.off as usize;
        let pay = &flat[off..off + d.payload.len as usize];
        if !pay.is_empty() {
            c.2[dir].push((d.seq, pay.to_vec()));
        }
    }
    let mut out = Vec::new();
    for ((a, b), (client, isn, segs)) in conns {
        let swapped =
            client.is_some_and(|c| c == b) || (client.is_none() && [5432, 15432].contains(&a.1));
        let mut bytes: [Vec<u8>; 2] = Default::default();
        for dir in 0..2 {
            let s = &segs[dir];
            let Some(first) = isn[dir].or(s.first().map(|x| x.0)) else {
                continue;
            };
            // Relative to the earliest data seen.
            let base = s
                .iter()
                .map(|x| x.0.wrapping_sub(first) as i32)
                .min()
                .map_or(first, |m| first.wrapping_add(m.min(0) as u32));
            let mut rel: Vec<(u32, &[u8])> = s
                .iter()
                .map(|(q, p)| (q.wrapping_sub(base), p.as_slice()))
                .collect();
            rel.sort_by_key(|x| x.0);
            let out = &mut bytes[dir];
            for (at, p) in rel {
                let have = out.len() as u32;
                if at > have {
                    break;
                }
                let skip = (have - at) as usize;
                if skip < p.len() {
                    out.extend_from_slice(&p[skip..]);
                }
            }
        }
        out.push(Conn {
            name: format!("{file} port {}", if swapped { b.1 } else { a.1 }),
            bytes,
        });
    }
    Some(out)
}

/// The counts of messages compared, by kind, and the disagreements.
#[derive(Default)]
struct Tally {
    kinds: BTreeMap<&'static str, usize>,
    /// Whole messages both read: the server's, the client's.
    messages: [usize; 2],
    rejected: usize,
    wrong: Vec<String>,
}

impl Tally {
    fn check(&mut self, kind: &'static str, ok: bool, what: impl FnOnce() -> String) {
        *self.kinds.entry(kind).or_default() += 1;
        if !ok {
            self.wrong.push(format!("{kind}: {}", what()));
        }
    }
}

/// The rows a CommandComplete tag counts, by the grammar the protocol
/// documents (`INSERT oid rows`; `SELECT`, `UPDATE`, `DELETE`, `MERGE`,
/// `MOVE`, `FETCH`, `COPY` and the count).
fn tag_rows(tag: &str) -> Option<u64> {
    let w: Vec<&str> = tag.split(' ').collect();
    match (w.as_slice(), w.len()) {
        (["INSERT", _, n], 3) => n.parse().ok(),
        ([c, n], 2)
            if [
                "SELECT", "UPDATE", "DELETE", "MERGE", "MOVE", "FETCH", "COPY",
            ]
            .contains(c) =>
        {
            n.parse().ok()
        }
        _ => None,
    }
}

/// The code an Authentication message of `postgres-protocol` has.
fn auth_code(m: &Message) -> Option<u32> {
    Some(match m {
        Message::AuthenticationOk => 0,
        Message::AuthenticationKerberosV5 => 2,
        Message::AuthenticationCleartextPassword => 3,
        Message::AuthenticationMd5Password(_) => 5,
        Message::AuthenticationScmCredential => 6,
        Message::AuthenticationGss => 7,
        Message::AuthenticationGssContinue(_) => 8,
        Message::AuthenticationSspi => 9,
        Message::AuthenticationSasl(_) => 10,
        Message::AuthenticationSaslContinue(_) => 11,
        Message::AuthenticationSaslFinal(_) => 12,
        _ => return None,
    })
}

/// One server message: `m` as `postgres-protocol` read it, `body` its
/// bytes after the header.
fn compare_backend(m: &Message, body: &[u8], t: &mut Tally) {
    let show = |b: Option<&[u8]>| b.map(|b| String::from_utf8_lossy(b).into_owned());
    if let Some(code) = auth_code(m) {
        let ours = parse::auth(body);
        let mech = match m {
            Message::AuthenticationSasl(b) => b.mechanisms().next().ok().flatten(),
            _ => None,
        };
        let ok =
            ours.map(|(c, _)| c) == Some(code) && ours.and_then(|o| o.1) == mech.map(str::as_bytes);
        t.check("authentication", ok, || {
            format!("ours {ours:?}, theirs {code} {mech:?}")
        });
        return;
    }
    match m {
        Message::BackendKeyData(b) => {
            let ours = parse::backend_pid(body);
            t.check(
                "backend_key_data",
                ours == Some(b.process_id() as u32),
                || format!("ours {ours:?}, theirs {}", b.process_id()),
            );
        }
        Message::CommandComplete(b) => {
            let theirs = b.tag().unwrap_or_default();
            let (tag, rows) = parse::command_complete(body);
            t.check(
                "command_complete",
                tag == theirs.as_bytes() && rows == tag_rows(theirs),
                || format!("ours {:?} {rows:?}, theirs {theirs:?}", show(Some(tag))),
            );
        }
        Message::ErrorResponse(_) | Message::NoticeResponse(_) => {
            let (kind, mut it) = match m {
                Message::ErrorResponse(b) => ("error_response", b.fields()),
                Message::NoticeResponse(b) => ("notice_response", b.fields()),
                _ => unreachable!(),
            };
            // The last value of each field type.
            let mut theirs: BTreeMap<u8, Vec<u8>> = BTreeMap::new();
            let mut drained = true;
            loop {
                match it.next() {
                    Ok(Some(f)) => {
                        theirs.insert(f.type_(), f.value_bytes().to_vec());
                    }
                    Ok(None) => break,
                    Err(_) => {
                        drained = false;
                        break;
                    }
                }
            }
            let get = |k: u8| theirs.get(&k).map(Vec::as_slice);
            let theirs = parse::Fields {
                severity: get(b'S'),
                severity_v: get(b'V'),
                code: get(b'C'),
                message: get(b'M'),
            };
            let mut ours = parse::fields(body);
            // A field cut by the message's end: postgres-protocol rejects
            // the message, ours reads the field as far as it goes (as it
            // must for the prefix of a long message). The fields before it
            // must agree.
            let kind = if drained {
                kind
            } else {
                for (o, th) in [
                    (&mut ours.severity, theirs.severity),
                    (&mut ours.severity_v, theirs.severity_v),
                    (&mut ours.code, theirs.code),
                    (&mut ours.message, theirs.message),
                ] {
                    if th.is_none() {
                        *o = None;
                    }
                }
                "error/notice with a field cut by its end"
            };
            t.check(kind, ours == theirs, || {
                format!("ours {ours:?}, theirs {theirs:?}")
            });
        }
        Message::RowDescription(b) => {
            let theirs = b.fields().count().ok().and_then(|n| u16::try_from(n).ok());
            let ours = parse::row_description(body);
            t.check(
                "row_description",
                theirs.is_some() && ours == theirs,
                || format!("ours {ours:?}, theirs {theirs:?}"),
            );
        }
        Message::ParameterStatus(b) => {
            let theirs = b.name().ok().zip(b.value().ok());
            let ours = parse::parameter_status(body);
            let same = ours
                .zip(theirs)
                .is_some_and(|((on, ov), (tn, tv))| on == tn.as_bytes() && ov == tv.as_bytes());
            t.check("parameter_status", same, || {
                format!("ours {ours:?}, theirs {theirs:?}")
            });
        }
        Message::ReadyForQuery(b) => {
            let want = match b.status() {
                b'I' => Some("idle"),
                b'T' => Some("transaction"),
                b'E' => Some("failed"),
                _ => None,
            };
            let ours = body.first().and_then(|&s| parse::tx_status(s));
            t.check("ready_for_query", want.is_some() && ours == want, || {
                format!("ours {ours:?}, theirs {:?}", b.status() as char)
            });
        }
        _ => t.check("framing only", true, String::new),
    }
}

/// The server's messages of one connection; `skip`: the bytes before
/// them (the answer to an SSLRequest).
fn server(c: &Conn, skip: usize, t: &mut Tally) {
    let data = c.bytes[1].get(skip..).unwrap_or_default();
    let mut buf = BytesMut::from(data);
    let mut at = 0;
    while at < data.len() {
        let ours = parse::typed_frame(1, &data[at..]);
        let header = Header::parse(&data[at..]).ok().flatten();
        match Message::parse(&mut buf) {
            Ok(Some(m)) => {
                let (Frame::Msg { ty, hdr, body }, Some(h)) = (ours, header) else {
                    t.wrong.push(format!(
                        "{} at {at}: ours {ours:?}, theirs a message",
                        c.name
                    ));
                    return;
                };
                let framed = ty == h.tag() && hdr == 5 && body as i64 == i64::from(h.len()) - 4;
                t.check("frame", framed, || {
                    format!("{} at {at}: ours {ours:?}, theirs {h:?}", c.name)
                });
                compare_backend(&m, &data[at + 5..at + 5 + body], t);
                t.messages[1] += 1;
                at += hdr + body;
            }
            // Cut by the end of the capture (or a hole); postgres-protocol
            // looks at the type only once the message is whole.
            Ok(None) => {
                let short = match ours {
                    Frame::Need(_) => true,
                    Frame::Msg { hdr, body, .. } => at + hdr + body > data.len(),
                    Frame::Bad => !knows(data[at]),
                };
                if ours == Frame::Bad && short {
                    t.rejected += 1;
                    return;
                }
                t.check("frame", short, || {
                    format!("{} at {at}: theirs incomplete, ours {ours:?}", c.name)
                });
                return;
            }
            Err(e) => {
                t.rejected += 1;
                if ours != Frame::Bad {
                    t.wrong
                        .push(format!("{} at {at}: theirs {e}, ours {ours:?}", c.name));
                }
                return;
            }
        }
    }
}

/// Whether `postgres-protocol` knows the server message type `ty`.
fn knows(ty: u8) -> bool {
    let mut b = BytesMut::from(&[ty, 0, 0, 0, 4][..]);
    !matches!(Message::parse(&mut b), Err(e) if e.to_string().contains("unknown message tag"))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The message `write` writes, to compare with the bytes it was read from.
fn written(write: impl FnOnce(&mut BytesMut) -> std::io::Result<()>) -> Vec<u8> {
    let mut b = BytesMut::new();
    write(&mut b).map_or_else(|_| Vec::new(), |()| b.to_vec())
}

/// The client's messages of one connection: returns how many bytes of
/// the server's come before its messages (the answer to an SSLRequest),
/// or `None` when the connection is not read further (TLS, or not
/// PostgreSQL's startup).
fn client(c: &Conn, t: &mut Tally) -> Option<usize> {
    let data = &c.bytes[0];
    let mut at = 0;
    let mut skip = 0;
    // The startup phase: untyped messages.
    loop {
        let Frame::Msg { body, .. } = parse::startup_frame(&data[at..]) else {
            return (at > 0).then_some(skip);
        };
        let msg = data.get(at..at + 4 + body)?;
        let code = be32(msg, 4)?;
        if code == parse::SSL_REQUEST || code == parse::GSSENC_REQUEST {
            let reply = c.bytes[1].get(skip).copied();
            t.check("ssl_request", body == 4, || {
                format!("{} length {body}", c.name)
            });
            if reply != Some(b'N') {
                return None;
            }
            skip += 1;
            at += 4 + body;
            continue;
        }
        if code == parse::CANCEL_REQUEST {
            let ours = parse::cancel_pid(&msg[4..]);
            t.check("cancel_request", ours == be32(msg, 8), || {
                format!("{} ours {ours:?}", c.name)
            });
            return None;
        }
        // A StartupMessage: its pairs split by hand.
        let ours = parse::startup(&msg[4..]);
        let mut pairs = msg[8..].split(|&b| b == 0);
        let mut want = parse::Startup {
            version: code,
            ..Default::default()
        };
        while let (Some(k), Some(v)) = (pairs.next(), pairs.next()) {
            if k.is_empty() {
                break;
            }
            match k {
                b"user" => want.user = Some(v),
                b"database" => want.database = Some(v),
                b"application_name" => want.application_name = Some(v),
                b"replication" => want.replication = Some(v),
                _ => {}
            }
            want.params += 1;
        }
        // Protocol 3 only (the others are not read).
        let want = (code >> 16 == 3).then_some(want);
        t.check("startup", ours == want, || {
            format!("{} ours {ours:?}, by hand {want:?}", c.name)
        });
        at += 4 + body;
        break;
    }
    while at < data.len() {
        let Frame::Msg { ty, hdr, body } = parse::typed_frame(0, &data[at..]) else {
            break;
        };
        let Some(msg) = data.get(at..at + hdr + body) else {
            break;
        };
        let b = &msg[5..];
        let s = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
        // Each message our reader took apart, written again.
        let (kind, again) = match ty {
            b'E' => (
                "execute",
                parse::execute(b)
                    .map(|(portal, max)| written(|w| frontend::execute(&s(portal), max as i32, w))),
            ),
            b'P' => {
                let types = parse::parse_msg(b).and_then(|(name, text, _)| {
                    let at = name.len() + text.len() + 2;
                    let n = usize::from(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?));
                    let oids: Option<Vec<u32>> = (0..n).map(|i| be32(b, at + 2 + 4 * i)).collect();
                    Some((name, text, oids?))
                });
                (
                    "parse",
                    types.map(|(name, text, oids)| {
                        written(|w| frontend::parse(&s(name), &s(text), oids, w))
                    }),
                )
            }
            b'Q' => (
                "query",
                parse::cstr(b, 0).map(|(q, _)| written(|w| frontend::query(&s(q), w))),
            ),
            b'D' | b'C' => (
                if ty == b'D' { "describe" } else { "close" },
                parse::target(b).map(|(which, name)| {
                    written(|w| {
                        if ty == b'D' {
                            frontend::describe(which, &s(name), w)
                        } else {
                            frontend::close(which, &s(name), w)
                        }
                    })
                }),
            ),
            _ => ("client framing only", Some(msg.to_vec())),
        };
        t.check(kind, again.as_deref() == Some(msg), || {
            format!("{} at {at}: {:?}", c.name, s(msg))
        });
        t.messages[0] += 1;
        at += hdr + body;
    }
    Some(skip)
}

/// Every message of the corpus's PostgreSQL connections read by both
/// parsers; they must agree on each.
#[test]
fn parsers_agree_with_postgres_protocol_on_the_corpus() {
    let mut t = Tally::default();
    let mut conns = 0;
    for file in TRACES {
        let Some(cs) = connections(file) else {
            return; // the corpus is not there
        };
        for c in cs {
            conns += 1;
            if let Some(skip) = client(&c, &mut t) {
                server(&c, skip, &mut t);
            } else if parse::startup_frame(&c.bytes[0]) == Frame::Bad || c.bytes[0].is_empty() {
                // Not PostgreSQL's startup: both must reject the server's
                // bytes, if it sent any that frame as neither.
                server(&c, 0, &mut t);
            }
        }
    }
    println!(
        "{} server and {} client messages (besides the startup phase's) compared on {conns} \
         connections; {} places where both reject the bytes; checks by kind:",
        t.messages[1], t.messages[0], t.rejected
    );
    for (k, n) in &t.kinds {
        println!("  {n:5}  {k}");
    }
    assert!(t.wrong.is_empty(), "disagreements:\n{}", t.wrong.join("\n"));
    assert!(
        t.messages[1] > 5000,
        "too few messages compared: {:?}",
        t.messages
    );
}
