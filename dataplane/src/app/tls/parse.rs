//! TLS as bytes (RFC 8446, RFC 5246 and the extensions' RFCs): record
//! headers, handshake headers, ClientHello and ServerHello over borrowed
//! bytes, their extensions, and the fingerprints made of them: JA4 (the
//! client part of FoxIO's published specification), JA3 and JA3S. Every
//! function is total: a length that runs past its bytes ends the walk.

use sha2::{Digest, Sha256};

/// Content types of the record layer.
pub const CHANGE_CIPHER_SPEC: u8 = 20;
pub const ALERT: u8 = 21;
pub const HANDSHAKE: u8 = 22;
pub const APPLICATION_DATA: u8 = 23;
pub const HEARTBEAT: u8 = 24;

/// Handshake message types.
pub const CLIENT_HELLO: u8 = 1;
pub const SERVER_HELLO: u8 = 2;
pub const NEW_SESSION_TICKET: u8 = 4;
pub const CERTIFICATE: u8 = 11;
pub const CERTIFICATE_REQUEST: u8 = 13;
pub const FINISHED: u8 = 20;

/// Extension types the record reads.
pub const EXT_SERVER_NAME: u16 = 0;
pub const EXT_SUPPORTED_GROUPS: u16 = 10;
pub const EXT_EC_POINT_FORMATS: u16 = 11;
pub const EXT_SIGNATURE_ALGORITHMS: u16 = 13;
pub const EXT_ALPN: u16 = 16;
pub const EXT_SESSION_TICKET: u16 = 35;
pub const EXT_PRE_SHARED_KEY: u16 = 41;
pub const EXT_SUPPORTED_VERSIONS: u16 = 43;

/// The longest record payload the record layer allows (2^14 plus the
/// expansion a protected record may add, RFC 5246 §6.2.3).
pub const MAX_RECORD: usize = (1 << 14) + 2048;

/// SHA-256 of "HelloRetryRequest": the `random` of a ServerHello that is
/// a HelloRetryRequest (RFC 8446 §4.1.3).
pub const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// A record header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    /// Content type.
    pub ty: u8,
    /// The record layer's version.
    pub version: u16,
    /// Payload bytes.
    pub len: usize,
}

/// Bytes that are not a TLS record header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotTls;

/// The header at the front of `b`: `Ok(None)` when fewer than five bytes
/// are there, `Err(NotTls)` when they are not a TLS record header.
pub fn record_header(b: &[u8]) -> Result<Option<RecordHeader>, NotTls> {
    let Some(h) = b.get(..5) else {
        return Ok(None);
    };
    let ty = h[0];
    let version = u16::from_be_bytes([h[1], h[2]]);
    let len = usize::from(u16::from_be_bytes([h[3], h[4]]));
    // SSL 3.0 to TLS 1.3 (1.3 records say 1.2; a first ClientHello may
    // say 1.0).
    if !(CHANGE_CIPHER_SPEC..=HEARTBEAT).contains(&ty)
        || !(0x0300..=0x0304).contains(&version)
        || len > MAX_RECORD
    {
        return Err(NotTls);
    }
    Ok(Some(RecordHeader { ty, version, len }))
}

/// Whether `v` is a GREASE value (RFC 8701): 0x?a?a with equal bytes.
#[inline]
pub fn grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// A reader over borrowed bytes.
#[derive(Clone, Copy)]
struct Rd<'a>(&'a [u8]);

impl<'a> Rd<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (a, b) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }
    /// Bytes prefixed by a length of `w` bytes (1, 2 or 3).
    fn vec(&mut self, w: usize) -> Option<&'a [u8]> {
        let l = self.take(w)?;
        let n = l.iter().fold(0usize, |n, &b| n << 8 | usize::from(b));
        self.take(n)
    }
}

/// The 2-byte big-endian values of `b` (an odd byte at the end is left).
pub fn u16s(b: &[u8]) -> impl Iterator<Item = u16> + Clone + '_ {
    b.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]]))
}

/// Extensions of a hello: `(type, data)` until the block ends or a length
/// runs past it.
#[derive(Clone, Copy, Debug)]
pub struct Exts<'a>(pub &'a [u8]);

impl<'a> Iterator for Exts<'a> {
    type Item = (u16, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        let mut r = Rd(self.0);
        let ty = r.u16()?;
        let data = r.vec(2)?;
        self.0 = r.0;
        Some((ty, data))
    }
}

impl<'a> Exts<'a> {
    /// The data of the first extension of type `ty`.
    pub fn find(mut self, ty: u16) -> Option<&'a [u8]> {
        Iterator::find(&mut self, |e: &(u16, &[u8])| e.0 == ty).map(|e| e.1)
    }
}

/// A ClientHello's fields (RFC 8446 §4.1.2), borrowed.
#[derive(Clone, Copy, Debug)]
pub struct ClientHello<'a> {
    /// `legacy_version`.
    pub version: u16,
    /// The client's random.
    pub random: &'a [u8],
    /// `legacy_session_id`.
    pub session_id: &'a [u8],
    /// Cipher suites, 2 bytes each.
    pub ciphers: &'a [u8],
    /// The extensions block (empty when there is none).
    pub exts: &'a [u8],
}

impl<'a> ClientHello<'a> {
    /// The hello in a handshake message body.
    pub fn parse(body: &'a [u8]) -> Option<Self> {
        let mut r = Rd(body);
        let version = r.u16()?;
        let random = r.take(32)?;
        let session_id = r.vec(1)?;
        let ciphers = r.vec(2)?;
        let _compression = r.vec(1)?;
        // No extensions at all is valid before TLS 1.2.
        let exts = if r.0.is_empty() { &[][..] } else { r.vec(2)? };
        Some(Self {
            version,
            random,
            session_id,
            ciphers,
            exts,
        })
    }

    /// Its extensions.
    pub fn exts(&self) -> Exts<'a> {
        Exts(self.exts)
    }

    /// The host name it asks for (server_name, RFC 6066 §3).
    pub fn sni(&self) -> Option<&'a [u8]> {
        let mut r = Rd(self.exts().find(EXT_SERVER_NAME)?);
        let mut list = Rd(r.vec(2)?);
        while let Some(ty) = list.u8() {
            let name = list.vec(2)?;
            if ty == 0 {
                return Some(name);
            }
        }
        None
    }

    /// The protocols it offers (ALPN, RFC 7301).
    pub fn alpn(&self) -> impl Iterator<Item = &'a [u8]> {
        let list = self
            .exts()
            .find(EXT_ALPN)
            .and_then(|e| Rd(e).vec(2))
            .unwrap_or(&[]);
        protocol_names(list)
    }

    /// The versions it offers (supported_versions), GREASE included.
    pub fn versions(&self) -> impl Iterator<Item = u16> + Clone + 'a {
        let list = self
            .exts()
            .find(EXT_SUPPORTED_VERSIONS)
            .and_then(|e| Rd(e).vec(1))
            .unwrap_or(&[]);
        u16s(list)
    }

    /// A 2-byte-length-prefixed list of 2-byte values in extension `ty`
    /// (supported groups, signature algorithms).
    pub fn list(&self, ty: u16) -> &'a [u8] {
        self.exts()
            .find(ty)
            .and_then(|e| Rd(e).vec(2))
            .unwrap_or(&[])
    }

    /// The EC point formats it supports.
    pub fn point_formats(&self) -> &'a [u8] {
        self.exts()
            .find(EXT_EC_POINT_FORMATS)
            .and_then(|e| Rd(e).vec(1))
            .unwrap_or(&[])
    }

    /// The highest version it offers: the highest non-GREASE
    /// supported_versions entry, else `legacy_version`.
    pub fn max_version(&self) -> u16 {
        self.versions()
            .filter(|&v| !grease(v))
            .max()
            .unwrap_or(self.version)
    }
}

/// The names of an ALPN protocol name list's body.
pub fn protocol_names(list: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut r = Rd(list);
    std::iter::from_fn(move || r.vec(1))
}

/// A ServerHello's fields, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct ServerHello<'a> {
    /// `legacy_version`.
    pub version: u16,
    /// The server's random.
    pub random: &'a [u8],
    /// `legacy_session_id_echo`.
    pub session_id: &'a [u8],
    /// The chosen cipher suite.
    pub cipher: u16,
    /// The extensions block.
    pub exts: &'a [u8],
}

impl<'a> ServerHello<'a> {
    /// The hello in a handshake message body.
    pub fn parse(body: &'a [u8]) -> Option<Self> {
        let mut r = Rd(body);
        let version = r.u16()?;
        let random = r.take(32)?;
        // TLS 1.3 drafts before 22 name themselves here, and their
        // ServerHello has no session id and no compression method.
        let early_draft = version == 0x0304 || (0x7f00..0x7f16).contains(&version);
        let session_id = if early_draft { &[][..] } else { r.vec(1)? };
        let cipher = r.u16()?;
        if !early_draft {
            let _compression = r.u8()?;
        }
        let exts = if r.0.is_empty() { &[][..] } else { r.vec(2)? };
        Some(Self {
            version,
            random,
            session_id,
            cipher,
            exts,
        })
    }

    /// Its extensions.
    pub fn exts(&self) -> Exts<'a> {
        Exts(self.exts)
    }

    /// The version chosen: supported_versions for TLS 1.3, else
    /// `legacy_version`.
    pub fn chosen_version(&self) -> u16 {
        self.exts()
            .find(EXT_SUPPORTED_VERSIONS)
            .and_then(|e| Rd(e).u16())
            .unwrap_or(self.version)
    }

    /// Whether it is a HelloRetryRequest.
    pub fn retry(&self) -> bool {
        self.random == HRR_RANDOM
    }

    /// The protocol it chose (ALPN).
    pub fn alpn(&self) -> Option<&'a [u8]> {
        let list = Rd(self.exts().find(EXT_ALPN)?).vec(2)?;
        protocol_names(list).next()
    }
}

/// Whether version `v` is TLS 1.3 or one of its drafts (0x7fNN, and the
/// experimental 0x7eNN of 2017's browsers): everything after the
/// ServerHello is protected.
pub fn tls13(v: u16) -> bool {
    v == 0x0304 || v >> 8 == 0x7f || v >> 8 == 0x7e
}

/// JA4's two characters for a version.
pub fn ja4_version(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

/// The most values a fingerprint sorts (more: it is not computed; no
/// client sends that many).
pub const MAX_SORTED: usize = 512;

/// Lowercase hex digits.
const HEX: &[u8; 16] = b"0123456789abcdef";

/// A fixed buffer a fingerprint is written into.
pub struct Text<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Default for Text<N> {
    fn default() -> Self {
        Self {
            buf: [0; N],
            len: 0,
        }
    }
}

impl<const N: usize> Text<N> {
    /// The text so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl<const N: usize> Out for Text<N> {
    /// Up to its size (what does not fit is cut).
    fn put(&mut self, b: &[u8]) {
        let n = b.len().min(N - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&b[..n]);
        self.len += n;
    }
}

/// Where a fingerprint's text goes: a hash or a buffer.
pub trait Out {
    fn put(&mut self, b: &[u8]);
}

impl Out for Sha256 {
    fn put(&mut self, b: &[u8]) {
        self.update(b);
    }
}

impl Out for md5::Md5 {
    fn put(&mut self, b: &[u8]) {
        self.update(b);
    }
}

impl Out for Vec<u8> {
    /// Up to the capacity it was made with (a caller's fixed buffer).
    fn put(&mut self, b: &[u8]) {
        let n = b.len().min(self.capacity() - self.len());
        self.extend_from_slice(&b[..n]);
    }
}

/// `vals` as 4-digit hex joined by commas.
fn hex_list(out: &mut dyn Out, vals: impl Iterator<Item = u16>) {
    for (i, v) in vals.enumerate() {
        let b = v.to_be_bytes();
        let h = [
            HEX[usize::from(b[0] >> 4)],
            HEX[usize::from(b[0] & 15)],
            HEX[usize::from(b[1] >> 4)],
            HEX[usize::from(b[1] & 15)],
        ];
        if i > 0 {
            out.put(b",");
        }
        out.put(&h);
    }
}

/// `vals` in decimal joined by dashes (JA3).
fn dec_list(out: &mut dyn Out, vals: impl Iterator<Item = u16>) {
    let mut d = [0u8; 20];
    for (i, v) in vals.enumerate() {
        if i > 0 {
            out.put(b"-");
        }
        out.put(crate::record::decimal(u64::from(v), &mut d));
    }
}

/// `vals` without GREASE, sorted, into `space`; `None` when more than it
/// holds.
fn sorted(vals: impl Iterator<Item = u16>, space: &mut [u16; MAX_SORTED]) -> Option<&[u16]> {
    let mut n = 0;
    for v in vals.filter(|&v| !grease(v)) {
        *space.get_mut(n)? = v;
        n += 1;
    }
    let s = &mut space[..n];
    s.sort_unstable();
    Some(s)
}

/// The first 12 hex digits of the SHA-256 of what `f` writes, or twelve
/// zeros when `empty`.
fn hash12(out: &mut dyn Out, empty: bool, f: impl FnOnce(&mut Sha256)) {
    if empty {
        out.put(b"000000000000");
        return;
    }
    let mut h = Sha256::new();
    f(&mut h);
    let d = h.finalize();
    let mut t = [0u8; 12];
    for (i, b) in d[..6].iter().enumerate() {
        t[2 * i] = HEX[usize::from(b >> 4)];
        t[2 * i + 1] = HEX[usize::from(b & 15)];
    }
    out.put(&t);
}

/// JA4's forms: hashed or raw (`_r`), sorted or in the original order
/// (`_o`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ja4Form {
    /// `ja4`: sorted, hashed.
    Hashed,
    /// `ja4_r`: sorted, raw.
    Raw,
    /// `ja4_o`: original order, hashed.
    Original,
    /// `ja4_ro`: original order, raw.
    RawOriginal,
}

/// Writes the JA4 fingerprint of `ch` (over TCP) in `form` into `out`;
/// false when the hello lists too many values to sort.
pub fn ja4(ch: &ClientHello<'_>, form: Ja4Form, out: &mut dyn Out) -> bool {
    let ciphers = || u16s(ch.ciphers).filter(|&v| !grease(v));
    let exts = || ch.exts().map(|e| e.0).filter(|&v| !grease(v));
    let (nc, ne) = (ciphers().count(), exts().count());
    // a: transport, version, SNI, counts, ALPN.
    out.put(b"t");
    out.put(ja4_version(ch.max_version()).as_bytes());
    // `d` when the server_name extension is there at all.
    let sni = ch.exts().find(EXT_SERVER_NAME).is_some();
    out.put(if sni { b"d" } else { b"i" });
    let two = |n: usize| {
        let n = n.min(99) as u8;
        [b'0' + n / 10, b'0' + n % 10]
    };
    out.put(&two(nc));
    out.put(&two(ne));
    out.put(&alpn_chars(ch.alpn().next()));
    out.put(b"_");
    let mut space = [0u16; MAX_SORTED];
    let original = matches!(form, Ja4Form::Original | Ja4Form::RawOriginal);
    let raw = matches!(form, Ja4Form::Raw | Ja4Form::RawOriginal);
    // b: the ciphers.
    if original {
        part(out, raw, nc == 0, |o| hex_list(o, ciphers()));
    } else {
        let Some(s) = sorted(ciphers(), &mut space) else {
            return false;
        };
        part(out, raw, nc == 0, |o| hex_list(o, s.iter().copied()));
    }
    out.put(b"_");
    // c: the extensions (sorted ones without SNI and ALPN; the original
    // order keeps them), then the signature algorithms as they come.
    let sigs = ch.list(EXT_SIGNATURE_ALGORITHMS);
    if original {
        part(out, raw, ne == 0, |o| {
            hex_list(o, exts());
            sig_tail(o, sigs);
        });
    } else {
        let Some(s) = sorted(
            exts().filter(|&e| e != EXT_SERVER_NAME && e != EXT_ALPN),
            &mut space,
        ) else {
            return false;
        };
        part(out, raw, s.is_empty(), |o| {
            hex_list(o, s.iter().copied());
            sig_tail(o, sigs);
        });
    }
    true
}

/// `_` and the signature algorithms (GREASE left out, as everywhere in
/// JA4), when there are any.
fn sig_tail(o: &mut dyn Out, sigs: &[u8]) {
    let mut sigs = u16s(sigs).filter(|&v| !grease(v)).peekable();
    if sigs.peek().is_some() {
        o.put(b"_");
        hex_list(o, sigs);
    }
}

/// One of JA4's hashed parts: raw, or the first 12 hex digits of its
/// hash (twelve zeros when `empty`).
fn part(out: &mut dyn Out, raw: bool, empty: bool, f: impl FnOnce(&mut dyn Out)) {
    if raw {
        f(out);
    } else {
        hash12(out, empty, |h| f(h));
    }
}

/// JA4's ALPN characters: the first and last character of the first
/// protocol, or of its hex form when either is not alphanumeric; `00`
/// without one.
pub fn alpn_chars(first: Option<&[u8]>) -> [u8; 2] {
    let Some(p) = first.filter(|p| !p.is_empty()) else {
        return *b"00";
    };
    let (a, z) = (p[0], p[p.len() - 1]);
    if a.is_ascii_alphanumeric() && z.is_ascii_alphanumeric() {
        [a, z]
    } else {
        [HEX[usize::from(a >> 4)], HEX[usize::from(z & 15)]]
    }
}

/// JA3's text of `ch`: version, ciphers, extensions, groups, point
/// formats (GREASE left out), into `out`.
pub fn ja3(ch: &ClientHello<'_>, out: &mut dyn Out) {
    let ng = |v: &u16| !grease(*v);
    dec_list(out, std::iter::once(ch.version));
    out.put(b",");
    dec_list(out, u16s(ch.ciphers).filter(ng));
    out.put(b",");
    dec_list(out, ch.exts().map(|e| e.0).filter(ng));
    out.put(b",");
    dec_list(out, u16s(ch.list(EXT_SUPPORTED_GROUPS)).filter(ng));
    out.put(b",");
    dec_list(out, ch.point_formats().iter().map(|&b| u16::from(b)));
}

/// JA3S's text of `sh`: version, cipher, extensions.
pub fn ja3s(sh: &ServerHello<'_>, out: &mut dyn Out) {
    dec_list(out, std::iter::once(sh.version));
    out.put(b",");
    dec_list(out, std::iter::once(sh.cipher));
    out.put(b",");
    dec_list(out, sh.exts().map(|e| e.0).filter(|&v| !grease(v)));
}

/// The MD5 (hex) of what `f` writes: JA3's and JA3S's hash.
pub fn md5_hex(f: impl FnOnce(&mut md5::Md5)) -> [u8; 32] {
    let mut h = md5::Md5::new();
    f(&mut h);
    let d = h.finalize();
    let mut t = [0u8; 32];
    for (i, b) in d.iter().enumerate() {
        t[2 * i] = HEX[usize::from(b >> 4)];
        t[2 * i + 1] = HEX[usize::from(b & 15)];
    }
    t
}
