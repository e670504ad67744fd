//! Experiment-only switches of `bench validate` (side branches, remote branches, no copies,
//! copy variants): what a row records of them and how they change a plan. Kept apart from the
//! executor, which runs whatever plan it is given.

use super::*;

/// Every field a row can get from a diagnostic option, with its value under `a` (`None`:
/// unset, as in a plain run).
pub(crate) fn diagnostic_fields(a: &ValidateOptions) -> [(&'static str, Option<Value>); 6] {
    let count = |n: usize| (n > 0).then(|| json!(n));
    let switch = |on: bool| on.then(|| json!(true));
    // Rows measured before the option say nothing of it: the default is left unsaid.
    let back = (a.remote_branches > 0 && a.remote_return != crate::gpu::diagnostics::REMOTE_RETURN)
        .then(|| json!(a.remote_return));
    [
        ("cut_every", count(a.cut_every)),
        ("side_branches", count(a.side_branches)),
        ("remote_branches", count(a.remote_branches)),
        ("remote_return", back),
        ("no_copies", switch(a.no_copies)),
        ("host_polled_imports", switch(a.host_polled_imports)),
    ]
}

/// The diagnostic options a row was measured with, as its fields (none for a plain run).
pub(crate) fn diagnostics(a: &ValidateOptions) -> Vec<(&'static str, Value)> {
    diagnostic_fields(a).into_iter().filter_map(|(k, v)| Some((k, v?))).collect()
}

/// `plan` as the diagnostic options ask: cut every `--cut-every` stages, without copies, with
/// side branches.
pub(crate) fn diagnosed(mut plan: Plan, a: &ValidateOptions) -> Plan {
    plan.cut_every = a.cut_every;
    if a.no_copies {
        plan.drop_copies();
    }
    plan.add_side_branches(a.side_branches);
    plan.add_remote_branches(a.remote_branches, a.remote_return);
    plan
}
