//! AF_PACKET capture with a TPACKET_V3 ring.
//!
//! The kernel fills fixed-size blocks of a ring shared with us (mapped with
//! memmap2); each block holds many frames with a per-packet kernel
//! timestamp. A batch lends the frames of one block, zero copy, and the
//! block goes back to the kernel at the next call. Several sockets on one
//! interface join a `PACKET_FANOUT_HASH` group (with the defrag flag, so the
//! fragments of a datagram meet on one socket): the kernel's flow hash is
//! symmetric, so both directions of a flow reach the same worker.
//!
//! The socket also holds a `PACKET_MR_PROMISC` membership, which the kernel
//! drops when the socket closes: a mirror port sees frames addressed to
//! other hosts.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{fence, Ordering};

use memmap2::{MmapOptions, MmapRaw};

use super::iface;
use super::{Batch, Capture, FrameDesc, LinkType, Poll, SourceStats};
use crate::sys::{cvt, packet_socket, setsockopt};

/// Not in libc yet: do not deliver frames this host sends.
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;
const TPACKET_V3: libc::c_int = 2;
const TP_STATUS_VLAN_VALID: u32 = 1 << 4;
const TP_STATUS_VLAN_TPID_VALID: u32 = 1 << 6;

/// Ring geometry of one socket.
#[derive(Clone, Debug)]
pub struct PacketConfig {
    /// Interface name.
    pub ifname: String,
    /// Block size in bytes (a power of two, at least a page).
    pub block_size: u32,
    /// Blocks in the ring.
    pub blocks: u32,
    /// A partly filled block is handed over after this many ms.
    pub block_timeout_ms: u32,
    /// Fanout group id (sockets sharing an interface use one id); `None`
    /// for a lone socket.
    pub fanout: Option<u16>,
}

impl PacketConfig {
    /// Ring bytes of one socket.
    pub fn ring_bytes(&self) -> usize {
        self.block_size as usize * self.blocks as usize
    }
}

/// One AF_PACKET socket and its ring.
pub struct PacketSource {
    fd: OwnedFd,
    ring: MmapRaw,
    block_size: usize,
    blocks: usize,
    link: LinkType,
    /// Block being read.
    cur: usize,
    /// Frames of the current block not yet lent, and where the next is.
    left: u32,
    next_off: usize,
    /// The current block was entered and must go back once read.
    open: bool,
    stats: SourceStats,
}

impl PacketSource {
    /// Opens, binds and maps a socket on `cfg.ifname`.
    pub fn open(cfg: &PacketConfig) -> io::Result<Self> {
        let ifindex = iface::index(&cfg.ifname)?;
        let link = iface::link_type(&cfg.ifname)?;
        // The socket takes no frame until it is bound to the interface
        // (with ETH_P_ALL), so nothing from another interface slips into
        // the ring in between.
        let fd = packet_socket()?;
        setsockopt(&fd, libc::SOL_PACKET, libc::PACKET_VERSION, &TPACKET_V3)?;
        let block_size = cfg.block_size.max(4096).next_power_of_two();
        let frame = 2048u32;
        let req = libc::tpacket_req3 {
            tp_block_size: block_size,
            tp_block_nr: cfg.blocks.max(2),
            tp_frame_size: frame,
            tp_frame_nr: block_size / frame * cfg.blocks.max(2),
            tp_retire_blk_tov: cfg.block_timeout_ms.max(1),
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        setsockopt(&fd, libc::SOL_PACKET, libc::PACKET_RX_RING, &req).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "{}: AF_PACKET ring of {} blocks: {e}",
                    cfg.ifname, req.tp_block_nr
                ),
            )
        })?;
        // Older kernels lack it; frames we send would only add noise.
        let _ = setsockopt(
            &fd,
            libc::SOL_PACKET,
            PACKET_IGNORE_OUTGOING,
            &1 as &libc::c_int,
        );
        let len = block_size as usize * req.tp_block_nr as usize;
        let ring = MmapOptions::new().len(len).map_raw(fd.as_raw_fd())?;
        iface::bind_packet(fd.as_raw_fd(), ifindex)?;
        iface::add_promisc_membership(fd.as_raw_fd(), ifindex)?;
        if let Some(group) = cfg.fanout {
            let mode = libc::PACKET_FANOUT_HASH | libc::PACKET_FANOUT_FLAG_DEFRAG;
            let v: u32 = u32::from(group) | (mode << 16);
            setsockopt(&fd, libc::SOL_PACKET, libc::PACKET_FANOUT, &v)
                .map_err(|e| io::Error::new(e.kind(), format!("PACKET_FANOUT: {e}")))?;
        }
        Ok(Self {
            fd,
            ring,
            block_size: block_size as usize,
            blocks: req.tp_block_nr as usize,
            link,
            cur: 0,
            left: 0,
            next_off: 0,
            open: false,
            stats: SourceStats::default(),
        })
    }

    fn block(&self, i: usize) -> *mut libc::tpacket_block_desc {
        // SAFETY: i < blocks, so the offset stays inside the mapping.
        unsafe { self.ring.as_mut_ptr().add(i * self.block_size).cast() }
    }

    fn status(&self, i: usize) -> u32 {
        // SAFETY: the block header lies inside the mapping; the kernel writes
        // it concurrently, hence the volatile read and the fence after.
        let s =
            unsafe { std::ptr::addr_of!((*self.block(i)).hdr.bh1.block_status).read_volatile() };
        fence(Ordering::Acquire);
        s
    }

    /// Hands the current block back to the kernel.
    fn release(&mut self) {
        if self.open {
            fence(Ordering::Release);
            // SAFETY: we own the block (its status said TP_STATUS_USER) and no
            // frame of it is lent any more.
            unsafe {
                std::ptr::addr_of_mut!((*self.block(self.cur)).hdr.bh1.block_status)
                    .write_volatile(libc::TP_STATUS_KERNEL)
            };
            self.open = false;
            self.cur = (self.cur + 1) % self.blocks;
        }
    }

    /// The kernel's counters, added up (reading them resets them).
    fn read_kernel_stats(&mut self) -> io::Result<()> {
        let mut st = libc::tpacket_stats_v3 {
            tp_packets: 0,
            tp_drops: 0,
            tp_freeze_q_cnt: 0,
        };
        let mut len = std::mem::size_of::<libc::tpacket_stats_v3>() as libc::socklen_t;
        // SAFETY: `st` is writable for `len` bytes.
        cvt(unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut st as *mut libc::tpacket_stats_v3).cast(),
                &mut len,
            )
        })?;
        self.stats.kernel_drops += u64::from(st.tp_drops);
        self.stats.kernel_freeze_q += u64::from(st.tp_freeze_q_cnt);
        Ok(())
    }
}

impl Capture for PacketSource {
    type Error = io::Error;

    fn next_batch(&mut self, batch: &mut Batch) -> io::Result<Poll> {
        batch.clear();
        if self.open && self.left == 0 {
            self.release();
        }
        if !self.open {
            if self.status(self.cur) & libc::TP_STATUS_USER == 0 {
                return Ok(Poll::Frames);
            }
            let b = self.block(self.cur);
            // SAFETY: the block is ours (TP_STATUS_USER); its header is in the mapping.
            let (n, first) = unsafe { ((*b).hdr.bh1.num_pkts, (*b).hdr.bh1.offset_to_first_pkt) };
            self.open = true;
            self.left = n;
            self.next_off = first as usize;
        }
        let base = self.cur * self.block_size;
        while self.left > 0 && !batch.is_full() {
            let off = base + self.next_off;
            // SAFETY: the kernel wrote a tpacket3_hdr at this offset inside the
            // block we own; offsets it gives stay inside the block.
            let h = unsafe { &*self.ring.as_ptr().add(off).cast::<libc::tpacket3_hdr>() };
            let mut mac = off + h.tp_mac as usize;
            let mut cap = h.tp_snaplen;
            let mut wire = h.tp_len;
            if h.tp_status & TP_STATUS_VLAN_VALID != 0
                && self.link == LinkType::Ethernet
                && h.tp_snaplen >= 12
                && h.tp_mac as usize >= std::mem::size_of::<libc::tpacket3_hdr>() + 4
            {
                // The kernel took the VLAN tag out of the frame; put it back
                // in front of the EtherType (the header area before tp_mac
                // has room) so the decoder sees the frame as sent.
                let tpid = if h.tp_status & TP_STATUS_VLAN_TPID_VALID != 0 {
                    h.hv1.tp_vlan_tpid
                } else {
                    0x8100
                };
                let tci = h.hv1.tp_vlan_tci as u16;
                // SAFETY: [mac-4, mac+12) lies in the block we own (tp_mac
                // leaves the header room checked above); nothing else reads it now.
                unsafe {
                    let p = self.ring.as_mut_ptr().add(mac);
                    std::ptr::copy(p, p.sub(4), 12);
                    let t = p.add(8);
                    t.copy_from_nonoverlapping(tpid.to_be_bytes().as_ptr(), 2);
                    t.add(2)
                        .copy_from_nonoverlapping(tci.to_be_bytes().as_ptr(), 2);
                }
                mac -= 4;
                cap += 4;
                wire += 4;
            }
            batch.push(FrameDesc {
                ts_ns: u64::from(h.tp_sec) * 1_000_000_000 + u64::from(h.tp_nsec),
                off: mac,
                cap_len: cap,
                wire_len: wire,
                link: self.link,
            });
            self.next_off += h.tp_next_offset as usize;
            self.left -= 1;
        }
        self.stats.frames += batch.len() as u64;
        Ok(Poll::Frames)
    }

    fn frame(&self, d: &FrameDesc) -> &[u8] {
        // SAFETY: descriptors of the current batch point into the block we
        // own until the next call to next_batch.
        unsafe { std::slice::from_raw_parts(self.ring.as_ptr().add(d.off), d.cap_len as usize) }
    }
}

impl super::Live for PacketSource {
    fn wait(&mut self, timeout_us: u32) -> io::Result<()> {
        if self.open || self.status(self.cur) & libc::TP_STATUS_USER != 0 {
            return Ok(());
        }
        iface::wait_readable(self.fd.as_raw_fd(), timeout_us)
    }

    fn stats(&mut self) -> io::Result<SourceStats> {
        self.read_kernel_stats()?;
        Ok(self.stats)
    }

    fn describe(&self) -> String {
        format!(
            "AF_PACKET TPACKET_V3, {} blocks of {} KiB",
            self.blocks,
            self.block_size >> 10
        )
    }
}

impl Drop for PacketSource {
    fn drop(&mut self) {
        self.release();
    }
}
