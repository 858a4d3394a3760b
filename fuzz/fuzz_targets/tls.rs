//! TLS: the hello parsers, the fingerprints and the certificate reader on
//! any bytes, then TLS conversations built from the input (cut anywhere,
//! lost and reordered segments) through the whole layer.
#![no_main]

#[path = "conv.rs"]
mod conv;

use dataplane::app::tls::parse::{self, ClientHello, Ja4Form, ServerHello, Text};
use dataplane::app::tls::x509;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(ch) = ClientHello::parse(data) {
        for form in [Ja4Form::Hashed, Ja4Form::Raw, Ja4Form::Original, Ja4Form::RawOriginal] {
            let mut t = Text::<2048>::default();
            if parse::ja4(&ch, form, &mut t) {
                assert!(t.as_bytes().starts_with(b"t"));
            }
        }
        let _ = parse::md5_hex(|h| parse::ja3(&ch, h));
        let _ = (ch.sni(), ch.alpn().count(), ch.max_version());
    }
    if let Some(sh) = ServerHello::parse(data) {
        let _ = (sh.chosen_version(), sh.alpn(), sh.retry());
        let _ = parse::md5_hex(|h| parse::ja3s(&sh, h));
    }
    if let Some(c) = x509::parse(data) {
        c.subject.write(&mut |_| {});
        c.issuer.write(&mut |_| {});
        let _ = c.sans.iter().count();
        let _ = x509::sni_matches(&c, b"www.example.com");
    }
    let Some((&sel, rest)) = data.split_first() else { return };
    conv::run(rest, 6, [443, 8443][usize::from(sel) % 2], 0);
});
