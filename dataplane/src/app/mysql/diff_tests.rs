//! A differential test of `parse.rs` against `mysql_common` (a
//! dev-dependency, its packet parsers only) on the corpus's recorded
//! MySQL conversations.
//!
//! Each TCP direction is reassembled by sequence number (retransmitted
//! bytes dropped; a direction with a gap or a cut segment is left out),
//! split into packets with wirelog's framing, and the two directions are
//! merged in capture order. A small walker of its own (not `state.rs`)
//! says what each server packet is from the command it answers; each
//! packet is then read by both crates and their fields compared.
//!
//! Where the two read a packet differently by design, the test asserts
//! the documented difference (see `compare_*`):
//! - capabilities: `mysql_common` keeps the bits it knows
//!   (`from_bits_truncate`);
//! - an ERR's SQL state: wirelog reads one where the `#` marker stands,
//!   `mysql_common` where CLIENT_PROTOCOL_41 was agreed;
//! - an OK ending rows (CLIENT_DEPRECATE_EOF): `mysql_common` does not
//!   return its affected rows and insert id, so only the status and the
//!   warnings are compared;
//! - an empty plugin name: `None` in wirelog, `Some("")` in
//!   `mysql_common`;
//! - a prefix: each prefix of a greeting, a login, an OK and a column
//!   definition that `mysql_common` reads is read alike by wirelog
//!   (whose parsers may be given a long packet's prefix);
//! - connection attributes: `mysql_common` returns a map, so repeated keys
//!   would count once (none in the corpus: the counts are equal).
//!
//! `cargo test -p dataplane --lib mysql::diff_tests -- --nocapture`
//! prints the counts.

use super::parse::{self, cap};
use crate::capture::pcap::PcapReader;
use crate::capture::{Batch, Capture};
use crate::decode::{DecodeConfig, Decoded, Decoder, Outcome};
use mysql_common::constants::CapabilityFlags;
use mysql_common::io::ParseBuf;
use mysql_common::misc::raw::int::LenEnc;
use mysql_common::misc::raw::RawInt;
use mysql_common::packets::{
    Column, ComChangeUser, CommonOkPacket, ErrPacket, HandshakePacket, HandshakeResponse,
    OkPacketDeserializer, OldEofPacket, ResultSetTerminator, StmtPacket,
};
use std::collections::{BTreeMap, HashMap, VecDeque};

const SYN: u8 = 0x02;

/// The corpus's folder, as `app::tests::replay` finds it.
fn corpus() -> Option<String> {
    let rel = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus/");
    [rel, "/work/shared/corpus/"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(str::to_string)
}

/// The traces: every one of Zeek's MySQL folder, and MySQL on
/// PostgreSQL's port (the only other trace with MySQL in it).
fn traces(root: &str) -> Vec<String> {
    let dir = format!("{root}zeek/Traces/mysql/");
    let mut v: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().to_string_lossy().into_owned())
                .filter(|p| p.contains(".pcap"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v.push(format!(
        "{root}zeek/Traces/postgresql/mysql-on-port-5432.pcap"
    ));
    v
}

/// One TCP segment: the frame's index in the file, its sequence number,
/// flags, payload and the payload's length on the wire.
struct Seg {
    idx: usize,
    seq: u32,
    flags: u8,
    data: Vec<u8>,
    wire: usize,
}

type Key = ([u8; 16], u16, [u8; 16], u16);

/// The TCP segments of a file, per direction, in capture order.
fn segments(path: &str) -> BTreeMap<Key, Vec<Seg>> {
    let mut r = PcapReader::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut dec = Decoder::new(DecodeConfig::default()).unwrap();
    let mut batch = Batch::with_capacity(64);
    let mut dirs: BTreeMap<Key, Vec<Seg>> = BTreeMap::new();
    let mut idx = 0;
    while r.next_batch(&mut batch).is_ok() && !batch.frames().is_empty() {
        for f in batch.frames() {
            let frame = r.frame(f);
            let mut d = Decoded::EMPTY;
            idx += 1;
            if dec.decode(frame, f.link, f.ts_ns, &mut d) != Outcome::Packet || d.proto != 6 {
                continue;
            }
            dirs.entry((d.src, d.sport, d.dst, d.dport))
                .or_default()
                .push(Seg {
                    idx,
                    seq: d.seq,
                    flags: d.tcp_flags,
                    data: dec.payload(frame, &d.payload).to_vec(),
                    wire: d.payload_wire as usize,
                });
        }
    }
    dirs
}

/// A direction's bytes in order, and for each run of new bytes where it
/// starts and the index of the frame that brought it.
struct Stream {
    bytes: Vec<u8>,
    marks: Vec<(usize, usize)>,
}

/// A direction's stream; `None` on a gap or a cut segment.
fn reassemble(segs: &[Seg]) -> Option<Stream> {
    let isn = segs
        .iter()
        .find(|s| s.flags & SYN != 0)
        .map(|s| s.seq.wrapping_add(1))
        .or_else(|| segs.iter().find(|s| !s.data.is_empty()).map(|s| s.seq))?;
    let mut v: Vec<(i64, &Seg)> = segs
        .iter()
        .filter(|s| s.wire > 0)
        .map(|s| (i64::from(s.seq.wrapping_sub(isn) as i32), s))
        .collect();
    // Stable: of two copies of the same bytes, the first captured wins.
    v.sort_by_key(|&(rel, _)| rel);
    let (mut bytes, mut marks) = (Vec::new(), Vec::new());
    for (rel, s) in v {
        if s.data.len() < s.wire {
            return None;
        }
        let end = rel + s.data.len() as i64;
        let at = bytes.len() as i64;
        if end <= at {
            continue;
        }
        if rel > at {
            return None;
        }
        marks.push((bytes.len(), s.idx));
        bytes.extend_from_slice(&s.data[(at - rel) as usize..]);
    }
    Some(Stream { bytes, marks })
}

/// A MySQL packet of one direction: the frame that brought its first
/// byte, the direction (1: the server), its sequence id and payload
/// (packets of 0xffffff bytes joined with the next).
struct Pkt {
    idx: usize,
    dir: usize,
    seq: u8,
    p: Vec<u8>,
}

/// A direction's packets, by wirelog's framing; a cut last packet is
/// left out.
fn packets(dir: usize, s: &Stream) -> Vec<Pkt> {
    let (bytes, marks) = (&s.bytes, &s.marks);
    let idx_at = |off: usize| marks[marks.partition_point(|&(o, _)| o <= off) - 1].1;
    let mut v: Vec<Pkt> = Vec::new();
    let (mut at, mut joining) = (0, false);
    while let parse::Frame::Packet { seq, len } = parse::frame(&bytes[at..]) {
        let Some(p) = bytes.get(at + parse::HDR..at + parse::HDR + len) else {
            break;
        };
        if joining {
            let last = v.last_mut().unwrap();
            last.p.extend_from_slice(p);
        } else {
            v.push(Pkt {
                idx: idx_at(at),
                dir,
                seq,
                p: p.to_vec(),
            });
        }
        joining = len == parse::MAX_PACKET;
        at += parse::HDR + len;
    }
    v
}

/// Packets compared, per kind, and conversations left out, per reason.
#[derive(Default)]
struct Counts {
    convs: usize,
    kinds: BTreeMap<&'static str, usize>,
    skipped: BTreeMap<&'static str, usize>,
}

impl Counts {
    fn add(&mut self, k: &'static str) {
        *self.kinds.entry(k).or_default() += 1;
    }
    /// Packets walked (prefixes and conversations not counted).
    fn packets(&self) -> usize {
        self.kinds
            .iter()
            .filter(|(k, _)| !k.starts_with("prefix") && !k.starts_with("conversation"))
            .map(|(_, v)| v)
            .sum()
    }
    fn skip(&mut self, k: &'static str) {
        *self.skipped.entry(k).or_default() += 1;
    }
}

/// What the walker waits for from the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Want {
    /// The login's answer: OK, ERR, an auth switch or more auth data.
    Auth,
    /// A query's (or an execute's) answer: OK, ERR, LOCAL INFILE or a
    /// column count.
    Result,
    /// Column definitions still to come.
    Cols(u64),
    /// The EOF after column definitions.
    ColsEof,
    /// Rows, up to an EOF (or an OK in its place) or an ERR.
    Rows,
    /// COM_STMT_PREPARE's answer.
    Prepare,
    /// COM_FIELD_LIST's column definitions, up to an EOF.
    FieldList,
    /// OK, ERR or EOF.
    Done,
    /// One packet not compared (COM_STATISTICS' text).
    Any,
}

/// A conversation in the walker.
struct Conv<'c> {
    n: &'c mut Counts,
    name: String,
    server_caps: u32,
    /// The client's capabilities (what the server honours).
    caps: u32,
    phase: Phase,
    /// Commands waiting for their answer.
    cmds: VecDeque<u8>,
    wants: VecDeque<Want>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Greeting,
    Login,
    Auth,
    Commands,
    Over,
}

fn flags(c: u32) -> CapabilityFlags {
    CapabilityFlags::from_bits_truncate(c)
}

fn mc<'a, T: mysql_common::proto::MyDeserialize<'a>>(p: &'a [u8], ctx: T::Ctx) -> Option<T> {
    ParseBuf(p).parse::<T>(ctx).ok()
}

fn nonempty(s: Option<&[u8]>) -> Option<&[u8]> {
    s.filter(|s| !s.is_empty())
}

impl Conv<'_> {
    fn server(&mut self, k: &Pkt) {
        let p = &k.p[..];
        let first = p.first().copied();
        if self.phase == Phase::Greeting {
            if first == Some(0xff) {
                // Refused before the greeting: no capabilities yet.
                self.compare_err(p);
                self.phase = Phase::Over;
            } else {
                self.compare_greeting(p);
                self.phase = Phase::Login;
            }
            return;
        }
        let Some(want) = self.wants.front().copied().or_else(|| {
            let c = self.cmds.pop_front()?;
            self.answer_to(c);
            self.wants.front().copied()
        }) else {
            panic!("{}: a server packet answers nothing: {p:02x?}", self.name);
        };
        self.wants.pop_front();
        let deprecate_eof = self.caps & cap::DEPRECATE_EOF != 0;
        match (want, first) {
            (Want::Auth, Some(0x00)) => {
                self.compare_ok(p);
                if self.caps & self.server_caps & cap::COMPRESS != 0 {
                    self.n.skip("compressed after the login");
                    self.phase = Phase::Over;
                } else {
                    self.phase = Phase::Commands;
                }
            }
            (Want::Auth, Some(0xfe | 0x01)) => {
                // An auth switch, or more data for the plugin.
                self.n.add("auth switch or more data (not compared)");
                self.wants.push_front(Want::Auth);
            }
            (Want::Result | Want::Done | Want::Auth | Want::Rows | Want::Prepare, Some(0xff)) => {
                self.compare_err(p);
                if want == Want::Auth {
                    self.phase = Phase::Over;
                }
            }
            (Want::Result | Want::Done, Some(0x00)) => {
                let st = self.compare_ok(p);
                if want == Want::Result && st & parse::MORE_RESULTS != 0 {
                    self.wants.push_front(Want::Result);
                }
            }
            (Want::Result, Some(0xfb)) => {
                // LOCAL INFILE: the client sends the file, then the
                // server's OK.
                self.n.add("local infile request (not compared)");
                self.wants.push_front(Want::Done);
            }
            (Want::Result, Some(_)) => {
                let (n, metadata) = self.compare_column_count(p);
                let mut w = vec![Want::Rows];
                if metadata {
                    w.insert(0, Want::Cols(n));
                    if !deprecate_eof {
                        w.insert(1, Want::ColsEof);
                    }
                }
                for x in w.into_iter().rev() {
                    self.wants.push_front(x);
                }
            }
            (Want::Cols(n), Some(_)) => {
                self.compare_column(p);
                if n > 1 {
                    self.wants.push_front(Want::Cols(n - 1));
                }
            }
            (Want::ColsEof, Some(0xfe)) => {
                let st = self.compare_eof(p);
                if st & parse::CURSOR_EXISTS != 0 {
                    // Rows come by COM_STMT_FETCH.
                    assert_eq!(self.wants.pop_front(), Some(Want::Rows), "{}", self.name);
                }
            }
            (Want::Rows, Some(0xfe)) if p.len() < parse::MAX_PACKET => {
                let st = if deprecate_eof {
                    self.compare_ok_terminator(p)
                } else {
                    self.compare_eof(p)
                };
                if st & parse::MORE_RESULTS != 0 {
                    self.wants.push_front(Want::Result);
                }
            }
            (Want::Rows, _) => {
                self.n.add("row (not compared)");
                self.wants.push_front(Want::Rows);
            }
            (Want::Prepare, Some(0x00)) => {
                let (columns, params) = self.compare_prepared(p);
                let mut w = Vec::new();
                for n in [params, columns] {
                    if n > 0 {
                        w.push(Want::Cols(n.into()));
                        if !deprecate_eof {
                            w.push(Want::ColsEof);
                        }
                    }
                }
                for x in w.into_iter().rev() {
                    self.wants.push_front(x);
                }
            }
            (Want::FieldList | Want::Done, Some(0xfe)) => {
                if deprecate_eof {
                    self.compare_ok_terminator(p);
                } else {
                    self.compare_eof(p);
                }
            }
            (Want::FieldList, Some(_)) => {
                self.compare_column(p);
                self.wants.push_front(Want::FieldList);
            }
            (Want::Any, _) => self.n.add("statistics text (not compared)"),
            _ => panic!(
                "{}: waiting for {want:?}, the server sent {p:02x?}",
                self.name
            ),
        }
    }

    /// The answer a command waits for.
    fn answer_to(&mut self, c: u8) {
        let w = match c {
            0x03 | 0x17 | 0x0a => Want::Result,
            0x16 => Want::Prepare,
            0x04 => Want::FieldList,
            0x1c => Want::Rows,
            0x09 => Want::Any,
            0x11 => Want::Auth,
            _ => Want::Done,
        };
        self.wants.push_back(w);
    }

    fn client(&mut self, k: &Pkt) {
        let p = &k.p[..];
        match self.phase {
            Phase::Login => {
                if self.compare_login(p) {
                    self.n.skip("TLS after an SSLRequest");
                    self.phase = Phase::Over;
                } else {
                    self.phase = Phase::Auth;
                    self.wants.push_back(Want::Auth);
                }
            }
            Phase::Commands if k.seq == 0 => match p.first() {
                // No answer.
                Some(0x01 | 0x18 | 0x19) => {}
                Some(0x12 | 0x1e) => {
                    self.n.skip("binlog stream");
                    self.phase = Phase::Over;
                }
                Some(0x11) => {
                    self.compare_change_user(p);
                    self.cmds.push_back(0x11);
                }
                Some(&c) => self.cmds.push_back(c),
                None => {}
            },
            // Auth data, a LOCAL INFILE file.
            _ => {}
        }
    }

    fn compare_greeting(&mut self, p: &[u8]) {
        let w = parse::greeting(p).unwrap_or_else(|| panic!("{}: greeting", self.name));
        let m: HandshakePacket = mc(p, ()).unwrap_or_else(|| panic!("{}: mc greeting", self.name));
        assert_eq!(w.version, m.server_version_ref(), "{}", self.name);
        assert_eq!(w.connection_id, m.connection_id(), "{}", self.name);
        // mysql_common keeps the bits it knows.
        assert_eq!(
            w.caps & CapabilityFlags::all().bits(),
            m.capabilities().bits(),
            "{}",
            self.name
        );
        assert_eq!(
            w.auth_plugin,
            nonempty(m.auth_plugin_name_ref()),
            "{}",
            self.name
        );
        self.server_caps = w.caps;
        self.n.add("greeting");
        self.prefixes(Cut::Greeting, p);
    }

    /// Whether the login asks for TLS.
    fn compare_login(&mut self, p: &[u8]) -> bool {
        let w = parse::login(p).unwrap_or_else(|| panic!("{}: login {p:02x?}", self.name));
        self.caps = w.caps;
        if w.ssl {
            let m: mysql_common::packets::SslRequest = mc(p, ()).unwrap();
            assert_eq!(
                w.caps,
                m.capabilities().bits() | (w.caps & !CapabilityFlags::all().bits())
            );
            self.n.add("ssl request");
            return true;
        }
        let m: HandshakeResponse = mc(p, ()).unwrap_or_else(|| panic!("{}: mc login", self.name));
        assert_eq!(w.user, Some(m.user()), "{}", self.name);
        assert_eq!(w.database, m.db_name(), "{}", self.name);
        assert_eq!(
            w.auth_plugin,
            nonempty(m.auth_plugin().map(|a| a.as_bytes())),
            "{}",
            self.name
        );
        match m.connect_attributes() {
            Some(a) => {
                let get = |k: &str| a.get(k).map(String::as_str);
                fn s(v: Option<&[u8]>) -> Option<std::borrow::Cow<'_, str>> {
                    v.map(String::from_utf8_lossy)
                }
                assert_eq!(s(w.attrs.client_name).as_deref(), get("_client_name"));
                assert_eq!(s(w.attrs.client_version).as_deref(), get("_client_version"));
                assert_eq!(s(w.attrs.program_name).as_deref(), get("program_name"));
                assert_eq!(w.attrs.count as usize, a.len(), "{}", self.name);
                self.n.add("login with attributes");
            }
            None => assert_eq!(w.attrs, parse::Attrs::default()),
        }
        self.n.add("login");
        self.prefixes(Cut::Login, p);
        false
    }

    fn compare_change_user(&mut self, p: &[u8]) {
        // mysql_common's ComChangeUser has no accessors: both accept it.
        assert!(parse::change_user(&p[1..], self.caps).is_some());
        assert!(mc::<ComChangeUser>(p, flags(self.caps)).is_some());
        self.n.add("change user (accepted by both)");
    }

    /// The status.
    fn compare_ok(&mut self, p: &[u8]) -> u16 {
        let w = parse::ok(p).unwrap_or_else(|| panic!("{}: ok", self.name));
        let m = mc::<OkPacketDeserializer<CommonOkPacket>>(p, flags(self.caps))
            .unwrap_or_else(|| panic!("{}: mc ok {p:02x?}", self.name))
            .into_inner();
        assert_eq!(w.rows, m.affected_rows(), "{}", self.name);
        assert_eq!(
            w.insert_id,
            m.last_insert_id().unwrap_or(0),
            "{}",
            self.name
        );
        assert_eq!(w.status, m.status_flags().bits(), "{}", self.name);
        assert_eq!(w.warnings, m.warnings(), "{}", self.name);
        self.n.add("ok");
        self.prefixes(Cut::Ok, p);
        w.status
    }

    /// An OK in an EOF's place: the status.
    fn compare_ok_terminator(&mut self, p: &[u8]) -> u16 {
        assert!(parse::is_end(p[0], p.len()) && !parse::is_eof(p[0], p.len()));
        let w = parse::ok(p).unwrap_or_else(|| panic!("{}: ok", self.name));
        let m = mc::<OkPacketDeserializer<ResultSetTerminator>>(p, flags(self.caps))
            .unwrap_or_else(|| panic!("{}: mc ok {p:02x?}", self.name))
            .into_inner();
        // mysql_common does not return the rows and the insert id.
        assert_eq!(w.status, m.status_flags().bits(), "{}", self.name);
        assert_eq!(w.warnings, m.warnings(), "{}", self.name);
        self.n.add("ok ending rows");
        w.status
    }

    /// The status.
    fn compare_eof(&mut self, p: &[u8]) -> u16 {
        assert!(parse::is_eof(p[0], p.len()), "{}: {p:02x?}", self.name);
        let (status, warnings) = parse::eof(p);
        let m = mc::<OkPacketDeserializer<OldEofPacket>>(p, flags(self.caps))
            .unwrap_or_else(|| panic!("{}: mc eof {p:02x?}", self.name))
            .into_inner();
        assert_eq!(status, m.status_flags().bits(), "{}", self.name);
        assert_eq!(warnings, m.warnings(), "{}", self.name);
        self.n.add("eof");
        status
    }

    fn compare_err(&mut self, p: &[u8]) {
        assert!(!parse::is_progress(p));
        let w = parse::err(p).unwrap_or_else(|| panic!("{}: err", self.name));
        let m = mc::<ErrPacket>(p, flags(self.caps))
            .unwrap_or_else(|| panic!("{}: mc err {p:02x?}", self.name));
        let ErrPacket::Error(m) = m else {
            panic!("{}: a progress report", self.name)
        };
        assert_eq!(w.code, m.error_code(), "{}", self.name);
        let state = m.sql_state_ref().map(|s| s.as_bytes());
        if self.caps & cap::PROTOCOL_41 != 0 {
            assert_eq!(w.state, state.as_ref().map(|s| &s[..]), "{}", self.name);
            assert_eq!(w.message, m.message_ref(), "{}", self.name);
        } else {
            // Before protocol 4.1 is agreed, mysql_common reads no SQL
            // state; wirelog reads one where the marker stands.
            assert_eq!(state, None);
            let marker = w.state.map_or(0, |_| 6);
            assert_eq!(&p[3 + marker..], w.message, "{}", self.name);
            assert_eq!(&p[3..], m.message_ref(), "{}", self.name);
        }
        self.n.add("err");
    }

    /// The count, and whether definitions follow.
    fn compare_column_count(&mut self, p: &[u8]) -> (u64, bool) {
        let (n, metadata) =
            parse::column_count(p).unwrap_or_else(|| panic!("{}: count {p:02x?}", self.name));
        let m = mc::<RawInt<LenEnc>>(p, ()).unwrap();
        assert_eq!(n, *m, "{}", self.name);
        // The metadata flag is sent with CLIENT_OPTIONAL_RESULTSET_METADATA
        // only.
        assert!(metadata || self.caps & (1 << 25) != 0, "{}", self.name);
        self.n.add("column count");
        (n, metadata)
    }

    fn compare_column(&mut self, p: &[u8]) {
        let w = parse::column_name(p).unwrap_or_else(|| panic!("{}: column", self.name));
        let m = mc::<Column>(p, ()).unwrap_or_else(|| panic!("{}: mc column {p:02x?}", self.name));
        assert_eq!(w, m.name_ref(), "{}", self.name);
        self.n.add("column definition");
        self.prefixes(Cut::Column, p);
    }

    /// The columns and the parameters.
    fn compare_prepared(&mut self, p: &[u8]) -> (u16, u16) {
        let w = parse::prepared(p).unwrap_or_else(|| panic!("{}: prepare ok", self.name));
        let m = mc::<StmtPacket>(p, ()).unwrap_or_else(|| panic!("{}: mc prepare", self.name));
        assert_eq!(
            (w.id, w.columns, w.params, w.warnings),
            (
                m.statement_id(),
                m.num_columns(),
                m.num_params(),
                m.warning_count()
            ),
            "{}",
            self.name
        );
        self.n.add("prepare ok");
        (w.columns, w.params)
    }
}

/// A packet read again cut short, as wirelog's parsers may be given a
/// long packet's prefix.
#[derive(Clone, Copy, Debug)]
enum Cut {
    Greeting,
    Login,
    Ok,
    Column,
}

impl Conv<'_> {
    /// Every prefix of `p` that mysql_common reads is read the same by
    /// wirelog.
    fn prefixes(&mut self, kind: Cut, p: &[u8]) {
        for cut in 1..p.len() {
            let q = &p[..cut];
            let same = match kind {
                Cut::Greeting => mc::<HandshakePacket>(q, ()).map(|m| {
                    parse::greeting(q).is_some_and(|w| {
                        w.version == m.server_version_ref()
                            && w.connection_id == m.connection_id()
                            && w.caps & CapabilityFlags::all().bits() == m.capabilities().bits()
                            && w.auth_plugin == nonempty(m.auth_plugin_name_ref())
                    })
                }),
                Cut::Login => mc::<HandshakeResponse>(q, ()).map(|m| {
                    parse::login(q).is_some_and(|w| {
                        w.user == Some(m.user())
                            && w.database == m.db_name()
                            && w.auth_plugin == nonempty(m.auth_plugin().map(|a| a.as_bytes()))
                    })
                }),
                Cut::Ok => {
                    mc::<OkPacketDeserializer<CommonOkPacket>>(q, flags(self.caps)).map(|m| {
                        let m = m.into_inner();
                        parse::ok(q).is_some_and(|w| {
                            (w.rows, w.insert_id, w.status, w.warnings)
                                == (
                                    m.affected_rows(),
                                    m.last_insert_id().unwrap_or(0),
                                    m.status_flags().bits(),
                                    m.warnings(),
                                )
                        })
                    })
                }
                Cut::Column => {
                    mc::<Column>(q, ()).map(|m| parse::column_name(q) == Some(m.name_ref()))
                }
            };
            if let Some(same) = same {
                assert!(same, "{}: {kind:?} cut at {cut}: {p:02x?}", self.name);
                self.n.add("prefix read by both");
            }
        }
    }
}

/// Walks one connection's packets, both directions merged in capture
/// order.
fn walk(n: &mut Counts, name: String, mut pkts: Vec<Pkt>) {
    pkts.sort_by_key(|k| k.idx);
    let mut c = Conv {
        n,
        name,
        server_caps: 0,
        caps: 0,
        phase: Phase::Greeting,
        cmds: VecDeque::new(),
        wants: VecDeque::new(),
    };
    for k in &pkts {
        if c.phase == Phase::Over {
            break;
        }
        if k.dir == 1 {
            c.server(k);
        } else {
            c.client(k);
        }
    }
    // Every answer was read to its end: the walker lost no packet.
    if c.phase != Phase::Over {
        assert!(
            c.wants.is_empty() && c.cmds.is_empty(),
            "{}: {:?} {:?}",
            c.name,
            c.wants,
            c.cmds
        );
        c.n.add("conversation read to its end");
    }
}

#[test]
fn parsers_agree_with_mysql_common_on_the_corpus() {
    let Some(root) = corpus() else {
        eprintln!("no corpus: nothing compared");
        return;
    };
    let mut n = Counts::default();
    let mut files = 0;
    for path in traces(&root) {
        let name = path.rsplit('/').next().unwrap().to_string();
        files += 1;
        let before = (n.convs, n.packets());
        let mut dirs = segments(&path);
        // Pair the directions into connections.
        let keys: Vec<Key> = dirs.keys().copied().collect();
        let mut seen = HashMap::new();
        for k @ (a, ap, b, bp) in keys {
            if seen.contains_key(&(b, bp, a, ap)) || seen.contains_key(&k) {
                continue;
            }
            seen.insert(k, ());
            let one = dirs.remove(&k).unwrap_or_default();
            let other = dirs.remove(&(b, bp, a, ap)).unwrap_or_default();
            let (Some(x), Some(y)) = (reassemble(&one), reassemble(&other)) else {
                if one.iter().chain(&other).any(|s| s.wire > 0) {
                    n.skip("a direction with a gap or cut segment");
                }
                continue;
            };
            // The server is the side whose first packet is a greeting (or
            // an ERR at sequence 0 with no client bytes before it).
            let is_greeting = |b: &[u8]| {
                matches!(parse::frame(b), parse::Frame::Packet { seq: 0, .. })
                    && b.get(parse::HDR).is_some_and(|&c| c == 10 || c == 0xff)
                    && parse::probe(1, b) != parse::Probe::No
            };
            let (client, server) = if is_greeting(&y.bytes) && !is_greeting(&x.bytes) {
                (x, y)
            } else if is_greeting(&x.bytes) {
                (y, x)
            } else {
                if !x.bytes.is_empty() || !y.bytes.is_empty() {
                    n.skip("no greeting (not MySQL, or seen late)");
                }
                continue;
            };
            let mut pkts = packets(0, &client);
            pkts.extend(packets(1, &server));
            walk(&mut n, format!("{name} {ap}-{bp}"), pkts);
            n.convs += 1;
        }
        eprintln!(
            "  {name}: {} conversations, {} packets walked",
            n.convs - before.0,
            n.packets() - before.1
        );
    }
    eprintln!(
        "mysql_common differential: {files} traces, {} conversations walked",
        n.convs
    );
    for (k, v) in &n.kinds {
        eprintln!("  {v:5}  {k}");
    }
    for (k, v) in &n.skipped {
        eprintln!("  left out: {v} ({k})");
    }
    for k in [
        "greeting",
        "login",
        "ok",
        "err",
        "column count",
        "column definition",
        "eof",
    ] {
        assert!(n.kinds.get(k).copied().unwrap_or(0) > 0, "no {k} compared");
    }
}
