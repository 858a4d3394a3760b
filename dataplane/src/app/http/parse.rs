//! Pure HTTP/1.x parsing functions over borrowed bytes: probes, framing
//! values, URI and header helpers. No state, no allocation; every function
//! is total (any input gives an answer, never a panic).

/// Request methods a probe accepts (RFC 9110, WebDAV, and common others).
pub const METHODS: &[&[u8]] = &[
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"PATCH",
    b"CONNECT",
    b"TRACE",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"SEARCH",
    b"REPORT",
    b"PURGE",
    b"QUERY",
];

/// The HTTP/2 connection preface's first line.
pub const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n";

/// Whether `data` can be the start of a request: a known method and a
/// space (or a prefix of that when the bytes end first).
pub fn probe_request(data: &[u8]) -> bool {
    if data.is_empty() {
        return false;
    }
    METHODS.iter().any(|m| {
        let n = data.len().min(m.len() + 1);
        let mut want = [0u8; 16];
        want[..m.len()].copy_from_slice(m);
        want[m.len()] = b' ';
        data[..n] == want[..n]
    }) || H2_PREFACE.starts_with(&data[..data.len().min(H2_PREFACE.len())])
}

/// Whether `data` can be the start of a response (`HTTP/1.`, in any case:
/// some servers write `http/1.1`).
pub fn probe_response(data: &[u8]) -> bool {
    const P: &[u8] = b"HTTP/1.";
    let n = data.len().min(P.len());
    n > 0 && data[..n].eq_ignore_ascii_case(&P[..n])
}

/// A token character (RFC 9110 5.6.2).
fn tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// Whether `data` can start a request line with any method: a token of
/// up to 32 characters and a space (or a prefix of that). Used on a
/// protocol's own ports and inside a connection already known as HTTP,
/// where `QUERY` or `CCM_POST` are still requests.
pub fn probe_any_request(data: &[u8]) -> bool {
    let n = data.iter().take(33).take_while(|&&c| tchar(c)).count();
    n > 0 && (n == data.len() || (n <= 32 && data[n] == b' '))
}

/// `HTTP/x.y` → `x.y`; other text as it is.
fn version_text(v: &[u8]) -> &[u8] {
    if v.len() > 5 && v[..5].eq_ignore_ascii_case(b"HTTP/") {
        &v[5..]
    } else {
        v
    }
}

/// The first line of `head` without its line end, and where the rest starts.
fn first_line(head: &[u8]) -> Option<(&[u8], usize)> {
    let nl = memchr(b'\n', head)?;
    let line = &head[..nl];
    Some((line.strip_suffix(b"\r").unwrap_or(line), nl + 1))
}

/// A parsed message head.
pub struct Head<'b, 'h> {
    /// Method (requests) or version text (responses, as in `1.1`).
    pub first: &'b [u8],
    /// Target (requests) or reason phrase (responses).
    pub second: &'b [u8],
    /// Version text of a request.
    pub version: &'b [u8],
    /// Status code of a response.
    pub code: u16,
    /// The headers that parsed.
    pub headers: &'h [httparse::Header<'b>],
    /// Header lines that were not `name: value` (skipped).
    pub bad: usize,
    /// Header lines past the room for them: not kept as headers, but still
    /// read for framing and body kind ([`header_lines`]).
    pub unread: &'b [u8],
}

impl<'b, 'h> Head<'b, 'h> {
    /// A head httparse read: every line parsed.
    pub fn strict(
        first: &'b [u8],
        second: &'b [u8],
        version: &'b [u8],
        code: u16,
        headers: &'h [httparse::Header<'b>],
    ) -> Self {
        Head {
            first,
            second,
            version,
            code,
            headers,
            bad: 0,
            unread: &[],
        }
    }
}

/// The header lines of a head httparse refused, read one at a time: a
/// line that is not `token: value` (binary junk, an obsolete folded line)
/// is counted and skipped, so one bad line does not lose the others. Stops
/// at the blank line, at the end of `rest` (a head cut short), or when
/// `hs` is full. Returns the headers, the bad lines, and the lines left
/// when `hs` was full.
fn headers_of<'b, 'h>(
    rest: &'b [u8],
    hs: &'h mut [httparse::Header<'b>],
) -> (&'h [httparse::Header<'b>], usize, &'b [u8]) {
    let (mut n, mut bad, mut at) = (0, 0, 0);
    while let Some(k) = memchr(b'\n', &rest[at..]) {
        let start = at;
        let line = &rest[at..at + k];
        at += k + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        let c = memchr(b':', line).unwrap_or(0);
        let name = &line[..c];
        let ok = c > 0 && name.iter().all(|&x| tchar(x));
        let Some(name) = ok.then(|| std::str::from_utf8(name).ok()).flatten() else {
            bad += 1;
            continue;
        };
        if n == hs.len() {
            return (&hs[..n], bad, &rest[start..]);
        }
        hs[n] = httparse::Header {
            name,
            value: trim(&line[c + 1..]),
        };
        n += 1;
    }
    (&hs[..n], bad, &[])
}

/// Calls `f` with the name and value of each `name: value` line of
/// `lines` up to a blank line (the rest of a head, read only for what its
/// framing and body kind need).
pub fn header_lines(lines: &[u8], mut f: impl FnMut(&[u8], &[u8])) {
    for line in lines.split(|&c| c == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return;
        }
        if let Some((name, value)) = name_value(line) {
            f(name, value);
        }
    }
}

/// A header line (without its line end) as name and value, if it has a
/// colon; the name trimmed, the value as it is.
pub fn name_value(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let c = memchr(b':', line)?;
    Some((trim(&line[..c]), &line[c + 1..]))
}

/// A request head httparse refused, read as Zeek would: `METHOD TARGET
/// VERSION` split on spaces (a missing target is empty, a missing version
/// is 0.9), and whatever headers parse.
pub fn lenient_request<'b, 'h>(
    head: &'b [u8],
    hs: &'h mut [httparse::Header<'b>],
) -> Option<Head<'b, 'h>> {
    let (line, rest) = first_line(head)?;
    let line = trim(line);
    let msp = memchr(b' ', line).unwrap_or(line.len());
    let method = &line[..msp];
    if method.is_empty() || method.len() > 32 || !method.iter().all(|&c| tchar(c)) {
        return None;
    }
    let after = trim(&line[msp..]);
    // The version is the last word if it is one; the target is all between.
    let vsp = after.iter().rposition(|&c| c == b' ');
    let last = &after[vsp.map_or(0, |i| i + 1)..];
    let (target, version): (&[u8], &[u8]) =
        if last.len() >= 5 && last[..5].eq_ignore_ascii_case(b"HTTP/") {
            (trim(&after[..vsp.unwrap_or(0)]), version_text(last))
        } else if vsp.is_none() {
            // HTTP/0.9: a method and a target, nothing after it.
            (after, b"0.9")
        } else {
            // A protocol other than HTTP (`RTSP/1.0`, `SIP/2.0`), or words
            // that are no request line at all.
            return None;
        };
    let (headers, bad, unread) = headers_of(&head[rest..], hs);
    Some(Head {
        first: method,
        second: target,
        version,
        code: 0,
        headers,
        bad,
        unread,
    })
}

/// Whether a request line ends in another protocol's version (`RTSP/1.0`,
/// `SIP/2.0`): a connection that opens with one is not HTTP.
pub fn other_protocol(head: &[u8]) -> bool {
    let Some((line, _)) = first_line(head) else {
        return false;
    };
    let last = trim(line).rsplit(|&c| c == b' ').next().unwrap_or(&[]);
    let Some(slash) = memchr(b'/', last) else {
        return false;
    };
    let (name, ver) = (&last[..slash], &last[slash + 1..]);
    !name.is_empty()
        && name.iter().all(u8::is_ascii_alphabetic)
        && !name.eq_ignore_ascii_case(b"HTTP")
        && ver.first().is_some_and(u8::is_ascii_digit)
        && ver.iter().all(|&c| c.is_ascii_digit() || c == b'.')
}

/// The end of an HTTP/0.9 request at the front of `data`: one line of a
/// known method and a target, nothing after them, and no headers.
pub fn simple_request_end(data: &[u8]) -> Option<usize> {
    let (line, rest) = first_line(data)?;
    let line = trim(line);
    let sp = memchr(b' ', line)?;
    let (method, target) = (&line[..sp], trim(&line[sp..]));
    (METHODS.contains(&method) && !target.is_empty() && memchr(b' ', target).is_none())
        .then_some(rest)
}

/// A response head httparse refused (`http/1.1 200 OK`, say): version,
/// a three-digit code, the reason, and whatever headers parse.
pub fn lenient_response<'b, 'h>(
    head: &'b [u8],
    hs: &'h mut [httparse::Header<'b>],
) -> Option<Head<'b, 'h>> {
    let (line, rest) = first_line(head)?;
    if !probe_response(line) {
        return None;
    }
    let sp = memchr(b' ', line)?;
    let after = &line[sp + 1..];
    let digits = after.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = digits
        .iter()
        .fold(0u16, |n, &c| n * 10 + u16::from(c - b'0'));
    let (headers, bad, unread) = headers_of(&head[rest..], hs);
    Some(Head {
        first: version_text(&line[..sp]),
        second: trim(&after[3..]),
        version: &[],
        code,
        headers,
        bad,
        unread,
    })
}

/// Bytes up to and including the blank line that ends a message head, or
/// `None` if it has not arrived. Accepts bare LF line ends, as servers do.
pub fn head_end(data: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(k) = memchr(b'\n', &data[i..]) {
        let at = i + k;
        match data.get(at + 1) {
            Some(b'\n') => return Some(at + 2),
            Some(b'\r') if data.get(at + 2) == Some(&b'\n') => return Some(at + 3),
            _ => {}
        }
        i = at + 1;
    }
    None
}

/// Bytes through the last line end of `data` (a head cut where a buffer
/// is full keeps its whole lines).
pub fn whole_lines(data: &[u8]) -> Option<usize> {
    ::memchr::memrchr(b'\n', data).map(|i| i + 1)
}

/// Position of the first `b` in `data` (vectorised: heads are searched
/// line by line).
#[inline]
pub fn memchr(b: u8, data: &[u8]) -> Option<usize> {
    ::memchr::memchr(b, data)
}

/// A Content-Length value: digits only (surrounding blanks allowed),
/// without overflow. Anything else is invalid: framing would be a guess.
pub fn content_length(v: &[u8]) -> Option<u64> {
    let v = trim(v);
    // Leading zeros are digits too (and a smuggling favourite).
    let z = v.iter().take_while(|&&c| c == b'0').count();
    let v = if z == v.len() {
        &v[v.len().saturating_sub(1)..]
    } else {
        &v[z..]
    };
    // Past 15 digits (a petabyte) a length is a lie or an attack: invalid.
    if v.is_empty() || v.len() > 15 {
        return None;
    }
    let mut n = 0u64;
    for &c in v {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(c - b'0');
    }
    Some(n)
}

/// A chunk-size line (without its line end): hex digits, optionally
/// followed by blanks and `;extensions`. `None` if invalid or past 2^60.
pub fn chunk_size(line: &[u8]) -> Option<u64> {
    let line = trim(line);
    let end = line
        .iter()
        .position(|&c| c == b';' || c == b' ' || c == b'\t')
        .unwrap_or(line.len());
    let hex = &line[..end];
    if hex.is_empty() || hex.len() > 15 {
        return None;
    }
    let mut n = 0u64;
    for &c in hex {
        let d = (c as char).to_digit(16)?;
        n = n << 4 | u64::from(d);
    }
    Some(n)
}

/// `v` without leading and trailing blanks.
pub fn trim(v: &[u8]) -> &[u8] {
    let s = v
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
        .unwrap_or(v.len());
    let e = v
        .iter()
        .rposition(|c| !matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
        .map_or(s, |e| e + 1);
    &v[s..e.max(s)]
}

/// Whether the comma-separated list `v` holds `token` (ASCII case-blind).
pub fn has_token(v: &[u8], token: &[u8]) -> bool {
    v.split(|&c| c == b',')
        .any(|t| trim(t).eq_ignore_ascii_case(token))
}

/// Whether the last transfer coding of `v` is `chunked`.
pub fn last_is_chunked(v: &[u8]) -> bool {
    v.split(|&c| c == b',')
        .next_back()
        .is_some_and(|t| trim(t).eq_ignore_ascii_case(b"chunked"))
}

/// Where the parts of an absolute-form request target end
/// (`http://user@host:8080/path?q`, as sent to proxies, RFC 9112 3.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Absolute {
    /// After `scheme://`.
    pub scheme_end: usize,
    /// After the user info and its `@` (`scheme_end` when none).
    pub userinfo_end: usize,
    /// After the host and port: where the path (or query) starts.
    pub authority_end: usize,
}

/// The parts of `t` if it is in absolute form: a scheme (a letter, then
/// letters, digits, `+`, `-`, `.`), `://`, an authority.
pub fn absolute_target(t: &[u8]) -> Option<Absolute> {
    let colon = memchr(b':', &t[..t.len().min(34)])?;
    let scheme = &t[..colon];
    if !scheme.first()?.is_ascii_alphabetic()
        || !scheme
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
        || t.get(colon..colon + 3) != Some(b"://")
    {
        return None;
    }
    let scheme_end = colon + 3;
    let authority_end = t[scheme_end..]
        .iter()
        .position(|&c| matches!(c, b'/' | b'?' | b'#'))
        .map_or(t.len(), |i| scheme_end + i);
    let userinfo_end = t[scheme_end..authority_end]
        .iter()
        .rposition(|&c| c == b'@')
        .map_or(scheme_end, |i| scheme_end + i + 1);
    Some(Absolute {
        scheme_end,
        userinfo_end,
        authority_end,
    })
}

/// The path and the query (without `?`) of a request target.
pub fn split_target(t: &[u8]) -> (&[u8], Option<&[u8]>) {
    match memchr(b'?', t) {
        Some(q) => (&t[..q], Some(&t[q + 1..])),
        None => (t, None),
    }
}

/// Bytes of credentials [`basic_user`] decodes (longer ones give no user).
pub const BASIC_MAX: usize = 384;

/// The user of `Basic` credentials (RFC 7617: base64 of `user:password`),
/// decoded into `buf`; the password is never returned.
pub fn basic_user<'a>(v: &[u8], buf: &'a mut [u8; BASIC_MAX]) -> Option<&'a [u8]> {
    let v = trim(v);
    let sp = memchr(b' ', v)?;
    if !v[..sp].eq_ignore_ascii_case(b"basic") {
        return None;
    }
    let b64 = trim(&v[sp..]);
    let b64 = &b64[..b64.len() - b64.iter().rev().take_while(|&&c| c == b'=').count()];
    if b64.len() / 4 * 3 + 3 > BASIC_MAX {
        return None;
    }
    let (mut n, mut acc, mut bits) = (0, 0u32, 0);
    for &c in b64 {
        let d = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = acc << 6 | u32::from(d);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            buf[n] = (acc >> bits) as u8;
            n += 1;
        }
    }
    let user = &buf[..n];
    // Without a colon it is not `user:password`: nothing is told.
    let colon = memchr(b':', user)?;
    Some(&user[..colon])
}

/// The original client a proxy names: the first element of
/// X-Forwarded-For (and of X-Real-IP, True-Client-IP, CF-Connecting-IP and
/// other single-address headers), or the first `for=` of Forwarded (quotes
/// and IPv6 brackets removed).
pub fn original_client<'a>(name: &[u8], v: &'a [u8]) -> Option<&'a [u8]> {
    if !name.eq_ignore_ascii_case(b"forwarded") {
        let first = trim(v.split(|&c| c == b',').next()?);
        return (!first.is_empty()).then_some(first);
    }
    if name.eq_ignore_ascii_case(b"forwarded") {
        let elem = v.split(|&c| c == b',').next()?;
        for pair in elem.split(|&c| c == b';') {
            let pair = trim(pair);
            if pair.len() > 4 && pair[..4].eq_ignore_ascii_case(b"for=") {
                let mut x = trim(&pair[4..]);
                if x.first() == Some(&b'"') {
                    x = &x[1..];
                }
                if x.last() == Some(&b'"') {
                    x = &x[..x.len() - 1];
                }
                if x.first() == Some(&b'[') {
                    let e = memchr(b']', x).unwrap_or(x.len());
                    x = &x[1..e];
                }
                return (!x.is_empty()).then_some(x);
            }
        }
    }
    None
}

/// The replacement for redacted values.
pub const REDACTED: &[u8] = b"[redacted]";

/// Writes `q` (a `k=v&k=v` list) to `out` with the values of the keys in
/// `keys` (ASCII case-blind) replaced; returns whether any was.
pub fn redact_pairs(q: &[u8], keys: &[String], out: &mut Vec<u8>) -> bool {
    let mut any = false;
    for (n, pair) in q.split(|&c| c == b'&').enumerate() {
        if n > 0 {
            out.push(b'&');
        }
        let (k, has_v) = match memchr(b'=', pair) {
            Some(e) => (&pair[..e], true),
            None => (pair, false),
        };
        if has_v && keys.iter().any(|x| x.as_bytes().eq_ignore_ascii_case(k)) {
            out.extend_from_slice(k);
            out.push(b'=');
            out.extend_from_slice(REDACTED);
            any = true;
        } else {
            out.extend_from_slice(pair);
        }
    }
    any
}

/// Writes JSON text `b` to `out` with the string values of members named
/// in `keys` replaced (a lexical pass: no parse, any input); returns
/// whether any was.
pub fn redact_json(b: &[u8], keys: &[String], out: &mut Vec<u8>) -> bool {
    let mut any = false;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'"' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let end = string_end(b, i);
        let s = &b[i..end];
        out.extend_from_slice(s);
        i = end;
        // A member name is a string followed by a colon.
        let mut j = i;
        while j < b.len() && matches!(b[j], b' ' | b'\t' | b'\r' | b'\n') {
            j += 1;
        }
        let name = &s[1..s.len().saturating_sub(1).max(1)];
        if j < b.len()
            && b[j] == b':'
            && keys.iter().any(|k| k.as_bytes().eq_ignore_ascii_case(name))
        {
            let mut v = j + 1;
            while v < b.len() && matches!(b[v], b' ' | b'\t' | b'\r' | b'\n') {
                v += 1;
            }
            if v < b.len() && b[v] == b'"' {
                out.extend_from_slice(&b[i..v]);
                out.push(b'"');
                out.extend_from_slice(REDACTED);
                out.push(b'"');
                i = string_end(b, v);
                any = true;
            }
        }
    }
    any
}

/// End (exclusive) of the JSON string starting at `b[s] == '"'`.
fn string_end(b: &[u8], s: usize) -> usize {
    let mut i = s + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// Whether `t` (lower case) is a content type or a pattern of them:
/// `type/subtype`, `type/*` or `*/*`.
pub fn content_type_pattern(t: &str) -> bool {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&c))
    };
    t.split_once('/')
        .is_some_and(|(a, b)| (token(a) || a == "*") && (token(b) || b == "*"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_take_prefixes() {
        assert!(probe_request(b"GET / HTTP/1.1\r\n"));
        assert!(probe_request(b"GE"), "a method cut by the segment end");
        assert!(probe_request(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
        assert!(!probe_request(b"GETX / HTTP/1.1"));
        assert!(!probe_request(b"\x16\x03\x01\x02\x00"), "TLS is not HTTP");
        assert!(!probe_request(b""));
        assert!(probe_response(b"HTTP/1.1 200 OK\r\n"));
        assert!(probe_response(b"HTT"));
        assert!(probe_response(b"http/1.1 200 OK"), "any case");
        assert!(probe_any_request(b"QUERY /users HTTP/1.1"));
        assert!(probe_any_request(b"CCM_POST / HTTP/1.1"));
        assert!(probe_any_request(b"CCM_PO"), "a prefix");
        assert!(!probe_any_request(b"\x16\x03\x01"));
        assert!(!probe_any_request(b"OPTIONSHTTP/1.1\r\n"));
        assert!(!probe_response(b"HTTP/2 200"));
    }

    #[test]
    fn head_end_with_crlf_and_lf() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nbody"), Some(24));
        assert_eq!(head_end(b"GET / HTTP/1.0\n\nx"), Some(16));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n"), None);
        assert_eq!(head_end(b"\n"), None);
        // Every prefix of a head is incomplete; no prefix panics.
        let h = b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n";
        for n in 0..h.len() {
            assert_eq!(head_end(&h[..n]), None, "prefix {n}");
        }
        assert_eq!(head_end(h), Some(h.len()));
    }

    #[test]
    fn framing_values_are_strict() {
        assert_eq!(content_length(b" 42 "), Some(42));
        assert_eq!(content_length(b"0042"), Some(42));
        assert_eq!(
            content_length(b"00000000000000000000000000000050"),
            Some(50)
        );
        assert_eq!(content_length(b"000"), Some(0));
        assert_eq!(content_length(b"-1"), None);
        assert_eq!(content_length(b"18446744073709551616"), None, "2^64");
        assert_eq!(
            content_length(b"9999999999999999999"),
            None,
            "past a petabyte"
        );
        assert_eq!(content_length(b"1,1"), None);
        assert_eq!(content_length(b""), None);
        assert_eq!(chunk_size(b"1a"), Some(26));
        assert_eq!(chunk_size(b"A;name=v"), Some(10));
        assert_eq!(chunk_size(b"0"), Some(0));
        assert_eq!(chunk_size(b"10000000000000000"), None, "2^64 overflows");
        assert_eq!(chunk_size(b"zz"), None);
        assert!(last_is_chunked(b"gzip, chunked"));
        assert!(!last_is_chunked(b"chunked, gzip"));
        assert!(has_token(b"keep-alive, Upgrade", b"upgrade"));
    }

    #[test]
    fn other_protocols_by_their_version() {
        for (line, other) in [
            (&b"OPTIONS rtsp://c/s RTSP/1.0\r\n"[..], true),
            (b"INVITE sip:b@h SIP/2.0\r\n", true),
            (b"GET / HTTP/1.1\r\n", false),
            (b"The quick brown fox\r\n", false),
            (b"GET /a/b\r\n", false),
            (b"X y z/\r\n", false),
        ] {
            assert_eq!(other_protocol(line), other, "{line:?}");
        }
    }

    #[test]
    fn absolute_targets() {
        let a = absolute_target(b"http://u:p@h:80/x?y").unwrap();
        assert_eq!((a.scheme_end, a.userinfo_end, a.authority_end), (7, 11, 15));
        let a = absolute_target(b"http://").unwrap();
        assert_eq!((a.userinfo_end, a.authority_end), (7, 7));
        for t in [
            &b"/index.html"[..],
            b"mail.example:25",
            b"*",
            b"1http://x/",
            b"",
        ] {
            assert_eq!(absolute_target(t), None, "{t:?}");
        }
    }

    #[test]
    fn lenient_heads() {
        let mut hs = [httparse::EMPTY_HEADER; 8];
        let h = lenient_request(b"GET / HTTP/1.\r\nHost: a\r\n\r\n", &mut hs).unwrap();
        assert_eq!(
            (h.first, h.second, h.version),
            (&b"GET"[..], &b"/"[..], &b"1."[..])
        );
        assert_eq!(h.headers.len(), 1);
        let mut hs = [httparse::EMPTY_HEADER; 8];
        let h = lenient_request(b"GET HTTP/1.1\r\nHost: bro.org\r\n\r\n", &mut hs).unwrap();
        assert_eq!(
            (h.second, h.version, h.headers[0].value),
            (&b""[..], &b"1.1"[..], &b"bro.org"[..])
        );
        let mut hs = [httparse::EMPTY_HEADER; 8];
        let h = lenient_request(b"CONNECT mail.example:25 / HTTP/1.0\r\n\r\n", &mut hs).unwrap();
        assert_eq!(
            (h.second, h.version),
            (&b"mail.example:25 /"[..], &b"1.0"[..])
        );
        let mut hs = [httparse::EMPTY_HEADER; 8];
        assert!(lenient_request(b"\x00\x01 x\r\n\r\n", &mut hs).is_none());
        // Other protocols' request lines are not HTTP/0.9.
        for line in [
            &b"OPTIONS rtsp://cam.example/stream RTSP/1.0\r\nCSeq: 1\r\n\r\n"[..],
            b"OPTIONS sip:bob@example.com SIP/2.0\r\nVia: x\r\n\r\n",
            b"GET /a b\r\n\r\n",
        ] {
            let mut hs = [httparse::EMPTY_HEADER; 8];
            assert!(lenient_request(line, &mut hs).is_none());
        }
        let mut hs = [httparse::EMPTY_HEADER; 8];
        let h = lenient_request(b"GET /zeek.html\r\n\r\n", &mut hs).unwrap();
        assert_eq!((h.second, h.version), (&b"/zeek.html"[..], &b"0.9"[..]));
        let mut hs = [httparse::EMPTY_HEADER; 8];
        let h = lenient_response(b"http/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", &mut hs).unwrap();
        assert_eq!(
            (h.first, h.code, h.second, h.headers.len()),
            (&b"1.1"[..], 200, &b"OK"[..], 1)
        );
        // Every prefix: an answer, never a panic.
        let full = b"HTTP/1.1 404 Not Found\r\nA: b\r\n\r\n";
        for n in 0..full.len() {
            let mut hs = [httparse::EMPTY_HEADER; 8];
            let _ = lenient_response(&full[..n], &mut hs);
            let mut hs = [httparse::EMPTY_HEADER; 8];
            let _ = lenient_request(&full[..n], &mut hs);
        }
    }

    #[test]
    fn proxies_name_the_client() {
        assert_eq!(
            original_client(b"X-Forwarded-For", b" 203.0.113.7, 10.0.0.1"),
            Some(&b"203.0.113.7"[..])
        );
        assert_eq!(
            original_client(
                b"Forwarded",
                b"for=\"[2001:db8::1]:4711\";proto=https, for=1.2.3.4"
            ),
            Some(&b"2001:db8::1"[..])
        );
        // Which headers name the client is the caller's list; any
        // other is read as a single address (or the first of a list).
        assert_eq!(
            original_client(b"X-Real-IP", b" 198.51.100.2 "),
            Some(&b"198.51.100.2"[..])
        );
    }

    #[test]
    fn basic_users_without_passwords() {
        let mut buf = [0u8; BASIC_MAX];
        assert_eq!(
            basic_user(b"Basic dXNlcjE6czNjcmV0", &mut buf),
            Some(&b"user1"[..])
        );
        assert_eq!(
            basic_user(b"basic  YWxpY2U6b3BlbiBzZXNhbWU=", &mut buf),
            Some(&b"alice"[..])
        );
        // No colon, not base64, another scheme, too long: no user.
        for v in [
            &b"Basic dXNlcjE="[..],
            b"Basic dXNl*jE6",
            b"Bearer dXNlcjE6czNjcmV0",
            b"Basic",
        ] {
            assert_eq!(basic_user(v, &mut buf), None, "{v:?}");
        }
        let long = [b'A'; 2 * BASIC_MAX];
        let mut v = b"Basic ".to_vec();
        v.extend_from_slice(&long);
        assert_eq!(basic_user(&v, &mut buf), None);
    }

    #[test]
    fn redaction_of_pairs_and_json() {
        let keys = vec!["password".to_string(), "token".to_string()];
        let mut o = Vec::new();
        assert!(redact_pairs(
            b"user=a&Password=s3cret&x&token=",
            &keys,
            &mut o
        ));
        assert_eq!(o, b"user=a&Password=[redacted]&x&token=[redacted]");
        o.clear();
        assert!(!redact_pairs(b"q=1", &keys, &mut o));
        assert_eq!(o, b"q=1");
        o.clear();
        let j = br#"{"user":"a","password" : "p\"w","n":{"token":"t"},"token":5}"#;
        assert!(redact_json(j, &keys, &mut o));
        assert_eq!(
            std::str::from_utf8(&o).unwrap(),
            r#"{"user":"a","password" : "[redacted]","n":{"token":"[redacted]"},"token":5}"#
        );
        // Any bytes: no panic, output no longer than input plus redactions.
        for n in 0..j.len() {
            o.clear();
            redact_json(&j[..n], &keys, &mut o);
        }
    }
}
