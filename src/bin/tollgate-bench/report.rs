//! What a run reports: calls, errors by status code, throughput, latency
//! percentiles, message sizes and CPU time per call; as text or one JSON
//! object.

use std::{collections::BTreeMap, fmt, fs};

use serde::Serialize;
use tonic::Code;

use crate::{args::Settings, drive::Outcome};

/// Linux reports `/proc/*/stat` times in USER_HZ, 100 on every architecture
/// with a stable ABI (reading it needs `sysconf`, and this crate has no
/// `unsafe`).
const TICKS_PER_SECOND: f64 = 100.0;

/// The report of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The server's URL.
    pub target: String,
    /// `decision` or `floor`.
    pub rpc: &'static str,
    /// The RPC weights, as `--mix` takes them.
    pub mix: String,
    /// HTTP/2 connections.
    pub connections: usize,
    /// Calls in flight.
    pub concurrency: usize,
    /// Warm-up before measuring, in seconds.
    pub warmup_secs: f64,
    /// The `--rate` cap in calls per second; `None`: as fast as answered.
    pub rate: Option<f64>,
    /// How long measuring lasted, in seconds.
    pub elapsed_secs: f64,
    /// Calls measured, successful or not.
    pub requests: u64,
    /// Successful calls.
    pub ok: u64,
    /// Failed calls by gRPC status code (`UNAVAILABLE`, ...).
    pub errors: BTreeMap<&'static str, u64>,
    /// Successful calls per second.
    pub throughput: f64,
    /// Latency of successful calls.
    pub latency_us: Latency,
    /// Mean size of a request message, in bytes (without the gRPC prefix).
    pub request_bytes_mean: f64,
    /// Mean size of a response message, in bytes.
    pub response_bytes_mean: f64,
    /// CPU time of `--server-pid` while measuring.
    pub server_cpu: Option<CpuUse>,
    /// CPU time of the load generator itself while measuring.
    pub client_cpu: Option<CpuUse>,
    /// Time the hypervisor gave the machine's CPUs to other guests while
    /// measuring (`steal` in `/proc/stat`); `None` where it cannot be read.
    pub steal: Option<Steal>,
}

/// Stolen time: on a shared virtual machine the host runs other guests on
/// our cores, and a server then answers fewer calls per second for reasons
/// that are not its own. Two loads compared in one run are comparable only
/// when about as much was stolen from each.
#[derive(Debug, Clone, Serialize)]
pub struct Steal {
    /// Of all the CPUs' time while measuring, the share stolen (0 to 1).
    pub share: f64,
    /// The same, CPU by CPU (`cpu0` first).
    pub share_by_cpu: Vec<f64>,
}

/// The machine's CPU time so far, CPU by CPU, in clock ticks: all of it
/// and the stolen part.
#[derive(Debug, Clone)]
pub struct MachineTicks(Vec<(u64, u64)>);

impl MachineTicks {
    /// Read from `/proc/stat`; `None` if it cannot be (not Linux).
    pub fn now() -> Option<Self> {
        Self::parse(&fs::read_to_string("/proc/stat").ok()?)
    }

    /// The `cpuN` lines of a `/proc/stat`: user, nice, system, idle, iowait,
    /// irq, softirq, steal, ... (guest time is already counted in user).
    fn parse(stat: &str) -> Option<Self> {
        let cpus: Vec<(u64, u64)> = stat
            .lines()
            .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
            .map(|l| {
                let ticks: Vec<u64> = l
                    .split_whitespace()
                    .skip(1)
                    .take(8)
                    .filter_map(|t| t.parse().ok())
                    .collect();
                (ticks.iter().sum(), ticks.get(7).copied().unwrap_or(0))
            })
            .collect();
        (!cpus.is_empty()).then_some(Self(cpus))
    }

    /// What was stolen between `self` and `later`.
    fn steal_until(&self, later: &Self) -> Option<Steal> {
        if self.0.len() != later.0.len() {
            return None;
        }
        let share = |(total, stolen): (u64, u64)| {
            if total == 0 {
                0.0
            } else {
                stolen as f64 / total as f64
            }
        };
        let deltas: Vec<(u64, u64)> = self
            .0
            .iter()
            .zip(&later.0)
            .map(|((t0, s0), (t1, s1))| (t1.saturating_sub(*t0), s1.saturating_sub(*s0)))
            .collect();
        let all = deltas
            .iter()
            .fold((0, 0), |(t, s), (dt, ds)| (t + dt, s + ds));
        Some(Steal {
            share: share(all),
            share_by_cpu: deltas.into_iter().map(share).collect(),
        })
    }
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Slowest call.
    pub max: u64,
    /// Mean.
    pub mean: f64,
}

/// CPU time a process used while measuring.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CpuUse {
    /// User plus system time, in seconds.
    pub seconds: f64,
    /// `seconds` over the measured time: 1.0 is one core kept busy.
    pub cores: f64,
    /// Microseconds of CPU per successful call.
    pub us_per_call: f64,
    /// Of it, in the process's own code (user time).
    pub user_us_per_call: f64,
    /// Of it, in the kernel on the process's behalf (system time: socket
    /// reads and writes, mostly).
    pub system_us_per_call: f64,
}

/// A process's user and system time, in clock ticks.
#[derive(Debug, Clone, Copy)]
pub struct CpuTicks {
    user: u64,
    system: u64,
}

impl CpuTicks {
    /// Process `pid`'s CPU time so far; `None` if it cannot be read.
    pub fn of(pid: u32) -> Option<Self> {
        Self::read(&format!("/proc/{pid}/stat"))
    }

    /// This process's CPU time so far.
    pub fn of_self() -> Option<Self> {
        Self::read("/proc/self/stat")
    }

    fn read(path: &str) -> Option<Self> {
        let stat = fs::read_to_string(path).ok()?;
        // The command name (field 2) is in parentheses and may hold spaces;
        // after it come state (field 3) ... utime (14) and stime (15).
        let (_, rest) = stat.rsplit_once(')')?;
        let mut fields = rest.split_whitespace().skip(11);
        let utime: u64 = fields.next()?.parse().ok()?;
        let stime: u64 = fields.next()?.parse().ok()?;
        Some(Self {
            user: utime,
            system: stime,
        })
    }
}

impl Report {
    /// The report of `outcome`, a run made from `settings` with requests of
    /// `request_bytes_mean` bytes on average.
    pub fn new(settings: &Settings, outcome: &Outcome, request_bytes_mean: f64) -> Self {
        let tally = &outcome.tally;
        let secs = outcome.elapsed.as_secs_f64();
        let per_second = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        let errors: BTreeMap<&'static str, u64> = (0..)
            .zip(tally.errors)
            .filter(|(_, n)| *n > 0)
            .map(|(code, n)| (code_name(Code::from_i32(code)), n))
            .collect();
        let failed: u64 = errors.values().sum();
        let h = &tally.latency;
        let cpu = |(start, end): (Option<CpuTicks>, Option<CpuTicks>)| {
            let (start, end) = (start?, end?);
            let seconds = |ticks: u64| ticks as f64 / TICKS_PER_SECOND;
            let user = seconds(end.user.saturating_sub(start.user));
            let system = seconds(end.system.saturating_sub(start.system));
            let per_call = |s: f64| {
                if tally.ok > 0 {
                    s * 1e6 / tally.ok as f64
                } else {
                    0.0
                }
            };
            let total = user + system;
            Some(CpuUse {
                seconds: total,
                cores: if secs > 0.0 { total / secs } else { 0.0 },
                us_per_call: per_call(total),
                user_us_per_call: per_call(user),
                system_us_per_call: per_call(system),
            })
        };
        let [server, client] = outcome.cpu;
        Self {
            target: settings.target.clone(),
            rpc: settings.rpc.name(),
            mix: settings.mix.to_string(),
            connections: settings.connections,
            concurrency: settings.concurrency,
            warmup_secs: settings.warmup.as_secs_f64(),
            rate: settings
                .period
                .map(|p| settings.concurrency as f64 / p.as_secs_f64()),
            elapsed_secs: secs,
            requests: tally.ok + failed,
            ok: tally.ok,
            errors,
            throughput: per_second(tally.ok),
            latency_us: Latency {
                p50: h.value_at_quantile(0.5),
                p90: h.value_at_quantile(0.9),
                p99: h.value_at_quantile(0.99),
                p999: h.value_at_quantile(0.999),
                max: h.max(),
                mean: h.mean(),
            },
            request_bytes_mean,
            response_bytes_mean: if tally.ok > 0 {
                tally.response_bytes as f64 / tally.ok as f64
            } else {
                0.0
            },
            server_cpu: if settings.server_pid.is_some() {
                cpu(server)
            } else {
                None
            },
            client_cpu: cpu(client),
            steal: match &outcome.machine {
                (Some(start), Some(end)) => start.steal_until(end),
                _ => None,
            },
        }
    }

    /// Failed calls, over every status code.
    pub fn failed(&self) -> u64 {
        self.errors.values().sum()
    }

    /// The report as one line of JSON.
    pub fn to_json(&self) -> serde_json::Result<String> {
        serde_json::to_string(self)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} ({}, mix {}): {} connections, {} in flight, {:.1} s measured after {:.1} s warm-up",
            self.target,
            self.rpc,
            self.mix,
            self.connections,
            self.concurrency,
            self.elapsed_secs,
            self.warmup_secs
        )?;
        if let Some(rate) = self.rate {
            writeln!(f, "paced       at most {rate:.0} calls/s")?;
        }
        write!(f, "calls       {} ok, {} failed", self.ok, self.failed())?;
        for (code, n) in &self.errors {
            write!(f, "  {code}: {n}")?;
        }
        writeln!(f)?;
        writeln!(f, "throughput  {:.0} calls/s", self.throughput)?;
        let l = &self.latency_us;
        writeln!(
            f,
            "latency µs  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  mean {:.0}",
            l.p50, l.p90, l.p99, l.p999, l.max, l.mean
        )?;
        writeln!(
            f,
            "messages    {:.0} B requests, {:.0} B responses on average",
            self.request_bytes_mean, self.response_bytes_mean
        )?;
        for (who, cpu) in [
            ("server CPU", self.server_cpu),
            ("client CPU", self.client_cpu),
        ] {
            if let Some(c) = cpu {
                writeln!(
                    f,
                    "{who}  {:.1} µs per call ({:.1} user, {:.1} system; {:.2} s, {:.2} cores)",
                    c.us_per_call, c.user_us_per_call, c.system_us_per_call, c.seconds, c.cores
                )?;
            }
        }
        if let Some(steal) = &self.steal {
            let by_cpu: Vec<String> = steal
                .share_by_cpu
                .iter()
                .enumerate()
                .map(|(i, s)| format!("cpu{i} {:.1}%", s * 100.0))
                .collect();
            writeln!(
                f,
                "stolen      {:.1}% of the machine's CPU time ({}) ran other guests",
                steal.share * 100.0,
                by_cpu.join(", ")
            )?;
        }
        Ok(())
    }
}

/// The canonical name of a gRPC status code.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::MachineTicks;

    #[test]
    fn steal_is_the_stolen_share_of_each_cpus_ticks() {
        let before = "cpu  30 0 10 50 0 0 0 10 0 0\ncpu0 20 0 5 20 0 0 0 5 0 0\ncpu1 10 0 5 30 0 0 0 5 0 0\nintr 1\n";
        let after = "cpu  0 0 0 0 0 0 0 0 0 0\ncpu0 60 0 15 20 0 0 0 55 0 0\ncpu1 10 0 5 130 0 0 0 5 0 0\nintr 2\n";
        let (Some(a), Some(b)) = (MachineTicks::parse(before), MachineTicks::parse(after)) else {
            panic!("both parse");
        };
        let steal = a.steal_until(&b).unwrap_or_else(|| panic!("same CPUs"));
        // cpu0: 100 ticks, 50 stolen; cpu1: 100 ticks, none stolen.
        assert_eq!(steal.share_by_cpu, vec![0.5, 0.0]);
        assert_eq!(steal.share, 0.25);
        assert!(MachineTicks::parse("intr 1\n").is_none());
    }
}
