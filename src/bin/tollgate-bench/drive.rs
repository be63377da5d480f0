//! The run itself: open the connections, start one task per call in flight,
//! warm up, measure, and merge what the tasks saw.
//!
//! Every task loops: take the next call of the schedule, send it, wait for
//! the answer. A call is measured when it starts after the warm-up; the run
//! ends when the duration is up (calls in flight then still finish and
//! count) or when the last of `--requests` tickets is taken. Each task keeps
//! its own histogram, so the hot loop shares nothing but a ticket counter.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::Context as _;
use hdrhistogram::Histogram;
use tokio::time::Instant;
use tonic::{
    Code, Request,
    client::Grpc,
    transport::{Channel, Endpoint},
};

use crate::{
    args::{Settings, Stop},
    codec::RawCodec,
    report::{CpuTicks, MachineTicks},
    schedule::Call,
};

/// A call that takes longer than this fails (and is counted by its status
/// code) instead of holding the run open.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The highest latency the histograms track, in microseconds (a minute).
const MAX_LATENCY_US: u64 = 60_000_000;

/// What the tasks saw in the measured part of a run.
#[derive(Debug)]
pub struct Tally {
    /// Latency of successful calls, in microseconds.
    pub latency: Histogram<u64>,
    /// Successful calls.
    pub ok: u64,
    /// Failed calls by status code (the index is the code's number).
    pub errors: [u64; 17],
    /// Bytes of response messages received, over successful calls.
    pub response_bytes: u64,
    /// When the last measured call ended.
    pub last_done: Option<Instant>,
}

impl Tally {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            latency: Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)?,
            ok: 0,
            errors: [0; 17],
            response_bytes: 0,
            last_done: None,
        })
    }

    fn record(&mut self, began: Instant, outcome: Result<usize, Code>) {
        let done = Instant::now();
        match outcome {
            Ok(bytes) => {
                let micros = u64::try_from((done - began).as_micros()).unwrap_or(u64::MAX);
                self.latency.saturating_record(micros);
                self.ok += 1;
                self.response_bytes += bytes as u64;
            }
            Err(code) => {
                let slot = usize::try_from(i32::from(code))
                    .ok()
                    .and_then(|i| self.errors.get_mut(i));
                if let Some(n) = slot {
                    *n += 1;
                }
            }
        }
        self.last_done = Some(done);
    }

    fn merge(&mut self, other: Self) -> anyhow::Result<()> {
        self.latency.add(&other.latency)?;
        self.ok += other.ok;
        for (mine, theirs) in self.errors.iter_mut().zip(other.errors) {
            *mine += theirs;
        }
        self.response_bytes += other.response_bytes;
        self.last_done = self.last_done.max(other.last_done);
        Ok(())
    }
}

/// A finished run: the merged tally, the measured window, and CPU time.
#[derive(Debug)]
pub struct Outcome {
    /// What the tasks saw.
    pub tally: Tally,
    /// How long measuring lasted, from the end of the warm-up to the last
    /// measured call's end.
    pub elapsed: Duration,
    /// CPU time of the server (if a pid was given) and of this process,
    /// at the start and at the end of measuring.
    pub cpu: [(Option<CpuTicks>, Option<CpuTicks>); 2],
    /// The machine's CPU time at the start and at the end of measuring.
    pub machine: (Option<MachineTicks>, Option<MachineTicks>),
}

/// When to measure and when to stop, shared by the tasks.
struct Plan {
    measure_from: Instant,
    /// With `--rate`: each task starts a call at most this often.
    period: Option<Duration>,
    stop_at: Option<Instant>,
    tickets: Option<(AtomicU64, u64)>,
}

impl Plan {
    /// Takes one of `--requests` tickets; false when none are left.
    fn take_ticket(&self) -> bool {
        self.tickets
            .as_ref()
            .is_none_or(|(taken, limit)| taken.fetch_add(1, Ordering::Relaxed) < *limit)
    }
}

/// An endpoint for one connection. Each gets its own TLS configuration, so
/// its own session cache: every connection makes a full handshake rather
/// than resuming the first one's session.
fn endpoint(settings: &Settings) -> anyhow::Result<Endpoint> {
    let target = &settings.target;
    let endpoint = Endpoint::from_shared(target.clone())
        .with_context(|| format!("`{target}` is not a URL"))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(CALL_TIMEOUT);
    match &settings.tls {
        Some(tls) => endpoint
            .tls_config(tls.clone())
            .context("the TLS files (--tls-ca, --tls-cert, --tls-key)"),
        None => Ok(endpoint),
    }
}

/// Runs `calls` against `settings.target` as `settings` says.
pub async fn drive(settings: &Settings, calls: Vec<Call>) -> anyhow::Result<Outcome> {
    let target = &settings.target;
    let mut channels = Vec::with_capacity(settings.connections);
    for _ in 0..settings.connections {
        channels.push(
            endpoint(settings)?
                .connect()
                .await
                .with_context(|| format!("cannot connect to `{target}`"))?,
        );
    }

    let calls: Arc<[Call]> = calls.into();
    let stride = (calls.len() / settings.concurrency).max(1);
    let measure_from = Instant::now() + settings.warmup;
    let plan = Arc::new(Plan {
        measure_from,
        period: settings.period,
        stop_at: match settings.stop {
            Stop::After(d) => Some(measure_from + d),
            Stop::Count(_) => None,
        },
        tickets: match settings.stop {
            Stop::After(_) => None,
            Stop::Count(n) => Some((AtomicU64::new(0), n)),
        },
    });
    let pid = settings.server_pid;
    let cpu_at_start = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from).await;
        (
            pid.and_then(CpuTicks::of),
            CpuTicks::of_self(),
            MachineTicks::now(),
        )
    });
    let now = Instant::now();
    let tasks: Vec<_> = channels
        .iter()
        .cycle()
        .take(settings.concurrency)
        .enumerate()
        .map(|(i, channel)| {
            let grpc = Grpc::new(channel.clone());
            // Paced tasks start staggered over one period, not together.
            let start = plan.period.map(|p| {
                let share = u32::try_from(i).unwrap_or(u32::MAX);
                let of = u32::try_from(settings.concurrency).unwrap_or(u32::MAX);
                now + p * share / of
            });
            tokio::spawn(task(grpc, calls.clone(), i * stride, start, plan.clone()))
        })
        .collect();

    let mut tally = Tally::new()?;
    for t in tasks {
        tally.merge(t.await.context("a load task failed")??)?;
    }
    let cpu_at_end = (
        pid.and_then(CpuTicks::of),
        CpuTicks::of_self(),
        MachineTicks::now(),
    );
    let cpu_at_start = cpu_at_start.await.context("the CPU sampler failed")?;
    let elapsed = tally.last_done.map_or(Duration::ZERO, |end| {
        end.saturating_duration_since(measure_from)
    });
    Ok(Outcome {
        tally,
        elapsed,
        cpu: [
            (cpu_at_start.0, cpu_at_end.0),
            (cpu_at_start.1, cpu_at_end.1),
        ],
        machine: (cpu_at_start.2, cpu_at_end.2),
    })
}

/// One call in flight, again and again, from `offset` in the schedule.
async fn task(
    mut grpc: Grpc<Channel>,
    calls: Arc<[Call]>,
    offset: usize,
    start: Option<Instant>,
    plan: Arc<Plan>,
) -> anyhow::Result<Tally> {
    let mut tally = Tally::new()?;
    // A slow call delays the next tick rather than bunching the ones after.
    let mut pace = plan.period.zip(start).map(|(period, start)| {
        let mut ticks = tokio::time::interval_at(start, period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks
    });
    for call in calls.iter().cycle().skip(offset) {
        if let Some(ticks) = pace.as_mut() {
            ticks.tick().await;
        }
        let began = Instant::now();
        if plan.stop_at.is_some_and(|end| began >= end) {
            break;
        }
        let measured = began >= plan.measure_from;
        if measured && !plan.take_ticket() {
            break;
        }
        let outcome = match grpc.ready().await {
            Ok(()) => grpc
                .unary(Request::new(call.body.clone()), call.path.clone(), RawCodec)
                .await
                .map(|r| r.into_inner())
                .map_err(|s| s.code()),
            Err(_) => Err(Code::Unavailable),
        };
        if measured {
            tally.record(began, outcome);
        }
    }
    Ok(tally)
}
