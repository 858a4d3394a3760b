//! What the summaries and stats records say besides the lanes' own
//! counters: the application layer's counters and capacities (per
//! protocol, from the registry), mirror health, malformed frames.

/// Record types the workers write: `flow` and every protocol's.
pub fn record_types() -> Vec<&'static str> {
    std::iter::once("flow")
        .chain(dataplane::app::PROTOCOLS.iter().map(|p| p.name))
        .collect()
}

/// The application layer's counters, for summaries and stats records.
pub fn app_json(a: &dataplane::app::AppStats) -> serde_json::Value {
    let st = &a.stream;
    let mut v = serde_json::json!({
        "sessions": a.sessions,
        "sessions_active": a.sessions_active,
        "sessions_full": a.sessions_full,
        "probe_failed": a.probe_failed,
        "sampled_out": a.sampled_out,
        "txn_buffers_full": a.txn_buffers_full,
        "txn_limit": a.txn_limit,
        "headers_truncated": a.headers_truncated,
        "bodies_truncated": a.bodies_truncated,
        "records": a.records,
        "records_dropped": a.records_dropped,
        "stream": {
            "delivered_bytes": st.delivered,
            "skipped_bytes": st.skipped,
            "after_stop_bytes": st.after_stop,
            "gaps": st.gaps,
            "gap_bytes": st.gap_bytes,
            "overlap_bytes": st.overlap_bytes,
            "ooo_segments": st.ooo_segments,
            "buffer_exhausted": st.buffer_exhausted,
            "overflow": st.overflow,
            "depth_reached": st.depth_reached,
            "fatal": st.fatal,
        },
    });
    for (info, p) in dataplane::app::PROTOCOLS.iter().zip(&a.protos) {
        let n = info.name;
        v[n] = p.transactions.into();
        v[format!("{n}_unanswered")] = p.unanswered.into();
        v[format!("{n}_errors")] = p.errors.into();
        v[format!("{n}_sessions_full")] = p.sessions_full.into();
        v[format!("{n}_parked_full")] = p.parked_full.into();
        for (c, x) in info.counters.iter().zip(p.extra) {
            v[format!("{n}_{c}")] = x.into();
        }
    }
    v
}

/// What each worker's application layer holds (its capacities).
pub fn app_capacity(a: &dataplane::app::AppConfig) -> serde_json::Value {
    if !a.any() {
        return serde_json::Value::Null;
    }
    let mut protocols = serde_json::Map::new();
    for &p in dataplane::app::Proto::ALL {
        let sh = a.share(p);
        if sh.enabled {
            protocols.insert(
                p.info().name.into(),
                serde_json::json!({
                    "parked": sh.parked,
                    "parked_bytes": sh.parked_bytes,
                }),
            );
        }
    }
    serde_json::json!({
        "sessions": a.sessions,
        "protocols": protocols,
        "stream_buffers": a.stream_buffers,
        "stream_buffer_bytes": a.stream_buffer_bytes,
        "txn_buffers": a.txn_buffers,
        "txn_buffer_bytes": a.txn_bytes(),
        "bytes": a.memory_bytes(),
    })
}

/// Sum of the workers' application counters.
/// What the traffic says of the mirror feed: the capture loss estimate
/// (bytes skipped in sequence space and never filled, over bytes
/// acknowledged; see [`dataplane::flow::tcp::Health`]), the share of TCP flows seen in one direction
/// only, and what they suggest, in words.
#[derive(Clone, Copy, Debug, Default)]
pub struct MirrorHealth {
    pub health: dataplane::flow::tcp::Health,
    pub tcp_flows_ended: u64,
    pub tcp_one_sided: u64,
    /// Sampled frames whose checksums were checked, and the bad ones.
    pub checksums_checked: u64,
    pub checksums_bad: u64,
}

/// Below these, a figure says nothing: too few acknowledged bytes or flows.
const HEALTH_MIN_ACK_BYTES: u64 = 1 << 20;
const HEALTH_MIN_FLOWS: u64 = 20;
const HEALTH_MIN_CHECKSUMS: u64 = 20;

impl MirrorHealth {
    /// Sums the workers' figures.
    pub fn of<'a>(ws: impl Iterator<Item = &'a dataplane::worker::WorkerStats>) -> Self {
        let mut m = MirrorHealth::default();
        for w in ws {
            m.health.add(&w.health);
            m.tcp_flows_ended += w.tcp_flows_ended;
            m.tcp_one_sided += w.tcp_one_sided;
        }
        m
    }

    fn loss_percent(&self) -> Option<f64> {
        let h = &self.health;
        (h.ack_bytes > 0).then(|| h.unseen_bytes() as f64 * 100.0 / h.ack_bytes as f64)
    }

    fn one_sided_percent(&self) -> Option<f64> {
        (self.tcp_flows_ended > 0)
            .then(|| self.tcp_one_sided as f64 * 100.0 / self.tcp_flows_ended as f64)
    }

    /// With the checksums a front sampled.
    pub fn with_checksums(mut self, checked: u64, bad: u64) -> Self {
        self.checksums_checked = checked;
        self.checksums_bad = bad;
        self
    }

    /// What the figures suggest, one sentence each (none when all is well
    /// or there is too little to tell).
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if let Some(p) = self.one_sided_percent() {
            if self.tcp_flows_ended >= HEALTH_MIN_FLOWS && p >= 50.0 {
                w.push(format!(
                    "{p:.0} % of TCP flows were seen in one direction only: the mirror likely carries one direction (an rx-only or tx-only SPAN session, or one side of an asymmetric route)"
                ));
            }
        }
        if self.checksums_checked >= HEALTH_MIN_CHECKSUMS
            && self.checksums_bad * 100 >= self.checksums_checked
        {
            w.push(format!(
                "{:.0} % of the frames checked have a wrong IPv4, TCP or UDP checksum: the mirror carries checksum-offload artifacts (frames mirrored before the NIC filled them in); records are not affected (wirelog does not validate checksums)",
                self.checksums_bad as f64 * 100.0 / self.checksums_checked as f64
            ));
        }
        if let Some(p) = self.loss_percent() {
            if self.health.ack_bytes >= HEALTH_MIN_ACK_BYTES && p >= 1.0 {
                w.push(format!(
                    "capture loss is estimated at {p:.1} % (bytes acknowledged that never reached the sensor): the mirror drops frames (an oversubscribed SPAN port, or loss before the sensor's interface)"
                ));
            }
        }
        w
    }

    /// As a JSON object, the warnings included.
    pub fn json(&self) -> serde_json::Value {
        let r = |x: Option<f64>| x.map(|v| (v * 1000.0).round() / 1000.0);
        let h = &self.health;
        serde_json::json!({
            "capture_loss_percent": r(self.loss_percent()),
            "acks": h.acks,
            "acked_bytes": h.ack_bytes,
            "hole_bytes": h.hole_bytes,
            "filled_bytes": h.fill_bytes,
            "unseen_bytes": h.unseen_bytes(),
            "tcp_flows_ended": self.tcp_flows_ended,
            "tcp_one_sided": self.tcp_one_sided,
            "one_sided_percent": r(self.one_sided_percent()),
            "checksums_checked": self.checksums_checked,
            "checksums_bad": self.checksums_bad,
            "warnings": self.warnings(),
        })
    }
}

pub fn app_total<'a>(
    ws: impl Iterator<Item = &'a dataplane::worker::WorkerStats>,
) -> dataplane::app::AppStats {
    let mut t = dataplane::app::AppStats::default();
    for w in ws {
        t.add(&w.app);
    }
    t
}

/// Malformed-frame counts by reason, the non-zero ones, for summaries.
pub fn malformed_json(
    d: &dataplane::decode::DecodeStats,
) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    for r in dataplane::decode::Malformed::ALL {
        let n = d.malformed[r as usize];
        if n > 0 {
            m.insert(r.name().into(), n.into());
        }
    }
    m
}
