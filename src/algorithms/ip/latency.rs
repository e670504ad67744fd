//! `latency-ip`: the single-sample latency program of spec §7.2 (added with the latency family).
