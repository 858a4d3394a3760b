//! The MySQL state of one connection: the server's greeting, the client's
//! login and the authentication exchange, then commands answered in
//! order.
//!
//! Every packet is framed by its header; a command is a client packet of
//! sequence 0 (anything else the client sends is an authentication
//! exchange, the rest of a long packet, or a LOCAL INFILE's data, and is
//! skipped). Commands that the server answers wait in a bounded ring
//! ([`Fifo`]); the server's packets complete the one in front, through a
//! small machine ([`Stage`]) that walks a result set (its column count,
//! column definitions, an EOF where CLIENT_DEPRECATE_EOF is off, rows up
//! to the EOF or OK that ends them) and COM_STMT_PREPARE's answer. A
//! result whose status says more results follow (a multi-statement query,
//! a procedure) is logged with its index and the next one read.
//!
//! Texts (a query's, a prepared statement's, a command's argument) are
//! kept in a few slots of [`TEXT_KEEP`] bytes; a prepared statement's slot
//! is found by the id its COM_STMT_PREPARE_OK gave, and remembers the
//! parameter types of the first execute that bound them. A text longer
//! than its slot keeps is kept whole (up to the [`WHOLE`] bytes read of
//! its packet), and an execute's parameter values until its record, in
//! the connection's transaction buffer ([`sql::Kept`]), taken while they
//! are wanted and given back when nothing names them; without a free
//! buffer the slot's start is logged, and no values. Rows, the
//! authentication exchange, LOCAL INFILE data and the rest of long packets
//! are skipped, never buffered; of a long packet only its first [`WHOLE`]
//! bytes are read. Passwords and auth responses are never read.
//!
//! A gap logs what waits as unanswered and each direction resumes at the
//! first chunk that starts with a packet that frames as what it should be.

use super::parse::{self, cap, Frame, HDR, MAX_PACKET};
use super::record::{self, End};
use super::txn::{Answer, Login, Pending, Short, NAME_KEEP, NO_SLOT, TEXT_KEEP};
use super::{Mysql as M, STOPPED};
use crate::app::open::Fifo;
use crate::app::sql::{self, Kept, KEPT_ROOM, TEXT_LONG};
use crate::app::txn::{TxnBuf, TxnPool};
use crate::app::{Cx, Proto, Step};
use crate::record::RecordOut;

/// A packet up to this long is waited for whole; of a longer one this
/// much is read and the rest skipped.
pub const WHOLE: usize = 2048;
/// Commands waiting for answers at most.
pub const OPEN_CAP: usize = 4;
/// Texts kept at once (prepared statements and commands in flight).
pub const SLOTS: usize = 5;
/// Parameter types a prepared statement remembers: those of the values
/// logged.
pub const TYPES_KEEP: usize = sql::VALUES_MAX;
const _: () = assert!(TEXT_LONG == WHOLE);
/// Answers that do not parse, one after the other, before the bytes are
/// taken for something else than MySQL.
const BAD_MAX: u8 = 4;

/// What a connection keeps at rest: its phase, the capabilities that say
/// how packets are laid out, and who it is, so every command after the
/// rest still says it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Parked {
    /// [`Parked::COMMANDS`].
    pub bits: u8,
    /// The capabilities both sides agreed.
    pub caps: u32,
    /// The user.
    pub user: Short<NAME_KEEP>,
    /// The database.
    pub database: Short<NAME_KEEP>,
}

impl Parked {
    /// Commands (the login is over).
    pub const COMMANDS: u8 = 1;
    /// Capabilities packed with the phase, in order from bit 1.
    pub const PACKED_CAPS: [u32; 5] = [
        cap::PROTOCOL_41,
        cap::SECURE_CONNECTION,
        cap::PLUGIN_AUTH,
        cap::DEPRECATE_EOF,
        cap::QUERY_ATTRIBUTES,
    ];
}

/// Where the connection is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Phase {
    /// Nothing seen yet: the greeting comes, or a connection seen late.
    #[default]
    Start,
    /// The greeting came; the client's login comes.
    Greeted,
    /// The login came; the server's OK or ERR comes, after any exchange.
    Auth,
    /// Commands.
    Commands,
}

/// Where the answer to the command in front is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Stage {
    /// Its first packet comes.
    #[default]
    First,
    /// Column definitions of a result set, this many left.
    Columns(u64),
    /// After the column definitions: an EOF, or the rows.
    ColumnsEnd,
    /// Rows, up to an EOF, an OK or an ERR.
    Rows,
    /// COM_STMT_PREPARE's parameter definitions, this many left.
    Params(u16),
    /// After them: an EOF, or the column definitions.
    ParamsEnd,
    /// COM_STMT_PREPARE's column definitions, this many left.
    PrepColumns(u16),
    /// COM_FIELD_LIST's column definitions, up to an EOF.
    Fields,
    /// LOCAL INFILE: the client sends the file, then the server answers.
    Infile,
    /// COM_CHANGE_USER's authentication exchange.
    Auth,
}

/// A text and what holds it.
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    /// The statement id, while it is prepared.
    id: u32,
    prepared: bool,
    /// Waiting commands using it.
    refs: u8,
    /// Parameters of the prepared statement.
    params: u16,
    /// Parameter types from the last execute that bound them: each one's
    /// type byte, and (bit `k`) whether parameter `k` is unsigned.
    types: [u8; TYPES_KEEP],
    unsigned: u16,
    typed: bool,
    /// Parameters (bit `k`: parameter `k`) COM_STMT_SEND_LONG_DATA sent
    /// for the next execute: their values are not in it.
    long_params: u16,
    /// Bytes COM_STMT_SEND_LONG_DATA sent for the next execute.
    long_data: u32,
    text: Short<TEXT_KEEP>,
    /// The whole text (up to [`TEXT_LONG`] bytes) in the transaction
    /// buffer, when longer than `text` keeps.
    long: sql::Long,
}

impl Slot {
    /// Holds a text: prepared, or used by a waiting command.
    fn in_use(&self) -> bool {
        self.prepared || self.refs > 0
    }
}

/// Whether what is kept under `k` is still named: by a waiting command's
/// values, or a slot's long text.
fn wanted(open: &Fifo<Pending, OPEN_CAP>, slots: &[Slot], k: u32) -> bool {
    open.iter().any(|p| p.vals == k) || slots.iter().any(|s| s.in_use() && s.long.key == k)
}

/// MySQL state of one connection.
#[derive(Debug)]
pub struct Mysql {
    phase: Phase,
    pub(super) login: Login,
    /// The capabilities that say how packets are laid out.
    caps: u32,
    open: Fifo<Pending, OPEN_CAP>,
    answer: Answer,
    stage: Stage,
    slots: [Slot; SLOTS],
    /// The next prepared statement to forget when every slot is taken.
    hand: u8,
    /// The transaction buffer holding long texts and parameter values.
    hold: sql::Hold,
    /// `--sql-literals mask`: no texts, values or error messages logged.
    pub(super) mask: bool,
    /// Per direction: the next packet continues one of 0xffffff bytes.
    cont: [bool; 2],
    /// Per direction: a gap lost the place.
    lost: [bool; 2],
    /// The client is sending a LOCAL INFILE's data.
    infile: bool,
    /// An EOF may follow a prepared statement's definitions (whether
    /// CLIENT_DEPRECATE_EOF is on was not seen): it is passed over.
    stray_eof: bool,
    /// Answers in a row that did not parse.
    bad: u8,
    /// Not MySQL any more (or compressed).
    over: bool,
    /// The connection goes on in TLS.
    pub(super) next: Option<Proto>,
}

impl Mysql {
    /// A connection resuming from `parked`.
    pub fn new(mask: bool, parked: Parked) -> Self {
        Self {
            phase: if parked.bits & Parked::COMMANDS != 0 {
                Phase::Commands
            } else {
                Phase::Start
            },
            login: Login {
                user: parked.user,
                database: parked.database,
                ..Login::default()
            },
            caps: parked.caps,
            open: Fifo::new(OPEN_CAP),
            answer: Answer::default(),
            stage: Stage::First,
            slots: [Slot::default(); SLOTS],
            hand: 0,
            hold: sql::Hold::default(),
            mask,
            cont: [false; 2],
            lost: [false; 2],
            infile: false,
            stray_eof: false,
            bad: 0,
            over: false,
            next: None,
        }
    }

    /// Nothing more is read.
    pub fn over(&self) -> bool {
        self.over
    }

    /// The state to keep at rest, when nothing is held but who the
    /// connection is: no command waits, no login is open, no statement is
    /// prepared (a driver's prepared statements keep the session).
    pub fn at_rest(&self) -> Option<Parked> {
        let idle = self.open.is_empty()
            && !self.login.open
            && matches!(self.phase, Phase::Start | Phase::Commands)
            && self.slots.iter().all(|s| !s.in_use())
            && !self.hold.held()
            && !self.infile
            && self.cont == [false; 2];
        idle.then_some(Parked {
            bits: if self.phase == Phase::Commands {
                Parked::COMMANDS
            } else {
                0
            },
            caps: self.caps,
            user: self.login.user,
            database: self.login.database,
        })
    }

    /// The text of slot `s`, if any.
    fn text(&self, s: u8) -> Option<&Short<TEXT_KEEP>> {
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

    /// A slot for a new text, taken by the command that brings it: a free
    /// one, else the next prepared statement no command uses (in turn:
    /// forgotten, so the newest are known), else none.
    fn store<O: RecordOut>(&mut self, text: &[u8], whole: bool, cx: &mut Cx<'_, O>) -> u8 {
        let free = self.slots.iter().position(|s| !s.in_use());
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
        *s = Slot::default();
        s.text.put(text, whole);
        s.refs = 1;
        if text.len() > TEXT_KEEP {
            let (open, slots) = (&self.open, &self.slots);
            let full = &mut cx.stats.txn_buffers_full;
            let kept = self
                .hold
                .keep_text(text, whole, KEPT_ROOM, cx.txn, full, |k| {
                    wanted(open, slots, k)
                });
            if let Some(long) = kept {
                self.slots[i].long = long;
            }
        }
        i as u8
    }

    /// The transaction buffer (see [`sql::Hold::buffer`]), room made for
    /// `need` bytes by dropping what nothing names any more.
    fn kept<'c, O: RecordOut>(
        &mut self,
        need: usize,
        cx: &'c mut Cx<'_, O>,
    ) -> Option<&'c mut TxnBuf> {
        let (open, slots) = (&self.open, &self.slots);
        let full = &mut cx.stats.txn_buffers_full;
        self.hold
            .buffer(need, KEPT_ROOM, cx.txn, full, |k| wanted(open, slots, k))
    }

    /// Gives the transaction buffer back once nothing in it is wanted.
    fn give_back<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        if self.hold.held()
            && self.open.iter().all(|p| p.vals == 0)
            && self.slots.iter().all(|s| !s.in_use() || s.long.key == 0)
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
        txn: &mut TxnPool,
        tmp: &'a mut [u8; TEXT_LONG],
    ) -> Option<(&'a [u8], bool)> {
        let slot = self.slots.get(usize::from(s))?;
        let short = (slot.text.get(), slot.text.cut);
        Some(self.hold.text(slot.long, short, txn, tmp))
    }

    /// Logs command `p` with its text (`index`: its result's place among
    /// several) and answer `a`; `how`: why it has none.
    fn log<O: RecordOut>(
        &self,
        p: &Pending,
        index: Option<u32>,
        a: &Answer,
        how: Option<End>,
        cx: &mut Cx<'_, O>,
    ) {
        let mut tmp = [0; TEXT_LONG];
        let text = self.text_of(p.slot, cx.txn, &mut tmp);
        record::command(p, index, text, a, how, self, cx);
    }

    fn find(&self, id: u32) -> u8 {
        self.slots
            .iter()
            .position(|s| s.prepared && s.id == id)
            .map_or(NO_SLOT, |i| i as u8)
    }

    fn push<O: RecordOut>(&mut self, p: Pending, cx: &mut Cx<'_, O>) {
        if self.open.push(p).is_err() {
            // Too many waiting: its answer goes unpaired.
            cx.stats.txn_limit += 1;
            self.release(p.slot);
            self.give_back(cx);
        }
    }

    /// Parses bytes of direction `dir`.
    pub fn parse<O: RecordOut>(&mut self, dir: usize, data: &[u8], cx: &mut Cx<'_, O>) -> Step {
        if self.over {
            return Step::Stop;
        }
        if self.lost[dir] {
            // After a gap: read again at a chunk that starts a packet.
            if !self.resyncs(dir, data) {
                return Step::Consumed(data.len());
            }
            self.lost[dir] = false;
        }
        let Frame::Packet { seq, len } = parse::frame(data) else {
            return Step::Need {
                consumed: 0,
                min: HDR,
            };
        };
        let continued = std::mem::replace(&mut self.cont[dir], len == MAX_PACKET);
        // Bodies never read: the rest of a long packet, the client's
        // authentication exchange and file data, rows.
        let skip_all = continued
            || (dir == 0 && (self.infile || self.phase == Phase::Auth))
            || (dir == 0 && self.phase == Phase::Commands && seq != 0);
        if skip_all {
            if continued && dir == 0 && self.phase == Phase::Commands && !self.infile {
                // The answer to a long command follows its last packet.
                if let Some(p) = self.open.back_mut() {
                    p.seq = seq.wrapping_add(1);
                }
            }
            if dir == 0 && self.infile && !continued {
                if let Some(b) = self.answer.infile.as_mut() {
                    *b = b.saturating_add(len as u64);
                }
                // An empty packet ends the file.
                self.infile = len != 0;
            }
            return Step::Skip {
                consumed: HDR,
                len: len as u64,
            };
        }
        if dir == 1 && self.stage == Stage::Rows && self.phase == Phase::Commands {
            let Some(&first) = data.get(HDR) else {
                if len == 0 {
                    return Step::Consumed(HDR);
                }
                return Step::Need {
                    consumed: 0,
                    min: HDR + 1,
                };
            };
            if first != 0xff && !parse::is_end(first, len) {
                self.answer.data_rows += 1;
                return Step::Skip {
                    consumed: HDR,
                    len: len as u64,
                };
            }
        }
        let want = len.min(WHOLE);
        let Some(b) = data.get(HDR..HDR + want) else {
            return Step::Need {
                consumed: 0,
                min: HDR + want,
            };
        };
        let whole = want == len && len != MAX_PACKET;
        let again = if dir == 0 {
            self.client(seq, b, whole, cx)
        } else {
            self.server(seq, b, len, cx)
        };
        if again {
            // The phase changed under the packet: read it again.
            self.cont[dir] = continued;
            return Step::AGAIN;
        }
        if self.next.is_some() {
            return Step::Need {
                consumed: HDR + len,
                min: usize::MAX,
            };
        }
        if self.over {
            return Step::Stop;
        }
        if want == len {
            Step::Consumed(HDR + len)
        } else {
            Step::Skip {
                consumed: HDR + want,
                len: (len - want) as u64,
            }
        }
    }

    /// Whether a chunk that follows a gap starts at a packet boundary: a
    /// client command of sequence 0, or a server packet that opens an
    /// answer, which ends inside the chunk where the chunk goes on
    /// (followed by the end of the chunk, or another header whose sequence
    /// follows).
    fn resyncs(&self, dir: usize, data: &[u8]) -> bool {
        let Frame::Packet { seq, len } = parse::frame(data) else {
            return false;
        };
        let first = data.get(HDR).copied();
        let opens = if dir == 0 {
            seq == 0 && first.and_then(parse::command_name).is_some()
        } else {
            seq == 1 && first.is_some()
        };
        if !opens {
            return false;
        }
        match data.get(HDR + len..) {
            None => dir == 0 && first == Some(0x03),
            Some([]) => true,
            Some(rest) => match parse::frame(rest) {
                Frame::Need => true,
                Frame::Packet { seq: s, .. } => s == seq.wrapping_add(1) || s == 0,
            },
        }
    }

    /// A client packet (its first [`WHOLE`] bytes). True: read it again
    /// in the phase it set.
    fn client<O: RecordOut>(&mut self, seq: u8, b: &[u8], whole: bool, cx: &mut Cx<'_, O>) -> bool {
        match self.phase {
            Phase::Commands => {
                self.command(b, whole, cx);
                false
            }
            Phase::Start | Phase::Greeted => {
                if seq == 0 && b.first().and_then(|&c| parse::command_name(c)).is_some() {
                    // A connection seen after its login.
                    self.phase = Phase::Commands;
                    return true;
                }
                match parse::login(b) {
                    Some(l) if seq == 1 => self.client_login(&l, cx),
                    // A connection seen late, in the middle of an
                    // exchange: commands come next.
                    _ if self.phase == Phase::Start => self.phase = Phase::Commands,
                    _ => self.bad(cx),
                }
                false
            }
            Phase::Auth => false,
        }
    }

    fn client_login<O: RecordOut>(&mut self, l: &parse::Login<'_>, cx: &mut Cx<'_, O>) {
        let g = &mut self.login;
        g.client_caps = l.caps;
        self.caps = g.caps();
        if l.ssl {
            record::ssl_request(g, cx);
            self.next = Some(Proto::Tls);
            return;
        }
        g.ts = cx.now;
        g.open = true;
        if let Some(u) = l.user {
            g.user.put(u, true);
        }
        match l.database {
            // An empty name is no database.
            Some(d) if !d.is_empty() => g.database.put(d, true),
            _ => g.database.clear(),
        }
        if let Some(p) = l.auth_plugin {
            g.auth_plugin.put(p, true);
        }
        let a = &l.attrs;
        for (dst, v) in [
            (&mut g.client_name, a.client_name),
            (&mut g.program_name, a.program_name),
        ] {
            if let Some(v) = v {
                dst.put(v, true);
            }
        }
        if let Some(v) = a.client_version {
            g.client_version.put(v, true);
        }
        g.attrs = a.count;
        self.phase = Phase::Auth;
    }

    /// A command (sequence 0).
    fn command<O: RecordOut>(&mut self, b: &[u8], whole: bool, cx: &mut Cx<'_, O>) {
        let Some((&c, rest)) = b.split_first() else {
            cx.stats.of::<M>().errors += 1;
            return;
        };
        let mut p = Pending {
            ts: cx.now,
            cmd: c,
            seq: 1,
            slot: NO_SLOT,
            ..Pending::default()
        };
        match c {
            0x01 => {
                // COM_QUIT: the server closes the connection.
                self.log(&p, None, &Answer::default(), Some(End::NoAnswer), cx);
                return;
            }
            0x03 => {
                let (mut at, mut seen) = (0, true);
                if self.caps & cap::QUERY_ATTRIBUTES != 0 {
                    match parse::query_attributes(rest) {
                        Some((t, n)) => {
                            at = t;
                            p.params = n.min(u64::from(u16::MAX)) as u16;
                        }
                        // Attributes past the prefix: the text is not at
                        // hand.
                        None => (at, seen) = (rest.len(), false),
                    }
                }
                let t = rest.get(at..).unwrap_or_default();
                p.slot = self.store(t, whole && seen, cx);
            }
            0x16 | 0x02 | 0x05 | 0x06 => p.slot = self.store(rest, whole, cx),
            0x04 => {
                let (t, _) = parse::cstr_prefix(rest, 0);
                p.slot = self.store(t, true, cx);
            }
            0x11 => {
                // COM_CHANGE_USER: the records after it carry the new user.
                let l = parse::change_user(rest, self.caps);
                let g = &mut self.login;
                g.switched.clear();
                g.user.clear();
                g.database.clear();
                if let Some(l) = l {
                    if let Some(u) = l.user {
                        g.user.put(u, true);
                    }
                    if let Some(d) = l.database.filter(|d| !d.is_empty()) {
                        g.database.put(d, true);
                    }
                }
            }
            0x17 => self.execute(&mut p, rest, cx),
            0x18 | 0x19 => {
                // No answer comes: no transaction. Long data is counted
                // for the statement's next execute; a close is logged.
                let id = parse::stmt_id(rest);
                let i = id.map_or(NO_SLOT, |id| self.find(id));
                if c == 0x18 {
                    if let Some(s) = self.slots.get_mut(usize::from(i)) {
                        s.long_data = s
                            .long_data
                            .saturating_add(rest.len().saturating_sub(6) as u32);
                        if let Some(k) = parse::long_data_param(rest).filter(|&k| k < 16) {
                            s.long_params |= 1 << k;
                        }
                    }
                    return;
                }
                p.stmt_id = id;
                p.slot = i;
                self.log(&p, None, &Answer::default(), Some(End::NoAnswer), cx);
                if let Some(s) = self.slots.get_mut(usize::from(i)) {
                    s.prepared = false;
                }
                self.give_back(cx);
                return;
            }
            0x1a | 0x1c => {
                p.stmt_id = parse::stmt_id(rest);
                let i = p.stmt_id.map_or(NO_SLOT, |id| self.find(id));
                p.slot = self.retain(i);
            }
            0x12 | 0x1e => {
                // A replica's binlog stream: events, not answers.
                self.log(&p, None, &Answer::default(), Some(End::NoAnswer), cx);
                cx.stats.of::<M>().extra[STOPPED] += 1;
                self.over = true;
                return;
            }
            _ if parse::command_name(c).is_none() => {
                self.bad(cx);
                return;
            }
            _ => {}
        }
        self.push(p, cx);
    }

    /// COM_STMT_EXECUTE: its statement, and its parameter values kept
    /// (unless masked) until its record, read as the types this packet
    /// binds, else those the statement remembers (none known: no values).
    fn execute<O: RecordOut>(&mut self, p: &mut Pending, rest: &[u8], cx: &mut Cx<'_, O>) {
        let Some((id, flags)) = parse::execute(rest) else {
            cx.stats.of::<M>().errors += 1;
            return;
        };
        p.stmt_id = Some(id);
        let i = self.find(id);
        p.slot = self.retain(i);
        let qa = self.caps & cap::QUERY_ATTRIBUTES != 0;
        let known = self.slots.get(usize::from(i)).map(|s| s.params);
        let mut at = parse::EXECUTE_HEAD;
        // How many values follow: the statement's parameters (with query
        // attributes, a count sent that adds the attributes).
        let n = if qa
            && (known.is_some_and(|n| n > 0) || flags & parse::PARAMETER_COUNT_AVAILABLE != 0)
        {
            match parse::lenenc(rest, at) {
                Some((n, next)) => {
                    at = next;
                    u16::try_from(n).ok()
                }
                None => None,
            }
        } else {
            known
        };
        let Some(n) = n else {
            return;
        };
        p.params = known.unwrap_or(n);
        if n == 0 {
            return;
        }
        let nulls_at = at;
        at += usize::from(n).div_ceil(8);
        let Some(&bound) = rest.get(at) else {
            return;
        };
        at += 1;
        let mut types = [0u16; TYPES_KEEP];
        let long = self.slots.get(usize::from(i)).map_or(0, |s| s.long_params);
        let slot = self.slots.get_mut(usize::from(i));
        if bound == 1 {
            for k in 0..usize::from(n) {
                let Some(t) = rest.get(at..at + 2) else {
                    return;
                };
                if let Some(x) = types.get_mut(k) {
                    *x = u16::from_le_bytes([t[0], t[1]]);
                }
                at += 2;
                if qa {
                    let Some((_, next)) = parse::lenenc_str(rest, at) else {
                        return;
                    };
                    at = next;
                }
            }
            if let Some(s) = slot {
                s.typed = true;
                s.unsigned = 0;
                for (k, (dst, &t)) in s.types.iter_mut().zip(&types).enumerate() {
                    *dst = t as u8;
                    s.unsigned |= (t >> 15) << k;
                }
            }
        } else {
            match slot {
                Some(s) if s.typed => {
                    for (k, (t, &b)) in types.iter_mut().zip(&s.types).enumerate() {
                        *t = u16::from(b) | (s.unsigned >> k & 1) << 15;
                    }
                }
                _ => return,
            }
        }
        if self.mask {
            return;
        }
        let key = self.hold.key();
        let values = parse::execute_values(rest, nulls_at, at, n, types, long);
        if self
            .kept(sql::VALUES_ENTRY_MAX, cx)
            .is_some_and(|tb| Kept::put_values(&mut tb.frag, key, values))
        {
            p.vals = key;
        }
    }

    /// A server packet (its first [`WHOLE`] bytes; `len` its length).
    /// True: read it again in the phase it set.
    fn server<O: RecordOut>(&mut self, seq: u8, b: &[u8], len: usize, cx: &mut Cx<'_, O>) -> bool {
        match self.phase {
            Phase::Start if seq == 0 && b.first() == Some(&10) => {
                if let Some(g) = parse::greeting(b) {
                    let l = &mut self.login;
                    l.server_version.put(g.version, true);
                    l.connection_id = Some(g.connection_id);
                    l.server_caps = g.caps;
                    if let Some(p) = g.auth_plugin {
                        l.auth_plugin.put(p, true);
                    }
                    self.phase = Phase::Greeted;
                } else {
                    self.bad(cx);
                }
                false
            }
            Phase::Start | Phase::Greeted if seq == 0 && b.first() == Some(&0xff) => {
                // Refused before any login ("too many connections").
                self.login.ts = cx.now;
                let mut a = Answer::default();
                error(&mut a, b);
                record::login(&self.login, Some(&a), cx);
                false
            }
            Phase::Start => {
                // A connection seen after its login: answers.
                self.phase = Phase::Commands;
                true
            }
            Phase::Greeted => {
                self.bad(cx);
                false
            }
            Phase::Auth => {
                self.auth(b, cx);
                false
            }
            Phase::Commands => {
                self.answer(seq, b, len, cx);
                false
            }
        }
    }

    /// The server's packets of the login's authentication.
    fn auth<O: RecordOut>(&mut self, b: &[u8], cx: &mut Cx<'_, O>) {
        match b.first() {
            Some(0x00) => {
                self.login.open = false;
                record::login(&self.login, None, cx);
                self.phase = Phase::Commands;
                if self.caps & cap::COMPRESS != 0 {
                    // Every packet after this one is compressed.
                    cx.stats.of::<M>().extra[STOPPED] += 1;
                    self.over = true;
                }
            }
            Some(0xff) => {
                self.login.open = false;
                let mut a = Answer::default();
                error(&mut a, b);
                record::login(&self.login, Some(&a), cx);
                self.phase = Phase::Commands;
            }
            Some(0xfe) => {
                let (name, _) = parse::cstr_prefix(b, 1);
                self.login.switched.put(name, true);
            }
            Some(0x01) => {
                if let Some(&v @ (3 | 4)) = b.get(1) {
                    if b.len() == 2 {
                        self.login.more = Some(v);
                    }
                }
            }
            // AuthNextFactor (multi-factor authentication).
            Some(0x02) => {}
            _ => self.bad(cx),
        }
    }

    /// A packet of the answer to the command in front.
    fn answer<O: RecordOut>(&mut self, seq: u8, b: &[u8], len: usize, cx: &mut Cx<'_, O>) {
        let Some(&first) = b.first() else {
            return;
        };
        if std::mem::take(&mut self.stray_eof) && parse::is_eof(first, len) {
            return;
        }
        let Some(front) = self.open.front().copied() else {
            // An answer whose command was not seen (before a gap, or past
            // the limit): not paired.
            return;
        };
        if first == 0xff && parse::is_progress(b) {
            return;
        }
        match self.stage {
            Stage::First => {
                if seq != front.seq && self.answer.results == 0 {
                    // Not the start of this command's answer (a later
                    // result's sequence goes on from the one before).
                    return;
                }
                self.first(&front, first, b, len, cx)
            }
            Stage::Columns(left) => {
                self.column(b);
                self.stage = if left > 1 {
                    Stage::Columns(left - 1)
                } else {
                    Stage::ColumnsEnd
                };
            }
            Stage::ColumnsEnd if parse::is_eof(first, len) => {
                let (status, _) = parse::eof(b);
                self.stage = Stage::Rows;
                if status & parse::CURSOR_EXISTS != 0 {
                    // Rows come by COM_STMT_FETCH.
                    self.end_result(status, cx);
                }
            }
            Stage::ColumnsEnd | Stage::Rows => self.rows(first, b, len, cx),
            Stage::Params(left) => {
                self.stage = if left > 1 {
                    Stage::Params(left - 1)
                } else {
                    Stage::ParamsEnd
                };
                if left <= 1 && self.prepared_columns() == 0 {
                    self.prepared_done(cx);
                }
            }
            Stage::ParamsEnd => {
                let cols = self.prepared_columns();
                if parse::is_eof(first, len) {
                    self.stage = Stage::PrepColumns(cols);
                    if cols == 0 {
                        self.finish(None, cx);
                    }
                } else {
                    self.stage = Stage::PrepColumns(cols);
                    self.prep_column(first, len, cx);
                }
            }
            Stage::PrepColumns(_) => self.prep_column(first, len, cx),
            Stage::Fields => match first {
                0xff => {
                    error(&mut self.answer, b);
                    self.finish(None, cx);
                }
                _ if parse::is_end(first, len) => self.finish(None, cx),
                _ => {
                    self.column(b);
                    let c = self.answer.columns.get_or_insert(0);
                    *c += 1;
                }
            },
            Stage::Infile | Stage::Auth => self.first(&front, first, b, len, cx),
        }
    }

    /// Columns of the statement being prepared.
    fn prepared_columns(&self) -> u16 {
        self.answer.prepared.map_or(0, |p| p.1)
    }

    /// A column definition of COM_STMT_PREPARE's answer (or, the
    /// definitions done, the EOF after them).
    fn prep_column<O: RecordOut>(&mut self, first: u8, len: usize, cx: &mut Cx<'_, O>) {
        let Stage::PrepColumns(left) = self.stage else {
            return;
        };
        if left == 0 {
            if parse::is_eof(first, len) {
                self.finish(None, cx);
            }
            return;
        }
        self.stage = Stage::PrepColumns(left - 1);
        if left == 1 {
            self.prepared_done(cx);
        }
    }

    /// The last definition of a prepared statement came: done now when
    /// CLIENT_DEPRECATE_EOF is known, else an EOF may follow (passed
    /// over).
    fn prepared_done<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        if self.caps == 0 {
            self.stray_eof = true;
        } else if self.caps & cap::DEPRECATE_EOF == 0 {
            self.stage = Stage::PrepColumns(0);
            return;
        }
        self.finish(None, cx);
    }

    /// A column definition: its name kept while there is room.
    fn column(&mut self, b: &[u8]) {
        let Some(name) = parse::column_name(b) else {
            return;
        };
        let names = &mut self.answer.names;
        if names.cut {
            return;
        }
        let mut buf = [0u8; super::txn::COLUMNS_KEEP];
        let old = names.get();
        let sep = usize::from(!old.is_empty());
        let total = old.len() + sep + name.len();
        let fits = total <= buf.len();
        let n = total.min(buf.len());
        buf[..old.len()].copy_from_slice(old);
        if sep == 1 && old.len() < n {
            buf[old.len()] = b',';
        }
        let at = (old.len() + sep).min(n);
        buf[at..n].copy_from_slice(&name[..n - at]);
        names.put(&buf[..n], fits);
    }

    /// The first packet of an answer (or one in the middle of a LOCAL
    /// INFILE or COM_CHANGE_USER exchange).
    fn first<O: RecordOut>(
        &mut self,
        front: &Pending,
        first: u8,
        b: &[u8],
        len: usize,
        cx: &mut Cx<'_, O>,
    ) {
        let cmd = front.cmd;
        if self.stage == Stage::Auth || (cmd == 0x11 && self.stage == Stage::First) {
            match first {
                0x00 | 0xff => {}
                0xfe => {
                    let (name, _) = parse::cstr_prefix(b, 1);
                    self.login.switched.put(name, true);
                    self.stage = Stage::Auth;
                    return;
                }
                _ => {
                    self.stage = Stage::Auth;
                    return;
                }
            }
        }
        match first {
            0xff => {
                error(&mut self.answer, b);
                self.finish(None, cx);
            }
            0x00 if cmd == 0x16 => match parse::prepared(b) {
                Some(p) => {
                    self.answer.prepared = Some((p.id, p.columns, p.params));
                    if let Some(s) = self.slots.get_mut(usize::from(front.slot)) {
                        s.id = p.id;
                        s.prepared = true;
                        s.params = p.params;
                    }
                    if !p.metadata || (p.params == 0 && p.columns == 0) {
                        self.finish(None, cx);
                    } else if p.params > 0 {
                        self.stage = Stage::Params(p.params);
                    } else {
                        self.stage = Stage::PrepColumns(p.columns);
                    }
                }
                None => self.malformed(cx),
            },
            _ if cmd == 0x09 => self.finish(None, cx),
            0x00 => match parse::ok(b) {
                Some(ok) => {
                    self.answer.rows = Some(ok.rows);
                    self.answer.insert_id = ok.insert_id;
                    self.answer.warnings = ok.warnings;
                    if cmd == 0x02 && self.text(front.slot).is_some() {
                        // COM_INIT_DB: the records after it say the new
                        // database.
                        let d = self.text(front.slot).copied().unwrap_or_default();
                        self.login.database.put(d.get(), !d.cut);
                    }
                    self.end_result(ok.status, cx);
                }
                None => self.malformed(cx),
            },
            _ if parse::is_end(first, len) => {
                let status = if parse::is_eof(first, len) {
                    let (status, warnings) = parse::eof(b);
                    self.answer.warnings = warnings;
                    status
                } else {
                    parse::ok(b).map_or(0, |o| o.status)
                };
                self.end_result(status, cx);
            }
            0xfb if cmd == 0x03 && self.stage == Stage::First => {
                // LOCAL INFILE: the client sends the file named.
                self.answer.infile = Some(0);
                self.infile = true;
                self.stage = Stage::Infile;
            }
            _ if cmd == 0x04 => {
                self.stage = Stage::Fields;
                self.column(b);
                self.answer.columns = Some(1);
            }
            _ => match parse::column_count(b) {
                Some((n, meta)) => {
                    self.answer.columns = Some(n);
                    // Without the definitions (MariaDB's cached metadata,
                    // MySQL's optional metadata) the EOF that ends them
                    // still comes where CLIENT_DEPRECATE_EOF is off.
                    self.stage = if meta {
                        Stage::Columns(n)
                    } else {
                        Stage::ColumnsEnd
                    };
                }
                None => self.malformed(cx),
            },
        }
    }

    /// A packet among rows: one more row, or the end of the result.
    fn rows<O: RecordOut>(&mut self, first: u8, b: &[u8], len: usize, cx: &mut Cx<'_, O>) {
        self.stage = Stage::Rows;
        if first == 0xff {
            error(&mut self.answer, b);
            self.finish(None, cx);
        } else if parse::is_end(first, len) {
            let status = if parse::is_eof(first, len) {
                let (status, warnings) = parse::eof(b);
                self.answer.warnings = warnings;
                status
            } else {
                match parse::ok(b) {
                    Some(o) => {
                        self.answer.warnings = o.warnings;
                        o.status
                    }
                    None => 0,
                }
            };
            self.end_result(status, cx);
        } else {
            self.answer.data_rows += 1;
        }
    }

    /// A result ended with status `status`: another follows when it says
    /// so (logged now, with its index), else the command is done.
    fn end_result<O: RecordOut>(&mut self, status: u16, cx: &mut Cx<'_, O>) {
        self.bad = 0;
        if status & parse::MORE_RESULTS == 0 {
            self.finish(None, cx);
            return;
        }
        let Some(p) = self.open.front().copied() else {
            return;
        };
        self.log(&p, Some(self.answer.results), &self.answer, None, cx);
        self.answer.next_result();
        self.stage = Stage::First;
    }

    /// An answer's packet that does not parse: its command ends, logged
    /// so (counted); too many in a row and the bytes are not MySQL.
    fn malformed<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        cx.stats.of::<M>().errors += 1;
        self.answer.malformed = true;
        self.finish(Some(End::Malformed), cx);
        self.bad += 1;
        if self.bad >= BAD_MAX {
            self.bad(cx);
        }
    }

    /// Takes the front command: logged (every result of a multi-statement
    /// query after an error: the statements not run, as skipped), its
    /// slot released.
    fn finish<O: RecordOut>(&mut self, how: Option<End>, cx: &mut Cx<'_, O>) {
        self.stage = Stage::First;
        self.infile = false;
        let Some(p) = self.open.pop() else {
            self.answer = Answer::default();
            return;
        };
        if how.is_none() {
            self.bad = 0;
        }
        let k = self.answer.results;
        let mut tmp = [0; TEXT_LONG];
        let text = self.text_of(p.slot, cx.txn, &mut tmp);
        record::command(&p, (k > 0).then_some(k), text, &self.answer, how, self, cx);
        if how.is_none() && self.answer.failed() && p.cmd == 0x03 {
            // The server stops at the first error: the statements after it
            // in the text were not run.
            let mut j = k + 1;
            while j < k + 64 && record::has_statement(text, j) {
                let none = Answer::default();
                record::command(&p, Some(j), text, &none, Some(End::Skipped), self, cx);
                j += 1;
            }
        }
        if p.cmd == 0x17 {
            if let Some(s) = self.slots.get_mut(usize::from(p.slot)) {
                s.long_data = 0;
                s.long_params = 0;
            }
        }
        self.release(p.slot);
        self.answer = Answer::default();
        self.give_back(cx);
    }

    /// Bytes that are not MySQL: what waits is logged, the flow left.
    fn bad<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        let st = cx.stats.of::<M>();
        st.errors += 1;
        st.extra[STOPPED] += 1;
        self.flush(End::Malformed, cx);
        self.over = true;
    }

    /// Logs every waiting command (and an open login) as unanswered.
    fn flush<O: RecordOut>(&mut self, how: End, cx: &mut Cx<'_, O>) {
        while !self.open.is_empty() {
            self.finish(Some(how), cx);
        }
        if self.login.open {
            self.login.open = false;
            record::login_unanswered(&self.login, how, cx);
        }
    }

    /// `len` bytes of `dir` are lost.
    pub fn gap<O: RecordOut>(&mut self, dir: usize, _len: u64, cx: &mut Cx<'_, O>) {
        self.flush(End::Gap, cx);
        if matches!(self.phase, Phase::Greeted | Phase::Auth) {
            // The login's outcome is lost: what follows is read as
            // commands (unless it was compressed or TLS, which the
            // resynchronisation will not take).
            self.phase = Phase::Commands;
        }
        self.lost[dir] = true;
        self.cont[dir] = false;
        self.stray_eof = false;
        if dir == 0 {
            self.infile = false;
        }
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

    /// The transaction buffer holding parameter values.
    pub(super) fn buffer(&self) -> u32 {
        self.hold.buf
    }

    /// Long data sent for the statement of `p` (an execute).
    pub(super) fn long_data(&self, p: &Pending) -> u64 {
        self.slots
            .get(usize::from(p.slot))
            .map_or(0, |s| u64::from(s.long_data))
    }
}

/// An ERR packet's fields into `a` (a packet that does not parse as one
/// still fails the command).
fn error(a: &mut Answer, b: &[u8]) {
    match parse::err(b) {
        Some(e) => {
            a.code = Some(e.code);
            if let Some(s) = e.state {
                a.state.put(s, true);
            }
            a.message.put(e.message, true);
        }
        None => a.code = Some(0),
    }
}
