//! The `mysql` record: a command (each result of a multi-statement query
//! apart) with its answer, a login, an SSLRequest. docs/schema.md lists
//! the fields. Auth responses are never read, so never logged.

use super::parse;
use super::txn::{Answer, Login, Pending};
use super::Mysql;
use crate::app::sql::{self, Dialect, Kept};
use crate::app::{write_unanswered, Cx};
use crate::record::json::JsonWriter;
use crate::record::{FieldSink, RecordOut};

/// Why a command is logged without its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// No answer comes (COM_QUIT, COM_STMT_CLOSE, a binlog dump).
    NoAnswer,
    /// It waited past the timeout.
    Timeout,
    /// Its connection ended (or stopped being MySQL).
    FlowEnd,
    /// Bytes were lost: its answer cannot be told.
    Gap,
    /// An earlier statement of the same query failed: the server did not
    /// run it.
    Skipped,
    /// Its answer did not parse.
    Malformed,
}

/// Marks a command logged without its answer, and why.
fn unanswered(w: &mut JsonWriter, how: End) {
    match how {
        End::NoAnswer => {}
        End::Skipped => {
            w.bool("skipped", true);
            w.bool("success", false);
        }
        End::Gap | End::Malformed => {
            w.bool("unanswered", true);
            w.token(
                "unanswered_reason",
                if how == End::Gap { "gap" } else { "malformed" },
            );
        }
        End::Timeout | End::FlowEnd => write_unanswered(w, how == End::Timeout),
    }
}

fn who(w: &mut JsonWriter, l: &Login) {
    if l.user.set {
        w.text("user", l.user.get());
    }
    if l.database.set {
        w.text("database", l.database.get());
    }
}

/// The error; its message (which can quote values) not when `mask`.
fn error(w: &mut JsonWriter, a: &Answer, mask: bool) {
    if let Some(c) = a.code {
        w.u64("error_code", u64::from(c));
        if a.state.set {
            w.text("sqlstate", a.state.get());
        }
        if a.message.set && !mask {
            w.text("error", a.message.get());
        }
    }
}

/// The text of statement `k` of command `p` whose text is `text` (a query
/// of several statements: the `k`th; past the last, a procedure's
/// further results: the last), whether it was cut, and whether the text
/// has several.
fn statement<'a>(
    text: Option<(&'a [u8], bool)>,
    p: &Pending,
    k: Option<u32>,
) -> Option<(&'a [u8], bool, bool)> {
    let (all, cut) = text?;
    if p.cmd != 0x03 {
        return Some((all, cut, false));
    }
    let k = k.unwrap_or(0) as usize;
    let mut part = None;
    let mut n = 0;
    let mut at = 0;
    while let Some((s, e)) = sql::next_statement(Dialect::MySql, all, at) {
        if n <= k {
            part = Some((s, e));
        }
        n += 1;
        at = e;
        if n > k + 1 {
            break;
        }
    }
    Some(match part {
        Some((s, e)) => (&all[s..e], cut && e == all.len(), n > 1),
        None => (all, cut, false),
    })
}

/// Whether a query's text holds a statement `k` (from 0).
pub fn has_statement(text: Option<(&[u8], bool)>, k: u32) -> bool {
    text.is_some_and(|(t, _)| sql::statement_at(Dialect::MySql, t, k as usize).is_some())
}

/// Logs command `p` with its text (and whether it was cut) and its answer
/// `a` (`index`: its result's place among several); `how`: why it has
/// none.
pub fn command<O: RecordOut>(
    p: &Pending,
    index: Option<u32>,
    text: Option<(&[u8], bool)>,
    a: &Answer,
    how: Option<End>,
    m: &Mysql,
    cx: &mut Cx<'_, O>,
) {
    let st = cx.stats.of::<Mysql>();
    st.transactions += 1;
    if matches!(
        how,
        Some(End::Timeout | End::FlowEnd | End::Gap | End::Malformed)
    ) {
        st.unanswered += 1;
    }
    let now = cx.now;
    let op = parse::command_name(p.cmd).unwrap_or("unknown");
    let mask = m.mask;
    // The values wait in the transaction buffer; the record is written
    // beside it.
    let vals = match (p.vals, cx.txn.get(m.buffer())) {
        (0, _) | (_, None) => None,
        (k, Some(tb)) => Kept::find(&tb.frag, k),
    };
    let rec = |w: &mut JsonWriter| {
        w.token("op", op);
        let l = &m.login;
        match p.cmd {
            // The command names who the connection becomes.
            0x11 => who(w, l),
            0x02 | 0x05 | 0x06 => {
                if l.user.set {
                    w.text("user", l.user.get());
                }
            }
            _ => who(w, l),
        }
        if let Some((text, cut, multi)) = statement(text, p, index) {
            let key = match p.cmd {
                0x02 | 0x05 | 0x06 => "database",
                0x04 => "table",
                _ => "statement",
            };
            // Under mask a statement is its fingerprint only.
            if key != "statement" || !mask {
                w.text(key, text);
            }
            if key == "statement" {
                if cut {
                    w.bool("statement_truncated", true);
                }
                if multi || index.is_some() {
                    w.u64("statement_index", u64::from(index.unwrap_or(0)));
                }
                // On the stack: a fingerprint is never longer than its text.
                let mut fp = [0u8; sql::TEXT_LONG];
                let n = sql::fingerprint(Dialect::MySql, text, &mut fp);
                if n > 0 {
                    w.text("fingerprint", &fp[..n]);
                }
            }
        } else if matches!(p.cmd, 0x17 | 0x1a | 0x1c | 0x19) {
            w.bool("statement_unknown", true);
        } else if let (0x03, Some(k)) = (p.cmd, index) {
            w.u64("statement_index", u64::from(k));
        }
        if let Some(id) = p.stmt_id {
            w.u64("statement_id", u64::from(id));
        }
        if p.params > 0 {
            w.u64(
                if p.cmd == 0x03 {
                    "query_attributes"
                } else {
                    "params"
                },
                u64::from(p.params),
            );
        }
        if let Some(v) = vals {
            Kept::write_values(w, "param_values", "param_values_truncated", v);
        }
        if p.cmd == 0x17 {
            let long = m.long_data(p);
            if long > 0 {
                w.u64("long_data_bytes", long);
            }
        }
        match how {
            None => {
                if let Some((id, cols, params)) = a.prepared {
                    w.u64("statement_id", u64::from(id));
                    w.u64("params", u64::from(params));
                    w.u64("columns", u64::from(cols));
                }
                // An OK's affected rows, or the rows of a result set
                // (COM_FIELD_LIST's answer is columns only).
                let rows = match a.columns {
                    Some(_) if p.cmd != 0x04 => Some(a.data_rows),
                    _ => a.rows,
                };
                if let Some(r) = rows {
                    w.u64("rows", r);
                }
                if a.insert_id > 0 {
                    w.u64("insert_id", a.insert_id);
                }
                if let Some(c) = a.columns {
                    w.u64("columns", c);
                }
                // Column names: a literal selected names its column.
                if a.names.set && !mask {
                    w.text("column_names", a.names.get());
                    if a.names.cut {
                        w.bool("column_names_truncated", true);
                    }
                }
                if a.warnings > 0 {
                    w.u64("warnings", u64::from(a.warnings));
                }
                if let Some(b) = a.infile {
                    w.bool("local_infile", true);
                    w.u64("infile_bytes", b);
                }
                if p.cmd == 0x11 && m.login.switched.set {
                    w.text("auth_switch", m.login.switched.get());
                }
                error(w, a, mask);
                w.bool("success", !a.failed());
                w.u64("latency_us", now.saturating_sub(p.ts) / 1000);
            }
            Some(e) => unanswered(w, e),
        }
    };
    crate::app::write_record(cx.out, cx.stats, cx.flow, cx.names, "mysql", p.ts, rec);
}

fn login_fields(w: &mut JsonWriter, l: &Login) {
    w.token("op", "login");
    who(w, l);
    if l.server_version.set {
        w.text("server_version", l.server_version.get());
    }
    if let Some(id) = l.connection_id {
        w.u64("connection_id", u64::from(id));
    }
    if l.auth_plugin.set {
        w.text("auth_plugin", l.auth_plugin.get());
    }
    if l.switched.set {
        w.text("auth_switch", l.switched.get());
    }
    match l.more {
        Some(3) => w.token("auth_result", "fast_auth_success"),
        Some(4) => w.token("auth_result", "full_auth"),
        _ => {}
    }
    for (k, v) in [
        ("client_name", &l.client_name),
        ("program_name", &l.program_name),
    ] {
        if v.set {
            w.text(k, v.get());
        }
    }
    if l.client_version.set {
        w.text("client_version", l.client_version.get());
    }
    if l.attrs > 0 {
        w.u64("client_attributes", u64::from(l.attrs));
    }
    let caps = l.caps();
    if l.client_caps != 0 {
        if caps & parse::cap::COMPRESS != 0 {
            w.bool("compressed", true);
        }
        w.bool("deprecate_eof", caps & parse::cap::DEPRECATE_EOF != 0);
    }
}

/// Logs the login at its OK (`err`: `None`) or its ERR (or an ERR that
/// refused the connection before any login).
pub fn login<O: RecordOut>(l: &Login, err: Option<&Answer>, cx: &mut Cx<'_, O>) {
    cx.stats.of::<Mysql>().transactions += 1;
    let now = cx.now;
    let ts = if l.ts == 0 { now } else { l.ts };
    cx.record("mysql", ts, |w| {
        login_fields(w, l);
        if let Some(a) = err {
            // A login's errors name users and databases, not values.
            error(w, a, false);
        }
        w.bool("success", err.is_none());
        w.u64("latency_us", now.saturating_sub(ts) / 1000);
    });
}

/// Logs a login that got no answer.
pub fn login_unanswered<O: RecordOut>(l: &Login, how: End, cx: &mut Cx<'_, O>) {
    let st = cx.stats.of::<Mysql>();
    st.transactions += 1;
    st.unanswered += 1;
    cx.record("mysql", l.ts, |w| {
        login_fields(w, l);
        unanswered(w, how);
    });
}

/// Logs the short login asking for TLS: what the greeting said, and that
/// the connection goes on encrypted.
pub fn ssl_request<O: RecordOut>(l: &Login, cx: &mut Cx<'_, O>) {
    cx.stats.of::<Mysql>().transactions += 1;
    let ts = cx.now;
    cx.record("mysql", ts, |w| {
        w.token("op", "ssl_request");
        if l.server_version.set {
            w.text("server_version", l.server_version.get());
        }
        if let Some(id) = l.connection_id {
            w.u64("connection_id", u64::from(id));
        }
        w.bool("encrypted", true);
    });
}
