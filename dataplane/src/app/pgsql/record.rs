//! The `pgsql` record: a statement (a Query, an Execute, or a message of
//! the extended protocol that failed) with its answer, a login, an
//! SSLRequest or GSSENCRequest and its answer, a CancelRequest.
//! docs/schema.md lists the fields. Passwords and SASL exchanges are never
//! read, so never logged.

use super::parse;
use super::txn::{Answer, Login, Pending};
use super::Pgsql;
use crate::app::sql::{self, Dialect, Kept};
use crate::app::{write_unanswered, Cx};
use crate::record::json::JsonWriter;
use crate::record::{FieldSink, RecordOut};

/// Why a message is logged without its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// It waited past the timeout.
    Timeout,
    /// Its connection ended (or stopped being PostgreSQL).
    FlowEnd,
    /// Bytes were lost: its answer cannot be told.
    Gap,
    /// An earlier message failed: the server discarded it (up to Sync).
    Skipped,
    /// Bytes that are not PostgreSQL came: the analysis stopped.
    Malformed,
}

/// Marks a message logged without its answer, and why.
fn unanswered(w: &mut JsonWriter, how: End) {
    match how {
        End::Gap => {
            w.bool("unanswered", true);
            w.token("unanswered_reason", "gap");
        }
        End::Malformed => {
            w.bool("unanswered", true);
            w.token("unanswered_reason", "malformed");
        }
        _ => write_unanswered(w, how == End::Timeout),
    }
}

fn who(w: &mut JsonWriter, l: &Login) {
    if l.user.set {
        w.text("user", l.user.get());
    }
    if l.database.set {
        w.text("database", l.database.get());
    }
    if l.application.set {
        w.text("application_name", l.application.get());
    }
}

/// The error; its message (which can quote values) not when `mask`.
fn error(w: &mut JsonWriter, a: &Answer, mask: bool) {
    if a.severity.set {
        w.text("severity", a.severity.get());
    }
    if a.code.set {
        w.text("sqlstate", a.code.get());
    }
    if a.message.set && !mask {
        w.text("error", a.message.get());
    }
}

/// The connection a statement record names, and what it may keep.
#[derive(Clone, Copy)]
pub struct Conn<'a> {
    /// Who logged in.
    pub login: &'a Login,
    /// `--sql-literals mask`.
    pub mask: bool,
    /// The transaction buffer holding parameter values.
    pub buf: u32,
}

/// A statement's text as logged.
#[derive(Clone, Copy, Debug)]
pub struct Text<'a> {
    /// The bytes kept; `None` for a statement of a Query that starts past
    /// the bytes kept of its text (logged `statement_unknown`, with its
    /// index).
    pub text: Option<&'a [u8]>,
    /// Cut short.
    pub cut: bool,
    /// Its place in a Query of several statements.
    pub index: Option<u32>,
}

/// Logs a statement (or a failed message) and its answer; `how`: why it
/// has none.
pub fn statement<O: RecordOut>(
    p: &Pending,
    text: Option<Text<'_>>,
    a: &Answer,
    how: Option<End>,
    conn: Conn<'_>,
    cx: &mut Cx<'_, O>,
) {
    let st = cx.stats.of::<Pgsql>();
    st.transactions += 1;
    if matches!(
        how,
        Some(End::Timeout | End::FlowEnd | End::Gap | End::Malformed)
    ) {
        st.unanswered += 1;
    }
    let now = cx.now;
    // The values wait in the transaction buffer; the record is written
    // beside it.
    let (vals, notice) = match cx.txn.get(conn.buf) {
        None => (None, None),
        Some(tb) => {
            let find = |k| (k != 0).then(|| Kept::find(&tb.frag, k)).flatten();
            (find(p.vals), find(a.notice))
        }
    };
    let rec = |w: &mut JsonWriter| {
        w.token("op", p.op.name());
        who(w, conn.login);
        match text {
            Some(Text {
                text: Some(b),
                cut,
                index,
            }) => {
                if !conn.mask {
                    w.text("statement", b);
                }
                if cut {
                    w.bool("statement_truncated", true);
                }
                if let Some(i) = index {
                    w.u64("statement_index", u64::from(i));
                }
                // On the stack: a fingerprint is never longer than its text.
                let mut fp = [0u8; super::state::TEXT_LONG];
                let n = sql::fingerprint(Dialect::Postgres, b, &mut fp);
                if n > 0 {
                    w.text("fingerprint", &fp[..n]);
                }
            }
            Some(Text {
                text: None, index, ..
            }) => {
                w.bool("statement_unknown", true);
                if let Some(i) = index {
                    w.u64("statement_index", u64::from(i));
                }
            }
            None => w.bool("statement_unknown", true),
        }
        if p.params > 0 {
            w.u64("params", u64::from(p.params));
        }
        if let Some(v) = vals {
            Kept::write_values(w, "param_values", "param_values_truncated", v);
        }
        if a.notices > 0 {
            if let Some((sev, code, msg)) = notice.and_then(super::txn::notice_fields) {
                w.text("notice_severity", sev);
                w.text("notice_sqlstate", code);
                if !msg.is_empty() {
                    w.text("notice", msg);
                }
            }
            if a.notices > 1 {
                w.u64("notices", u64::from(a.notices));
            }
        }
        match how {
            None => {
                if a.tag.set {
                    w.text("tag", a.tag.get());
                }
                if let Some(r) = a.rows {
                    w.u64("rows", r);
                }
                if a.data_rows > 0 {
                    w.u64("data_rows", a.data_rows);
                }
                if let Some(c) = a.columns {
                    w.u64("columns", u64::from(c));
                }
                if a.empty {
                    w.bool("empty_query", true);
                }
                if a.suspended {
                    w.bool("suspended", true);
                }
                if a.copy_bytes > 0 {
                    w.u64("copy_bytes", a.copy_bytes);
                }
                error(w, a, conn.mask);
                if let Some(s) = a.tx_status {
                    w.token("tx_status", s);
                }
                w.bool("success", !a.failed());
                w.u64("latency_us", now.saturating_sub(p.ts) / 1000);
            }
            Some(End::Skipped) => {
                w.bool("skipped", true);
                w.bool("success", false);
            }
            Some(e) => unanswered(w, e),
        }
    };
    crate::app::write_record(cx.out, cx.stats, cx.flow, cx.names, "pgsql", p.ts, rec);
}

fn login_fields(w: &mut JsonWriter, l: &Login) {
    w.token("op", "login");
    who(w, l);
    w.u64("protocol_major", u64::from(l.version >> 16));
    w.u64("protocol_minor", u64::from(l.version & 0xffff));
    if let Some(code) = l.auth {
        w.token("auth_method", parse::auth_name(code));
    }
    if l.mechanism.set {
        w.text("sasl_mechanism", l.mechanism.get());
    }
    if l.ssl_refused {
        w.bool("ssl_refused", true);
    }
}

/// Logs the login at its ReadyForQuery (`err`: `None`) or its error.
pub fn login<O: RecordOut>(l: &Login, err: Option<&Answer>, cx: &mut Cx<'_, O>) {
    cx.stats.of::<Pgsql>().transactions += 1;
    let now = cx.now;
    cx.record("pgsql", l.ts, |w| {
        login_fields(w, l);
        if l.server_version.set {
            w.text("server_version", l.server_version.get());
        }
        if let Some(pid) = l.pid {
            w.u64("backend_pid", u64::from(pid));
        }
        if let Some(a) = err {
            // A login's errors name roles and databases, not values.
            error(w, a, false);
        }
        w.bool("success", err.is_none());
        w.u64("latency_us", now.saturating_sub(l.ts) / 1000);
    });
}

/// Logs a login that got no answer.
pub fn login_unanswered<O: RecordOut>(l: &Login, how: End, cx: &mut Cx<'_, O>) {
    let st = cx.stats.of::<Pgsql>();
    st.transactions += 1;
    st.unanswered += 1;
    cx.record("pgsql", l.ts, |w| {
        login_fields(w, l);
        unanswered(w, how);
    });
}

/// Logs an SSLRequest (`ssl`) or GSSENCRequest and the server's one-byte
/// answer.
pub fn encryption<O: RecordOut>(ssl: bool, answer: u8, cx: &mut Cx<'_, O>) {
    cx.stats.of::<Pgsql>().transactions += 1;
    let ts = cx.now;
    cx.record("pgsql", ts, |w| {
        w.token("op", if ssl { "ssl_request" } else { "gssenc_request" });
        w.text("reply", &[answer]);
        w.bool("encrypted", answer == b'S' || answer == b'G');
        w.bool("success", true);
    });
}

/// Logs a CancelRequest (its secret key is not).
pub fn cancel<O: RecordOut>(pid: Option<u32>, cx: &mut Cx<'_, O>) {
    cx.stats.of::<Pgsql>().transactions += 1;
    let ts = cx.now;
    cx.record("pgsql", ts, |w| {
        w.token("op", "cancel");
        if let Some(p) = pid {
            w.u64("backend_pid", u64::from(p));
        }
    });
}
