//! What a sharing run is judged by: makespan, job completion times (mean, median, p95),
//! queuing, GPU busy fraction, utilisation gain, Jain's index of slowdowns, peak memory and,
//! for serving jobs, tail latency against the objective. Computed from per-job times that the
//! checker re-derived, never from the simulator's own.

use serde::Serialize;

/// The per-job times a summary is computed from (ms).
pub struct Times<'a> {
    pub submit: &'a [f64],
    pub standalone: &'a [f64],
    pub first_start: &'a [f64],
    pub finish: &'a [f64],
    pub busy: f64,
    pub peak_reserved: f64,
    /// Serving jobs' request latencies and objectives (empty for training).
    pub latencies: &'a [Vec<f64>],
    pub slo: &'a [Option<f64>],
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub jobs: usize,
    pub makespan_s: f64,
    pub mean_jct_s: f64,
    pub median_jct_s: f64,
    pub p95_jct_s: f64,
    pub mean_queuing_s: f64,
    /// Mean standalone duration: a lower bound on the mean JCT (no job runs faster than alone).
    pub mean_standalone_s: f64,
    /// Fraction of the makespan with GPU work running.
    pub busy_fraction: f64,
    /// Σ standalone durations / makespan (Salus's utilisation measure).
    pub utilisation_gain: f64,
    /// Jain's index of the slowdowns JCT / standalone (1: all slowed alike).
    pub jain: f64,
    pub peak_memory_gib: f64,
    /// Serving jobs whose p99 request latency meets their objective, of those that have one.
    pub services_meeting_slo: Option<(usize, usize)>,
    pub worst_p99_latency_ms: Option<f64>,
}

/// The 99th percentile of a serving job's request latencies.
pub fn p99_ms(latencies: &[f64]) -> f64 {
    let mut l = latencies.to_vec();
    l.sort_by(f64::total_cmp);
    quantile(&l, 0.99)
}

/// The `q`-quantile by nearest rank of sorted values.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

pub fn summarize(t: &Times) -> Summary {
    let n = t.finish.len();
    let mut jct: Vec<f64> = (0..n).map(|j| t.finish[j] - t.submit[j]).collect();
    let slow: Vec<f64> = (0..n).map(|j| jct[j] / t.standalone[j].max(1e-12)).collect();
    jct.sort_by(f64::total_cmp);
    let start = t.submit.iter().copied().fold(f64::INFINITY, f64::min);
    let end = t.finish.iter().copied().fold(0.0, f64::max);
    let makespan = (end - start).max(0.0);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let queuing: Vec<f64> = (0..n).map(|j| t.first_start[j] - t.submit[j]).collect();
    let sum_s: f64 = slow.iter().sum();
    let sum_s2: f64 = slow.iter().map(|s| s * s).sum();
    let mut met = (0, 0);
    let mut worst: Option<f64> = None;
    for (j, lat) in t.latencies.iter().enumerate() {
        if lat.is_empty() {
            continue;
        }
        let p99 = p99_ms(lat);
        worst = Some(worst.map_or(p99, |w: f64| w.max(p99)));
        if let Some(slo) = t.slo.get(j).copied().flatten() {
            met.1 += 1;
            if p99 <= slo {
                met.0 += 1;
            }
        }
    }
    Summary {
        jobs: n,
        makespan_s: makespan / 1e3,
        mean_jct_s: mean(&jct) / 1e3,
        median_jct_s: quantile(&jct, 0.5) / 1e3,
        p95_jct_s: quantile(&jct, 0.95) / 1e3,
        mean_queuing_s: mean(&queuing) / 1e3,
        mean_standalone_s: mean(t.standalone) / 1e3,
        busy_fraction: if makespan > 0.0 { t.busy / makespan } else { 0.0 },
        utilisation_gain: if makespan > 0.0 { t.standalone.iter().sum::<f64>() / makespan } else { 0.0 },
        jain: if sum_s2 > 0.0 { sum_s * sum_s / (n as f64 * sum_s2) } else { 1.0 },
        peak_memory_gib: t.peak_reserved / super::tenant::GIB,
        services_meeting_slo: (met.1 > 0).then_some(met),
        worst_p99_latency_ms: worst,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.5), 2.0);
        assert_eq!(quantile(&v, 0.95), 4.0);
        assert_eq!(quantile(&v, 0.0), 1.0);
    }

    #[test]
    fn equal_slowdowns_give_jain_one() {
        let s = summarize(&Times {
            submit: &[0.0, 0.0],
            standalone: &[10.0, 20.0],
            first_start: &[0.0, 0.0],
            finish: &[20.0, 40.0],
            busy: 40.0,
            peak_reserved: 0.0,
            latencies: &[],
            slo: &[],
        });
        assert!((s.jain - 1.0).abs() < 1e-12);
        assert_eq!(s.makespan_s, 0.04);
        assert!((s.utilisation_gain - 0.75).abs() < 1e-12);
    }
}
