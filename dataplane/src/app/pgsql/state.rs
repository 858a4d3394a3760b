//! The PostgreSQL state of one connection: the startup phase (SSLRequest,
//! GSSENCRequest, CancelRequest, StartupMessage and authentication), then
//! typed messages from both sides, paired in order.
//!
//! Client messages that the server answers wait in a bounded ring
//! ([`Fifo`]); the server's messages complete the one in front. A Query is
//! answered up to its ReadyForQuery; Parse, Bind, Describe and Close by
//! their completions; an Execute by CommandComplete, EmptyQueryResponse or
//! PortalSuspended. After an ErrorResponse the server discards every
//! message up to Sync: those still waiting are logged as skipped.
//!
//! Statement texts (from Parse, or a Query's) are kept in a few slots of
//! [`TEXT_KEEP`] bytes, found by statement name (a hash) through Bind's
//! portal; a slot is shared by the messages that name it and freed when
//! none does. Bodies the analyzer does not read (rows, COPY data, password
//! and SASL messages) are skipped, never buffered; of a long message only
//! its first [`WHOLE`] bytes are read.
//!
//! A gap logs what waits as unanswered and each direction resumes at the
//! first chunk that starts with a message header.

use super::parse::{self, Frame};
use super::record::{self, End};
use super::txn::{Answer, Login, Op, Pending, Short, NAME_KEEP, NO_SLOT, TEXT_KEEP};
use super::{Pgsql as P, STOPPED};
use crate::app::open::Fifo;
use crate::app::sql::{self, Binary, Dialect, Kept, KEPT_ROOM};
use crate::app::{Cx, Proto, Step};
use crate::record::RecordOut;

/// A message up to this long is waited for whole; of a longer one this
/// much is read and the rest skipped.
pub const WHOLE: usize = 2048;
/// Client messages waiting for answers in the session; more (a driver's
/// pipelined batch) wait in the transaction buffer.
pub const OPEN_CAP: usize = 16;
/// The key bit of a waiting message kept in the transaction buffer.
const SPILLED: u32 = 1 << 31;
/// Statement texts kept at once.
pub const SLOTS: usize = 5;
/// Portals remembered at once.
pub const PORTALS: usize = 4;
/// A statement text longer than the session state keeps
/// ([`TEXT_KEEP`]) is kept whole up to this many bytes (all a message
/// read gives) in the connection's transaction buffer, while one is free.
pub const TEXT_LONG: usize = sql::TEXT_LONG;
const _: () = assert!(TEXT_LONG == WHOLE);

/// What a connection keeps at rest: its phase, and who it is (the user,
/// database and application its startup named), so every statement after
/// the rest still says it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Parked {
    /// [`Parked::TYPED`], [`Parked::SSL_REFUSED`].
    pub bits: u8,
    /// `user`.
    pub user: Short<NAME_KEEP>,
    /// `database`.
    pub database: Short<NAME_KEEP>,
    /// `application_name`.
    pub application: Short<NAME_KEEP>,
}

impl Parked {
    /// Typed messages (the startup is over).
    pub const TYPED: u8 = 1;
    /// An SSLRequest was answered `N`: the login to come says so.
    pub const SSL_REFUSED: u8 = 2;
}

/// Where the connection is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Phase {
    /// Startup-phase messages from the client (no type byte).
    #[default]
    Startup,
    /// An SSLRequest waits for `S` or `N`.
    SslWait,
    /// A GSSENCRequest waits for `G` or `N`.
    GssWait,
    /// Typed messages.
    Typed,
}

/// A statement's text and the names that hold it.
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    /// The statement's name (a hash), while it is prepared.
    name: u64,
    named: bool,
    /// Portals and waiting messages using it.
    refs: u8,
    text: Short<TEXT_KEEP>,
    /// The whole text (up to [`TEXT_LONG`] bytes) in the transaction
    /// buffer, when longer than `text` keeps.
    long: sql::Long,
    /// The key of its declared parameter types (how binary values read),
    /// in the transaction buffer (0: none).
    types: u32,
}

impl Slot {
    /// Holds a statement: prepared, or used by a portal or a message.
    fn in_use(&self) -> bool {
        self.named || self.refs > 0
    }
}

/// A portal: its name (a hash), its statement and its parameters.
#[derive(Clone, Copy, Debug, Default)]
struct Portal {
    name: u64,
    used: bool,
    slot: u8,
    params: u16,
    /// Its parameter values' key (0: none kept).
    vals: u32,
    /// Sync and Query messages sent before its Bind: the ReadyForQuery
    /// answering the next one ends its transaction.
    epoch: u32,
}

/// PostgreSQL state of one connection.
#[derive(Debug)]
pub struct Pgsql {
    phase: Phase,
    pub(super) login: Login,
    open: Fifo<Pending, OPEN_CAP>,
    answer: Answer,
    slots: [Slot; SLOTS],
    portals: [Portal; PORTALS],
    /// The next prepared statement to forget when every slot is taken.
    hand: u8,
    /// Per direction: a gap lost the place.
    lost: [bool; 2],
    /// Answers to read and not log (their messages were not tracked).
    untracked: u32,
    /// Not PostgreSQL any more (or a GSS-encrypted stream).
    over: bool,
    /// The connection goes on in TLS.
    pub(super) next: Option<Proto>,
    /// `--sql-literals mask`.
    mask: bool,
    /// The transaction buffer holding long texts, parameter types and
    /// bind parameter values.
    hold: sql::Hold,
    /// Sync and Query messages sent, and ReadyForQuery messages read:
    /// which transaction a portal belongs to.
    syncs_sent: u32,
    syncs_answered: u32,
    /// Waiting messages past the session's [`OPEN_CAP`].
    spill: Spill,
}

/// Waiting messages past the session's [`OPEN_CAP`], kept in order in the
/// transaction buffer under keys with [`SPILLED`] set (the hold's own keys
/// never have it): the first and one past the last.
#[derive(Clone, Copy, Debug, Default)]
struct Spill {
    head: u32,
    tail: u32,
    /// The oldest parameter values those may name.
    vals: u32,
}

impl Spill {
    fn is_empty(&self) -> bool {
        self.head == self.tail
    }

    /// Whether `k` is wanted by a message kept here (itself, or values it
    /// may name).
    fn wants(&self, k: u32) -> bool {
        let (h, t) = (self.head, self.tail);
        if h == t {
            return false;
        }
        if k & SPILLED != 0 {
            return (k & !SPILLED).wrapping_sub(h) & !SPILLED < t.wrapping_sub(h) & !SPILLED;
        }
        // Keys grow: the values a waiting Execute names are no older than
        // the oldest any of them named.
        self.vals != 0 && k.wrapping_sub(self.vals) & !SPILLED < 1 << 30
    }
}

/// Statement `k` of a Query's text `all` (`cut`: kept only in part), and
/// whether another follows it in the text.
fn query_part(all: &[u8], cut: bool, k: u32) -> (Option<record::Text<'_>>, bool) {
    match sql::statement_at(Dialect::Postgres, all, k as usize) {
        Some((s, e, more)) => {
            let multi = more || k > 0;
            let text = record::Text {
                text: Some(&all[s..e]),
                cut: cut && e == all.len(),
                index: multi.then_some(k),
            };
            // A text cut short may hold more statements than kept.
            (Some(text), more || (cut && e == all.len()))
        }
        None if k == 0 => (
            Some(record::Text {
                text: Some(b""),
                cut,
                index: None,
            }),
            false,
        ),
        // Past the bytes kept of a text cut short: a statement whose text
        // is not known, only its place.
        None if cut => (
            Some(record::Text {
                text: None,
                cut: false,
                index: Some(k),
            }),
            true,
        ),
        None => (None, false),
    }
}

/// Whether what is kept under `k` is still named: by a portal's values,
/// a waiting message's, or a statement's long text or types.
fn wanted(portals: &[Portal], open: &Fifo<Pending, OPEN_CAP>, slots: &[Slot], k: u32) -> bool {
    portals.iter().any(|p| p.used && p.vals == k)
        || open.iter().any(|p| p.vals == k)
        || slots
            .iter()
            .any(|s| s.in_use() && (s.long.key == k || s.types == k))
}

/// A stable 64-bit hash of a name (FNV-1a).
const fn hash(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < b.len() {
        h = (h ^ b[i] as u64).wrapping_mul(0x100_0000_01b3);
        i += 1;
    }
    h
}

/// The unnamed statement's name.
const UNNAMED: u64 = hash(b"");

impl Pgsql {
    /// A connection resuming from `parked`.
    pub fn new(mask: bool, parked: Parked) -> Self {
        Self {
            phase: if parked.bits & Parked::TYPED != 0 {
                Phase::Typed
            } else {
                Phase::Startup
            },
            login: Login {
                ssl_refused: parked.bits & Parked::SSL_REFUSED != 0,
                user: parked.user,
                database: parked.database,
                application: parked.application,
                ..Login::default()
            },
            open: Fifo::new(OPEN_CAP),
            answer: Answer::default(),
            slots: [Slot::default(); SLOTS],
            portals: [Portal::default(); PORTALS],
            hand: 0,
            lost: [false; 2],
            untracked: 0,
            over: false,
            next: None,
            mask,
            hold: sql::Hold::default(),
            syncs_sent: 0,
            syncs_answered: 0,
            spill: Spill::default(),
        }
    }

    /// Nothing more is read.
    pub fn over(&self) -> bool {
        self.over
    }

    /// The state to keep at rest, when nothing is held but who the
    /// connection is: no message waits, no login is open, no portal is
    /// open, no named statement is prepared (a driver's prepared
    /// statements keep the session). The unnamed statement does not: it
    /// lasts until the next Parse, which drivers send with every query,
    /// so idle connections give their sessions back; a Bind of it after
    /// a rest is logged `statement_unknown`.
    pub fn at_rest(&self) -> Option<Parked> {
        let idle = self.open.is_empty()
            && !self.login.open
            && self
                .slots
                .iter()
                .all(|s| (!s.named || s.name == UNNAMED) && s.refs == 0)
            && self.portals.iter().all(|p| !p.used)
            && self.phase != Phase::SslWait
            && self.phase != Phase::GssWait
            && !self.hold.held();
        let mut bits = 0;
        if self.phase == Phase::Typed {
            bits |= Parked::TYPED;
        }
        if self.login.ssl_refused {
            bits |= Parked::SSL_REFUSED;
        }
        idle.then_some(Parked {
            bits,
            user: self.login.user,
            database: self.login.database,
            application: self.login.application,
        })
    }

    fn release(&mut self, s: u8) {
        if let Some(x) = self.slots.get_mut(usize::from(s)) {
            x.refs = x.refs.saturating_sub(1);
        }
    }

    fn retain(&mut self, s: u8) -> u8 {
        match self.slots.get_mut(usize::from(s)) {
            Some(x) => {
                x.refs = x.refs.saturating_add(1);
                s
            }
            None => NO_SLOT,
        }
    }

    /// A free slot for a new text (`name`: the statement's, prepared), or
    /// [`NO_SLOT`] when every one is in use.
    fn store<O: RecordOut>(
        &mut self,
        name: Option<u64>,
        text: &[u8],
        whole: bool,
        cx: &mut Cx<'_, O>,
    ) -> u8 {
        if let Some(h) = name {
            // Parsing a name again replaces the statement.
            for s in &mut self.slots {
                if s.named && s.name == h {
                    s.named = false;
                }
            }
        }
        // A free slot, else the next prepared statement no message uses
        // (in turn): forgotten, so that the newest statements are known.
        let free = self.slots.iter().position(|s| !s.named && s.refs == 0);
        let Some(i) = free.or_else(|| {
            let i = (0..SLOTS)
                .map(|k| (usize::from(self.hand) + k) % SLOTS)
                .find(|&k| self.slots[k].refs == 0)?;
            self.hand = ((i + 1) % SLOTS) as u8;
            Some(i)
        }) else {
            return NO_SLOT;
        };
        let s = &mut self.slots[i];
        s.text.put(text, whole);
        s.named = name.is_some();
        s.name = name.unwrap_or(0);
        s.types = 0;
        self.keep_text(i, text, whole, cx);
        i as u8
    }

    fn find_statement(&self, name: &[u8]) -> u8 {
        let h = hash(name);
        self.slots
            .iter()
            .position(|s| s.named && s.name == h)
            .map_or(NO_SLOT, |i| i as u8)
    }

    /// Opens `p` behind the messages waiting: in the session, else in
    /// the transaction buffer; else (no buffer, or no room in it) its
    /// answer is read and not logged, counted in `txn_limit`, as is every
    /// message after it until the answers catch up, so pairing stays in
    /// order.
    fn push<O: RecordOut>(&mut self, p: Pending, cx: &mut Cx<'_, O>) {
        if self.untracked == 0 {
            if self.spill.is_empty() && self.open.push(p).is_ok() {
                return;
            }
            if self.spill(p, cx) {
                return;
            }
        }
        cx.stats.txn_limit += 1;
        self.release(p.slot);
        self.untracked = self.untracked.saturating_add(1);
    }

    /// Keeps `p` waiting in the transaction buffer.
    fn spill<O: RecordOut>(&mut self, p: Pending, cx: &mut Cx<'_, O>) -> bool {
        let key = SPILLED | self.spill.tail;
        let b = p.to_bytes();
        let kept = self
            .kept(b.len() + 8, cx)
            .is_some_and(|tb| Kept::put_bytes(&mut tb.frag, key, &b));
        if kept {
            if p.vals != 0 && self.spill.vals == 0 {
                self.spill.vals = p.vals;
            }
            self.spill.tail = self.spill.tail.wrapping_add(1) & !SPILLED;
        }
        kept
    }

    /// Moves the oldest messages kept in the transaction buffer into the
    /// session as it makes room.
    fn unspill<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        while !self.spill.is_empty() && !self.open.is_full() {
            let key = SPILLED | self.spill.head;
            let p = self.hold.find(key, cx.txn).and_then(Pending::from_bytes);
            self.spill.head = self.spill.head.wrapping_add(1) & !SPILLED;
            match p {
                Some(p) => {
                    let _ = self.open.push(p);
                }
                None => {
                    cx.stats.txn_limit += 1;
                    self.untracked = self.untracked.saturating_add(1);
                }
            }
        }
        if self.spill.is_empty() {
            self.spill.vals = 0;
        }
    }

    /// Parses bytes of direction `dir`.
    pub fn parse<O: RecordOut>(&mut self, dir: usize, data: &[u8], cx: &mut Cx<'_, O>) -> Step {
        if self.over {
            return Step::Stop;
        }
        if dir == 0 {
            match self.phase {
                Phase::Startup => return self.startup(data, cx),
                Phase::SslWait | Phase::GssWait if data.first() == Some(&0x16) => {
                    // A ClientHello: the server's `S` was not seen (or
                    // comes later in the capture).
                    self.next = Some(Proto::Tls);
                    return Step::Need {
                        consumed: 0,
                        min: usize::MAX,
                    };
                }
                Phase::SslWait | Phase::GssWait => {
                    self.phase = Phase::Startup;
                    return self.startup(data, cx);
                }
                Phase::Typed => {}
            }
        } else if matches!(self.phase, Phase::SslWait | Phase::GssWait) {
            return self.encryption_reply(data, cx);
        }
        if self.lost[dir] {
            // After a gap: read again at a chunk that starts a message.
            if !parse::resyncs(dir, data) {
                return Step::Consumed(data.len());
            }
            self.lost[dir] = false;
        }
        let (ty, hdr, body) = match parse::typed_frame(dir, data) {
            Frame::Need(n) => {
                return Step::Need {
                    consumed: 0,
                    min: n,
                }
            }
            Frame::Bad => return self.bad(cx),
            Frame::Msg { ty, hdr, body } => (ty, hdr, body),
        };
        // Bodies never read: counted and skipped.
        let skip_all = match (dir, ty) {
            (0, b'p') | (1, b'D') => true,
            (0 | 1, b'd') => {
                self.answer.copy_bytes = self.answer.copy_bytes.saturating_add(body as u64);
                true
            }
            _ => false,
        };
        if skip_all {
            if dir == 1 && ty == b'D' {
                self.answer.data_rows += 1;
            }
            return Step::Skip {
                consumed: hdr,
                len: body as u64,
            };
        }
        let want = body.min(WHOLE);
        let Some(b) = data.get(hdr..hdr + want) else {
            return Step::Need {
                consumed: 0,
                min: hdr + want,
            };
        };
        let whole = want == body;
        if dir == 0 {
            self.client(ty, b, whole, cx);
        } else {
            self.server(ty, b, cx);
        }
        if self.over {
            return Step::Stop;
        }
        if whole {
            Step::Consumed(hdr + body)
        } else {
            Step::Skip {
                consumed: hdr + want,
                len: (body - want) as u64,
            }
        }
    }

    /// Bytes that are not PostgreSQL: what waits is logged, the flow left.
    fn bad<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) -> Step {
        let st = cx.stats.of::<P>();
        st.errors += 1;
        st.extra[STOPPED] += 1;
        self.flush(End::Malformed, cx);
        self.over = true;
        Step::Fatal
    }

    /// A startup-phase message from the client.
    fn startup<O: RecordOut>(&mut self, data: &[u8], cx: &mut Cx<'_, O>) -> Step {
        let body = match parse::startup_frame(data) {
            Frame::Need(n) => {
                return Step::Need {
                    consumed: 0,
                    min: n,
                }
            }
            Frame::Msg { body, .. } => body,
            Frame::Bad => {
                // Typed messages: a connection seen after its startup.
                if matches!(
                    parse::typed_frame(0, data),
                    Frame::Msg { .. } | Frame::Need(_)
                ) {
                    self.phase = Phase::Typed;
                    return Step::AGAIN;
                }
                return self.bad(cx);
            }
        };
        let Some(b) = data.get(4..4 + body) else {
            return Step::Need {
                consumed: 0,
                min: 4 + body,
            };
        };
        let code = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        match code {
            parse::SSL_REQUEST if body == 4 => self.phase = Phase::SslWait,
            parse::GSSENC_REQUEST if body == 4 => self.phase = Phase::GssWait,
            parse::CANCEL_REQUEST => {
                record::cancel(parse::cancel_pid(b), cx);
                self.over = true;
                return Step::Stop;
            }
            v if v >> 16 == 3 => match parse::startup(b) {
                Some(s) => {
                    let l = &mut self.login;
                    l.ts = cx.now;
                    l.open = true;
                    l.version = s.version;
                    l.params = s.params;
                    if let Some(u) = s.user {
                        l.user.put(u, true);
                    }
                    if let Some(d) = s.database.or(s.user) {
                        // The database defaults to the user's name.
                        l.database.put(d, true);
                    }
                    if let Some(a) = s.application_name {
                        l.application.put(a, true);
                    }
                    self.phase = Phase::Typed;
                }
                None => return self.bad(cx),
            },
            _ => return self.bad(cx),
        }
        Step::Consumed(4 + body)
    }

    /// The server's one-byte answer to SSLRequest or GSSENCRequest.
    fn encryption_reply<O: RecordOut>(&mut self, data: &[u8], cx: &mut Cx<'_, O>) -> Step {
        let Some(&c) = data.first() else {
            return Step::Need {
                consumed: 0,
                min: 1,
            };
        };
        let ssl = self.phase == Phase::SslWait;
        record::encryption(ssl, c, cx);
        match c {
            b'S' if ssl => {
                // The rest is TLS: held for it.
                self.next = Some(Proto::Tls);
                Step::Need {
                    consumed: 1,
                    min: usize::MAX,
                }
            }
            b'G' if !ssl => {
                // GSSAPI encryption: nothing more can be read.
                cx.stats.of::<P>().extra[STOPPED] += 1;
                self.over = true;
                Step::Stop
            }
            b'N' => {
                self.login.ssl_refused |= ssl;
                self.phase = Phase::Startup;
                Step::Consumed(1)
            }
            // An error before the startup (an old server): typed.
            b'E' => {
                self.phase = Phase::Typed;
                Step::AGAIN
            }
            _ => self.bad(cx),
        }
    }

    /// A client message of type `ty` (its body, or its first [`WHOLE`]
    /// bytes).
    fn client<O: RecordOut>(&mut self, ty: u8, b: &[u8], whole: bool, cx: &mut Cx<'_, O>) {
        let now = cx.now;
        let p = |op, slot, params| Pending {
            ts: now,
            op,
            slot,
            params,
            vals: 0,
        };
        match ty {
            b'Q' => {
                let (text, nul) = parse::cstr_prefix(b, 0);
                let slot = self.store(None, text, whole && nul, cx);
                let slot = self.retain(slot);
                self.syncs_sent = self.syncs_sent.wrapping_add(1);
                self.push(p(Op::Query, slot, 0), cx);
            }
            b'P' => {
                let Some((name, text, nul)) = parse::parse_msg(b) else {
                    cx.stats.of::<P>().errors += 1;
                    return;
                };
                let slot = self.store(Some(hash(name)), text, whole && nul, cx);
                self.keep_types(slot, b, cx);
                let slot = self.retain(slot);
                self.push(p(Op::Parse, slot, 0), cx);
            }
            b'B' => {
                let (portal, stmt, params) = match parse::bind(b) {
                    Some(x) => x,
                    None => {
                        cx.stats.of::<P>().errors += 1;
                        (&b""[..], &b""[..], None)
                    }
                };
                let slot = self.find_statement(stmt);
                let params = params.unwrap_or(0);
                let vals = if params > 0 {
                    self.keep_values(slot, b, cx)
                } else {
                    0
                };
                self.bind_portal(hash(portal), slot, params, vals);
                let slot = self.retain(slot);
                self.push(
                    Pending {
                        vals,
                        ..p(Op::Bind, slot, params)
                    },
                    cx,
                );
            }
            b'E' => {
                let h = parse::execute(b).map_or(hash(b""), |(n, _)| hash(n));
                let (slot, params, vals) = self
                    .portals
                    .iter()
                    .find(|x| x.used && x.name == h)
                    .map_or((NO_SLOT, 0, 0), |x| (x.slot, x.params, x.vals));
                let slot = self.retain(slot);
                self.push(
                    Pending {
                        vals,
                        ..p(Op::Execute, slot, params)
                    },
                    cx,
                );
            }
            b'D' => {
                let slot = match parse::target(b) {
                    Some((b'S', n)) => self.find_statement(n),
                    Some((_, n)) => {
                        let h = hash(n);
                        self.portals
                            .iter()
                            .find(|x| x.used && x.name == h)
                            .map_or(NO_SLOT, |x| x.slot)
                    }
                    None => NO_SLOT,
                };
                let slot = self.retain(slot);
                self.push(p(Op::Describe, slot, 0), cx);
            }
            b'C' => {
                match parse::target(b) {
                    Some((b'S', n)) => {
                        let h = hash(n);
                        for s in &mut self.slots {
                            if s.named && s.name == h {
                                s.named = false;
                            }
                        }
                    }
                    Some((_, n)) => self.close_portal(hash(n)),
                    None => {}
                }
                self.push(p(Op::Close, NO_SLOT, 0), cx);
            }
            b'S' => {
                self.syncs_sent = self.syncs_sent.wrapping_add(1);
                self.push(p(Op::Sync, NO_SLOT, 0), cx);
            }
            b'F' => self.push(p(Op::Function, NO_SLOT, 0), cx),
            // Terminate, Flush, CopyDone, CopyFail: nothing answers them
            // alone.
            _ => {}
        }
    }

    fn close_portal(&mut self, h: u64) {
        if let Some(i) = self.portals.iter().position(|x| x.used && x.name == h) {
            self.portals[i].used = false;
            self.portals[i].vals = 0;
            let s = self.portals[i].slot;
            self.release(s);
        }
    }

    /// Binds portal `h` to slot `slot`, replacing a portal of that name
    /// (or, the table full, the first one).
    fn bind_portal(&mut self, h: u64, slot: u8, params: u16, vals: u32) {
        self.close_portal(h);
        let i = self.portals.iter().position(|x| !x.used).unwrap_or(0);
        if self.portals[i].used {
            let old = self.portals[i].name;
            self.close_portal(old);
        }
        let slot = self.retain(slot);
        self.portals[i] = Portal {
            name: h,
            used: true,
            slot,
            params,
            vals,
            epoch: self.syncs_sent,
        };
    }

    /// The transaction buffer (see [`sql::Hold::buffer`]), room made for
    /// `need` bytes by dropping what nothing names any more.
    fn kept<'c, O: RecordOut>(
        &mut self,
        need: usize,
        cx: &'c mut Cx<'_, O>,
    ) -> Option<&'c mut crate::app::txn::TxnBuf> {
        let (portals, open, slots) = (&self.portals, &self.open, &self.slots);
        let (spill, notice) = (&self.spill, self.answer.notice);
        let full = &mut cx.stats.txn_buffers_full;
        self.hold.buffer(need, KEPT_ROOM, cx.txn, full, |k| {
            wanted(portals, open, slots, k) || spill.wants(k) || k == notice
        })
    }

    /// Keeps a Bind's parameter values (unless masked) until the records
    /// that log them; returns their key, or 0 when none are kept.
    fn keep_values<O: RecordOut>(&mut self, slot: u8, bind: &[u8], cx: &mut Cx<'_, O>) -> u32 {
        if self.mask {
            return 0;
        }
        let key = self.hold.key();
        let types_key = self.slots.get(usize::from(slot)).map_or(0, |s| s.types);
        let kept = self.kept(sql::VALUES_ENTRY_MAX, cx).is_some_and(|tb| {
            // The statement's declared types, copied out of the buffer the
            // values go into.
            let mut types = [Binary::Hex; sql::VALUES_MAX];
            let known = Kept::find(&tb.frag, types_key).unwrap_or_default();
            for (t, &c) in types.iter_mut().zip(known) {
                *t = Binary::of(c);
            }
            Kept::put_values(&mut tb.frag, key, parse::bind_values(bind, &types))
        });
        if kept {
            key
        } else {
            0
        }
    }

    /// Keeps how slot `s`'s parameters read in binary, from its Parse
    /// `body` (unless masked: no values are kept then).
    fn keep_types<O: RecordOut>(&mut self, s: u8, body: &[u8], cx: &mut Cx<'_, O>) {
        let Some(slot) = self.slots.get_mut(usize::from(s)) else {
            return;
        };
        slot.types = 0;
        let mut types = [Binary::Hex; sql::VALUES_MAX];
        let n = parse::parse_types(body, &mut types);
        if self.mask || types[..n].iter().all(|&t| t == Binary::Hex) {
            return;
        }
        let mut codes = [0u8; sql::VALUES_MAX];
        for (c, t) in codes.iter_mut().zip(&types[..n]) {
            *c = *t as u8;
        }
        let key = self.hold.key();
        if let Some(tb) = self.kept(n + 8, cx) {
            if Kept::put_bytes(&mut tb.frag, key, &codes[..n]) {
                self.slots[usize::from(s)].types = key;
            }
        }
    }

    /// Keeps the whole of slot `i`'s text when the slot keeps only its
    /// start.
    fn keep_text<O: RecordOut>(&mut self, i: usize, text: &[u8], whole: bool, cx: &mut Cx<'_, O>) {
        self.slots[i].long = sql::Long::default();
        if text.len() <= TEXT_KEEP {
            return;
        }
        let (portals, open, slots) = (&self.portals, &self.open, &self.slots);
        let (spill, notice) = (&self.spill, self.answer.notice);
        let full = &mut cx.stats.txn_buffers_full;
        let kept = self
            .hold
            .keep_text(text, whole, KEPT_ROOM, cx.txn, full, |k| {
                wanted(portals, open, slots, k) || spill.wants(k) || k == notice
            });
        if let Some(long) = kept {
            self.slots[i].long = long;
        }
    }

    /// Gives the transaction buffer back once nothing in it is wanted.
    fn give_back<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        if self.hold.held()
            && self.spill.is_empty()
            && self.answer.notice == 0
            && self.portals.iter().all(|p| !p.used || p.vals == 0)
            && self.open.iter().all(|p| p.vals == 0)
            && self
                .slots
                .iter()
                .all(|s| !s.in_use() || (s.long.key == 0 && s.types == 0))
        {
            self.hold.give_back(cx.txn);
        }
    }

    /// Slot `s`'s text: the whole one from the transaction buffer (copied
    /// into `tmp`) when it was kept there, else the slot's start; and
    /// whether it was cut.
    fn text_of<'a>(
        &'a self,
        s: u8,
        txn: &mut crate::app::txn::TxnPool,
        tmp: &'a mut [u8; TEXT_LONG],
    ) -> Option<(&'a [u8], bool)> {
        let slot = self.slots.get(usize::from(s))?;
        let short = (slot.text.get(), slot.text.cut);
        Some(self.hold.text(slot.long, short, txn, tmp))
    }

    /// Who the records name, and what they may keep.
    fn conn(&self) -> record::Conn<'_> {
        record::Conn {
            login: &self.login,
            mask: self.mask,
            buf: self.hold.buf,
        }
    }

    /// Takes the front message: logged when it is a statement (or
    /// failed), then its slot released.
    fn finish<O: RecordOut>(&mut self, how: Option<End>, cx: &mut Cx<'_, O>) {
        let Some(p) = self.open.pop() else {
            self.untracked = self.untracked.saturating_sub(1);
            self.answer = Answer::default();
            return;
        };
        self.unspill(cx);
        if how == Some(End::Skipped) {
            self.answer = Answer::default();
        }
        if p.op == Op::Query {
            self.finish_query(&p, how, cx);
        } else if matches!(p.op, Op::Execute | Op::Function)
            || (how.is_none() && self.answer.failed())
        {
            let mut tmp = [0; TEXT_LONG];
            let text = self
                .text_of(p.slot, cx.txn, &mut tmp)
                .map(|(text, cut)| record::Text {
                    text: Some(text),
                    cut,
                    index: None,
                });
            record::statement(&p, text, &self.answer, how, self.conn(), cx);
        }
        self.release(p.slot);
        self.answer = Answer::default();
        if self.hold.held() {
            self.give_back(cx);
        }
    }

    /// Logs the statement of a Query whose answer is complete: at its
    /// CommandComplete when more statements follow in the text, else at
    /// ReadyForQuery (`last`). After an error, the statements of the text
    /// that the server did not run are logged as skipped.
    fn finish_query<O: RecordOut>(&mut self, p: &Pending, how: Option<End>, cx: &mut Cx<'_, O>) {
        let a = self.answer;
        if how.is_none() && a.statements > 0 && !a.held && !a.failed() {
            // Every statement was logged at its CommandComplete.
            return;
        }
        let k = if a.failed() || a.held {
            a.statements.saturating_sub(u32::from(a.held))
        } else {
            a.statements
        };
        let mut tmp = [0; TEXT_LONG];
        let t = self.text_of(p.slot, cx.txn, &mut tmp);
        let part = |k| t.map_or((None, false), |(all, cut)| query_part(all, cut, k));
        let (text, _) = part(k);
        record::statement(p, text, &a, how, self.conn(), cx);
        if how.is_none() && a.failed() {
            let mut j = k + 1;
            while j < k + 64 {
                // Only the statements whose text is kept are known to
                // exist.
                let (Some(t @ record::Text { text: Some(_), .. }), _) = part(j) else {
                    break;
                };
                record::statement(
                    p,
                    Some(t),
                    &Answer::default(),
                    Some(End::Skipped),
                    self.conn(),
                    cx,
                );
                j += 1;
            }
        }
    }

    /// A statement of the Query in front completed: logged now when more
    /// statements follow it in the text, else held for ReadyForQuery.
    fn query_statement_done<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        let Some(p) = self.open.front().copied() else {
            return;
        };
        let mut tmp = [0; TEXT_LONG];
        let t = self.text_of(p.slot, cx.txn, &mut tmp);
        let part = |k| t.map_or((None, false), |(all, cut)| query_part(all, cut, k));
        if self.answer.held {
            // The text said this statement was the last, yet another
            // came: the held one is logged first.
            let k = self.answer.statements.saturating_sub(2);
            let (text, _) = part(k);
            let mut a = self.answer;
            a.held = false;
            record::statement(&p, text, &a, None, self.conn(), cx);
        }
        let k = self.answer.statements.saturating_sub(1);
        let (text, more) = part(k);
        if more {
            record::statement(&p, text, &self.answer, None, self.conn(), cx);
            self.answer.clear_statement();
            self.answer.held = false;
        } else {
            self.answer.held = true;
        }
    }

    /// A server message of type `ty`.
    fn server<O: RecordOut>(&mut self, ty: u8, b: &[u8], cx: &mut Cx<'_, O>) {
        let front = self.open.front().map(|p| p.op);
        match ty {
            // A notice in an answer (DROP … IF EXISTS: "does not exist,
            // skipping"): the first one's fields are kept for the record.
            b'N' if front.is_some() => {
                self.answer.notices = self.answer.notices.saturating_add(1);
                if self.answer.notices == 1 {
                    let f = parse::fields(b);
                    let mut buf = [0u8; 2 + 16 + 5 + super::txn::MESSAGE_KEEP];
                    let n = super::txn::notice_bytes(
                        f.severity().unwrap_or_default(),
                        f.code.unwrap_or_default(),
                        f.message.unwrap_or_default(),
                        self.mask,
                        &mut buf,
                    );
                    let key = self.hold.key();
                    if let Some(tb) = self.kept(n + 8, cx) {
                        if Kept::put_bytes(&mut tb.frag, key, &buf[..n]) {
                            self.answer.notice = key;
                        }
                    }
                }
            }
            b'R' => {
                if let Some((code, mech)) = parse::auth(b) {
                    let l = &mut self.login;
                    if code != 0 && l.auth.is_none() {
                        l.auth = Some(code);
                        if let Some(m) = mech {
                            l.mechanism.put(m, true);
                        }
                    }
                }
            }
            b'S' => {
                if let Some((name, value)) = parse::parameter_status(b) {
                    if name == b"server_version" {
                        self.login.server_version.put(value, true);
                    }
                }
            }
            b'K' => self.login.pid = parse::backend_pid(b),
            b'Z' => {
                self.answer.tx_status = b.first().and_then(|&c| parse::tx_status(c));
                if self.login.open {
                    self.login.open = false;
                    record::login(&self.login, None, cx);
                }
                // Whatever waits before the Sync or Query this answers was
                // answered already (or skipped).
                while let Some(op) = self.open.front().map(|p| p.op) {
                    match op {
                        Op::Sync | Op::Query | Op::Function => {
                            self.finish(None, cx);
                            break;
                        }
                        _ => self.finish(Some(End::Skipped), cx),
                    }
                }
                if front.is_none() && self.untracked > 0 {
                    self.untracked -= 1;
                }
                self.answer = Answer::default();
                self.syncs_answered = self.syncs_answered.wrapping_add(1);
                if b.first() == Some(&b'I') {
                    // Out of a transaction: its portals are gone (those
                    // bound after a later Sync stay).
                    let done = self.syncs_answered;
                    for i in 0..PORTALS {
                        let p = self.portals[i];
                        if p.used && done.wrapping_sub(p.epoch) as i32 > 0 {
                            self.close_portal(p.name);
                        }
                    }
                    // Nor does the unnamed statement keep the buffer: its
                    // start stays in the session.
                    for s in &mut self.slots {
                        if s.named && s.name == UNNAMED && s.refs == 0 {
                            s.long = sql::Long::default();
                            s.types = 0;
                        }
                    }
                    self.give_back(cx);
                }
            }
            b'E' => {
                let f = parse::fields(b);
                let a = &mut self.answer;
                if let Some(s) = f.severity() {
                    a.severity.put(s, true);
                }
                if let Some(c) = f.code {
                    a.code.put(c, true);
                }
                if let Some(m) = f.message {
                    a.message.put(m, true);
                }
                if self.login.open && front.is_none() {
                    self.login.open = false;
                    record::login(&self.login, Some(&self.answer), cx);
                    self.answer = Answer::default();
                    return;
                }
                match front {
                    Some(Op::Query | Op::Function) | None => {}
                    Some(_) => {
                        // The failing message is logged; the server
                        // discards the rest up to Sync.
                        self.finish(None, cx);
                    }
                }
            }
            b'1' if front == Some(Op::Parse) => self.finish(None, cx),
            b'2' if front == Some(Op::Bind) => self.finish(None, cx),
            b'3' if front == Some(Op::Close) => self.finish(None, cx),
            b'n' if front == Some(Op::Describe) => self.finish(None, cx),
            b'T' => {
                self.answer.columns = parse::row_description(b);
                if front == Some(Op::Describe) {
                    self.finish(None, cx);
                }
            }
            b'C' | b'I' => {
                let a = &mut self.answer;
                a.statements = a.statements.saturating_add(1);
                if ty == b'I' {
                    a.empty = true;
                } else {
                    let (tag, rows) = parse::command_complete(b);
                    a.tag.put(tag, true);
                    if let Some(r) = rows {
                        a.rows = Some(a.rows.unwrap_or(0).saturating_add(r));
                    }
                }
                match front {
                    Some(Op::Execute) => self.finish(None, cx),
                    Some(Op::Query) => self.query_statement_done(cx),
                    _ => {}
                }
            }
            b's' if front == Some(Op::Execute) => {
                self.answer.suspended = true;
                self.finish(None, cx);
            }
            // ParameterDescription, notices, notifications, COPY
            // responses, FunctionCallResponse: part of the answer.
            _ => {}
        }
    }

    /// Logs every waiting message (and an open login) as unanswered.
    fn flush<O: RecordOut>(&mut self, how: End, cx: &mut Cx<'_, O>) {
        while !self.open.is_empty() {
            self.finish(Some(how), cx);
        }
        self.untracked = 0;
        for p in &mut self.portals {
            p.vals = 0;
            p.epoch = 0;
        }
        self.syncs_sent = 0;
        self.syncs_answered = 0;
        self.give_back(cx);
        if self.login.open {
            self.login.open = false;
            record::login_unanswered(&self.login, how, cx);
        }
    }

    /// `len` bytes of `dir` are lost.
    pub fn gap<O: RecordOut>(&mut self, dir: usize, _len: u64, cx: &mut Cx<'_, O>) {
        if self.phase != Phase::Typed {
            cx.stats.of::<P>().extra[STOPPED] += 1;
            self.flush(End::Gap, cx);
            self.over = true;
            return;
        }
        self.flush(End::Gap, cx);
        self.lost[dir] = true;
    }

    /// Logs what waited past the timeout.
    pub fn timeout<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        let limit = cx.cfg.txn_timeout_ns;
        if let Some(f) = self.open.front() {
            if cx.now.saturating_sub(f.ts) >= limit {
                self.flush(End::Timeout, cx);
            }
        }
    }

    /// The connection ended.
    pub fn end<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        if self.next.is_none() {
            self.flush(End::FlowEnd, cx);
        }
        // Prepared statements' texts too: nothing is read any more.
        self.hold.give_back(cx.txn);
    }
}
