//! The syscalls under [`super::Ethtool`], and the only unsafe code of the
//! ethtool module: a generic netlink socket (send a request, receive
//! datagrams) and an `AF_INET` datagram socket for `SIOCETHTOOL` and
//! `SIOCGIFINDEX`. Both sockets belong to the network namespace of the
//! thread that opened them and close on drop.
//!
//! Invariant: every pointer handed to the kernel points into a live Rust
//! buffer of at least the length passed with it, for the whole call.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// How long a netlink answer may take before the request fails with
/// `TimedOut` instead of hanging `wirelog tune`.
const RECV_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest datagram wirelog accepts (the kernel's replies for one device
/// are a few KiB).
const MAX_DATAGRAM: usize = 1 << 20;

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn socket(domain: libc::c_int, ty: libc::c_int, proto: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: socket(2) takes no pointers; a non-negative return is a new
    // descriptor that nothing else owns.
    let fd = check(unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, proto) })?;
    // SAFETY: `fd` was just returned by socket(2) and is owned only here.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn setsockopt<T>(fd: &OwnedFd, level: libc::c_int, name: libc::c_int, v: &T) -> io::Result<()> {
    // SAFETY: `v` is a live value of `size_of::<T>()` bytes for the call.
    check(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (v as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// A `NETLINK_GENERIC` socket with extended acks on.
pub(crate) struct NlSocket {
    fd: OwnedFd,
}

impl NlSocket {
    pub(crate) fn open() -> io::Result<NlSocket> {
        let fd = socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_GENERIC)?;
        let on: libc::c_int = 1;
        // The kernel's error text ("requested channel count exceeds
        // maximum") comes only with extended acks.
        setsockopt(&fd, libc::SOL_NETLINK, libc::NETLINK_EXT_ACK, &on)?;
        // Errors need not echo the whole request back.
        setsockopt(&fd, libc::SOL_NETLINK, libc::NETLINK_CAP_ACK, &on)?;
        let tv = libc::timeval {
            tv_sec: RECV_TIMEOUT.as_secs() as libc::time_t,
            tv_usec: 0,
        };
        setsockopt(&fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO, &tv)?;
        Ok(NlSocket { fd })
    }

    /// Sends one request to the kernel.
    pub(crate) fn send(&self, msg: &[u8]) -> io::Result<()> {
        // SAFETY: all-zero is a valid sockaddr_nl (integers only); pid 0
        // and no groups address the kernel.
        let mut to: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        to.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: `msg` and `to` are live for the call with the lengths
        // passed.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                msg.as_ptr().cast(),
                msg.len(),
                0,
                (&to as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n as usize != msg.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "netlink request sent in part",
            ));
        }
        Ok(())
    }

    /// Receives one datagram whole: its size is peeked first, so a reply
    /// larger than a guessed buffer is never cut.
    pub(crate) fn recv(&self, buf: &mut Vec<u8>) -> io::Result<()> {
        buf.resize(buf.capacity().max(8192), 0);
        // SAFETY: `buf` is live and `buf.len()` bytes long for the call.
        let want = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_PEEK | libc::MSG_TRUNC,
            )
        };
        if want < 0 {
            return Err(io::Error::last_os_error());
        }
        let want = want as usize;
        if want > MAX_DATAGRAM {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "netlink datagram larger than 1 MiB",
            ));
        }
        buf.resize(want.max(buf.len()), 0);
        // SAFETY: as above, with the buffer grown to hold the datagram.
        let n = unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        buf.truncate(n as usize);
        Ok(())
    }
}

/// An `AF_INET` datagram socket: the handle `SIOCETHTOOL` and
/// `SIOCGIFINDEX` are asked through.
pub(crate) struct InetSocket {
    fd: OwnedFd,
}

/// An interface name as `struct ifreq` holds it: at most 15 bytes and no
/// NUL, else `InvalidInput` (the kernel would refuse it or read another
/// device's name).
pub(crate) fn check_ifname(ifname: &str) -> io::Result<()> {
    if ifname.is_empty() || ifname.len() >= libc::IFNAMSIZ || ifname.contains('\0') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{ifname:?} is not an interface name (1 to 15 bytes, no NUL)"),
        ));
    }
    Ok(())
}

fn ifreq(ifname: &str) -> io::Result<libc::ifreq> {
    check_ifname(ifname)?;
    // SAFETY: all-zero is a valid ifreq (bytes, integers and a raw
    // pointer in a union).
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in ifr.ifr_name.iter_mut().zip(ifname.bytes()) {
        *d = s as libc::c_char;
    }
    Ok(ifr)
}

impl InetSocket {
    pub(crate) fn open() -> io::Result<InetSocket> {
        Ok(InetSocket {
            fd: socket(libc::AF_INET, libc::SOCK_DGRAM, 0)?,
        })
    }

    /// `SIOCETHTOOL` on `ifname` with `buf`, an ethtool struct whose first
    /// word is the command; the kernel reads it and writes its answer back
    /// into it.
    pub(crate) fn ethtool(&self, ifname: &str, buf: &mut [u8]) -> io::Result<()> {
        let mut ifr = ifreq(ifname)?;
        ifr.ifr_ifru.ifru_data = buf.as_mut_ptr().cast();
        // SAFETY: `ifr` is a live ifreq; its data pointer is `buf`, live
        // and exclusively borrowed for the call, and at least as long as
        // the struct its command makes the kernel read and write (the
        // callers build it with the encoders of `ioctl.rs`).
        check(unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::SIOCETHTOOL, &mut ifr) }).map(drop)
    }

    /// The ifindex of `ifname` in this socket's namespace.
    pub(crate) fn ifindex(&self, ifname: &str) -> io::Result<u32> {
        let mut ifr = ifreq(ifname)?;
        // SAFETY: `ifr` is a live ifreq the kernel fills in place.
        check(unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::SIOCGIFINDEX, &mut ifr) })?;
        // SAFETY: SIOCGIFINDEX succeeded, so the kernel wrote the index
        // member of the union.
        let index = unsafe { ifr.ifr_ifru.ifru_ifindex };
        Ok(index as u32)
    }
}
