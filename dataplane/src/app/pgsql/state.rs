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
use crate::app::{Cx, Proto, Step};
use crate::record::RecordOut;

/// A message up to this long is waited for whole; of a longer one this
/// much is read and the rest skipped.
pub const WHOLE: usize = 2048;
/// Client messages waiting for answers at most.
pub const OPEN_CAP: usize = 16;
/// Statement texts kept at once.
pub const SLOTS: usize = 5;
/// Portals remembered at once.
pub const PORTALS: usize = 4;

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
}

/// A portal: its name (a hash), its statement and its parameters.
#[derive(Clone, Copy, Debug, Default)]
struct Portal {
    name: u64,
    used: bool,
    slot: u8,
    params: u16,
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
}

/// A stable 64-bit hash of a name (FNV-1a).
fn hash(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &c in b {
        h = (h ^ u64::from(c)).wrapping_mul(0x100_0000_01b3);
    }
    h
}

impl Pgsql {
    /// A connection resuming from `parked`.
    pub fn new(parked: Parked) -> Self {
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
        }
    }

    /// Nothing more is read.
    pub fn over(&self) -> bool {
        self.over
    }

    /// The state to keep at rest, when nothing is held but who the
    /// connection is: no message waits, no login is open, no statement is
    /// prepared (a driver's prepared statements keep the session).
    pub fn at_rest(&self) -> Option<Parked> {
        let idle = self.open.is_empty()
            && !self.login.open
            && self.slots.iter().all(|s| !s.named && s.refs == 0)
            && self.portals.iter().all(|p| !p.used)
            && self.phase != Phase::SslWait
            && self.phase != Phase::GssWait;
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

    /// The text of slot `s`, if any.
    pub(super) fn text(&self, s: u8) -> Option<&Short<TEXT_KEEP>> {
        self.slots.get(usize::from(s)).map(|s| &s.text)
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
    fn store(&mut self, name: Option<u64>, text: &[u8], whole: bool) -> u8 {
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
        i as u8
    }

    fn find_statement(&self, name: &[u8]) -> u8 {
        let h = hash(name);
        self.slots
            .iter()
            .position(|s| s.named && s.name == h)
            .map_or(NO_SLOT, |i| i as u8)
    }

    fn push<O: RecordOut>(&mut self, p: Pending, cx: &mut Cx<'_, O>) {
        if self.open.push(p).is_err() {
            // Too many waiting: its answer is read, not logged.
            cx.stats.txn_limit += 1;
            self.release(p.slot);
            self.untracked = self.untracked.saturating_add(1);
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
        };
        match ty {
            b'Q' => {
                let (text, nul) = parse::cstr_prefix(b, 0);
                let slot = self.store(None, text, whole && nul);
                let slot = self.retain(slot);
                self.push(p(Op::Query, slot, 0), cx);
            }
            b'P' => {
                let Some((name, text, nul)) = parse::parse_msg(b) else {
                    cx.stats.of::<P>().errors += 1;
                    return;
                };
                let slot = self.store(Some(hash(name)), text, whole && nul);
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
                self.bind_portal(hash(portal), slot, params);
                let slot = self.retain(slot);
                self.push(p(Op::Bind, slot, params), cx);
            }
            b'E' => {
                let h = parse::execute(b).map_or(hash(b""), |(n, _)| hash(n));
                let (slot, params) = self
                    .portals
                    .iter()
                    .find(|x| x.used && x.name == h)
                    .map_or((NO_SLOT, 0), |x| (x.slot, x.params));
                let slot = self.retain(slot);
                self.push(p(Op::Execute, slot, params), cx);
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
            b'S' => self.push(p(Op::Sync, NO_SLOT, 0), cx),
            b'F' => self.push(p(Op::Function, NO_SLOT, 0), cx),
            // Terminate, Flush, CopyDone, CopyFail: nothing answers them
            // alone.
            _ => {}
        }
    }

    fn close_portal(&mut self, h: u64) {
        if let Some(i) = self.portals.iter().position(|x| x.used && x.name == h) {
            self.portals[i].used = false;
            let s = self.portals[i].slot;
            self.release(s);
        }
    }

    /// Binds portal `h` to slot `slot`, replacing a portal of that name
    /// (or, the table full, the first one).
    fn bind_portal(&mut self, h: u64, slot: u8, params: u16) {
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
        };
    }

    /// Takes the front message: logged when it is a statement (or
    /// failed), then its slot released.
    fn finish<O: RecordOut>(&mut self, how: Option<End>, cx: &mut Cx<'_, O>) {
        let Some(p) = self.open.pop() else {
            self.untracked = self.untracked.saturating_sub(1);
            self.answer = Answer::default();
            return;
        };
        if how == Some(End::Skipped) {
            self.answer = Answer::default();
        }
        if p.op == Op::Query {
            self.finish_query(&p, how, cx);
        } else if matches!(p.op, Op::Execute | Op::Function)
            || (how.is_none() && self.answer.failed())
        {
            let t = self.text(p.slot).copied();
            let text = t.as_ref().map(|t| record::Text {
                text: Some(t.get()),
                cut: t.cut,
                index: None,
            });
            record::statement(&p, text, &self.answer, how, &self.login, cx);
        }
        self.release(p.slot);
        self.answer = Answer::default();
    }

    /// The text of statement `k` of Query `p`, and whether another
    /// follows it in the text.
    fn query_part(&self, p: &Pending, k: u32) -> (Option<record::Text<'_>>, bool) {
        let Some(t) = self.text(p.slot) else {
            return (None, false);
        };
        let all = t.get();
        match parse::statement_at(all, k as usize) {
            Some((s, e, more)) => {
                let multi = more || k > 0;
                let text = record::Text {
                    text: Some(&all[s..e]),
                    cut: t.cut && e == all.len(),
                    index: multi.then_some(k),
                };
                // A text cut short may hold more statements than kept.
                (Some(text), more || (t.cut && e == all.len()))
            }
            None if k == 0 => (
                Some(record::Text {
                    text: Some(b""),
                    cut: t.cut,
                    index: None,
                }),
                false,
            ),
            // Past the bytes kept of a text cut short: a statement whose
            // text is not known, only its place.
            None if t.cut => (
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
        let (text, _) = self.query_part(p, k);
        record::statement(p, text, &a, how, &self.login, cx);
        if how.is_none() && a.failed() {
            let mut j = k + 1;
            while j < k + 64 {
                // Only the statements whose text is kept are known to
                // exist.
                let (Some(t @ record::Text { text: Some(_), .. }), _) = self.query_part(p, j)
                else {
                    break;
                };
                record::statement(
                    p,
                    Some(t),
                    &Answer::default(),
                    Some(End::Skipped),
                    &self.login,
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
        if self.answer.held {
            // The text said this statement was the last, yet another
            // came: the held one is logged first.
            let k = self.answer.statements.saturating_sub(2);
            let (text, _) = self.query_part(&p, k);
            let mut a = self.answer;
            a.held = false;
            record::statement(&p, text, &a, None, &self.login, cx);
        }
        let k = self.answer.statements.saturating_sub(1);
        let (text, more) = self.query_part(&p, k);
        if more {
            record::statement(&p, text, &self.answer, None, &self.login, cx);
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
        if self.next.is_some() {
            return;
        }
        self.flush(End::FlowEnd, cx);
    }
}
