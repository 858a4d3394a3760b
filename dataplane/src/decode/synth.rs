//! Synthetic packets between 10.0.0.1 (the client) and 10.0.0.2 (the
//! server), for the tests, benchmarks and fuzz targets that drive a worker
//! without frames. Their payloads live in the caller's buffer, addressed
//! as [`crate::worker::FlatPayloads`] reads them.

use super::{tcpflag, Decoded, PayloadBuf, PayloadRef};

/// The packet from the client (`dir` 0) or the server (1) of a
/// conversation on `ports` (client's, server's): flags, the sender's
/// sequence number from `seq` (per direction; the other is the ACK when
/// the ACK flag is set), `len` payload bytes at `off` of the caller's
/// buffer.
#[allow(clippy::too_many_arguments)]
pub fn packet(
    proto: u8,
    dir: usize,
    ports: (u16, u16),
    flags: u8,
    seq: [u32; 2],
    off: usize,
    len: usize,
    ts_ns: u64,
) -> Decoded {
    let (client, server) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    let (src, dst, sport, dport) = if dir == 0 {
        (client, server, ports.0, ports.1)
    } else {
        (server, client, ports.1, ports.0)
    };
    let mut d = Decoded::EMPTY;
    d.ts_ns = ts_ns;
    d.src[..4].copy_from_slice(&src);
    d.dst[..4].copy_from_slice(&dst);
    d.sport = sport;
    d.dport = dport;
    d.proto = proto;
    d.tcp_flags = flags;
    d.seq = seq[dir];
    if flags & tcpflag::ACK != 0 {
        d.ack = seq[1 - dir];
    }
    d.win = 65535;
    d.payload_wire = len as u32;
    d.ip_len = 40 + len as u32;
    d.payload = PayloadRef {
        buf: PayloadBuf::Frame,
        off: off as u32,
        len: len as u32,
    };
    d
}
