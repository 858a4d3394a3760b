//! One thread's round of work: a batch from its source, decoded and
//! steered, and what its rings hold, through its worker.
//!
//! Every shape a command builds is a set of lanes: replay with one worker
//! (a source and a worker, nothing steered), replay with several (a
//! dispatcher lane whose rings wait when full and carry clock ticks, and a
//! lane per worker), live capture with each worker on its own socket
//! (source and worker fused, packets of other workers' flows steered
//! through rings) or with dispatchers apart, and `bench memory`.

use std::time::Duration;

use crate::capture::{Batch, Capture, Poll};
use crate::decode::{Decoded, TunnelKind};
use crate::record::RecordOut;
use crate::spsc::{Consumer, Producer};
use crate::steer::Toeplitz;
use crate::worker::Worker;

use super::front::{FramePayloads, Front};
use super::ring::{owner, pop_into, push_packet, Popped, Slot};
use super::{BATCH, DECODED_PER_BATCH};

/// Which worker a packet goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Every packet stays with this lane's worker.
    Local,
    /// The source's own steering is symmetric (AF_PACKET's fanout, a
    /// symmetric RSS key): a packet stays here, but a tunnelled one goes by
    /// its inner tuple, which the source could not see.
    LocalUnlessTunnel,
    /// Every packet goes by the symmetric hash of its (inner) tuple.
    Hash,
}

/// What a full ring does to a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnFull {
    /// Drop it, counted: a live source cannot wait (its kernel ring would
    /// overflow instead, uncounted by us).
    Drop,
    /// Wait for room: a file can wait, and then nothing is lost.
    Wait,
}

/// How a lane steers: the policy, the number of workers, what a full ring
/// does, and whether the rings carry clock ticks.
#[derive(Clone, Copy, Debug)]
pub struct Steering {
    /// Which worker a packet goes to.
    pub policy: Policy,
    /// Workers in all.
    pub workers: usize,
    /// What a full ring does.
    pub on_full: OnFull,
    /// Put a tick into every ring whenever packet time crosses a second,
    /// so each worker ends flows at the stream positions a single worker
    /// would (replay; a live worker ticks from the wall clock).
    pub ticks: bool,
}

/// What one round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Round {
    /// Frames the source lent.
    pub frames: usize,
    /// Frames and ring slots handled.
    pub work: usize,
    /// A full batch or a full read of a ring: more may be waiting.
    pub full: bool,
    /// The source is exhausted (a file's end).
    pub end: bool,
}

/// What a lane gives back at its end.
pub struct Parts<C, O> {
    /// The source and its front (their counters).
    pub src: Option<(C, Front)>,
    /// The worker and its output (its open flows, to be flushed).
    pub worker: Option<(Worker, O)>,
}

/// A thread's source, worker and rings, and the scratch space of a round
/// (sized at start).
pub struct Lane<C: Capture, O: RecordOut> {
    src: Option<(C, Front)>,
    /// This lane's worker: its index, table and record output.
    worker: Option<(usize, Worker, O)>,
    /// Rings to each worker (`None`: to none, or the lane's own).
    to: Vec<Option<Producer<Slot>>>,
    from: Vec<Consumer<Slot>>,
    steer: Steering,
    last_tick: u64,
    /// The steering hash's table (a lane that steers has its own, in its
    /// core's cache).
    toeplitz: Option<Toeplitz>,
    batch: Batch,
    /// The batch holds frames not processed yet.
    fresh: bool,
    decoded: Vec<Decoded>,
    /// Packets of the batch that stay with this lane's worker, and where
    /// each sits in the decoded batch (its payload).
    local: Vec<Decoded>,
    local_idx: Vec<u16>,
    popped: Popped,
    ring_drops: u64,
}

impl<C: Capture, O: RecordOut> Lane<C, O> {
    /// A lane of `src` (with its front), `worker` (its index, table and
    /// output), rings `to` each worker and `from` others.
    pub fn new(
        src: Option<(C, Front)>,
        worker: Option<(usize, Worker, O)>,
        to: Vec<Option<Producer<Slot>>>,
        from: Vec<Consumer<Slot>>,
        steer: Steering,
    ) -> Self {
        let payloads = worker.as_ref().is_some_and(|(_, w, _)| w.app_enabled());
        let steered = src.is_some() && steer.policy != Policy::Local;
        let cap = if steered { DECODED_PER_BATCH } else { 0 };
        Self {
            batch: Batch::with_capacity(if src.is_some() { BATCH } else { 0 }),
            decoded: Vec::with_capacity(if src.is_some() { DECODED_PER_BATCH } else { 0 }),
            src,
            worker,
            to,
            popped: if from.is_empty() {
                Popped::new(0, false)
            } else {
                Popped::new(BATCH, payloads)
            },
            from,
            steer,
            last_tick: 0,
            toeplitz: steered.then(Toeplitz::default),
            fresh: false,
            local: Vec::with_capacity(cap),
            local_idx: Vec::with_capacity(cap),
            ring_drops: 0,
        }
    }

    /// Takes at most `n` frames per poll (1 to [`BATCH`]) instead of
    /// [`BATCH`]: smaller batches hand frames on sooner at low rates.
    pub fn with_batch(mut self, n: usize) -> Self {
        if self.src.is_some() {
            self.batch = Batch::with_capacity(n.clamp(1, BATCH));
        }
        self
    }

    /// One round: [`Lane::poll`], then [`Lane::process`].
    #[inline]
    pub fn step(&mut self) -> Result<Round, C::Error> {
        let (frames, end) = self.poll()?;
        let mut r = self.process();
        r.frames = frames;
        r.end = end;
        Ok(r)
    }

    /// Takes the next batch from the source (none: `(0, false)`); returns
    /// its frames and whether the source is exhausted.
    #[inline]
    pub fn poll(&mut self) -> Result<(usize, bool), C::Error> {
        let Some((s, _)) = &mut self.src else {
            return Ok((0, false));
        };
        let p = s.next_batch(&mut self.batch)?;
        self.fresh = !self.batch.is_empty();
        Ok((self.batch.len(), p == Poll::End))
    }

    /// Decodes and steers the batch [`Lane::poll`] took, then runs the
    /// worker on what the rings hold.
    pub fn process(&mut self) -> Round {
        let mut r = Round::default();
        if std::mem::take(&mut self.fresh) {
            r.work += self.batch.len();
            r.full |= self.batch.is_full();
            self.steer_batch();
        }
        if let Some((_, w, out)) = &mut self.worker {
            for c in self.from.iter_mut() {
                let got = pop_into(c, BATCH, &mut self.popped);
                if got > 0 {
                    r.work += got;
                    r.full |= got == BATCH;
                    let p = &self.popped;
                    let pay = p.payloads();
                    let mut at0 = 0;
                    for &(at, t) in &p.ticks {
                        w.process(&p.pkts[at0..at], &pay, out);
                        w.advance_clock(t, out);
                        at0 = at;
                    }
                    w.process(&p.pkts[at0..], &pay, out);
                }
            }
        }
        r
    }

    fn steer_batch(&mut self) {
        let Some((s, front)) = &mut self.src else {
            return;
        };
        front.decode_batch(s, &self.batch, &mut self.decoded);
        let me = self.worker.as_ref().map(|(i, _, _)| *i);
        let (mine, idx): (&[Decoded], _) = if self.steer.policy == Policy::Local {
            (&self.decoded, None)
        } else {
            self.local.clear();
            self.local_idx.clear();
            for (i, d) in self.decoded.iter().enumerate() {
                if self.steer.ticks {
                    tick(&mut self.to, &mut self.last_tick, d.ts_ns);
                }
                let w = match (&self.toeplitz, self.steer.policy) {
                    (_, Policy::LocalUnlessTunnel) if d.tunnel == TunnelKind::None => {
                        me.unwrap_or(0)
                    }
                    (Some(t), _) => owner(t, d, self.steer.workers),
                    (None, _) => me.unwrap_or(0),
                };
                if Some(w) == me {
                    self.local.push(*d);
                    self.local_idx.push(i as u16);
                } else if let Some(p) = self.to.get_mut(w).and_then(Option::as_mut) {
                    let payload = front.payload_of(&*s, &self.batch, i, d);
                    while !push_packet(p, d, payload) {
                        if self.steer.on_full == OnFull::Drop {
                            self.ring_drops += 1;
                            break;
                        }
                        std::thread::sleep(Duration::from_micros(20));
                    }
                }
            }
            (&self.local, Some(&self.local_idx[..]))
        };
        if let Some((_, w, out)) = &mut self.worker {
            let pay = FramePayloads {
                front,
                src: &*s,
                batch: &self.batch,
                idx,
            };
            w.process(mine, &pay, out);
        }
        front.dec.end_batch();
    }

    /// Ends flows whose timeouts passed by `now_ns` (records go to the
    /// output's buffers; [`Lane::flush`] sends them).
    pub fn advance_clock(&mut self, now_ns: u64) {
        if let Some((_, w, out)) = &mut self.worker {
            w.advance_clock(now_ns, out);
        }
    }

    /// Hands partly filled output buffers over.
    pub fn flush(&mut self) {
        if let Some((_, _, out)) = &mut self.worker {
            out.flush();
        }
    }

    /// Closes the rings to other workers: they finish once they have read
    /// what is in them.
    pub fn close(&mut self) {
        self.to.clear();
    }

    /// Whether every ring into this lane is closed and read.
    pub fn rings_finished(&self) -> bool {
        self.from.iter().all(Consumer::finished)
    }

    /// Whether rings come into this lane.
    pub fn has_rings(&self) -> bool {
        !self.from.is_empty()
    }

    /// Runs the worker on everything the rings still carry until every
    /// ring is closed (the other lanes [`Lane::close`]d theirs).
    pub fn drain(&mut self) {
        loop {
            if self.process().work == 0 {
                if self.rings_finished() {
                    return;
                }
                std::thread::sleep(Duration::from_micros(20));
            }
        }
    }

    /// The source and its front.
    pub fn source(&mut self) -> Option<(&mut C, &Front)> {
        self.src.as_mut().map(|(s, f)| (s, &*f))
    }

    /// The worker and its output.
    pub fn worker(&mut self) -> Option<(&mut Worker, &mut O)> {
        self.worker.as_mut().map(|(_, w, o)| (w, o))
    }

    /// The batch last polled.
    pub fn batch(&self) -> &Batch {
        &self.batch
    }

    /// Packets a full ring dropped ([`OnFull::Drop`]).
    pub fn ring_drops(&self) -> u64 {
        self.ring_drops
    }

    /// The source with its front, and the worker with its output.
    pub fn into_parts(self) -> Parts<C, O> {
        Parts {
            src: self.src,
            worker: self.worker.map(|(_, w, o)| (w, o)),
        }
    }
}

/// A tick into every ring when packet time `ts` crosses a second; a full
/// ring is waited for (ticks come from files, which can wait).
#[cold]
fn tick_all(to: &mut [Option<Producer<Slot>>], ts: u64) {
    for p in to.iter_mut().flatten() {
        while !p.push_with(|s| s.tick = ts.max(1)) {
            std::thread::sleep(Duration::from_micros(20));
        }
    }
}

#[inline]
fn tick(to: &mut [Option<Producer<Slot>>], last: &mut u64, ts: u64) {
    let t = ts / 1_000_000_000;
    if t > *last {
        *last = t;
        tick_all(to, ts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::pcap::{write_header, write_record, PcapReader};
    use crate::capture::LinkType;
    use crate::decode::DecodeConfig;
    use crate::filter::Filter;
    use crate::record::VecOut;
    use crate::spsc;
    use crate::worker::WorkerConfig;

    /// A capture file of UDP packets between 40 address pairs, one per
    /// 100 ms, so replay's ticks fall among them.
    fn trace() -> PcapReader {
        let mut f = Vec::new();
        write_header(&mut f, LinkType::Raw, 65535);
        for k in 0..400u32 {
            let mut p = vec![0x45, 0, 0, 32, 0, 0, 0, 0, 64, 17, 0, 0];
            p.extend_from_slice(&[10, 0, 0, (k % 40) as u8, 10, 0, 1, 1]);
            p.extend_from_slice(&[0x30, 0x39, 0, 99, 0, 12, 0, 0, 1, 2, 3, 4]);
            write_record(&mut f, 1_000_000_000 + u64::from(k) * 100_000_000, &p, 32);
        }
        PcapReader::from_bytes(f).expect("a capture file")
    }

    fn front() -> Front {
        Front::new(&DecodeConfig::default(), 0, &Filter::default(), 1, false).unwrap()
    }

    fn worker() -> Worker {
        Worker::new(WorkerConfig {
            flows: 256,
            huge_pages: false,
            ..Default::default()
        })
        .unwrap()
    }

    fn steer(policy: Policy, on_full: OnFull, ticks: bool) -> Steering {
        Steering {
            policy,
            workers: 2,
            on_full,
            ticks,
        }
    }

    /// Flow records' lines, sorted (workers write them in their own order).
    fn flows(outs: &[&VecOut]) -> Vec<String> {
        let mut v: Vec<String> = outs
            .iter()
            .flat_map(|o| std::str::from_utf8(&o.buf).unwrap().lines())
            .map(str::to_string)
            .collect();
        v.sort();
        v
    }

    /// Replay's shapes: one lane, or a dispatcher into two worker lanes
    /// through rings that wait and carry ticks. Both log the same flows.
    #[test]
    fn a_dispatcher_and_its_workers_log_what_one_lane_logs() {
        let mut one: Lane<PcapReader, VecOut> = Lane::new(
            Some((trace(), front())),
            Some((0, worker(), VecOut::default())),
            Vec::new(),
            Vec::new(),
            steer(Policy::Local, OnFull::Wait, false),
        );
        while !one.step().unwrap().end {}
        let (mut w, mut single) = one.into_parts().worker.unwrap();
        w.flush_all(&mut single);
        assert_eq!(w.stats().packets, 400);

        // Rings of 8 slots: the dispatcher waits for room 400 / 8 times.
        let (p0, c0) = spsc::ring(8, || Slot::EMPTY);
        let (p1, c1) = spsc::ring(8, || Slot::EMPTY);
        let mut d: Lane<PcapReader, VecOut> = Lane::new(
            Some((trace(), front())),
            None,
            vec![Some(p0), Some(p1)],
            Vec::new(),
            steer(Policy::Hash, OnFull::Wait, true),
        );
        let mut ws: Vec<Lane<PcapReader, VecOut>> = [c0, c1]
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                Lane::new(
                    None,
                    Some((i, worker(), VecOut::default())),
                    Vec::new(),
                    vec![c],
                    steer(Policy::Hash, OnFull::Wait, true),
                )
            })
            .collect();
        let outs = std::thread::scope(|s| {
            let hs: Vec<_> = ws
                .drain(..)
                .map(|mut l| {
                    s.spawn(move || {
                        l.drain();
                        let (mut w, mut o) = l.into_parts().worker.unwrap();
                        w.flush_all(&mut o);
                        (w.stats().packets, o)
                    })
                })
                .collect();
            while !d.step().unwrap().end {}
            d.close();
            hs.into_iter()
                .map(|h| h.join().unwrap())
                .collect::<Vec<_>>()
        });
        assert_eq!(d.ring_drops(), 0, "a waiting ring drops nothing");
        assert_eq!(outs[0].0 + outs[1].0, 400);
        assert!(outs[0].0 > 0 && outs[1].0 > 0, "both workers got flows");
        let two = flows(&[&outs[0].1, &outs[1].1]);
        assert_eq!(two.len(), 40, "one record per address pair");
        assert_eq!(two, flows(&[&single]));
    }

    /// Live's shape: two fused lanes, each a source and a worker, steering
    /// other flows through rings that drop when full. Every packet is
    /// processed by its flow's owner or counted as dropped.
    #[test]
    fn fused_lanes_process_or_count_every_packet() {
        let (p01, c01) = spsc::ring(4, || Slot::EMPTY);
        let mut a: Lane<PcapReader, VecOut> = Lane::new(
            Some((trace(), front())),
            Some((0, worker(), VecOut::default())),
            vec![None, Some(p01)],
            Vec::new(),
            steer(Policy::Hash, OnFull::Drop, false),
        );
        let mut b: Lane<PcapReader, VecOut> = Lane::new(
            None,
            Some((1, worker(), VecOut::default())),
            Vec::new(),
            vec![c01],
            steer(Policy::Hash, OnFull::Drop, false),
        );
        // The other lane reads only every fourth round: its ring overflows.
        let mut k = 0;
        loop {
            let r = a.step().unwrap();
            if k % 4 == 0 {
                b.step().unwrap();
            }
            k += 1;
            if r.end {
                break;
            }
        }
        a.close();
        b.drain();
        assert!(b.rings_finished());
        let drops = a.ring_drops();
        assert!(
            drops > 0,
            "a ring of 4 slots read every fourth batch overflows"
        );
        let pa = a.into_parts().worker.unwrap().0.stats().packets;
        let pb = b.into_parts().worker.unwrap().0.stats().packets;
        assert_eq!(pa + pb + drops, 400);
    }
}
