//! The `redis` record: a command and its reply, a command that gets no
//! reply, or a pushed message. docs/schema.md lists the fields.

use super::parse::Kind;
use super::txn::{of, Open, Reply};
use super::Redis;
use crate::app::txn::TxnPool;
use crate::app::{write_record, write_unanswered, Cx};
use crate::record::json::JsonWriter;
use crate::record::{FieldSink, RecordOut};

/// A command and where its kept arguments are.
pub struct Command {
    /// The command.
    pub open: Open,
    /// The transaction buffer holding its arguments.
    pub buf: u32,
    /// Where they start in it (`usize::MAX`: none kept).
    pub args: usize,
}

/// Why a command is logged without its reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// It waited past the timeout.
    Timeout,
    /// Its connection ended (or stopped being RESP).
    FlowEnd,
    /// Bytes were lost: its reply cannot be told.
    Gap,
}

/// Logs a command with its reply (`reply`), or one that gets none; a
/// reply without its command (`cmd` is `None`) is logged alone.
pub fn emit<O: RecordOut>(cmd: Option<&Command>, reply: Option<&Reply>, cx: &mut Cx<'_, O>) {
    cx.stats.of::<Redis>().transactions += 1;
    let now = cx.now;
    let ts = cmd.map_or(reply.map_or(now, |r| r.ts), |c| c.open.ts);
    let txn = &mut *cx.txn;
    let frag = cmd.and_then(|c| args_of(c, txn));
    let redact = cx.cfg.protos.redis.limits.redact;
    write_record(cx.out, cx.stats, cx.flow, cx.names, "redis", ts, |w| {
        match cmd {
            Some(c) => write_command(w, &c.open, frag),
            None => w.bool("command_missing", true),
        }
        if let Some(r) = reply {
            write_reply(w, r, cmd.map(|c| &c.open), redact);
            if let Some(c) = cmd {
                w.u64("latency_us", now.saturating_sub(c.open.ts) / 1000);
            }
        }
    });
}

/// Logs a command whose reply did not come.
pub fn unanswered<O: RecordOut>(cmd: &Command, how: End, cx: &mut Cx<'_, O>) {
    let st = cx.stats.of::<Redis>();
    st.transactions += 1;
    st.unanswered += 1;
    let frag = args_of(cmd, cx.txn);
    let ts = cmd.open.ts;
    write_record(cx.out, cx.stats, cx.flow, cx.names, "redis", ts, |w| {
        write_command(w, &cmd.open, frag);
        match how {
            End::Gap => {
                w.bool("unanswered", true);
                w.token("unanswered_reason", "gap");
            }
            _ => write_unanswered(w, how == End::Timeout),
        }
    });
}

/// Logs a pushed message: its kind, and for pub/sub messages the channel,
/// the pattern and the payload; for any other push the value.
pub fn push<O: RecordOut>(r: &Reply, resp3: bool, cx: &mut Cx<'_, O>) {
    let ts = r.ts;
    write_record(cx.out, cx.stats, cx.flow, cx.names, "redis", ts, |w| {
        let kind = r.elem(0).unwrap_or(b"");
        w.text("push", kind);
        let (pattern, channel, payload) = if kind.eq_ignore_ascii_case(b"pmessage") {
            (r.elem(1), r.elem(2), r.elem(3))
        } else if kind.eq_ignore_ascii_case(b"message") || kind.eq_ignore_ascii_case(b"smessage") {
            (None, r.elem(1), r.elem(2))
        } else if r.elems == 2 {
            // Another push of a kind and a value (server-cpu-usage, 42).
            (None, None, r.elem(1))
        } else {
            (None, None, None)
        };
        if let Some(p) = pattern {
            w.text("pattern", p);
        }
        if let Some(c) = channel {
            w.text("channel", c);
        }
        match payload {
            Some(p) => w.text("payload", p),
            None => w.text("reply", r.value()),
        }
        if r.cut {
            w.bool("reply_truncated", true);
        }
        w.u64("resp", if resp3 || r.kind == Kind::Push { 3 } else { 2 });
    });
}

/// The bytes holding `c`'s kept arguments.
fn args_of<'a>(c: &Command, txn: &'a mut TxnPool) -> Option<&'a [u8]> {
    let tb = txn.get(c.buf)?;
    let n = usize::from(c.open.len);
    tb.frag.get(c.args..c.args.checked_add(n)?)
}

/// Each kept argument (`cut`: only its first bytes were kept).
fn each_arg(frag: &[u8], mut f: impl FnMut(&[u8], bool)) {
    let mut at = 0;
    while at + 2 <= frag.len() {
        let h = u16::from_le_bytes([frag[at], frag[at + 1]]);
        let n = usize::from(h & 0x7fff);
        let Some(v) = frag.get(at + 2..at + 2 + n) else {
            return;
        };
        f(v, h & 0x8000 != 0);
        at += 2 + n;
    }
}

fn write_command(w: &mut JsonWriter, c: &Open, frag: Option<&[u8]>) {
    w.text("command", c.name());
    let frag = frag.unwrap_or_default();
    if c.key_at > 0 {
        let mut i = 0;
        each_arg(frag, |v, _| {
            i += 1;
            if i == usize::from(c.key_at) {
                w.text("key", v);
            }
        });
    }
    let mut cut = c.flags & of::ARGS_CUT != 0;
    w.begin_list("args");
    each_arg(frag, |v, short| {
        cut |= short;
        w.text("", v);
    });
    w.end_list();
    w.u64("arg_count", u64::from(c.nargs));
    if cut {
        w.bool("args_truncated", true);
    }
    if c.flags & of::INLINE != 0 {
        w.bool("inline", true);
    }
    w.u64("resp", if c.flags & of::RESP3 != 0 { 3 } else { 2 });
    if c.flags & of::NO_REPLY != 0 {
        w.bool("no_reply", true);
    }
}

/// Writes the reply; `redact`: CONFIG GET's values (passwords among them)
/// are not logged.
fn write_reply(w: &mut JsonWriter, r: &Reply, cmd: Option<&Open>, redact: bool) {
    let config_get = cmd.is_some_and(|c| c.flags & of::CONFIG_GET != 0);
    w.token("reply_type", if r.null { "null" } else { r.kind.name() });
    let error = matches!(r.kind, Kind::Error | Kind::BulkError);
    if error {
        w.text("error", r.value());
    } else if r.null {
    } else if r.kind.is_aggregate() {
        w.u64("reply_len", r.len as u64);
        if redact && config_get {
            w.token("reply", "[redacted]");
        } else {
            w.text("reply", r.value());
        }
    } else {
        w.text("reply", r.value());
    }
    if r.cut {
        w.bool("reply_truncated", true);
    }
    if r.attribute {
        w.bool("attribute", true);
    }
    w.bool("success", !error);
    if cmd.is_some_and(|c| c.flags & of::IN_MULTI != 0)
        && r.kind == Kind::Simple
        && r.value() == b"QUEUED"
    {
        w.bool("queued", true);
    }
}
