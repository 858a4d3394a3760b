//! wirelog's own XDP program (`bpf/wirelog_xdp.c`): loading it, filling its
//! maps, attaching it, and reading its counters.
//!
//! One program serves every queue of an interface. It is loaded from the
//! object the build embeds (libbpf, which xsk-rs already links, does the ELF
//! and BTF work), its maps are filled from a [`ProgramConfig`] (the
//! interface's MAC, the redirect mode, the operator's filters, the flow
//! sample, the tunnel ports), each AF_XDP socket registers itself in the
//! XSKMAP at its queue, and only then is the program attached, so no frame
//! meets a queue without its socket.
//!
//! Attachment is a BPF link that is never pinned: it lives exactly as long
//! as this process holds its descriptor, so the kernel removes the program
//! however the process ends (`kill -9` included), and a second capture on
//! the same interface gets `EBUSY`, which becomes a clear error. No bpffs is
//! needed.
//!
//! Each frame the program hands over comes behind a [`Stamp`]: the
//! kernel's monotonic clock at XDP time and the frame's length before any
//! trim.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;

use libbpf_sys as bpf;

use super::xdp::AttachMode;
use crate::filter::Filter;

/// The program, built by `build.rs`.
static OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/wirelog_xdp.o"));

/// `struct wl_config` of the program.
#[repr(C)]
#[derive(Clone, Copy)]
struct WlConfig {
    mac: [u8; 6],
    take_all: u8,
    drop_filtered: u8,
    max_len: u32,
    sample: u32,
    lists: u32,
    tunnel_ports: [u16; TUNNEL_PORTS],
    n_tunnel_ports: u32,
    include_proto: [u8; 32],
    exclude_proto: [u8; 32],
}

const TUNNEL_PORTS: usize = 16;
/// Entries of each network trie (`WL_NETS`).
const NETS: usize = 1024;

const F_INC_NET: u32 = 1 << 0;
const F_EXC_NET: u32 = 1 << 1;
const F_INC_PORT: u32 = 1 << 2;
const F_EXC_PORT: u32 = 1 << 3;
const F_INC_PROTO: u32 = 1 << 4;
const F_EXC_PROTO: u32 = 1 << 5;
const F_INC_VLAN: u32 = 1 << 6;
const F_EXC_VLAN: u32 = 1 << 7;
const IN: u8 = 1;
const EX: u8 = 2;

/// `XDP_FLAGS_SKB_MODE` and `XDP_FLAGS_DRV_MODE` (linux/if_link.h).
const XDP_FLAGS_SKB_MODE: u32 = 1 << 1;
const XDP_FLAGS_DRV_MODE: u32 = 1 << 2;

/// The stamp the program puts in front of each frame it redirects
/// (`struct wl_stamp`): the socket receives stamp + frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// CLOCK_MONOTONIC, nanoseconds, when the program ran.
    pub ts_ns: u64,
    /// The frame's length before the program trimmed it.
    pub wire_len: u32,
}

/// `WL_STAMP_MAGIC`, in the stamp's first four bytes (native order).
const STAMP_MAGIC: u32 = 0x776c_7331;

impl Stamp {
    /// Bytes of the stamp in front of a frame.
    pub const LEN: usize = 16;

    /// The stamp at the start of `b`, if it holds one.
    #[inline]
    pub fn parse(b: &[u8]) -> Option<Stamp> {
        let h: &[u8; Self::LEN] = b.get(..Self::LEN)?.try_into().ok()?;
        let w = |i: usize| u32::from_ne_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        if w(0) != STAMP_MAGIC {
            return None;
        }
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&h[8..16]);
        Some(Stamp {
            ts_ns: u64::from_ne_bytes(ts),
            wire_len: w(4),
        })
    }
}

/// The program's counters (`enum wl_counter`), summed over CPUs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XdpCounters {
    /// Every frame the program ran on.
    pub frames: u64,
    /// Handed to an AF_XDP socket.
    pub redirected: u64,
    /// The host's own traffic, passed to the kernel stack.
    pub host: u64,
    /// Excluded by the filters (dropped, or passed with `--xdp-filtered pass`).
    pub filtered: u64,
    /// Outside the 1-in-N flow sample.
    pub sampled_out: u64,
    /// Redirected without a decision: tunnels, fragments, other protocols
    /// (user space filters them after decap).
    pub up_unparsed: u64,
    /// Longer than a UMEM frame: trimmed to fit.
    pub trimmed: u64,
    /// No headroom for the stamp: passed to the stack, not captured.
    pub no_stamp: u64,
    /// No socket on the frame's queue: passed to the stack.
    pub no_socket: u64,
    /// Mirror encapsulations addressed to the host itself, taken.
    pub mirror_tunnel: u64,
}

const COUNTERS: usize = 10;

impl XdpCounters {
    fn from_array(a: [u64; COUNTERS]) -> Self {
        let [frames, redirected, host, filtered, sampled_out, up_unparsed, trimmed, no_stamp, no_socket, mirror_tunnel] =
            a;
        Self {
            frames,
            redirected,
            host,
            filtered,
            sampled_out,
            up_unparsed,
            trimmed,
            no_stamp,
            no_socket,
            mirror_tunnel,
        }
    }

    /// The counters by name, in the order of the program's enum.
    pub fn named(&self) -> [(&'static str, u64); COUNTERS] {
        [
            ("frames", self.frames),
            ("redirected", self.redirected),
            ("host", self.host),
            ("filtered", self.filtered),
            ("sampled_out", self.sampled_out),
            ("up_unparsed", self.up_unparsed),
            ("trimmed", self.trimmed),
            ("no_stamp", self.no_stamp),
            ("no_socket", self.no_socket),
            ("mirror_tunnel", self.mirror_tunnel),
        ]
    }
}

/// What the program is told.
#[derive(Clone, Debug, Default)]
pub struct ProgramConfig {
    /// The interface's own MAC: frames to it are the host's.
    pub mac: [u8; 6],
    /// Every frame is mirrored traffic (a dedicated mirror port).
    pub take_all: bool,
    /// Frames the filters or the sample leave out: dropped in the kernel
    /// (true) or passed on to its stack.
    pub drop_filtered: bool,
    /// Longest frame a UMEM frame holds behind the stamp; longer frames
    /// are trimmed to it.
    pub max_len: u32,
    /// Keep one flow in `sample` (0 or 1: every flow).
    pub sample: u32,
    /// UDP destination ports user space decapsulates (VXLAN, Geneve,
    /// GRE-in-UDP): such frames go up whole, and to the host's own MAC
    /// they are mirror feeds.
    pub tunnel_ports: Vec<u16>,
    /// The operator's filters.
    pub filter: Filter,
}

/// A loaded program, attached or not.
pub struct XdpProgram {
    obj: NonNull<bpf::bpf_object>,
    prog_fd: RawFd,
    xsks: RawFd,
    counters: RawFd,
    link: Option<OwnedFd>,
    driver: bool,
    cpus: usize,
}

// SAFETY: after loading, the object is only read (map and program
// descriptors taken once) and closed in Drop; map access is by system call
// on descriptors, which the kernel serialises.
unsafe impl Send for XdpProgram {}
// SAFETY: as above: `&self` methods make only map system calls.
unsafe impl Sync for XdpProgram {}

fn errno_err(what: &str, rc: i32) -> io::Error {
    let e = io::Error::from_raw_os_error(rc.unsigned_abs() as i32);
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

fn map_fd(obj: NonNull<bpf::bpf_object>, name: &std::ffi::CStr) -> io::Result<RawFd> {
    // SAFETY: a loaded object and a NUL-terminated name.
    let m = unsafe { bpf::bpf_object__find_map_by_name(obj.as_ptr(), name.as_ptr()) };
    if m.is_null() {
        return Err(io::Error::other(format!(
            "XDP program: no map {name:?} (build mismatch)"
        )));
    }
    // SAFETY: a map of the loaded object.
    let fd = unsafe { bpf::bpf_map__fd(m) };
    if fd < 0 {
        return Err(errno_err("XDP program map", fd));
    }
    Ok(fd)
}

fn update<K, V>(fd: RawFd, k: &K, v: &V, what: &str) -> io::Result<()> {
    // SAFETY: key and value are plain data of the map's key and value size
    // (the program's layouts, mirrored above).
    let rc = unsafe {
        bpf::bpf_map_update_elem(
            fd,
            (k as *const K).cast(),
            (v as *const V).cast(),
            bpf::BPF_ANY as u64,
        )
    };
    if rc != 0 {
        return Err(errno_err(what, rc));
    }
    Ok(())
}

fn set_bit(map: &mut [u8; 32], n: u8) {
    map[usize::from(n >> 3)] |= 1 << (n & 7);
}

impl XdpProgram {
    /// Loads the program with an XSKMAP of `queues` entries and fills its
    /// maps. Errors name what failed (the verifier's refusal included).
    pub fn load(cfg: &ProgramConfig, queues: u32) -> io::Result<Self> {
        super::xdp::quiet_libraries();
        let tunnel_ports = cfg.tunnel_ports.len();
        if tunnel_ports > TUNNEL_PORTS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("at most {TUNNEL_PORTS} VXLAN, Geneve, GRE-in-UDP, GTP-U and VXLAN-GPE ports in all with AF_XDP ({tunnel_ports} given)"),
            ));
        }
        let f = &cfg.filter;
        for (what, list) in [
            ("--include-net", &f.include_net),
            ("--exclude-net", &f.exclude_net),
        ] {
            if list.len() > NETS {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "{what}: at most {NETS} networks with AF_XDP ({} given)",
                        list.len()
                    ),
                ));
            }
        }
        // SAFETY: the embedded object outlives the call (libbpf copies
        // what it keeps); default options.
        let obj = unsafe {
            bpf::bpf_object__open_mem(OBJECT.as_ptr().cast(), OBJECT.len() as _, std::ptr::null())
        };
        let obj = NonNull::new(obj)
            .ok_or_else(|| io::Error::other("XDP program: libbpf could not open the object"))?;
        let mut me = Self {
            obj,
            prog_fd: -1,
            xsks: -1,
            counters: -1,
            link: None,
            driver: false,
            // SAFETY: reads /sys/devices/system/cpu/possible.
            cpus: unsafe { bpf::libbpf_num_possible_cpus() }.max(1) as usize,
        };
        // SAFETY: an opened object; the name is NUL-terminated.
        let xsks = unsafe { bpf::bpf_object__find_map_by_name(obj.as_ptr(), c"wl_xsks".as_ptr()) };
        if xsks.is_null() {
            return Err(io::Error::other("XDP program: no XSKMAP (build mismatch)"));
        }
        // SAFETY: a map of an opened, not yet loaded object.
        let rc = unsafe { bpf::bpf_map__set_max_entries(xsks, queues.max(1)) };
        if rc != 0 {
            return Err(errno_err("XDP program: XSKMAP size", rc));
        }
        // SAFETY: an opened object, loaded once.
        let rc = unsafe { bpf::bpf_object__load(obj.as_ptr()) };
        if rc != 0 {
            let e = io::Error::from_raw_os_error(rc.unsigned_abs() as i32);
            let hint = match e.kind() {
                io::ErrorKind::PermissionDenied => {
                    " (loading it needs cap_bpf, cap_perfmon and cap_net_admin, or root)"
                }
                _ => "",
            };
            return Err(io::Error::new(
                e.kind(),
                format!("loading wirelog's XDP program: {e}{hint}"),
            ));
        }
        // SAFETY: a loaded object; the name is NUL-terminated.
        let prog =
            unsafe { bpf::bpf_object__find_program_by_name(obj.as_ptr(), c"wirelog_xdp".as_ptr()) };
        if prog.is_null() {
            return Err(io::Error::other("XDP program: no program (build mismatch)"));
        }
        // SAFETY: a program of the loaded object.
        me.prog_fd = unsafe { bpf::bpf_program__fd(prog) };
        me.xsks = map_fd(obj, c"wl_xsks")?;
        me.counters = map_fd(obj, c"wl_counters")?;
        me.fill(cfg)?;
        Ok(me)
    }

    fn fill(&self, cfg: &ProgramConfig) -> io::Result<()> {
        let f = &cfg.filter;
        let mut c = WlConfig {
            mac: cfg.mac,
            take_all: cfg.take_all.into(),
            drop_filtered: cfg.drop_filtered.into(),
            max_len: cfg.max_len,
            sample: cfg.sample,
            lists: 0,
            tunnel_ports: [0; TUNNEL_PORTS],
            n_tunnel_ports: cfg.tunnel_ports.len() as u32,
            include_proto: [0; 32],
            exclude_proto: [0; 32],
        };
        c.tunnel_ports[..cfg.tunnel_ports.len()].copy_from_slice(&cfg.tunnel_ports);
        let obj = self.obj;
        let nets = [
            (&f.include_net, F_INC_NET, c"wl_inc4", c"wl_inc6"),
            (&f.exclude_net, F_EXC_NET, c"wl_exc4", c"wl_exc6"),
        ];
        for (list, flag, v4, v6) in nets {
            if list.is_empty() {
                continue;
            }
            c.lists |= flag;
            let (fd4, fd6) = (map_fd(obj, v4)?, map_fd(obj, v6)?);
            for cidr in list {
                let (addr, is6, len) = cidr.parts();
                // The trie compares `len` bits; the rest are cleared so
                // equal prefixes written differently are one entry.
                let mut a = *addr;
                for (i, b) in a.iter_mut().enumerate() {
                    let keep = usize::from(len).saturating_sub(i * 8).min(8);
                    *b &= !(0xffu16 >> keep) as u8;
                }
                if is6 {
                    #[repr(C)]
                    struct K6(u32, [u8; 16]);
                    update(fd6, &K6(u32::from(len), a), &1u8, "network filter")?;
                } else {
                    #[repr(C)]
                    struct K4(u32, [u8; 4]);
                    let k = K4(u32::from(len), [a[0], a[1], a[2], a[3]]);
                    update(fd4, &k, &1u8, "network filter")?;
                }
            }
        }
        if let Some(v) = f
            .include_vlan
            .iter()
            .chain(&f.exclude_vlan)
            .find(|v| **v > 0x0fff)
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("VLAN {v} is out of range (0-4095)"),
            ));
        }
        let keyed = [
            (
                c"wl_ports",
                &f.include_port,
                &f.exclude_port,
                F_INC_PORT,
                F_EXC_PORT,
                "port filter",
            ),
            (
                c"wl_vlans",
                &f.include_vlan,
                &f.exclude_vlan,
                F_INC_VLAN,
                F_EXC_VLAN,
                "VLAN filter",
            ),
        ];
        for (map, inc, exc, f_inc, f_exc, what) in keyed {
            let fd = map_fd(obj, map)?;
            // One entry per key: which of the two lists name it.
            let mut flags = std::collections::BTreeMap::<u16, u8>::new();
            for (list, flag, bit) in [(inc, f_inc, IN), (exc, f_exc, EX)] {
                if !list.is_empty() {
                    c.lists |= flag;
                }
                for &k in list.iter() {
                    *flags.entry(k).or_default() |= bit;
                }
            }
            for (k, v) in flags {
                update(fd, &u32::from(k), &v, what)?;
            }
        }
        if !f.include_proto.is_empty() {
            c.lists |= F_INC_PROTO;
        }
        if !f.exclude_proto.is_empty() {
            c.lists |= F_EXC_PROTO;
        }
        for &p in &f.include_proto {
            set_bit(&mut c.include_proto, p);
        }
        for &p in &f.exclude_proto {
            set_bit(&mut c.exclude_proto, p);
        }
        update(
            map_fd(obj, c"wl_config")?,
            &0u32,
            &c,
            "XDP program settings",
        )
    }

    /// Puts an AF_XDP socket in the XSKMAP at `queue`.
    pub fn register(&self, queue: u32, xsk_fd: RawFd) -> io::Result<()> {
        update(
            self.xsks,
            &queue,
            &(xsk_fd as u32),
            "registering the AF_XDP socket",
        )
    }

    /// Attaches the program to `ifindex` (`ifname` for messages) in the
    /// mode asked for: `Auto` tries driver mode, then SKB. Another XDP
    /// program on the interface is an error that says so; nothing is ever
    /// detached or replaced.
    pub fn attach(&mut self, ifindex: u32, ifname: &str, mode: AttachMode) -> io::Result<()> {
        let tries: &[(u32, bool)] = match mode {
            AttachMode::Auto => &[(XDP_FLAGS_DRV_MODE, true), (XDP_FLAGS_SKB_MODE, false)],
            AttachMode::Drv => &[(XDP_FLAGS_DRV_MODE, true)],
            AttachMode::Skb => &[(XDP_FLAGS_SKB_MODE, false)],
        };
        let mut last = 0;
        for &(flags, driver) in tries {
            // SAFETY: plain data; zero is a valid start.
            let mut opts: bpf::bpf_link_create_opts = unsafe { std::mem::zeroed() };
            opts.sz = std::mem::size_of::<bpf::bpf_link_create_opts>() as _;
            opts.flags = flags;
            // SAFETY: a loaded XDP program, an interface index, valid options.
            let fd =
                unsafe { bpf::bpf_link_create(self.prog_fd, ifindex as i32, bpf::BPF_XDP, &opts) };
            if fd >= 0 {
                // SAFETY: a fresh descriptor the call gave us alone.
                self.link = Some(unsafe { OwnedFd::from_raw_fd(fd) });
                self.driver = driver;
                return Ok(());
            }
            last = fd;
            let e = fd.unsigned_abs() as i32;
            if e == libc::EBUSY || e == libc::EEXIST {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("{ifname} already has an XDP program attached (another wirelog capture, or one loaded with `ip link` or xdp-loader; `ip link show dev {ifname}` names it): wirelog does not replace it"),
                ));
            }
        }
        let what = match mode {
            AttachMode::Drv => "in driver mode (try --xdp-mode skb)",
            AttachMode::Skb => "in SKB mode",
            AttachMode::Auto => "in driver or SKB mode",
        };
        Err(errno_err(
            &format!("{ifname}: attaching the XDP program {what}"),
            last,
        ))
    }

    /// Whether the program runs in driver (native) mode.
    pub fn driver_mode(&self) -> bool {
        self.driver
    }

    /// The counters, summed over CPUs.
    pub fn counters(&self) -> io::Result<XdpCounters> {
        let mut a = [0u64; COUNTERS];
        let mut per_cpu = vec![0u64; self.cpus];
        for (i, slot) in a.iter_mut().enumerate() {
            let k = i as u32;
            // SAFETY: a per-CPU array of u64 values: the kernel writes one
            // per possible CPU, which `per_cpu` holds.
            let rc = unsafe {
                bpf::bpf_map_lookup_elem(
                    self.counters,
                    (&k as *const u32).cast(),
                    per_cpu.as_mut_ptr().cast(),
                )
            };
            if rc != 0 {
                return Err(errno_err("XDP program counters", rc));
            }
            *slot = per_cpu.iter().sum();
        }
        Ok(XdpCounters::from_array(a))
    }

    /// Runs the program once on `frame` in the kernel (`BPF_PROG_TEST_RUN`),
    /// without attaching it: the action and the bytes it left (a redirect
    /// is not carried out). For tests of the program itself.
    #[cfg(test)]
    fn test_run(&self, frame: &[u8]) -> io::Result<(u32, Vec<u8>)> {
        let mut out = vec![0u8; frame.len() + 256];
        let mut o = bpf::bpf_test_run_opts {
            sz: std::mem::size_of::<bpf::bpf_test_run_opts>() as _,
            data_in: frame.as_ptr().cast(),
            data_out: out.as_mut_ptr().cast(),
            data_size_in: frame.len() as u32,
            data_size_out: out.len() as u32,
            repeat: 1,
            ..Default::default()
        };
        // SAFETY: input and output buffers of the sizes given.
        let rc = unsafe { bpf::bpf_prog_test_run_opts(self.prog_fd, &mut o) };
        if rc != 0 {
            return Err(errno_err("BPF_PROG_TEST_RUN", rc));
        }
        out.truncate(o.data_size_out as usize);
        Ok((o.retval, out))
    }
}

impl Drop for XdpProgram {
    fn drop(&mut self) {
        // Closing the link detaches the program.
        self.link.take();
        // SAFETY: the object this value opened, closed once.
        unsafe { bpf::bpf_object__close(self.obj.as_ptr()) };
    }
}

#[cfg(test)]
mod tests;
