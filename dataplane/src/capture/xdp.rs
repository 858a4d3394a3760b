//! AF_XDP capture (xsk-rs over libxdp): one socket per NIC queue.
//!
//! The UMEM (frames the kernel writes into) is registered once; every frame
//! starts in the fill ring. A batch lends the frames the RX ring handed us,
//! zero copy, and they go back to the fill ring at the next call, so the
//! fill ring never runs dry while we keep up. AF_XDP gives no timestamp: a
//! batch is stamped once from the realtime clock when it is taken (the
//! error is bounded by the poll interval).
//!
//! The attach mode (driver or SKB/generic) and the bind mode (zero-copy or
//! copy) are forced by the operator or detected (driver first, then SKB; the
//! kernel picks zero-copy where the driver offers it), and the mode obtained
//! is reported. The kernel's `XDP_STATISTICS` are published as counters.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::AsRawFd;

use xsk_rs::config::{
    BindFlags, FrameSize, LibxdpFlags, QueueSize, SocketConfig, UmemConfig, XdpFlags,
};
use xsk_rs::{CompQueue, FillQueue, RxQueue, Socket, TxQueue, Umem};

use super::iface;
use super::{Batch, Capture, FrameDesc, LinkType, Poll, SourceStats};

/// Attach mode of the XDP program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachMode {
    /// Driver (native) mode, falling back to SKB mode.
    Auto,
    /// Generic (SKB) mode: works on any interface, copies.
    Skb,
    /// Native driver mode; fails where the driver lacks XDP.
    Drv,
}

/// Bind mode of the socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindMode {
    /// Zero-copy where the driver offers it, else copy.
    Auto,
    /// Copy mode.
    Copy,
    /// Zero-copy; fails where the driver lacks it.
    ZeroCopy,
}

/// Settings of one AF_XDP socket.
#[derive(Clone, Debug)]
pub struct XdpConfig {
    /// Interface name.
    pub ifname: String,
    /// Queue the socket binds to.
    pub queue: u32,
    /// UMEM frames (a power of two); also the fill and RX ring sizes.
    pub frames: u32,
    /// Bytes per UMEM frame (2048 or 4096); larger frames are dropped by
    /// the kernel and counted in `xdp_rx_dropped`.
    pub frame_size: u32,
    /// Attach mode.
    pub attach: AttachMode,
    /// Bind mode.
    pub bind: BindMode,
    /// Map the UMEM from the huge page pool (`vm.nr_hugepages`).
    pub huge: bool,
}

impl XdpConfig {
    /// UMEM bytes of one socket.
    pub fn umem_bytes(&self) -> usize {
        self.frames as usize * self.frame_size as usize
    }
}

/// What a socket obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Obtained {
    /// Driver (native) mode rather than SKB.
    pub driver: bool,
    /// Zero-copy rather than copy.
    pub zero_copy: bool,
    /// UMEM on huge pages.
    pub huge: bool,
}

/// One AF_XDP socket bound to one queue.
pub struct XdpSource {
    umem: Umem,
    rx: RxQueue,
    fq: FillQueue,
    _tx: TxQueue,
    _cq: CompQueue,
    /// Receive descriptors of the current batch (the frames lent out).
    descs: Vec<xsk_rs::FrameDesc>,
    held: usize,
    obtained: Obtained,
    queue: u32,
    frames: u32,
    stats: SourceStats,
}

fn xerr(what: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("{what}: {e}"))
}

extern "C" {
    // Both take a print callback (a C variadic function) and return the old
    // one; we only ever pass NULL, which silences the library.
    fn libbpf_set_print(f: *const libc::c_void) -> *const libc::c_void;
    fn libxdp_set_print(f: *const libc::c_void) -> *const libc::c_void;
}

/// libbpf and libxdp print warnings of their own on stderr (unknown ELF
/// sections of libxdp's bundled program, the bpffs fallback); wirelog
/// reports what matters itself, from return codes and its own checks.
fn quiet_libraries() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: both only store the pointer; NULL means "print nothing".
    ONCE.call_once(|| unsafe {
        libbpf_set_print(std::ptr::null());
        libxdp_set_print(std::ptr::null());
    });
}

impl XdpSource {
    /// Creates the UMEM and binds a socket; `max_batch` frames may be lent
    /// at once.
    pub fn open(cfg: &XdpConfig, max_batch: usize) -> io::Result<Self> {
        quiet_libraries();
        let frames = cfg.frames.max(64).next_power_of_two();
        let qs = |n: u32| QueueSize::new(n).map_err(|e| xerr("ring size", e));
        let ucfg = UmemConfig::builder()
            .frame_size(FrameSize::new(cfg.frame_size).map_err(|e| xerr("frame size", e))?)
            .fill_queue_size(qs(frames)?)
            .comp_queue_size(qs(64)?)
            .build()
            .map_err(|e| xerr("UMEM config", e))?;
        let count = std::num::NonZeroU32::new(frames).expect("frames > 0");
        let (umem, all, huge) = match Umem::new(ucfg, count, cfg.huge) {
            Ok((u, d)) => (u, d, cfg.huge),
            // No huge page pool: 4 KiB pages (said at start).
            Err(_) if cfg.huge => {
                let (u, d) = Umem::new(ucfg, count, false).map_err(|e| xerr("UMEM", e))?;
                (u, d, false)
            }
            Err(e) => return Err(xerr("UMEM", e)),
        };
        let attaches: &[(XdpFlags, bool)] = match cfg.attach {
            AttachMode::Auto => &[
                (XdpFlags::XDP_FLAGS_DRV_MODE, true),
                (XdpFlags::XDP_FLAGS_SKB_MODE, false),
            ],
            AttachMode::Drv => &[(XdpFlags::XDP_FLAGS_DRV_MODE, true)],
            AttachMode::Skb => &[(XdpFlags::XDP_FLAGS_SKB_MODE, false)],
        };
        let bind = match cfg.bind {
            BindMode::Auto => BindFlags::empty(),
            BindMode::Copy => BindFlags::XDP_COPY,
            BindMode::ZeroCopy => BindFlags::XDP_ZEROCOPY,
        } | BindFlags::XDP_USE_NEED_WAKEUP;
        let iface: xsk_rs::config::Interface =
            cfg.ifname.parse().map_err(|e| xerr("interface name", e))?;
        let mut last = None;
        for &(flags, driver) in attaches {
            let scfg = SocketConfig::builder()
                .rx_queue_size(qs(frames)?)
                .tx_queue_size(qs(64)?)
                .xdp_flags(flags)
                .bind_flags(bind)
                .libxdp_flags(LibxdpFlags::empty())
                .build();
            // SAFETY: the UMEM is not shared with another socket, so the
            // INHIBIT_PROG_LOAD requirement of a shared UMEM does not apply.
            match unsafe { Socket::new(scfg, &umem, &iface, cfg.queue) } {
                Ok((tx, rx, Some((mut fq, cq)))) => {
                    // SAFETY: every descriptor belongs to this UMEM and none is lent.
                    let n = unsafe { fq.produce(&all) };
                    if n != all.len() {
                        return Err(xerr(
                            "fill ring",
                            format!("took {n} of {} frames", all.len()),
                        ));
                    }
                    let zero_copy = xdp_zero_copy(rx.fd().as_raw_fd());
                    let mut descs = all;
                    descs.truncate(max_batch.max(1));
                    let mut me = Self {
                        umem,
                        rx,
                        fq,
                        _tx: tx,
                        _cq: cq,
                        descs,
                        held: 0,
                        obtained: Obtained {
                            driver,
                            zero_copy,
                            huge,
                        },
                        queue: cfg.queue,
                        frames,
                        stats: SourceStats::default(),
                    };
                    me.kick();
                    return Ok(me);
                }
                Ok(_) => return Err(xerr("AF_XDP socket", "no fill ring for an unshared UMEM")),
                Err(e) => last = Some(e),
            }
        }
        let mode = match cfg.attach {
            AttachMode::Drv => "driver mode (try --xdp-mode skb)",
            AttachMode::Skb => "SKB mode",
            AttachMode::Auto => "driver or SKB mode",
        };
        Err(xerr(
            &format!(
                "{} queue {}: AF_XDP socket in {mode}",
                cfg.ifname, cfg.queue
            ),
            last.map_or("failed".to_string(), |e| format!("{e:?}")),
        ))
    }

    /// What the socket obtained.
    pub fn obtained(&self) -> Obtained {
        self.obtained
    }

    /// Gives the lent frames back to the fill ring.
    fn give_back(&mut self) {
        if self.held == 0 {
            return;
        }
        // The fill ring holds every frame, but the kernel publishes what it
        // consumed lazily: retry a refused batch a few times, then count it.
        let mut ok = false;
        for _ in 0..4 {
            // SAFETY: these descriptors came from this UMEM's RX ring and no
            // reference to their bytes outlives the batch that lent them.
            if unsafe { self.fq.produce(&self.descs[..self.held]) } == self.held {
                ok = true;
                break;
            }
            let _ = self.fq.wakeup(self.rx.fd_mut(), 0);
        }
        if !ok {
            self.stats.xdp_frames_lost += self.held as u64;
        }
        self.held = 0;
        self.kick();
    }
}

impl XdpSource {
    /// Zero-copy drivers stop filling their rings until woken once the fill
    /// ring ran dry (at bind, or under load): wake them when they ask.
    fn kick(&mut self) {
        if self.fq.needs_wakeup() {
            let _ = self.fq.wakeup(self.rx.fd_mut(), 0);
        }
    }
}

/// XDP_OPTIONS: whether the bound socket runs zero-copy.
fn xdp_zero_copy(fd: i32) -> bool {
    let mut flags: u32 = 0;
    let mut len = std::mem::size_of::<u32>() as libc::socklen_t;
    // SAFETY: `flags` is writable for `len` bytes (struct xdp_options).
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_XDP,
            libc::XDP_OPTIONS,
            (&mut flags as *mut u32).cast(),
            &mut len,
        )
    };
    r == 0 && flags & 1 != 0
}

impl Capture for XdpSource {
    type Error = io::Error;

    fn next_batch(&mut self, batch: &mut Batch) -> io::Result<Poll> {
        batch.clear();
        self.give_back();
        let cap = batch.capacity().min(self.descs.len());
        // SAFETY: the descriptors are ours to overwrite (none is lent).
        let n = unsafe { self.rx.consume(&mut self.descs[..cap]) };
        if n == 0 {
            self.kick();
            return Ok(Poll::Frames);
        }
        self.held = n;
        let now = crate::time::wall_now_ns();
        for (i, d) in self.descs[..n].iter().enumerate() {
            let len = d.lengths().data() as u32;
            batch.push(FrameDesc {
                ts_ns: now,
                off: i,
                cap_len: len,
                wire_len: len,
                link: LinkType::Ethernet,
            });
        }
        self.stats.frames += n as u64;
        Ok(Poll::Frames)
    }

    fn frame(&self, d: &FrameDesc) -> &[u8] {
        // SAFETY: descriptor `d.off` was filled by the RX ring in this batch
        // and belongs to this UMEM; the kernel does not touch the frame until
        // it is back in the fill ring, at the next batch.
        unsafe { self.umem.data(&self.descs[d.off]).contents() }
    }
}

impl super::Live for XdpSource {
    fn wait(&mut self, timeout_us: u32) -> io::Result<()> {
        if self.rx.nb_avail(1) > 0 {
            return Ok(());
        }
        iface::wait_readable(self.rx.fd().as_raw_fd(), timeout_us)
    }

    fn stats(&mut self) -> io::Result<SourceStats> {
        let s = self.rx.fd().xdp_statistics()?;
        self.stats.xdp_rx_dropped = s.rx_dropped();
        self.stats.xdp_rx_invalid = s.rx_invalid_descs();
        self.stats.xdp_rx_ring_full = s.rx_ring_full();
        self.stats.xdp_fill_ring_empty = s.rx_fill_ring_empty_descs();
        Ok(self.stats)
    }

    fn describe(&self) -> String {
        let o = self.obtained;
        format!(
            "AF_XDP queue {}: {} mode, {}, UMEM {} frames on {}",
            self.queue,
            if o.driver { "driver" } else { "SKB" },
            if o.zero_copy { "zero-copy" } else { "copy" },
            self.frames,
            if o.huge { "huge pages" } else { "4 KiB pages" }
        )
    }
}
