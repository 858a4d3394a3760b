//! Putting generated frames on the wire fast, two ways behind one
//! [`Sender`] trait: an AF_PACKET TPACKET_V2 TX ring with
//! `PACKET_QDISC_BYPASS` ([`TxRing`]), and an AF_XDP socket's TX ring
//! ([`XskTx`]). Frames are written into the ring and handed to the kernel
//! in batches with one system call each, so a veth receives far more than
//! tcpreplay's ~0.3 Mpps here; [`send_paced`] spaces them at a rate.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{fence, Ordering};

use dataplane::capture::iface;
use dataplane::sys;
use memmap2::{MmapOptions, MmapRaw};

const TPACKET_V2: libc::c_int = 1;
const PACKET_QDISC_BYPASS: libc::c_int = 20;
const TP_STATUS_AVAILABLE: u32 = 0;
const TP_STATUS_SEND_REQUEST: u32 = 1;
const TP_STATUS_WRONG_FORMAT: u32 = 4;

/// What [`TxRing::send_paced`] sent.
#[derive(Clone, Copy, Debug)]
pub struct Sent {
    /// Frames the kernel took.
    pub frames: u64,
    /// Bytes of the frames pushed (those left `unsent` included).
    pub bytes: u64,
    /// Frames still queued when the ring was closed.
    pub unsent: u64,
    /// Seconds from the first frame to the end of the drain.
    pub seconds: f64,
}

/// A TX ring bound to one interface.
pub struct TxRing {
    fd: OwnedFd,
    map: MmapRaw,
    frame_size: usize,
    frames: usize,
    next: usize,
    data_off: usize,
    /// Frames the kernel refused (bad format).
    pub rejected: u64,
}

impl TxRing {
    /// Opens a ring of `frames` slots of 2048 bytes on `ifname`.
    pub fn open(ifname: &str, frames: usize) -> io::Result<Self> {
        let ifindex = iface::index(ifname)?;
        let fd = sys::packet_socket()?;
        sys::setsockopt(&fd, libc::SOL_PACKET, libc::PACKET_VERSION, &TPACKET_V2)?;
        sys::setsockopt(
            &fd,
            libc::SOL_PACKET,
            PACKET_QDISC_BYPASS,
            &1 as &libc::c_int,
        )?;
        let frame_size = 2048usize;
        let block = 1usize << 20;
        let frames = frames.max(block / frame_size).next_power_of_two();
        let req = libc::tpacket_req {
            tp_block_size: block as u32,
            tp_block_nr: (frames * frame_size / block) as u32,
            tp_frame_size: frame_size as u32,
            tp_frame_nr: frames as u32,
        };
        sys::setsockopt(&fd, libc::SOL_PACKET, libc::PACKET_TX_RING, &req)?;
        let len = block * req.tp_block_nr as usize;
        let map = MmapOptions::new().len(len).map_raw(fd.as_raw_fd())?;
        iface::bind_packet(fd.as_raw_fd(), ifindex)?;
        let hdr = std::mem::size_of::<libc::tpacket2_hdr>();
        let data_off = (hdr + 15) & !15;
        Ok(Self {
            fd,
            map,
            frame_size,
            frames,
            next: 0,
            data_off,
            rejected: 0,
        })
    }

    fn hdr(&self, i: usize) -> *mut libc::tpacket2_hdr {
        // SAFETY: i < frames; every slot lies inside the mapping.
        unsafe { self.map.as_mut_ptr().add(i * self.frame_size).cast() }
    }

    /// Queues one frame; false if the ring is full (call [`TxRing::flush`]).
    pub fn push(&mut self, frame: &[u8]) -> bool {
        let h = self.hdr(self.next);
        // SAFETY: the header is inside the mapping; the kernel writes the
        // status concurrently, hence volatile access and fences.
        let st = unsafe { std::ptr::addr_of!((*h).tp_status).read_volatile() };
        fence(Ordering::Acquire);
        if st & TP_STATUS_WRONG_FORMAT != 0 {
            self.rejected += 1;
        } else if st != TP_STATUS_AVAILABLE {
            return false;
        }
        let n = frame.len().min(self.frame_size - self.data_off);
        // SAFETY: the slot is ours (AVAILABLE); the copy stays in the slot.
        unsafe {
            std::ptr::copy_nonoverlapping(frame.as_ptr(), (h as *mut u8).add(self.data_off), n);
            std::ptr::addr_of_mut!((*h).tp_len).write(n as u32);
            fence(Ordering::Release);
            std::ptr::addr_of_mut!((*h).tp_status).write_volatile(TP_STATUS_SEND_REQUEST);
        }
        self.next = (self.next + 1) & (self.frames - 1);
        true
    }

    /// Frames queued that the kernel has not sent yet.
    pub fn pending(&self) -> usize {
        (0..self.frames)
            .filter(|&i| {
                // SAFETY: as in `push`: a header inside the mapping, read
                // volatile because the kernel writes it.
                let st = unsafe { std::ptr::addr_of!((*self.hdr(i)).tp_status).read_volatile() };
                st != TP_STATUS_AVAILABLE && st & TP_STATUS_WRONG_FORMAT == 0
            })
            .count()
    }

    /// Kicks the ring until everything queued was sent or `timeout`
    /// passed; the frames still queued then.
    pub fn drain(&mut self, timeout: std::time::Duration) -> io::Result<usize> {
        let end = std::time::Instant::now() + timeout;
        loop {
            self.flush()?;
            let left = self.pending();
            if left == 0 || std::time::Instant::now() >= end {
                return Ok(left);
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    /// Asks the kernel to send what is queued (blocks until it took it).
    pub fn flush(&mut self) -> io::Result<()> {
        // SAFETY: send(2) with no buffer kicks the TX ring.
        let r = unsafe { libc::send(self.fd.as_raw_fd(), std::ptr::null(), 0, 0) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::ENOBUFS) && e.kind() != io::ErrorKind::WouldBlock {
                return Err(e);
            }
        }
        Ok(())
    }
}

/// Sends the frames `next` writes (it appends one to the buffer it is
/// given) for `seconds` at `rate` frames/s, 0 for as fast as the ring
/// goes, then waits up to 2 s for the ring to drain. Paced sending
/// goes out in 50 µs worth of frames at a time, so a low rate does not
/// leave as line-rate bursts.
pub fn send_paced<S: Sender>(
    tx: &mut S,
    rate: u64,
    seconds: f64,
    mut next: impl FnMut(&mut Vec<u8>),
) -> io::Result<Sent> {
    use std::time::{Duration, Instant};
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(seconds);
    let burst = if rate == 0 {
        256
    } else {
        (rate / 20_000).clamp(1, 256)
    };
    let mut frame = Vec::with_capacity(S::FRAME_SIZE);
    let (mut sent, mut bytes, mut pending) = (0u64, 0u64, false);
    while Instant::now() < end {
        if rate > 0 && sent as f64 >= start.elapsed().as_secs_f64() * rate as f64 {
            std::thread::sleep(Duration::from_micros(50));
            continue;
        }
        for _ in 0..burst {
            if !pending {
                frame.clear();
                next(&mut frame);
            }
            pending = !tx.push(&frame);
            if pending {
                break;
            }
            sent += 1;
            bytes += frame.len() as u64;
            if rate > 0 && sent.is_multiple_of(burst) {
                break;
            }
        }
        tx.flush()?;
    }
    // Frames still in the ring when the socket closes are never sent.
    let unsent = tx.drain(Duration::from_secs(2))? as u64;
    Ok(Sent {
        frames: sent - unsent,
        bytes,
        unsent,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// A way of sending frames in batches.
pub trait Sender {
    /// Bytes a frame may hold.
    const FRAME_SIZE: usize;
    /// Queues one frame; false if the ring is full (call [`Sender::flush`]).
    fn push(&mut self, frame: &[u8]) -> bool;
    /// Hands what is queued to the kernel.
    fn flush(&mut self) -> io::Result<()>;
    /// Kicks the ring until everything queued was sent or `timeout`
    /// passed; the frames still queued then.
    fn drain(&mut self, timeout: std::time::Duration) -> io::Result<usize>;
    /// Frames the kernel refused.
    fn rejected(&self) -> u64;
}

impl Sender for TxRing {
    const FRAME_SIZE: usize = 2048;
    fn push(&mut self, frame: &[u8]) -> bool {
        TxRing::push(self, frame)
    }
    fn flush(&mut self) -> io::Result<()> {
        TxRing::flush(self)
    }
    fn drain(&mut self, timeout: std::time::Duration) -> io::Result<usize> {
        TxRing::drain(self, timeout)
    }
    fn rejected(&self) -> u64 {
        self.rejected
    }
}

/// Frames handed to the kernel in one `sendto(2)` wakeup.
const XSK_BATCH: usize = 64;

/// An AF_XDP socket used only to send: a UMEM of 2048-byte frames, free
/// frames written and produced to the TX ring in batches, completed ones
/// reclaimed from the completion ring. Copy mode on veth (the kernel builds
/// an skb per frame, without the AF_PACKET socket layer).
pub struct XskTx {
    umem: xsk_rs::Umem,
    tx: xsk_rs::TxQueue,
    cq: xsk_rs::CompQueue,
    _rx: xsk_rs::RxQueue,
    _fq: xsk_rs::FillQueue,
    free: Vec<xsk_rs::FrameDesc>,
    pending: Vec<xsk_rs::FrameDesc>,
    done: Vec<xsk_rs::FrameDesc>,
    in_flight: usize,
}

fn xerr(what: &str, e: impl std::fmt::Debug) -> io::Error {
    io::Error::other(format!("{what}: {e:?}"))
}

impl XskTx {
    /// Binds an AF_XDP socket to queue 0 of `ifname` with `frames` UMEM
    /// frames (a power of two). No XDP program is loaded: it only sends.
    pub fn open(ifname: &str, frames: u32) -> io::Result<Self> {
        use xsk_rs::config::{
            BindFlags, FrameSize, LibxdpFlags, QueueSize, SocketConfig, UmemConfig,
        };
        let frames = frames.clamp(64, 1 << 16).next_power_of_two();
        let qs = |n: u32| QueueSize::new(n).map_err(|e| xerr("ring size", e));
        let ucfg = UmemConfig::builder()
            .frame_size(FrameSize::new(2048).map_err(|e| xerr("frame size", e))?)
            .fill_queue_size(qs(64)?)
            .comp_queue_size(qs(frames)?)
            .build()
            .map_err(|e| xerr("UMEM config", e))?;
        let count = std::num::NonZeroU32::new(frames).expect("frames > 0");
        let (umem, free) = xsk_rs::Umem::new(ucfg, count, false).map_err(|e| xerr("UMEM", e))?;
        let scfg = SocketConfig::builder()
            .rx_queue_size(qs(64)?)
            .tx_queue_size(qs(frames)?)
            .bind_flags(BindFlags::XDP_USE_NEED_WAKEUP)
            .libxdp_flags(LibxdpFlags::XSK_LIBXDP_FLAGS_INHIBIT_PROG_LOAD)
            .build();
        let iface: xsk_rs::config::Interface =
            ifname.parse().map_err(|e| xerr("interface name", e))?;
        // SAFETY: the UMEM is this socket's alone.
        let (tx, rx, rings) = unsafe { xsk_rs::Socket::new(scfg, &umem, &iface, 0) }
            .map_err(|e| xerr(&format!("{ifname}: AF_XDP socket"), e))?;
        let (fq, cq) = rings.ok_or_else(|| xerr("AF_XDP socket", "no completion ring"))?;
        let done = free.clone();
        Ok(Self {
            umem,
            tx,
            cq,
            _rx: rx,
            _fq: fq,
            pending: Vec::with_capacity(free.len()),
            free,
            done,
            in_flight: 0,
        })
    }

    /// Takes completed frames back.
    fn reclaim(&mut self) {
        if self.in_flight == 0 {
            return;
        }
        // SAFETY: the descriptors are scratch space this value owns.
        let n = unsafe { self.cq.consume(&mut self.done[..self.in_flight]) };
        self.in_flight -= n;
        self.free.extend_from_slice(&self.done[..n]);
    }
}

impl Sender for XskTx {
    const FRAME_SIZE: usize = 2048;

    fn push(&mut self, frame: &[u8]) -> bool {
        if self.free.is_empty() {
            self.reclaim();
        }
        let Some(mut d) = self.free.pop() else {
            return false;
        };
        // SAFETY: `d` is free (neither in the TX nor the completion ring),
        // so nothing else reads or writes its frame.
        let mut data = unsafe { self.umem.data_mut(&mut d) };
        let mut c = data.cursor();
        c.set_pos(0);
        let _ = std::io::Write::write(&mut c, frame);
        self.pending.push(d);
        if self.pending.len() >= XSK_BATCH {
            let _ = self.flush();
        }
        true
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            // SAFETY: the pending frames were written and belong to this
            // UMEM; once produced they are the kernel's until completed.
            let n = unsafe { self.tx.produce(&self.pending) };
            self.in_flight += n;
            self.pending.drain(..n);
        }
        // In copy mode each sendto(2) transmits at most 32 frames
        // (the kernel's TX_BATCH_SIZE): kick once per 32 outstanding.
        for _ in 0..self.in_flight.div_ceil(32).min(XSK_BATCH / 32 + 1) {
            match self.tx.wakeup() {
                Ok(()) => {}
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EAGAIN | libc::EBUSY | libc::ENOBUFS)
                    ) =>
                {
                    break
                }
                Err(e) => return Err(e),
            }
        }
        self.reclaim();
        Ok(())
    }

    fn drain(&mut self, timeout: std::time::Duration) -> io::Result<usize> {
        let end = std::time::Instant::now() + timeout;
        loop {
            self.flush()?;
            let left = self.in_flight + self.pending.len();
            if left == 0 || std::time::Instant::now() >= end {
                return Ok(left);
            }
            if self.tx.needs_wakeup() {
                self.tx.wakeup()?;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    fn rejected(&self) -> u64 {
        0
    }
}

impl Drop for TxRing {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}
