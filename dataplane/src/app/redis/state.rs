//! The Redis state of one connection: the command being read, the
//! commands waiting for their replies (answered in order, however many a
//! segment carries), the reply being read, and the connection's modes.
//!
//! A command is read item by item: its name and a few arguments are kept,
//! the rest counted; an argument longer than [`SMALL`] is read for its
//! first [`PREFIX`] bytes and the rest skipped, never buffered. Its kept
//! arguments wait in a transaction buffer until its reply completes it.
//!
//! Replies are walked item by item with a bounded explicit stack
//! ([`parse::Walk`]); the value is rendered into
//! [`REPLY_CAP`](super::txn::REPLY_CAP) bytes.
//! A complete top-level value is a command's reply unless it is pushed:
//! a RESP3 push (`>`), or in RESP2 subscribe mode an array that starts
//! with `message`, `pmessage` or `smessage`. Subscription confirmations
//! pair with their command: one per channel, or for an UNSUBSCRIBE without
//! arguments as many as come. `CLIENT REPLY OFF`/`SKIP` and the commands
//! they silence get no reply and are logged when read. Inside MULTI the
//! replies are `QUEUED`, and EXEC's reply is an array of theirs.
//!
//! A gap loses the pairing: the open commands are logged unanswered, and
//! each direction waits for a chunk that starts a message (the client) or
//! for a command to answer (the server) before it reads again.

use super::parse::{self, Head, Kind, Parsed};
use super::record::{self, Command};
use super::txn::{of, Open, Reply, Special, HEADER, NAME_KEEP};
use super::{Redis as RedisProto, PUSHES, STOPPED};
use crate::app::{Cx, Step};
use crate::record::RecordOut;

/// Commands a connection may have waiting at most (`--redis-max-open`).
pub const OPEN_CAP: usize = 1024;
/// A payload up to this long is waited for whole.
const SMALL: usize = 4096;
/// Of a longer payload, this much is read before the rest is skipped.
const PREFIX: usize = 256;
/// A connection's modes, kept while it rests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Modes(u8);

impl Modes {
    const RESP3: u8 = 1;
    const SUBSCRIBED: u8 = 2;
    const MULTI: u8 = 4;
    const REPLY_OFF: u8 = 8;
    const SKIP_NEXT: u8 = 16;
    /// Subscribed to shard channels (SSUBSCRIBE): their confirmations
    /// count shard channels apart from channels and patterns, so an
    /// SUNSUBSCRIBE's count of 0 leaves the others' subscriptions be.
    const SHARD: u8 = 128;
    /// Either kind of subscription: messages come as arrays (RESP2).
    const ANY_SUBSCRIBED: u8 = Self::SUBSCRIBED | Self::SHARD;

    fn has(self, m: u8) -> bool {
        self.0 & m != 0
    }

    fn set(&mut self, m: u8, on: bool) {
        if on {
            self.0 |= m;
        } else {
            self.0 &= !m;
        }
    }

    /// RESP3 was agreed (HELLO 3).
    pub fn resp3(self) -> bool {
        self.has(Self::RESP3)
    }

    /// The modes as bits, to keep while the connection rests.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// The modes [`Modes::bits`] gave.
    pub fn from_bits(b: u8) -> Self {
        Self(b)
    }

    /// A reply was logged without its command (a mirror may deliver it
    /// first): the next command to time out had it (at most 3 kept, in
    /// two bits that rest with the connection).
    fn add_orphan(&mut self) {
        let n = (self.0 >> 5 & 3).saturating_add(1).min(3);
        self.0 = self.0 & !(3 << 5) | n << 5;
    }

    /// Takes one reply logged without its command, if any.
    fn take_orphan(&mut self) -> bool {
        let n = self.0 >> 5 & 3;
        if n == 0 {
            return false;
        }
        self.0 = self.0 & !(3 << 5) | (n - 1) << 5;
        true
    }
}

/// The command being read.
#[derive(Clone, Copy, Debug, Default)]
struct Building {
    active: bool,
    /// Its header's place in the transaction buffer, when it has one.
    at: Option<u32>,
    /// Bulk strings left in the array.
    left: u64,
    /// Index of the next argument (0: the name).
    idx: u32,
    cmd: Open,
    /// Every argument from this index on is a credential (AUTH).
    redact_from: u32,
    /// The argument at this index is a credential (a password two words
    /// after HELLO's or MIGRATE's AUTH2).
    redact_at: u32,
    /// The next argument is a credential.
    redact_next: bool,
    /// The first two arguments, upper case, cut (what CLIENT REPLY and
    /// HELLO mean).
    a1: [u8; 8],
    a2: [u8; 8],
}

/// Redis state of one connection.
#[derive(Debug)]
pub struct Redis {
    modes: Modes,
    max_open: u16,
    /// Open commands, each a header and its arguments in the transaction
    /// buffer, oldest at `front`, newest at `back`.
    count: u16,
    front: u32,
    back: u32,
    /// Replies still to read and not log (commands not tracked, or logged
    /// unanswered at a timeout).
    drop: u32,
    /// The transaction buffer holding the open commands' arguments.
    buf: u32,
    build: Building,
    reply: Reply,
    /// Per direction: a gap lost the place; wait to read again.
    lost: [bool; 2],
    /// Since a gap, no reply has paired: what cannot be read, and replies
    /// without a command, are the rest of what the gap cut (not logged).
    after_gap: bool,
    /// Not RESP: nothing more is read.
    over: bool,
}

impl Redis {
    /// A connection with at most `max_open` commands waiting, in `modes`.
    pub fn new(max_open: usize, modes: Modes) -> Self {
        Self {
            modes,
            max_open: max_open.clamp(1, OPEN_CAP) as u16,
            count: 0,
            front: 0,
            back: 0,
            drop: 0,
            buf: crate::app::pool::NONE,
            build: Building::default(),
            reply: Reply::default(),
            lost: [false; 2],
            after_gap: false,
            over: false,
        }
    }

    /// Makes `self` what [`Redis::new`] returns, in place (the reply text
    /// is rewritten before it is read).
    pub fn reset(&mut self, max_open: usize, modes: Modes) {
        let Self {
            modes: m,
            max_open: mo,
            count,
            front,
            back,
            drop,
            buf,
            build,
            reply,
            lost,
            after_gap,
            over,
        } = self;
        *m = modes;
        *mo = max_open.clamp(1, OPEN_CAP) as u16;
        (*count, *front, *back, *drop) = (0, 0, 0, 0);
        *buf = crate::app::pool::NONE;
        *build = Building::default();
        reply.clear();
        *lost = [false; 2];
        *after_gap = false;
        *over = false;
    }

    /// Nothing more is read of this connection.
    pub fn over(&self) -> bool {
        self.over
    }

    /// The modes to keep when nothing is in progress.
    pub fn at_rest(&self) -> Option<Modes> {
        (self.count == 0
            && self.drop == 0
            && !self.build.active
            && !self.reply.active
            && self.lost == [false; 2]
            && !self.after_gap
            && !self.over
            && self.buf == crate::app::pool::NONE)
            .then_some(self.modes)
    }

    /// Parses bytes of one direction.
    pub fn parse<O: RecordOut>(&mut self, dir: usize, data: &[u8], cx: &mut Cx<'_, O>) -> Step {
        if self.over {
            return Step::Stop;
        }
        if dir == 0 {
            self.client(data, cx)
        } else {
            self.server(data, cx)
        }
    }

    // ---- the client's commands ----

    fn client<O: RecordOut>(&mut self, data: &[u8], cx: &mut Cx<'_, O>) -> Step {
        if !self.build.active {
            let Some(&first) = data.first() else {
                return Step::Consumed(0);
            };
            if self.lost[0] {
                // Read again only where a chunk starts a command: framed,
                // or a line that starts with a command's name (not the
                // tail of an argument the gap cut, a password say).
                let word = data
                    .split(|c| c.is_ascii_whitespace())
                    .next()
                    .unwrap_or_default();
                if first != b'*' && !parse::known_command(word) {
                    return Step::Consumed(data.len());
                }
                self.lost[0] = false;
            }
            if first != b'*' {
                return self.inline(data, cx);
            }
            return match parse::head(data) {
                Parsed::Need => Step::Need {
                    consumed: 0,
                    min: 0,
                },
                Parsed::Bad => self.stop(cx),
                Parsed::Done(h) if h.kind != Kind::Array => self.stop(cx),
                Parsed::Done(h) => {
                    if h.len > 0 {
                        self.begin(cx);
                        self.build.left = h.len as u64;
                    }
                    Step::Consumed(h.size)
                }
            };
        }
        // An argument: a bulk string.
        let h = match parse::head(data) {
            Parsed::Need => {
                return Step::Need {
                    consumed: 0,
                    min: 0,
                }
            }
            Parsed::Done(h) if h.kind == Kind::Bulk && h.len >= 0 => h,
            _ => return self.stop(cx),
        };
        match body(&h, data) {
            Body::Whole(v, used) => {
                self.arg(v, false, cx);
                Step::Consumed(used)
            }
            Body::Prefix(v, skip) => {
                self.arg(v, true, cx);
                Step::Skip {
                    consumed: data.len(),
                    len: skip,
                }
            }
            Body::Wait(step) => step,
            Body::Bad => self.stop(cx),
        }
    }

    fn inline<O: RecordOut>(&mut self, data: &[u8], cx: &mut Cx<'_, O>) -> Step {
        let end = match parse::inline_end(data) {
            Parsed::Done(n) => n,
            Parsed::Need => {
                return Step::Need {
                    consumed: 0,
                    min: 0,
                }
            }
            Parsed::Bad => return self.stop(cx),
        };
        let line = &data[..end];
        // Unbalanced quotes: Redis answers with an error; the command is
        // logged with its words split at blanks.
        let quoted = parse::inline_args(line, |_| true);
        let words = match quoted {
            Ok(n) => n,
            Err(_) => line
                .split(|c| c.is_ascii_whitespace())
                .filter(|w| !w.is_empty())
                .count(),
        };
        if words == 0 {
            // An empty line: Redis reads on.
            return Step::Consumed(end);
        }
        self.begin(cx);
        self.build.cmd.flags |= of::INLINE;
        self.build.left = words as u64;
        if quoted.is_ok() {
            let _ = parse::inline_args(line, |a| {
                self.arg(a.raw, false, cx);
                true
            });
        } else {
            for w in line
                .split(|c| c.is_ascii_whitespace())
                .filter(|w| !w.is_empty())
            {
                self.arg(w, false, cx);
            }
        }
        Step::Consumed(end)
    }

    /// A command begins.
    fn begin<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        self.build = Building {
            active: true,
            redact_from: u32::MAX,
            redact_at: u32::MAX,
            ..Building::default()
        };
        self.build.cmd.ts = cx.now;
        if self.modes.resp3() {
            self.build.cmd.flags |= of::RESP3;
        }
        if self.modes.has(Modes::MULTI) {
            self.build.cmd.flags |= of::IN_MULTI;
        }
        if self.buf == crate::app::pool::NONE {
            match cx.txn.take() {
                Some(h) => self.buf = h,
                None => cx.stats.txn_buffers_full += 1,
            }
        }
        if let Some(tb) = cx.txn.get(self.buf) {
            // Commands answered leave their room at the front: reclaim it
            // when the buffer runs short.
            if self.count > 0 && self.front > 0 && tb.room() < self.reserve() + HEADER {
                let f = self.front as usize;
                tb.frag.copy_within(f.., 0);
                tb.frag.truncate(tb.frag.len() - f);
                self.back -= self.front;
                self.front = 0;
            }
            if tb.room() >= HEADER {
                self.build.at = Some(tb.frag.len() as u32);
                tb.frag.extend_from_slice(&[0; HEADER]);
            }
        }
        if self.build.at.is_none() {
            self.build.cmd.flags |= of::ARGS_CUT;
        }
    }

    /// Buffer bytes kept for the headers of the commands that may still
    /// open (so arguments do not crowd them out).
    fn reserve(&self) -> usize {
        let left = usize::from(self.max_open.saturating_sub(self.count + 1));
        (left * HEADER).min(4096)
    }

    /// One argument (`cut`: only its first bytes are at hand).
    fn arg<O: RecordOut>(&mut self, v: &[u8], cut: bool, cx: &mut Cx<'_, O>) {
        let b = &mut self.build;
        let i = b.idx;
        b.idx += 1;
        if i == 0 {
            let mut up = [0u8; parse::NAME_MAX];
            let name = parse::command_name_upper(v, &mut up);
            let n = name.len().min(NAME_KEEP);
            b.cmd.name[..n].copy_from_slice(&name[..n]);
            b.cmd.nlen = n as u8;
            b.cmd.key_at = parse::first_key_index(name)
                .and_then(|k| u8::try_from(k).ok())
                .unwrap_or(0);
            b.redact_from = match name {
                b"AUTH" => 1,
                _ => u32::MAX,
            };
        } else {
            b.cmd.nargs = b.cmd.nargs.saturating_add(1);
            let up = |dst: &mut [u8; 8]| {
                let n = v.len().min(8);
                dst[..n].copy_from_slice(&v[..n]);
                dst.make_ascii_uppercase();
            };
            if i == 1 {
                up(&mut b.a1);
            } else if i == 2 {
                up(&mut b.a2);
            }
            let on = cx.cfg.protos.redis.limits.redact;
            let redact = on && b.credential(i, v);
            let limit = cx.cfg.protos.redis.limits.arg_bytes;
            let used = usize::from(b.cmd.len);
            let keep: &[u8] = if redact { b"[redacted]" } else { v };
            let room = limit.saturating_sub(used);
            let n = keep.len().min(room);
            let reserve = self.reserve();
            let b = &mut self.build;
            let stored = match cx.txn.get(self.buf) {
                Some(tb) if b.cmd.flags & of::ARGS_CUT == 0 && tb.room() >= n + 2 + reserve => {
                    let flag = if n < keep.len() || (cut && !redact) {
                        0x8000u16
                    } else {
                        0
                    };
                    tb.frag.extend_from_slice(&(n as u16 | flag).to_le_bytes());
                    tb.frag.extend_from_slice(&keep[..n]);
                    b.cmd.len += (n + 2) as u16;
                    n == keep.len()
                }
                _ => false,
            };
            if !stored {
                b.cmd.flags |= of::ARGS_CUT;
            }
        }
        let b = &mut self.build;
        b.left = b.left.saturating_sub(1);
        if b.left == 0 {
            self.finish_command(cx);
        }
    }

    /// The command is read: it opens, or is logged at once when no reply
    /// comes.
    fn finish_command<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        let mut b = std::mem::take(&mut self.build);
        let c = &mut b.cmd;
        let name = &c.name[..usize::from(c.nlen)];
        let a1 = trim(&b.a1);
        let replconf_ack = name == b"REPLCONF" && a1 == b"ACK";
        let config_get = name == b"CONFIG" && a1 == b"GET";
        // A monitor or a replica's link is not commands and replies any
        // more: the analysis ends there, cleanly.
        let stream = matches!(name, b"MONITOR" | b"PSYNC" | b"SYNC");
        c.special = match name {
            b"SUBSCRIBE" | b"PSUBSCRIBE" | b"SSUBSCRIBE" => Special::Subscribe,
            b"UNSUBSCRIBE" | b"PUNSUBSCRIBE" | b"SUNSUBSCRIBE" => Special::Unsubscribe,
            b"HELLO" => Special::Hello(match a1 {
                b"2" => 2,
                b"3" => 3,
                _ => 0,
            }),
            b"MULTI" => Special::Multi,
            b"EXEC" | b"DISCARD" => Special::EndMulti,
            b"RESET" => Special::Reset,
            b"CLIENT" if a1 == b"REPLY" => Special::ClientReply(match trim(&b.a2) {
                b"ON" => 1,
                b"OFF" => 2,
                b"SKIP" => 3,
                _ => 0,
            }),
            _ => Special::Plain,
        };
        if config_get {
            c.flags |= of::CONFIG_GET;
        }
        c.expect = match c.special {
            // Inside MULTI a command is answered QUEUED, once.
            _ if c.flags & of::IN_MULTI != 0 => 1,
            Special::Subscribe => c.nargs.clamp(1, u32::from(u16::MAX - 1)) as u16,
            Special::Unsubscribe if c.nargs == 0 => u16::MAX,
            Special::Unsubscribe => c.nargs.min(u32::from(u16::MAX - 1)) as u16,
            _ => 1,
        };
        // Whether a reply comes: CLIENT REPLY OFF and SKIP get none, nor
        // do the commands they silence; CLIENT REPLY ON does.
        let silenced = match c.special {
            _ if replconf_ack || stream => true,
            Special::ClientReply(1) => false,
            Special::ClientReply(2) | Special::ClientReply(3) => true,
            _ => self.modes.has(Modes::REPLY_OFF) || self.modes.has(Modes::SKIP_NEXT),
        };
        if !matches!(c.special, Special::ClientReply(_)) {
            self.modes.set(Modes::SKIP_NEXT, false);
        }
        // The modes a command asks for hold for the commands after it,
        // pipelined or not (a refusal undoes HELLO's when it comes).
        match c.special {
            Special::Hello(v) if v != 0 => self.modes.set(Modes::RESP3, v == 3),
            Special::Multi => self.modes.set(Modes::MULTI, true),
            Special::EndMulti => self.modes.set(Modes::MULTI, false),
            // SUBSCRIBED ends when RESET's reply comes: messages may
            // still arrive before it.
            Special::Reset => {
                self.modes = Modes(self.modes.0 & Modes::ANY_SUBSCRIBED);
            }
            _ => {}
        }
        match c.special {
            Special::ClientReply(1) => self.modes.set(Modes::REPLY_OFF, false),
            Special::ClientReply(2) => self.modes.set(Modes::REPLY_OFF, true),
            Special::ClientReply(3) if !self.modes.has(Modes::REPLY_OFF) => {
                self.modes.set(Modes::SKIP_NEXT, true)
            }
            _ => {}
        }
        let at = b.at.map(|a| a as usize);
        if let (Some(a), Some(tb)) = (at, cx.txn.get(self.buf)) {
            c.len = (tb.frag.len() - a - HEADER) as u16;
        }
        if silenced {
            c.flags |= of::NO_REPLY;
            let c = *c;
            let args = at.map_or(usize::MAX, |a| a + HEADER);
            record::emit(Some(&self.command(c, args)), None, cx);
            self.unwrite(at, cx);
            self.release_args(cx);
            if stream {
                self.flush(record::End::FlowEnd, cx);
                self.over = true;
            }
            return;
        }
        if at.is_none() || usize::from(self.count) >= usize::from(self.max_open) {
            // Not tracked: its reply is read and passed over (a command
            // without a buffer was counted in txn_buffers_full).
            if at.is_some() {
                cx.stats.txn_limit += 1;
            }
            self.unwrite(at, cx);
            if self.count == 0 {
                self.drop = self.drop.saturating_add(1);
            } else if let Some(tb) = cx.txn.get(self.buf) {
                let h = &mut tb.frag[self.back as usize..self.back as usize + HEADER];
                let mut back = Open::decode(h);
                back.untracked = back.untracked.saturating_add(1);
                back.encode(h);
            }
            self.release_args(cx);
            return;
        }
        let (Some(a), Some(tb)) = (at, cx.txn.get(self.buf)) else {
            return;
        };
        c.encode(&mut tb.frag[a..a + HEADER]);
        if self.count == 0 {
            self.front = a as u32;
        }
        self.back = a as u32;
        self.count += 1;
    }

    /// Takes a command that does not stay open out of the buffer.
    fn unwrite<O: RecordOut>(&mut self, at: Option<usize>, cx: &mut Cx<'_, O>) {
        if let (Some(a), Some(tb)) = (at, cx.txn.get(self.buf)) {
            tb.frag.truncate(a);
        }
    }

    // ---- the server's replies ----

    fn server<O: RecordOut>(&mut self, data: &[u8], cx: &mut Cx<'_, O>) -> Step {
        if self.lost[1] {
            // Nothing to pair with: what the server says now answers
            // commands that were not seen.
            if self.count == 0 && self.drop == 0 {
                return Step::Consumed(data.len());
            }
            self.lost[1] = false;
        }
        let h = match parse::head(data) {
            Parsed::Need => {
                return Step::Need {
                    consumed: 0,
                    min: 0,
                }
            }
            // After a gap, what is not RESP is the rest of a reply it cut.
            Parsed::Bad if self.after_gap && !self.reply.active => {
                return Step::Consumed(data.len());
            }
            Parsed::Bad => return self.stop(cx),
            Parsed::Done(h) => h,
        };
        if !h.kind.has_payload() || h.len < 0 {
            self.item(&h, b"", false, cx);
            return Step::Consumed(h.size);
        }
        match body(&h, data) {
            Body::Whole(v, used) => {
                self.item(&h, v, false, cx);
                Step::Consumed(used)
            }
            Body::Prefix(v, skip) => {
                self.item(&h, v, true, cx);
                Step::Skip {
                    consumed: data.len(),
                    len: skip,
                }
            }
            Body::Wait(step) => step,
            Body::Bad if self.after_gap => {
                self.reply.clear();
                Step::Consumed(data.len())
            }
            Body::Bad => self.stop(cx),
        }
    }

    /// One reply item: its header and (for strings) its payload.
    fn item<O: RecordOut>(&mut self, h: &Head<'_>, payload: &[u8], cut: bool, cx: &mut Cx<'_, O>) {
        let limit = cx.cfg.protos.redis.limits.reply_bytes;
        let r = &mut self.reply;
        let before = r.walk.depth();
        let in_attr = r.walk.in_attribute();
        if !r.active {
            r.active = true;
            r.ts = cx.now;
        }
        if before == 0 && !in_attr {
            if h.kind == Kind::Attribute {
                r.attribute = true;
            } else {
                r.kind = h.kind;
                r.len = h.len;
                r.null = h.is_null();
            }
        }
        let shown = !in_attr && h.kind != Kind::Attribute;
        let direct = before == 1 && shown;
        if shown {
            if r.sep {
                r.push_text(b", ", limit);
            }
            let start = r.tlen;
            if h.kind.is_aggregate() {
                if h.len > 0 {
                    r.push_text(b"[", limit);
                } else if h.len == 0 {
                    r.push_text(b"[]", limit);
                } else {
                    r.push_text(b"null", limit);
                }
            } else {
                let text: &[u8] = match h.kind {
                    Kind::Bulk | Kind::BulkError if h.len < 0 => b"null",
                    Kind::Bulk | Kind::BulkError => payload,
                    Kind::Verbatim => payload.get(4..).unwrap_or_default(),
                    Kind::Null => b"null",
                    Kind::Boolean if h.line == b"t" => b"true",
                    Kind::Boolean => b"false",
                    _ => h.line,
                };
                r.push_text(text, limit);
                if cut {
                    r.cut = true;
                }
            }
            if direct {
                if let Some(e) = r.el.get_mut(r.elems as usize) {
                    *e = if h.kind.is_aggregate() {
                        (u16::MAX, u16::MAX)
                    } else {
                        (start, r.tlen)
                    };
                }
                r.elems = r.elems.saturating_add(1);
            }
            r.sep = false;
        }
        let opens = h.kind.is_aggregate() && h.len > 0;
        let done = match r.walk.push(h) {
            Ok(done) => done,
            Err(_) => {
                cx.stats.of::<RedisProto>().errors += 1;
                self.stop(cx);
                return;
            }
        };
        let r = &mut self.reply;
        if opens {
            if shown && before < 64 {
                r.brackets |= 1 << before;
            }
            return;
        }
        // Close the brackets of the levels this item completed.
        let after = r.walk.depth();
        for level in (after..before).rev() {
            if level < 64 && r.brackets & (1 << level) != 0 {
                r.brackets &= !(1 << level);
                r.push_text(b"]", limit);
            }
        }
        if shown || after < before {
            r.sep = r.walk.depth() > 0;
        }
        if done {
            self.complete(cx);
        }
    }

    /// A top-level value is complete: a push, a confirmation or a reply.
    fn complete<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        let r = &self.reply;
        let aggregate = matches!(r.kind, Kind::Array | Kind::Push);
        let first = if aggregate { r.elem(0) } else { None };
        let mut kind_buf = [0u8; 12];
        let n = first.map_or(0, |f| {
            let n = f.len().min(12);
            kind_buf[..n].copy_from_slice(&f[..n]);
            kind_buf[..n].make_ascii_lowercase();
            n
        });
        let kind = &kind_buf[..n];
        let front = self.front(cx);
        let front_open = front.is_some();
        let front_subscribes =
            front.is_some_and(|f| matches!(f.special, Special::Subscribe | Special::Unsubscribe));
        let r = &self.reply;
        // A confirmation answers a (un)subscribe command; an ordinary
        // reply shaped like one (LRANGE of such strings) is not one.
        let confirmation = matches!(
            kind,
            b"subscribe"
                | b"psubscribe"
                | b"ssubscribe"
                | b"unsubscribe"
                | b"punsubscribe"
                | b"sunsubscribe"
        ) && r.elems == 3
            && (front_subscribes || r.kind == Kind::Push);
        let message = matches!(kind, b"message" | b"pmessage" | b"smessage")
            && r.elems == if kind == b"pmessage" { 4 } else { 3 };
        // A message with no command waiting is pushed too: the capture
        // began while the connection was subscribed.
        let mid_subscription = message
            && r.kind == Kind::Array
            && !self.modes.has(Modes::ANY_SUBSCRIBED)
            && !front_open;
        if mid_subscription {
            let m = if kind == b"smessage" {
                Modes::SHARD
            } else {
                Modes::SUBSCRIBED
            };
            self.modes.set(m, true);
        }
        let pushed = r.kind == Kind::Push && !confirmation
            || (r.kind == Kind::Array && message && self.modes.has(Modes::ANY_SUBSCRIBED));
        if pushed {
            cx.stats.of::<RedisProto>().extra[PUSHES] += 1;
            record::push(&self.reply, self.modes.resp3(), cx);
            self.reply.clear();
            return;
        }
        let mut end_all = true;
        if confirmation {
            // The count of subscriptions left says whether the connection
            // is still subscribed.
            let left = self.reply.elem(2).unwrap_or(b"0");
            end_all = left == b"0";
            let m = if kind.starts_with(b"s") {
                Modes::SHARD
            } else {
                Modes::SUBSCRIBED
            };
            self.modes.set(m, !end_all);
        }
        let unsub = (confirmation && kind.ends_with(b"unsubscribe")).then_some(kind);
        self.answer(unsub, end_all, cx);
        self.reply.clear();
    }

    /// The reply in `self.reply` answers the front command (`unsub`: it is
    /// an unsubscribe confirmation of that kind; `end_all`: no
    /// subscription is left).
    fn answer<O: RecordOut>(&mut self, unsub: Option<&[u8]>, end_all: bool, cx: &mut Cx<'_, O>) {
        if self.drop > 0 {
            self.drop -= 1;
            return;
        }
        // An UNSUBSCRIBE without arguments takes every confirmation of its
        // kind that comes; any other reply ends it first.
        let own = |f: &Open| unsub.is_some_and(|k| k.eq_ignore_ascii_case(f.name()));
        if let Some(f) = self.front(cx) {
            if f.expect == u16::MAX && f.flags & of::LOGGED != 0 && !own(&f) {
                self.finish(cx);
                // The commands not tracked after it come first.
                if self.drop > 0 {
                    self.drop -= 1;
                    return;
                }
            }
        }
        let Some(mut front) = self.front(cx) else {
            // A reply to a command not seen (the capture began after it);
            // after a gap, the rest of a reply the gap cut is not one.
            if !self.after_gap {
                record::emit(None, Some(&self.reply), cx);
                // A mirror may deliver a reply before its command: the
                // command that then waits in vain already had it.
                self.modes.add_orphan();
            }
            return;
        };
        self.after_gap = false;
        if front.flags & of::LOGGED == 0 {
            let c = self.command(front, self.front as usize + HEADER);
            record::emit(Some(&c), Some(&self.reply), cx);
            front.flags |= of::LOGGED;
        }
        // An error answers a subscribe command once, whatever it named
        // (MOVED, CROSSSLOT, NOPERM).
        let error = matches!(self.reply.kind, Kind::Error | Kind::BulkError);
        let done = error
            || match front.expect {
                u16::MAX => !own(&front) || end_all,
                n => n <= 1,
            };
        if !done {
            if front.expect != u16::MAX {
                front.expect -= 1;
            }
            self.set_front(&front, cx);
            return;
        }
        self.finish(cx);
        match front.special {
            // A refused HELLO leaves the protocol as it was.
            Special::Hello(v) if error => {
                self.modes.set(Modes::RESP3, v != 3 && self.modes.resp3())
            }
            Special::Reset if !error => self.modes.set(Modes::ANY_SUBSCRIBED, false),
            _ => {}
        }
    }

    /// The front command is done: it leaves the queue, and the replies of
    /// the commands not tracked after it are not logged.
    fn finish<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        if let Some((f, _)) = self.pop(cx) {
            self.drop = self.drop.saturating_add(u32::from(f.untracked));
        }
        self.release_args(cx);
    }

    /// `c`, whose arguments start at `args` in the transaction buffer.
    fn command(&self, c: Open, args: usize) -> Command {
        Command {
            open: c,
            buf: self.buf,
            args,
        }
    }

    /// The open commands' buffer goes back when none is left.
    fn release_args<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        if self.count == 0 && !self.build.active && self.buf != crate::app::pool::NONE {
            cx.txn.give(self.buf);
            self.buf = crate::app::pool::NONE;
        }
    }

    /// The oldest open command.
    fn front<O: RecordOut>(&self, cx: &mut Cx<'_, O>) -> Option<Open> {
        if self.count == 0 {
            return None;
        }
        let f = self.front as usize;
        let tb = cx.txn.get(self.buf)?;
        Some(Open::decode(tb.frag.get(f..f + HEADER)?))
    }

    /// Writes the oldest open command back.
    fn set_front<O: RecordOut>(&self, o: &Open, cx: &mut Cx<'_, O>) {
        let f = self.front as usize;
        if let Some(h) = cx
            .txn
            .get(self.buf)
            .and_then(|tb| tb.frag.get_mut(f..f + HEADER))
        {
            o.encode(h);
        }
    }

    /// Takes the oldest open command out of the queue, with where its
    /// arguments start (they stay readable until the buffer is reused).
    fn pop<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) -> Option<(Open, usize)> {
        let o = self.front(cx)?;
        let args = self.front as usize + HEADER;
        self.front += (HEADER + usize::from(o.len)) as u32;
        self.count -= 1;
        Some((o, args))
    }

    /// Bytes that are not RESP: the open commands are logged unanswered
    /// and nothing more is read (counted).
    fn stop<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) -> Step {
        cx.stats.of::<RedisProto>().errors += 1;
        cx.stats.of::<RedisProto>().extra[STOPPED] += 1;
        self.flush(record::End::FlowEnd, cx);
        self.over = true;
        Step::Fatal
    }

    /// Logs every open command unanswered.
    fn flush<O: RecordOut>(&mut self, how: record::End, cx: &mut Cx<'_, O>) {
        while let Some((c, args)) = self.pop(cx) {
            if c.flags & of::LOGGED == 0 {
                record::unanswered(&self.command(c, args), how, cx);
            }
        }
        self.drop = 0;
        self.build.active = false;
        self.reply.clear();
        if self.buf != crate::app::pool::NONE {
            cx.txn.give(self.buf);
            self.buf = crate::app::pool::NONE;
        }
    }

    /// Bytes were lost: the pairing is gone.
    pub fn gap<O: RecordOut>(&mut self, dir: usize, len: u64, cx: &mut Cx<'_, O>) {
        if self.over {
            return;
        }
        if len == 0 {
            // The direction begins mid-connection: the client reads again
            // where a chunk starts a command; the server's bytes answer
            // the commands read, if any, else they wait for one.
            self.lost[dir] = dir == 0 || self.count == 0;
            return;
        }
        self.flush(record::End::Gap, cx);
        self.lost = [true; 2];
        self.after_gap = true;
    }

    /// Commands waiting past the timeout are logged unanswered; their
    /// replies, if they come, are not logged again.
    pub fn timeout<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        let limit = cx.cfg.txn_timeout_ns;
        if self.reply.active {
            return;
        }
        while let Some(f) = self.front(cx) {
            if cx.now.saturating_sub(f.ts) < limit {
                break;
            }
            let Some((c, args)) = self.pop(cx) else { break };
            if c.flags & of::LOGGED == 0 {
                record::unanswered(&self.command(c, args), record::End::Timeout, cx);
                // Its reply may still come, unless it came before it.
                if !self.modes.take_orphan() {
                    self.drop = self.drop.saturating_add(1);
                }
            }
            self.drop = self.drop.saturating_add(u32::from(c.untracked));
        }
        self.release_args(cx);
    }

    /// The connection ends: every open command is logged.
    pub fn end<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        if self.build.active && self.build.idx > 0 {
            // A command cut by the end: logged with what was read.
            self.build.left = 0;
            self.build.cmd.flags |= of::ARGS_CUT;
            self.finish_command(cx);
        }
        self.flush(record::End::FlowEnd, cx);
    }
}

/// How much of a string item's payload `data` holds.
enum Body<'a> {
    /// All of it, and the bytes the item takes with its header and CRLF.
    Whole(&'a [u8], usize),
    /// The first bytes of a long one, and how many bytes of it (and its
    /// CRLF) follow, to skip.
    Prefix(&'a [u8], u64),
    /// Not enough: the step that waits for more.
    Wait(Step),
    /// Its CRLF is missing.
    Bad,
}

/// The payload of the string item `h` at the start of `data`: a payload of
/// up to [`SMALL`] bytes is waited for whole; of a longer one the first
/// [`PREFIX`] bytes are read and the rest skipped.
fn body<'a>(h: &Head<'_>, data: &'a [u8]) -> Body<'a> {
    let len = h.len.max(0) as u64;
    let total = h.size as u64 + len + 2;
    if (data.len() as u64) < total {
        if len <= SMALL as u64 {
            return Body::Wait(Step::Need {
                consumed: 0,
                min: total as usize,
            });
        }
        let have = data.len() - h.size;
        if have < PREFIX {
            return Body::Wait(Step::Need {
                consumed: 0,
                min: h.size + PREFIX,
            });
        }
        let v = &data[h.size..h.size + have.min(len as usize)];
        return Body::Prefix(v, total - data.len() as u64);
    }
    let end = h.size + len as usize;
    if &data[end..end + 2] != b"\r\n" {
        return Body::Bad;
    }
    Body::Whole(&data[h.size..end], total as usize)
}

impl Building {
    /// Whether argument `i`, `v`, is a credential: AUTH's arguments, the
    /// password after HELLO's AUTH user, MIGRATE's AUTH password or AUTH2
    /// user password, a password CONFIG SET sets, ACL SETUSER's password
    /// rules. Notes what the arguments after it are.
    fn credential(&mut self, i: u32, v: &[u8]) -> bool {
        let name = &self.cmd.name[..usize::from(self.cmd.nlen)];
        let word = |w: &[u8]| v.eq_ignore_ascii_case(w);
        let secret = i >= self.redact_from
            || i == self.redact_at
            || std::mem::take(&mut self.redact_next)
            || (name == b"ACL"
                && trim(&self.a1) == b"SETUSER"
                && i >= 3
                && matches!(v.first(), Some(b'>' | b'<' | b'#' | b'!')));
        match name {
            b"HELLO" | b"MIGRATE" if word(b"AUTH2") || (name == b"HELLO" && word(b"AUTH")) => {
                self.redact_at = i + 2
            }
            b"MIGRATE" if word(b"AUTH") => self.redact_next = true,
            // CONFIG SET requirepass …, SENTINEL SET m auth-pass …,
            // SENTINEL CONFIG SET sentinel-pass …: the value after a
            // password's name.
            b"CONFIG" | b"SENTINEL" if i >= 2 => {
                let p = v.to_ascii_lowercase();
                self.redact_next =
                    p.ends_with(b"pass") || p.ends_with(b"auth") || p == b"masteruser";
            }
            _ => {}
        }
        secret
    }
}

fn trim(b: &[u8; 8]) -> &[u8] {
    let n = b.iter().position(|&c| c == 0).unwrap_or(8);
    &b[..n]
}
