//! Putting generated frames on the wire fast: an AF_PACKET TPACKET_V2 TX
//! ring with `PACKET_QDISC_BYPASS`. Frames are written into the ring and
//! handed to the kernel in batches with one `send(2)` each, so a veth
//! receives far more than tcpreplay's ~0.3 Mpps here.
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

    /// Sends the frames `next` writes (it appends one to the buffer it is
    /// given) for `seconds` at `rate` frames/s, 0 for as fast as the ring
    /// goes, then waits up to 2 s for the ring to drain. Paced sending
    /// goes out in 50 µs worth of frames at a time, so a low rate does not
    /// leave as line-rate bursts.
    pub fn send_paced(
        &mut self,
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
        let mut frame = Vec::with_capacity(self.frame_size);
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
                pending = !self.push(&frame);
                if pending {
                    break;
                }
                sent += 1;
                bytes += frame.len() as u64;
                if rate > 0 && sent.is_multiple_of(burst) {
                    break;
                }
            }
            self.flush()?;
        }
        // Frames still in the ring when the socket closes are never sent.
        let unsent = self.drain(Duration::from_secs(2))? as u64;
        Ok(Sent {
            frames: sent - unsent,
            bytes,
            unsent,
            seconds: start.elapsed().as_secs_f64(),
        })
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

impl Drop for TxRing {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}
