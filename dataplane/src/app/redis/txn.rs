//! A Redis transaction: an open command as it waits in the transaction
//! buffer (a fixed header, then its arguments), and the reply being read.
//! The state machine fills them and the record reads them; apart from
//! both, so neither imports the other's types.

use super::parse::{Kind, Walk};

/// Bytes of an open command's header in the transaction buffer.
pub const HEADER: usize = 40;
/// Bytes of a command's name kept.
pub const NAME_KEEP: usize = 16;
/// Bytes of a reply's rendered value kept at most.
pub const REPLY_CAP: usize = 512;
/// Elements of a top-level aggregate whose text is remembered (a pushed
/// message's kind, channel, pattern and payload).
pub const ELEMS: usize = 4;

/// What a command does to the pairing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Special {
    /// An ordinary command: one reply.
    #[default]
    Plain,
    /// (P|S)SUBSCRIBE: a confirmation per channel.
    Subscribe,
    /// (P|S)UNSUBSCRIBE: a confirmation per channel named, or without
    /// arguments as many as come.
    Unsubscribe,
    /// HELLO with a protocol version.
    Hello(u8),
    /// MULTI.
    Multi,
    /// EXEC or DISCARD.
    EndMulti,
    /// RESET: every mode back to its default.
    Reset,
    /// CLIENT REPLY ON/OFF/SKIP.
    ClientReply(u8),
}

/// Flags of an open command.
pub mod of {
    /// Sent inline (a line of words).
    pub const INLINE: u8 = 1;
    /// Arguments past the limit (or without a buffer) not kept.
    pub const ARGS_CUT: u8 = 2;
    /// Sent inside MULTI: its reply is QUEUED.
    pub const IN_MULTI: u8 = 4;
    /// No reply comes (CLIENT REPLY OFF/SKIP).
    pub const NO_REPLY: u8 = 8;
    /// Sent after HELLO 3 was agreed.
    pub const RESP3: u8 = 16;
    /// Logged already (with its first subscription confirmation).
    pub const LOGGED: u8 = 0x80;
    /// CONFIG GET: its reply holds settings, passwords among them.
    pub const CONFIG_GET: u8 = 32;
}

/// A command waiting for its reply.
#[derive(Clone, Copy, Debug, Default)]
pub struct Open {
    /// When its first byte came (ns).
    pub ts: u64,
    /// Its name, upper case, cut at [`NAME_KEEP`].
    pub name: [u8; NAME_KEEP],
    /// Bytes of the name kept.
    pub nlen: u8,
    /// [`of`] flags.
    pub flags: u8,
    /// Which argument is the first key (0: none).
    pub key_at: u8,
    /// What it does to the pairing.
    pub special: Special,
    /// Confirmations still to come (subscribe commands); `u16::MAX`: as
    /// many as come.
    pub expect: u16,
    /// Bytes of its kept arguments, after its header in the transaction
    /// buffer.
    pub len: u16,
    /// Arguments after the name.
    pub nargs: u32,
    /// Commands after it not tracked (the queue was full): their replies
    /// are read and not logged.
    pub untracked: u16,
}

impl Open {
    /// The name.
    pub fn name(&self) -> &[u8] {
        &self.name[..usize::from(self.nlen)]
    }

    /// Writes `self` into `out[..HEADER]`.
    pub(super) fn encode(&self, out: &mut [u8]) {
        let special = match self.special {
            Special::Plain => 0,
            Special::Subscribe => 1,
            Special::Unsubscribe => 2,
            Special::Hello(v) => 3 | v << 4,
            Special::Multi => 4,
            Special::EndMulti => 5,
            Special::Reset => 6,
            Special::ClientReply(m) => 7 | m << 4,
        };
        out[..8].copy_from_slice(&self.ts.to_le_bytes());
        out[8..24].copy_from_slice(&self.name);
        out[24..28].copy_from_slice(&[self.nlen, self.flags, self.key_at, special]);
        out[28..30].copy_from_slice(&self.expect.to_le_bytes());
        out[30..32].copy_from_slice(&self.len.to_le_bytes());
        out[32..36].copy_from_slice(&self.nargs.to_le_bytes());
        out[36..38].copy_from_slice(&self.untracked.to_le_bytes());
    }

    /// Reads what [`Open::encode`] wrote.
    pub(super) fn decode(b: &[u8]) -> Open {
        let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        let mut name = [0; NAME_KEEP];
        name.copy_from_slice(&b[8..24]);
        let s = b[27];
        Open {
            ts: u64::from_le_bytes(b[..8].try_into().unwrap_or_default()),
            name,
            nlen: b[24],
            flags: b[25],
            key_at: b[26],
            special: match s & 15 {
                1 => Special::Subscribe,
                2 => Special::Unsubscribe,
                3 => Special::Hello(s >> 4),
                4 => Special::Multi,
                5 => Special::EndMulti,
                6 => Special::Reset,
                7 => Special::ClientReply(s >> 4),
                _ => Special::Plain,
            },
            expect: u16_at(28),
            len: u16_at(30),
            nargs: u32::from_le_bytes(b[32..36].try_into().unwrap_or_default()),
            untracked: u16_at(36),
        }
    }
}

/// The reply being read.
#[derive(Clone, Debug)]
pub struct Reply {
    pub(super) walk: Walk,
    /// A value has begun.
    pub active: bool,
    /// When its first byte came.
    pub ts: u64,
    /// The top-level type.
    pub kind: Kind,
    /// Its count (aggregates) or length.
    pub len: i64,
    /// It is a null (`_`, `$-1`, `*-1`).
    pub null: bool,
    /// An attribute came before it.
    pub attribute: bool,
    /// The rendered value.
    pub text: [u8; REPLY_CAP],
    /// Bytes of it.
    pub tlen: u16,
    /// It was cut.
    pub cut: bool,
    /// A separator is due before the next element.
    pub(super) sep: bool,
    /// Walk levels that opened a bracket.
    pub(super) brackets: u64,
    /// Direct elements seen, and the text ranges of the first ones.
    pub elems: u32,
    /// Text ranges of the first [`ELEMS`] direct elements.
    pub el: [(u16, u16); ELEMS],
}

impl Default for Reply {
    fn default() -> Self {
        Self {
            walk: Walk::new(),
            active: false,
            ts: 0,
            kind: Kind::Null,
            len: 0,
            null: false,
            attribute: false,
            text: [0; REPLY_CAP],
            tlen: 0,
            cut: false,
            sep: false,
            brackets: 0,
            elems: 0,
            el: [(0, 0); ELEMS],
        }
    }
}

impl Reply {
    /// Text of direct element `i`, if it was a scalar and kept.
    pub fn elem(&self, i: usize) -> Option<&[u8]> {
        let (a, b) = *self.el.get(i)?;
        (i < self.elems as usize && a != u16::MAX)
            .then(|| &self.text[usize::from(a)..usize::from(b)])
    }

    /// The rendered value.
    pub fn value(&self) -> &[u8] {
        &self.text[..usize::from(self.tlen)]
    }

    pub(super) fn push_text(&mut self, t: &[u8], limit: usize) {
        let limit = limit.min(REPLY_CAP);
        let at = usize::from(self.tlen);
        let room = limit.saturating_sub(at);
        let n = t.len().min(room);
        self.text[at..at + n].copy_from_slice(&t[..n]);
        self.tlen += n as u16;
        if n < t.len() {
            self.cut = true;
        }
    }

    pub(super) fn clear(&mut self) {
        self.walk.reset();
        self.active = false;
        self.attribute = false;
        self.tlen = 0;
        self.cut = false;
        self.sep = false;
        self.brackets = 0;
        self.elems = 0;
    }
}
