//! Real-time and best-effort DNNs pipelined over CPU cores and a GPU, after DART (Xiang and
//! Kim, RTSS 2019): a configuration cuts the machine into a pipeline of nodes (a GPU with the
//! core that issues its kernels, or a group of cores working data-parallel on one layer), each
//! task's layers are cut into one stage per node, and an admission test bounds every real-time
//! task's response time.
//!
//! - [`taskset`]: task-set files, tasks from the zoo's models, generated sets (UUniFast).
//! - [`model`]: nodes, configurations, tasks and their layers' worst-case times on a node.
//! - [`configs`]: the candidate configurations (canonical, and the paper's literal enumeration
//!   with its binomial corrected, for tests).
//! - [`mapping`]: the stage-cut DP that balances the nodes' utilisation.
//! - [`rta`]: holistic response-time analysis of non-preemptive fixed-priority stages with
//!   release jitter, and admission.
//! - [`sim`]: the runtime, simulated, writing a log; [`check`]: the family's checker, which
//!   replays the log and re-derives every node's timeline and every response time;
//!   [`multistream`]: the concurrent-streams baseline's runtime and its replay;
//!   [`timeline`]: a run's units as bars on lanes, for run files and figures;
//!   [`realtime`]: the same runtimes in real time on host threads; [`hardware`]:
//!   `bench dart --gpu`, the choices run on a GPU and compared with analysis and simulation;
//!   [`cpu_profile`]: its CPU layers profiled per core count and fitted to the model.
//! - [`methods`]: DART and its baselines, one plug-in shape; [`family`]: the cells for the one
//!   runner; [`sweep`]: `bench dart`; [`ratio`]: the schedulability ratio over utilisation.
//! - [`choose`]: the configuration of least weighted score, and the exhaustive search over
//!   configurations and cut vectors that measures how far it is from the best.
//!
//! The paper's equations for the mapping and the analysis were not available; both are
//! reconstructed soundly (see `docs/dart.md`).

pub mod check;
pub mod choose;
pub mod configs;
pub mod cpu_profile;
pub mod family;
pub mod hardware;
pub mod mapping;
pub mod methods;
pub mod model;
pub mod multistream;
pub mod ratio;
pub mod realtime;
pub mod rta;
pub mod sim;
pub mod sweep;
pub mod taskset;
pub mod timeline;
