//! What a live capture asks the kernel about an interface and about the
//! process before it starts: index, state, link type, queue count,
//! capabilities, the locked-memory limit, its own MAC and the host's
//! addresses on it. Each failure carries
//! what to do about it, in one line.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::LinkType;
use crate::sys::cvt;

fn err(kind: io::ErrorKind, msg: String) -> io::Error {
    io::Error::new(kind, msg)
}

/// The interface index of `name`.
pub fn index(name: &str) -> io::Result<u32> {
    let c = CString::new(name).map_err(|_| {
        err(
            io::ErrorKind::InvalidInput,
            format!("bad interface name `{name}`"),
        )
    })?;
    // SAFETY: `c` is a valid NUL-terminated string.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if i == 0 {
        return Err(err(
            io::ErrorKind::NotFound,
            format!("interface `{name}` does not exist here (`ip link show` lists this namespace's interfaces)"),
        ));
    }
    Ok(i)
}

fn ifreq(name: &str) -> io::Result<libc::ifreq> {
    // SAFETY: ifreq is plain data; zero is a valid start.
    let mut r: libc::ifreq = unsafe { std::mem::zeroed() };
    let b = name.as_bytes();
    if b.len() >= r.ifr_name.len() {
        return Err(err(
            io::ErrorKind::InvalidInput,
            format!("interface name `{name}` is too long"),
        ));
    }
    for (d, s) in r.ifr_name.iter_mut().zip(b) {
        *d = *s as libc::c_char;
    }
    Ok(r)
}

fn dgram() -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2), checked.
    let fd = cvt(unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Interface flags (IFF_*).
pub fn flags(name: &str) -> io::Result<u32> {
    let s = dgram()?;
    let mut r = ifreq(name)?;
    // SAFETY: SIOCGIFFLAGS reads the name and writes ifru_flags of `r`.
    cvt(unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCGIFFLAGS, &mut r) })?;
    // SAFETY: the kernel filled the flags member of the union.
    Ok(unsafe { r.ifr_ifru.ifru_flags } as u16 as u32)
}

/// Fails unless the interface exists and is up.
pub fn check_up(name: &str) -> io::Result<()> {
    index(name)?;
    let f = flags(name)?;
    if f & libc::IFF_UP as u32 == 0 {
        return Err(err(
            io::ErrorKind::NotConnected,
            format!("interface `{name}` is down: bring it up with `ip link set {name} up`"),
        ));
    }
    Ok(())
}

/// Link type of frames captured on `name`, from its ARPHRD type.
pub fn link_type(name: &str) -> io::Result<LinkType> {
    let s = dgram()?;
    let mut r = ifreq(name)?;
    // SAFETY: SIOCGIFHWADDR reads the name and writes ifru_hwaddr.
    cvt(unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCGIFHWADDR, &mut r) })?;
    // SAFETY: the kernel filled the hwaddr member of the union.
    let fam = unsafe { r.ifr_ifru.ifru_hwaddr.sa_family };
    Ok(match fam {
        libc::ARPHRD_ETHER | libc::ARPHRD_LOOPBACK => LinkType::Ethernet,
        libc::ARPHRD_NONE | libc::ARPHRD_TUNNEL | libc::ARPHRD_TUNNEL6 | libc::ARPHRD_IPGRE => {
            LinkType::Raw
        }
        other => LinkType::Other(u32::from(other)),
    })
}

#[repr(C)]
#[derive(Default)]
struct EthtoolChannels {
    cmd: u32,
    max_rx: u32,
    max_tx: u32,
    max_other: u32,
    max_combined: u32,
    rx_count: u32,
    tx_count: u32,
    other_count: u32,
    combined_count: u32,
}
const ETHTOOL_GCHANNELS: u32 = 0x3c;

/// Receive queues of the interface: ethtool's channel count, else sysfs,
/// else one.
pub fn rx_queues(name: &str) -> io::Result<u32> {
    let s = dgram()?;
    let mut r = ifreq(name)?;
    let mut ch = EthtoolChannels {
        cmd: ETHTOOL_GCHANNELS,
        ..Default::default()
    };
    r.ifr_ifru.ifru_data = (&mut ch as *mut EthtoolChannels).cast();
    // SAFETY: SIOCETHTOOL with ETHTOOL_GCHANNELS fills `ch`, which outlives the call.
    if unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCETHTOOL, &mut r) } == 0 {
        let n = ch.combined_count.max(ch.rx_count);
        if n > 0 {
            return Ok(n);
        }
    }
    let n = std::fs::read_dir(format!("/sys/class/net/{name}/queues"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with("rx-"))
                .count() as u32
        })
        .unwrap_or(0);
    Ok(n.max(1))
}

/// Binds an AF_PACKET socket to `ifindex` for every EtherType.
pub fn bind_packet(fd: RawFd, ifindex: u32) -> io::Result<()> {
    // SAFETY: sockaddr_ll is plain data; zero is a valid start.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: `sll` is a valid sockaddr_ll of the length passed.
    cvt(unsafe {
        libc::bind(
            fd,
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// Adds a promiscuous membership on `ifindex` to an AF_PACKET socket. The
/// kernel counts memberships and removes ours when the socket closes.
pub fn add_promisc_membership(fd: RawFd, ifindex: u32) -> io::Result<()> {
    let m = libc::packet_mreq {
        mr_ifindex: ifindex as i32,
        mr_type: libc::PACKET_MR_PROMISC as u16,
        mr_alen: 0,
        mr_address: [0; 8],
    };
    // SAFETY: `m` is a valid packet_mreq of the size passed.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_ADD_MEMBERSHIP,
            (&m as *const libc::packet_mreq).cast(),
            std::mem::size_of::<libc::packet_mreq>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// An AF_PACKET socket that receives nothing and only holds the
/// interface in promiscuous mode while it lives (for AF_XDP, which has no
/// membership of its own).
pub struct PromiscGuard(#[allow(dead_code)] OwnedFd);

impl PromiscGuard {
    /// Takes a promiscuous membership on `name`.
    pub fn new(name: &str) -> io::Result<Self> {
        let ifindex = index(name)?;
        // Never bound: it gets no frame, it only holds the membership.
        let fd = crate::sys::packet_socket()?;
        add_promisc_membership(fd.as_raw_fd(), ifindex)?;
        Ok(Self(fd))
    }
}

/// Waits until `fd` is readable or `timeout_us` passes.
pub fn wait_readable(fd: RawFd, timeout_us: u32) -> io::Result<()> {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ts = libc::timespec {
        tv_sec: libc::time_t::from(timeout_us / 1_000_000),
        tv_nsec: libc::c_long::from(timeout_us % 1_000_000) * 1000,
    };
    // SAFETY: one valid pollfd and a valid timespec; no signal mask change.
    let r = unsafe { libc::ppoll(&mut p, 1, &ts, std::ptr::null()) };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    Ok(())
}

/// Linux capabilities a capture needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cap {
    /// Opening AF_PACKET and AF_XDP sockets.
    NetRaw = 13,
    /// Attaching XDP programs, promiscuous mode.
    NetAdmin = 12,
    /// Loading BPF programs and maps.
    Bpf = 39,
    /// Variable-offset packet pointers in a BPF program (the verifier's
    /// Spectre v1 hardening refuses them to a loader without it).
    Perfmon = 38,
    /// Fallback for CAP_BPF on older kernels.
    SysAdmin = 21,
    /// Locking memory beyond RLIMIT_MEMLOCK.
    IpcLock = 14,
}

/// Whether the process has `cap` in its effective set.
pub fn has_cap(cap: Cap) -> bool {
    let Ok(s) = std::fs::read_to_string("/proc/self/status") else {
        return true;
    };
    let eff = s
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(u64::MAX);
    eff & (1u64 << cap as u32) != 0
}

/// Checks the capabilities an AF_XDP (`xdp`) or AF_PACKET capture needs.
pub fn check_caps(xdp: bool) -> io::Result<()> {
    let mut missing = Vec::new();
    if !has_cap(Cap::NetRaw) {
        missing.push("cap_net_raw");
    }
    if !has_cap(Cap::NetAdmin) {
        missing.push("cap_net_admin");
    }
    if xdp && !has_cap(Cap::Bpf) && !has_cap(Cap::SysAdmin) {
        missing.push("cap_bpf");
    }
    // wirelog's XDP program parses headers of variable length; without
    // CAP_PERFMON the verifier refuses it with a bare EACCES.
    if xdp && !has_cap(Cap::Perfmon) && !has_cap(Cap::SysAdmin) {
        missing.push("cap_perfmon");
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(err(
        io::ErrorKind::PermissionDenied,
        format!(
            "missing capabilities {}: run as root or grant them with `setcap {}+ep $(command -v wirelog)`",
            missing.join(", "),
            missing.join(",")
        ),
    ))
}

/// Makes sure `bytes` of memory can be locked (AF_XDP pins its UMEM):
/// raises the soft RLIMIT_MEMLOCK up to the hard limit when needed.
pub fn ensure_memlock(bytes: u64) -> io::Result<()> {
    if has_cap(Cap::IpcLock) {
        return Ok(());
    }
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `r` is writable.
    cvt(unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut r) })?;
    if r.rlim_cur == libc::RLIM_INFINITY || r.rlim_cur >= bytes {
        return Ok(());
    }
    if r.rlim_max == libc::RLIM_INFINITY || r.rlim_max >= bytes {
        let n = libc::rlimit {
            rlim_cur: bytes.max(r.rlim_cur),
            rlim_max: r.rlim_max,
        };
        // SAFETY: `n` is a valid rlimit.
        if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &n) } == 0 {
            return Ok(());
        }
    }
    Err(err(
        io::ErrorKind::PermissionDenied,
        format!(
            "RLIMIT_MEMLOCK is {} KiB but the AF_XDP UMEM needs {} KiB locked: raise it (`ulimit -l {}`, or LimitMEMLOCK= in the unit) or grant cap_ipc_lock",
            r.rlim_cur >> 10,
            bytes >> 10,
            bytes.div_ceil(1024)
        ),
    ))
}

/// The interface's own hardware address (`/sys/class/net/IF/address`).
pub fn mac(name: &str) -> io::Result<[u8; 6]> {
    let s = std::fs::read_to_string(format!("/sys/class/net/{name}/address"))
        .map_err(|e| err(e.kind(), format!("{name}: hardware address: {e}")))?;
    let mut m = [0u8; 6];
    let mut parts = s.trim().split(':');
    for b in m.iter_mut() {
        *b = parts
            .next()
            .and_then(|p| u8::from_str_radix(p, 16).ok())
            .ok_or_else(|| {
                err(
                    io::ErrorKind::InvalidData,
                    format!("{name}: `{}` is not an Ethernet address", s.trim()),
                )
            })?;
    }
    Ok(m)
}

/// The host's addresses on the interface: IPv4, and IPv6 other than
/// link-local (every interface that is up has one of those, a dedicated
/// mirror port too; the host's sessions do not run over it).
pub fn host_addresses(name: &str) -> io::Result<Vec<std::net::IpAddr>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list head we free below.
    cvt(unsafe { libc::getifaddrs(&mut head) })?;
    let mut out = Vec::new();
    let mut p = head;
    while !p.is_null() {
        // SAFETY: `p` is a node of the list getifaddrs returned, alive
        // until freeifaddrs.
        let a = unsafe { &*p };
        p = a.ifa_next;
        if a.ifa_addr.is_null() || a.ifa_name.is_null() {
            continue;
        }
        // SAFETY: a NUL-terminated name owned by the list.
        let n = unsafe { std::ffi::CStr::from_ptr(a.ifa_name) };
        if n.to_bytes() != name.as_bytes() {
            continue;
        }
        // SAFETY: ifa_addr points at a sockaddr whose family says its type.
        match i32::from(unsafe { (*a.ifa_addr).sa_family }) {
            libc::AF_INET => {
                // SAFETY: the family is AF_INET, so it is a sockaddr_in.
                let s = unsafe { &*(a.ifa_addr as *const libc::sockaddr_in) };
                out.push(std::net::Ipv4Addr::from(u32::from_be(s.sin_addr.s_addr)).into());
            }
            libc::AF_INET6 => {
                // SAFETY: the family is AF_INET6, so it is a sockaddr_in6.
                let s = unsafe { &*(a.ifa_addr as *const libc::sockaddr_in6) };
                let v6 = std::net::Ipv6Addr::from(s.sin6_addr.s6_addr);
                if v6.segments()[0] & 0xffc0 != 0xfe80 {
                    out.push(v6.into());
                }
            }
            _ => {}
        }
    }
    // SAFETY: the head getifaddrs returned, freed once.
    unsafe { libc::freeifaddrs(head) };
    Ok(out)
}

/// Frames the interface itself dropped on receive (`rx_dropped` plus
/// `rx_missed_errors`, the `drop` column of /proc/net/dev, which shows the
/// caller's network namespace): losses before any socket saw the frame.
pub fn rx_drops(name: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/net/dev").ok()?;
    s.lines().find_map(|l| {
        let (n, rest) = l.split_once(':')?;
        if n.trim() != name {
            return None;
        }
        // bytes packets errs drop ...
        rest.split_whitespace().nth(3)?.parse().ok()
    })
}

/// Free bytes of the huge page pool (`vm.nr_hugepages`), and the page size.
pub fn hugetlb_free() -> (u64, u64) {
    let Ok(s) = std::fs::read_to_string("/proc/meminfo") else {
        return (0, 0);
    };
    let field = |k: &str| -> u64 {
        s.lines()
            .find_map(|l| l.strip_prefix(k))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    let size = field("Hugepagesize:") * 1024;
    (field("HugePages_Free:") * size, size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_known_and_missing_is_named() {
        assert!(index("lo").unwrap() > 0);
        assert_eq!(link_type("lo").unwrap(), LinkType::Ethernet);
        assert!(rx_queues("lo").unwrap() >= 1);
        assert!(rx_drops("lo").is_some());
        assert!(rx_drops("wl-no-such0").is_none());
        assert_eq!(mac("lo").unwrap(), [0; 6]);
        let lo = host_addresses("lo").unwrap();
        assert!(lo.contains(&std::net::Ipv4Addr::LOCALHOST.into()), "{lo:?}");
        assert!(mac("wl-no-such0").is_err());
        let e = index("wl-no-such0").unwrap_err().to_string();
        assert!(e.contains("does not exist"), "{e}");
        let e = check_up("wl-no-such0").unwrap_err().to_string();
        assert!(e.contains("does not exist"), "{e}");
    }
}
