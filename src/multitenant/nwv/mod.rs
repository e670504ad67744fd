//! Many DNNs in one memory, after Neural Weight Virtualization (Lee and Nirjon, MobiSys 2020):
//! every task's weights are cut into pages, pages of different tasks that are close (weighted
//! by each weight's importance) share one virtual page, and a task is switched in by gathering
//! its weights through its page table instead of reloading them.
//!
//! - [`task`]: tasks as weight and importance vectors (the reference's converted networks,
//!   zoo models with seeded weights, variants with known ideal sharing).
//! - [`packing`]: page tables, occupancy, the importance-weighted cost of sharing, the virtual
//!   weights that minimise it, each task's predicted loss increase, the gather.
//! - [`matchers`]: one plug-in shape and the exact assignment, random, deduplication and
//!   no-sharing matchers; [`greedy`]: the reference's greedy matcher.
//! - [`check`]: the family's checker, re-deriving everything weight by weight.
//! - [`family`]: the cells for the one runner; [`sweep`]: `bench nwv`; [`export`]: `.npy`
//!   files of a packing for an external trainer.
//!
//! The paper retrains every task after packing; nothing here trains, and no accuracy is
//! claimed (see `docs/nwv.md`).

pub mod check;
pub mod export;
pub mod family;
pub mod greedy;
pub mod hardware;
pub mod matchers;
pub mod packing;
pub mod sweep;
pub mod task;
