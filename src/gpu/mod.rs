//! Real GPUs: profile operators and links (`bench profile`), and run placements and HIOS
//! schedules as execution plans (`bench validate`). `enabled/` (cargo feature `cuda`, cudarc
//! with the driver loaded at run time) and `disabled.rs` offer the same functions; without the
//! feature or without a driver every call returns an error that says so, and the CPU paths
//! never need a GPU. `plan.rs` builds what runs, on the CPU.

pub mod concurrency;
pub mod diagnostics;
pub mod issue;
pub mod plan;
pub mod switching;

#[cfg(feature = "cuda")]
mod enabled;
#[cfg(feature = "cuda")]
pub use enabled::{
    execute, measure_switching, probe, profile_copy_interference, profile_graph_gap, profile_links, profile_ops,
    profile_stages, LayerKernels,
};

#[cfg(not(feature = "cuda"))]
mod disabled;
#[cfg(not(feature = "cuda"))]
pub use disabled::{
    execute, measure_switching, probe, profile_copy_interference, profile_graph_gap, profile_links, profile_ops,
    profile_stages, LayerKernels,
};

/// Relative error of a prediction, |measured − predicted| / measured: the fidelity measure of
/// the validate rows and their summaries.
pub fn relative_error(measured: f64, predicted: f64) -> f64 {
    (measured - predicted).abs() / measured
}

/// What the machine offers.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GpuInfo {
    pub devices: usize,
    pub name: String,
    /// Busy-kernel clock cycles per millisecond on GPU 0, measured.
    pub cycles_per_ms: f64,
    pub driver: String,
    /// Whether cuDNN and cuBLAS load (real kernels need them).
    pub libraries: bool,
}

/// One operator's measured times, milliseconds per launch.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct OpTimes {
    /// On the GPU, repeating itself (its weights and inputs in L2).
    pub gpu_ms: f64,
    /// On the GPU after L2 was flushed and its inputs read back in (weights from memory).
    pub gpu_cold_ms: f64,
    /// On the host, issuing one eager launch.
    pub host_ms: f64,
    /// On the GPU, warm: `TOGETHER` copies launched at once on as many streams, until the last
    /// ends.
    pub gpu_together_ms: f64,
    /// The same `TOGETHER` copies started after L2 was flushed and the inputs read back in
    /// (less a graph of those reads alone), as cold as `gpu_cold_ms`.
    pub gpu_together_cold_ms: f64,
    /// Its peer (`concurrency::peers`), where it has one.
    pub peer: Option<usize>,
    /// Warm, launched at once with its peer on another stream, each on buffers of its own,
    /// until both end (0 without a peer).
    pub gpu_peer_ms: f64,
    /// The same after L2 is flushed and both operators' inputs read back in, less those reads
    /// (as cold as `gpu_cold_ms`; 0 without a peer).
    pub gpu_peer_cold_ms: f64,
}

/// One stage timed alone (`bench validate --stage-times`): its groups (operators by index in
/// the zoo graph), side by side on as many streams and on one stream, warm and cold (as an
/// operator's cold time), and each group alone (warm).
#[derive(Debug, Clone, serde::Serialize)]
pub struct StageTime {
    pub groups: Vec<Vec<usize>>,
    pub side_by_side_ms: f64,
    pub one_stream_ms: f64,
    pub side_by_side_cold_ms: f64,
    pub one_stream_cold_ms: f64,
    pub alone_ms: Vec<f64>,
}

/// Copies of an operator `bench profile` runs together (see [`OpTimes::occupancy`]).
pub const TOGETHER: usize = 4;

impl OpTimes {
    /// The share of the GPU the operator occupies alone, HIOS's `u`: `TOGETHER` copies at once
    /// take `TOGETHER · u` times one copy's time where they share the GPU, and at least one
    /// copy's time; so `u` is their time over `TOGETHER` copies', in [1 / TOGETHER, 1] (an
    /// operator below 1 / TOGETHER reads as 1 / TOGETHER). `None` for operators that launch
    /// nothing.
    pub fn occupancy(&self) -> Option<f64> {
        share(self.gpu_together_ms, self.gpu_ms)
    }

    /// The same share, cold: `TOGETHER` copies after a flush against `TOGETHER` cold ones.
    pub fn occupancy_cold(&self) -> Option<f64> {
        share(self.gpu_together_cold_ms, self.gpu_cold_ms)
    }
}

/// A quantity measured warm (its data in L2) and cold (L2 flushed), at L2 miss rate `miss`:
/// `warm + miss (cold − warm)`. The one rule for times, occupancies and the concurrency
/// efficiency alike.
pub fn warm_cold(warm: f64, cold: f64, miss: f64) -> f64 {
    warm + miss * (cold - warm)
}

/// The share of a working set of `working_set` bytes that cannot stay in an L2 of `l2` bytes.
pub fn miss_share(l2: f64, working_set: f64) -> f64 {
    (1.0 - l2 / working_set).max(0.0)
}

/// Per operator, the occupancy that goes with the GPU time a workload charges: the warm
/// share and the cold one mixed as the times are, by the share of reads that miss L2 (`miss`:
/// 0 charges warm, 1 cold); the warm share alone where no cold one was measured.
pub fn charged_occupancy(warm: &[Option<f64>], cold: &[Option<f64>], miss: f64) -> Vec<Option<f64>> {
    warm.iter().enumerate().map(|(o, &w)| mix_warm_cold(w, cold.get(o).copied().flatten(), miss)).collect()
}

/// A quantity measured warm and cold, at L2 miss rate `miss`: `warm + miss (cold − warm)`, the
/// warm one alone where no cold one was measured (an operator's occupancy, see
/// [`charged_occupancy`]; the concurrency efficiency of peers).
pub fn mix_warm_cold(warm: Option<f64>, cold: Option<f64>, miss: f64) -> Option<f64> {
    match (warm, cold) {
        (Some(w), Some(c)) => Some(warm_cold(w, c, miss)),
        (w, _) => w,
    }
}

fn share(together: f64, alone: f64) -> Option<f64> {
    (alone > 0.0 && together > 0.0).then(|| (together / (TOGETHER as f64 * alone)).clamp(1.0 / TOGETHER as f64, 1.0))
}

/// What `profile_ops` measured: each operator, and GPU 0's L2 size, which decides whether a
/// model runs warm or cold.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OpProfile {
    pub ops: Vec<OpTimes>,
    pub l2_bytes: usize,
}

/// How samples go through a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Many samples in flight: time per sample in steady state (throughput placements).
    Pipeline,
    /// One sample at a time, start to finish (latency placements, HIOS schedules).
    Latency,
}

/// A measured plan.
/// How `execute` issues a plan's work.
#[derive(Debug, Clone, Copy)]
pub struct ExecOptions {
    /// Replay each sample as captured CUDA graphs (no per-operator launches).
    pub graphs: bool,
    /// How copies between GPUs run.
    pub copy: plan::CopyKernel,
    /// Time stamps around every segment and copy (graph replay of one sample at a time).
    pub trace: bool,
    /// A diagnostic: the host thread issues a copy from another GPU only once the producer's
    /// event has completed, so the copy stream never waits on another GPU's event.
    pub host_polled_imports: bool,
}

impl ExecOptions {
    /// Graph replays or launches, copies as `copy`, nothing else.
    pub fn plain(graphs: bool, copy: plan::CopyKernel) -> ExecOptions {
        ExecOptions { graphs, copy, trace: false, host_polled_imports: false }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Measurement {
    /// Median over the timed repeats (pipeline: a stream of `samples` samples, fill and drain
    /// included, over `samples`) or samples (latency).
    pub per_sample_ms: f64,
    pub repeats_ms: Vec<f64>,
    /// Pipelines: time per sample in steady state, the median over repeats of
    /// `(T(2 samples) - T(samples)) / samples` (streams of both lengths, run in turn).
    pub steady_ms_per_sample: Option<f64>,
    pub steady_repeats_ms: Vec<f64>,
    pub samples: usize,
    pub devices_used: usize,
    /// Host time spent issuing work, per sample, on the busiest GPU thread: near
    /// `per_sample_ms` means the host, not the GPUs, set the pace.
    pub issue_ms_per_sample: f64,
    /// Whether every pair of GPUs had direct peer access.
    pub peer_access: bool,
    /// Whether each sample was replayed as a captured CUDA graph (no per-operator launches).
    pub graphs: bool,
    /// The kernel that copied between GPUs.
    pub copy_kernel: plan::CopyKernel,
    pub gpu: GpuInfo,
    /// Graph replay of one sample at a time, traced: each GPU's segments as timed (empty
    /// unless asked for).
    pub trace: Vec<SegmentTimes>,
}

/// One segment of a graph-replayed sample, in milliseconds from the sample's start: as the
/// executor's trace timed it (`bench validate --trace`: medians over the timed samples of time
/// stamps — each GPU's global timer, written by one-thread kernels — from the sample's first
/// stamp on any GPU), or as the issue model runs it (`issue::replay_timeline`). The global
/// timers of two H200s of one host differ, and drift apart by microseconds a second
/// (`results/gpu/h200x2-exchange-forks.tar.xz`): times on one GPU compare exactly, times across GPUs
/// only through an estimate both ways (exchanges into each GPU).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SegmentTimes {
    pub gpu: usize,
    /// Its place among its GPU's segments of the sample.
    pub index: usize,
    pub tasks: usize,
    /// When the segment started (its imports in, everything before it done, its graph
    /// launched: the trace's stamp as its graph's first node) and when all of it had ended.
    pub ready_ms: f64,
    pub end_ms: f64,
    /// Each of its imports that copies: when the copy could start (its producer done; traced,
    /// the copy stream past its wait) and when it had ended.
    pub copies_ms: Vec<[f64; 2]>,
    /// The issue model's only: for each copy, the segment it copies from (its GPU and index),
    /// so that a trace's copy can be set against its producer's end.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub copies_from: Vec<[usize; 2]>,
}

/// How much a copy from another GPU slows compute it runs beside on the receiving GPU: an
/// SM-filling kernel (a read of a local buffer) and a copy kernel from GPU 0, each alone and
/// both at once on two streams of GPU 1.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CopyInterference {
    pub bytes: usize,
    pub compute_ms: f64,
    pub copy_ms: f64,
    pub together_ms: f64,
    /// `(together - max(compute, copy)) / min(compute, copy)`, in [0, 1]: 0 when the two
    /// overlap fully, 1 when they run one after the other.
    pub lost_share: f64,
}

impl CopyInterference {
    pub fn new(bytes: usize, compute_ms: f64, copy_ms: f64, together_ms: f64) -> CopyInterference {
        let lost = (together_ms - compute_ms.max(copy_ms)) / compute_ms.min(copy_ms);
        CopyInterference { bytes, compute_ms, copy_ms, together_ms, lost_share: lost.clamp(0.0, 1.0) }
    }
}

/// Copy time fitted to `alpha_ms + bytes / bytes_per_ms` by least squares over the sizes.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LinkFit {
    pub name: String,
    pub alpha_ms: f64,
    pub bytes_per_ms: f64,
    /// (bytes, median ms) measured.
    pub points: Vec<(usize, f64)>,
    /// Largest relative error of the fit over the points.
    pub max_relative_error: f64,
}

impl LinkFit {
    pub fn fit(name: &str, points: Vec<(usize, f64)>) -> LinkFit {
        // Weighted by 1/ms² (relative error), so small copies count as much as large ones.
        let (mut sw, mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for &(b, ms) in &points {
            let w = 1.0 / (ms * ms).max(1e-12);
            let x = b as f64;
            sw += w;
            sx += w * x;
            sy += w * ms;
            sxx += w * x * x;
            sxy += w * x * ms;
        }
        let slope = ((sw * sxy - sx * sy) / (sw * sxx - sx * sx)).max(1e-15);
        let alpha = ((sy - slope * sx) / sw).max(0.0);
        let max_relative_error =
            points.iter().map(|&(b, ms)| ((alpha + b as f64 * slope) - ms).abs() / ms).fold(0.0, f64::max);
        LinkFit { name: name.into(), alpha_ms: alpha, bytes_per_ms: 1.0 / slope, points, max_relative_error }
    }
}

#[cfg(test)]
mod tests {
    use super::LinkFit;

    #[test]
    fn occupancy_is_the_time_of_copies_together_over_their_sum() {
        let t = |together: f64| super::OpTimes { gpu_ms: 1.0, gpu_together_ms: together, ..Default::default() };
        // Four copies in the time of two: each occupies half the GPU.
        assert_eq!(t(2.0).occupancy(), Some(0.5));
        // Faster than one copy or slower than four in a row (noise, contention) read as the
        // bounds.
        assert_eq!(t(0.9).occupancy(), Some(0.25));
        assert_eq!(t(4.4).occupancy(), Some(1.0));
        assert_eq!(super::OpTimes::default().occupancy(), None);
    }

    /// Cold: four copies after a flush in 3 ms against 1 ms cold alone: 0.75. Charged half
    /// cold, the share is halfway between the warm 0.25 and 0.75; an operator without a cold
    /// share keeps its warm one, one without any has none.
    #[test]
    fn the_charged_occupancy_mixes_warm_and_cold_as_the_times() {
        let t = super::OpTimes { gpu_cold_ms: 1.0, gpu_together_cold_ms: 3.0, ..Default::default() };
        assert_eq!(t.occupancy_cold(), Some(0.75));
        let mixed = super::charged_occupancy(&[Some(0.25), Some(0.5), None], &[Some(0.75), None, None], 0.5);
        assert_eq!(mixed, vec![Some(0.5), Some(0.5), None]);
    }

    #[test]
    fn interference_is_the_share_of_the_shorter_lost() {
        // 2 ms and 1 ms: 2 together is full overlap, 3 one after the other, 2.5 half lost.
        assert_eq!(super::CopyInterference::new(1, 2.0, 1.0, 2.0).lost_share, 0.0);
        assert_eq!(super::CopyInterference::new(1, 2.0, 1.0, 3.0).lost_share, 1.0);
        assert_eq!(super::CopyInterference::new(1, 1.0, 2.0, 2.5).lost_share, 0.5);
    }

    #[test]
    fn link_fit_recovers_a_line() {
        // Exact points of 0.01 ms + bytes / 2e7 bytes per ms come back as that line.
        let pts: Vec<(usize, f64)> =
            (0..6).map(|i| (4096usize << (2 * i), 0.01 + (4096usize << (2 * i)) as f64 / 2e7)).collect();
        let f = LinkFit::fit("t", pts);
        assert!((f.alpha_ms - 0.01).abs() < 1e-9, "{f:?}");
        assert!((f.bytes_per_ms / 2e7 - 1.0).abs() < 1e-9, "{f:?}");
        assert!(f.max_relative_error < 1e-9);
    }
}
