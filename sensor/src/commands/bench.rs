//! `wirelog bench`: the entry to the benchmark harness
//! ([`benches::harness`]). Memory mode runs here with the sensor's own
//! outputs: the records go where a capture's would, through the same
//! output thread.

pub use benches::harness::memory::{Gen, Input};
pub use benches::harness::{compare, compare_text, generated_json, report, veth};

use anyhow::{Context, Result};
use benches::harness::memory::{self, Shipped};
use dataplane::worker::Worker;

use crate::cores::pin_to;
use crate::outputs::Output;
use crate::setup::Setup;

/// What a memory-mode run needs.
pub struct Plan {
    /// The frames.
    pub input: Input,
    /// Workers, budget and thread settings.
    pub s: Setup,
}

impl Plan {
    /// Sizes the flow tables from the budget.
    pub fn size(&mut self) -> Result<()> {
        let n = self.s.workers;
        let fixed = self.s.output_bytes() + self.s.frag_bytes() + (8 << 20);
        self.s.size_flows(fixed, &format!("{n} worker(s)"))
    }
}

/// Runs the plan and returns its report as JSON.
pub fn run(plan: Plan, sinks: Vec<Output>) -> Result<serde_json::Value> {
    let s = &plan.s;
    let (outs, writer) =
        crate::outputs::thread::start(s.workers, s.blocks, true, sinks, s.control_core(), None)?;
    let start = |i: usize| {
        pin_to(s.worker_core(i));
        let front = s.front(false)?;
        let worker = Worker::new(s.worker.clone()).context("flow table")?;
        Ok((front, worker))
    };
    let ran = memory::run(&plan.input, outs, &start)?;
    let o = writer.finish()?;
    let shipped = Shipped {
        records_delivered: o.sinks.iter().map(|(_, s)| s.delivered).min().unwrap_or(0),
        output_cpu_s: o.cpu_s,
        record_latency_us: o.latency.json(),
        outputs: crate::outputs::thread::sinks_json(&o.sinks),
        app: crate::stats::app_json(&crate::stats::app_total(ran.lanes.iter().map(|l| &l.stats))),
        app_per_worker: crate::stats::app_capacity(&s.worker.app),
        flows_per_worker: s.worker.flows,
    };
    Ok(memory::report(&plan.input, &ran, &shipped))
}
