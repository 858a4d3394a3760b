//! AF_XDP capture (xsk-rs over libxdp): one socket per NIC queue.
//!
//! The UMEM (frames the kernel writes into) is registered once; every frame
//! starts in the fill ring. A batch lends the frames the RX ring handed us,
//! zero copy, and they go back to the fill ring at the next call, so the
//! fill ring never runs dry while we keep up.
//!
//! Frames come from wirelog's own XDP program ([`super::xdp_prog`]), never
//! from libxdp's default one: a socket registers itself in the program's
//! XSKMAP and libxdp is told to load nothing. The program puts a stamp
//! (the kernel's monotonic clock, the frame's length before any trim) in
//! front of each frame; a batch turns the stamps into wall-clock time with
//! one offset read per batch, so every frame has its own time and
//! durations are exact to the kernel's clock. The lent frame starts after
//! the stamp. A frame without one (which the program never sends) would
//! get the batch's time, be counted (`xdp_no_timestamp`) and said once on
//! stderr.
//!
//! The bind mode (zero-copy or copy) is forced by the operator or detected
//! (the kernel picks zero-copy where the driver offers it), and the mode
//! obtained is reported. The kernel's `XDP_STATISTICS` are published as
//! counters.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, RawFd};

use xsk_rs::config::{
    BindFlags, FrameSize, LibxdpFlags, QueueSize, SocketConfig, UmemConfig, XdpFlags,
};
use xsk_rs::{CompQueue, FillQueue, RxQueue, Socket, TxQueue, Umem};

use super::iface;
use super::xdp_prog::{Stamp, XdpProgram};
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
    /// Bytes per UMEM frame (2048 or 4096); wirelog's XDP program trims
    /// longer frames to fit ([`XdpConfig::max_frame`]) and counts them.
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

    /// The longest frame a UMEM frame takes behind the stamp: the kernel
    /// keeps `XDP_PACKET_HEADROOM` (256 bytes) before the data.
    pub fn max_frame(&self) -> u32 {
        self.frame_size - 256 - Stamp::LEN as u32
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
    frame_size: usize,
    stats: SourceStats,
    /// Said on stderr that some frames came without a stamp.
    warned_no_stamp: bool,
    /// Turns the program's monotonic stamps into wall-clock times.
    clock: crate::time::MonoWall,
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
pub(crate) fn quiet_libraries() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: both only store the pointer; NULL means "print nothing".
    ONCE.call_once(|| unsafe {
        // WIRELOG_LIBBPF_LOG=1 keeps the libraries' own messages (debugging).
        if std::env::var_os("WIRELOG_LIBBPF_LOG").is_none() {
            libbpf_set_print(std::ptr::null());
            libxdp_set_print(std::ptr::null());
        }
    });
}

impl XdpSource {
    /// Creates the UMEM, binds a socket and registers it with `prog`
    /// (which is attached afterwards, once every queue has its socket);
    /// `max_batch` frames may be lent at once.
    pub fn open(cfg: &XdpConfig, max_batch: usize, prog: &XdpProgram) -> io::Result<Self> {
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
        let bind = match cfg.bind {
            BindMode::Auto => BindFlags::empty(),
            BindMode::Copy => BindFlags::XDP_COPY,
            BindMode::ZeroCopy => BindFlags::XDP_ZEROCOPY,
        } | BindFlags::XDP_USE_NEED_WAKEUP;
        let iface: xsk_rs::config::Interface =
            cfg.ifname.parse().map_err(|e| xerr("interface name", e))?;
        let scfg = SocketConfig::builder()
            .rx_queue_size(qs(frames)?)
            .tx_queue_size(qs(64)?)
            // The attach mode is the program's business, not libxdp's.
            .xdp_flags(XdpFlags::empty())
            .bind_flags(bind)
            .libxdp_flags(LibxdpFlags::XSK_LIBXDP_FLAGS_INHIBIT_PROG_LOAD)
            .build();
        // SAFETY: the UMEM is not shared with another socket, so the
        // INHIBIT_PROG_LOAD requirement of a shared UMEM does not apply.
        let (tx, rx, rings) =
            unsafe { Socket::new(scfg, &umem, &iface, cfg.queue) }.map_err(|e| {
                let busy = std::error::Error::source(&e)
                    .and_then(|s| s.downcast_ref::<io::Error>())
                    .and_then(io::Error::raw_os_error)
                    == Some(libc::EBUSY);
                if busy {
                    return io::Error::new(
                        io::ErrorKind::AddrInUse,
                        format!(
                            "{} already has an AF_XDP socket on queue {} (another wirelog capture?): a queue serves one socket",
                            cfg.ifname, cfg.queue
                        ),
                    );
                }
                xerr("AF_XDP socket", format!("{e:?}"))
            })?;
        let Some((mut fq, cq)) = rings else {
            return Err(xerr("AF_XDP socket", "no fill ring for an unshared UMEM"));
        };
        // SAFETY: every descriptor belongs to this UMEM and none is lent.
        let n = unsafe { fq.produce(&all) };
        if n != all.len() {
            return Err(xerr(
                "fill ring",
                format!("took {n} of {} frames", all.len()),
            ));
        }
        prog.register(cfg.queue, rx.fd().as_raw_fd())
            .map_err(|e| xerr(&format!("{} queue {}", cfg.ifname, cfg.queue), e))?;
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
                driver: false,
                zero_copy,
                huge,
            },
            queue: cfg.queue,
            frames,
            frame_size: cfg.frame_size as usize,
            stats: SourceStats::default(),
            warned_no_stamp: false,
            clock: crate::time::MonoWall::new(),
        };
        me.kick();
        Ok(me)
    }

    /// Records the mode the program was attached in (for [`Live::describe`]).
    ///
    /// [`Live::describe`]: super::Live::describe
    pub fn set_driver_mode(&mut self, driver: bool) {
        self.obtained.driver = driver;
    }

    /// The socket's descriptor (for the program's XSKMAP).
    pub fn fd(&self) -> RawFd {
        self.rx.fd().as_raw_fd()
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
            self.stats.syscalls += 1;
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
            self.stats.syscalls += 1;
        }
    }
}

impl XdpSource {
    #[cold]
    fn no_stamp(&mut self, n: u64) {
        self.stats.xdp_no_timestamp += n;
        if !self.warned_no_stamp {
            self.warned_no_stamp = true;
            eprintln!(
                "wirelog: warning: AF_XDP queue {}: frames arrive without the XDP program's stamp (is another program redirecting to this socket?): they are stamped per batch, so durations shorter than a poll read as zero",
                self.queue
            );
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
        self.clock.refresh();
        let clock = self.clock;
        let mut unstamped = 0u64;
        for i in 0..n {
            // SAFETY: the descriptor came from this UMEM's RX ring in this
            // batch; the kernel does not touch the frame until the next one.
            let b = unsafe { self.umem.data(&self.descs[i]) }.contents();
            let (ts_ns, cap_len, wire_len) = match Stamp::parse(b) {
                Some(s) => {
                    let cap = (b.len() - Stamp::LEN) as u32;
                    (clock.wall(s.ts_ns), cap, s.wire_len.max(cap))
                }
                None => {
                    unstamped += 1;
                    let t = clock.wall(crate::time::mono_now_ns());
                    (t, b.len() as u32, b.len() as u32)
                }
            };
            batch.push(FrameDesc {
                ts_ns,
                off: i,
                cap_len,
                wire_len,
                link: LinkType::Ethernet,
            });
        }
        self.stats.frames += n as u64;
        if unstamped > 0 {
            self.no_stamp(unstamped);
        }
        Ok(Poll::Frames)
    }

    fn frame(&self, d: &FrameDesc) -> &[u8] {
        // SAFETY: descriptor `d.off` was filled by the RX ring in this batch
        // and belongs to this UMEM; the kernel does not touch the frame until
        // it is back in the fill ring, at the next batch.
        let b = unsafe { self.umem.data(&self.descs[d.off]) }.contents();
        // The frame is what follows the stamp: its last `cap_len` bytes.
        &b[b.len() - d.cap_len as usize..]
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
            "AF_XDP queue {}: {} mode, {}, UMEM {} frames of {} bytes on {}, stamped per frame by wirelog's XDP program",
            self.queue,
            if o.driver { "driver" } else { "SKB" },
            if o.zero_copy { "zero-copy" } else { "copy" },
            self.frames,
            self.frame_size,
            if o.huge { "huge pages" } else { "4 KiB pages" }
        )
    }
}
