//! Experiment-only switches of `bench validate` (side branches, remote branches, no copies,
//! copy variants): what a row records of them and how they change a plan. Kept apart from the
//! executor, which runs whatever plan it is given.

use super::*;

/// The diagnostic options a row was measured with (`None`: unset, as in a plain run; rows
/// measured before an option existed say nothing of it, so its default is left unsaid).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub(crate) struct Diagnostics {
    cut_every: Option<usize>,
    side_branches: Option<usize>,
    remote_branches: Option<usize>,
    remote_return: Option<usize>,
    no_copies: Option<bool>,
    host_polled_imports: Option<bool>,
}

impl Diagnostics {
    pub(crate) fn of(a: &ValidateOptions) -> Diagnostics {
        let count = |n: usize| (n > 0).then_some(n);
        let switch = |on: bool| on.then_some(true);
        let back = a.remote_branches > 0 && a.remote_return != crate::gpu::diagnostics::REMOTE_RETURN;
        Diagnostics {
            cut_every: count(a.cut_every),
            side_branches: count(a.side_branches),
            remote_branches: count(a.remote_branches),
            remote_return: back.then_some(a.remote_return),
            no_copies: switch(a.no_copies),
            host_polled_imports: switch(a.host_polled_imports),
        }
    }

    /// Every field a row can get from a diagnostic option, with its value (`None`: unset).
    pub(crate) fn fields(&self) -> Vec<(String, Option<Value>)> {
        let Ok(Value::Object(m)) = serde_json::to_value(self) else { return Vec::new() };
        m.into_iter().map(|(k, v)| (k, Some(v).filter(|v| !v.is_null()))).collect()
    }

    /// Into row `r`, the options set.
    pub(crate) fn write(&self, r: &mut Value) {
        for (k, v) in self.fields() {
            if let Some(v) = v {
                r[k] = v;
            }
        }
    }
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
