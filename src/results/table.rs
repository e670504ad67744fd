//! Results as text tables on stdout: the rows of a run, and a comparison of two runs.

use super::{Comparison, Record, Status, Verdict};

pub fn fmt_opt(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{v:.4}"))
}

pub fn print_table(records: &[&Record]) {
    println!(
        "{:<40} {:<13} {:<10} {:>12} {:>12} {:>8} {:>5} {:>9}",
        "workload", "algorithm", "status", "objective", "lower_bound", "gap", "contig", "seconds"
    );
    for r in records {
        println!(
            "{:<40} {:<13} {:<10} {:>12} {:>12} {:>8} {:>5} {:>9.3}",
            r.workload,
            r.algorithm,
            r.status.as_str(),
            // An infeasible placement's objective in parentheses: it is no result to beat.
            match (r.objective, r.feasible) {
                (Some(x), false) => format!("({x:.4})"),
                (x, _) => fmt_opt(x),
            },
            fmt_opt(r.lower_bound),
            r.gap.map_or("-".into(), |g| format!("{:.2}%", 100.0 * g)),
            match r.acyclic {
                Some(true) => "yes",
                Some(false) if r.contiguous == Some(true) => "cvx",
                Some(false) => "no",
                None => "-",
            },
            r.wall_seconds
        );
    }
}

/// One line per workload on stderr after a run: its best feasible row (algorithm, objective,
/// gap to the best lower bound) and how many rows were infeasible, timed out or failed.
pub fn print_summary(records: &[&Record]) {
    // First appearance order: rows of one workload need not be adjacent.
    let mut names: Vec<&str> = Vec::new();
    for r in records {
        if !names.contains(&r.workload.as_str()) {
            names.push(&r.workload);
        }
    }
    let many = names.len() > 1;
    for name in names {
        let rows: Vec<&Record> = records.iter().copied().filter(|r| r.workload == name).collect();
        let best = rows
            .iter()
            .filter(|r| r.feasible && !r.status.is_failure())
            .filter_map(|&r| Some((r, r.objective?)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let bound = rows.iter().filter_map(|r| r.lower_bound).fold(f64::NEG_INFINITY, f64::max);
        let count = |s: Status| rows.iter().filter(|r| r.status == s).count();
        let failed = rows.iter().filter(|r| r.status.is_failure()).count();
        let best = best.map_or("no feasible row".to_string(), |(r, x)| {
            let gap = if bound.is_finite() && x > 0.0 {
                format!(", {:.2}% above the best bound", 100.0 * (x - bound).max(0.0) / x)
            } else {
                String::new()
            };
            format!("best {} {x:.4}{gap}", r.algorithm)
        });
        let label = if many { format!("{name}: ") } else { String::new() };
        eprintln!(
            "{label}{best}; {} of {} rows infeasible, {} timed out, {failed} failed",
            count(Status::Infeasible),
            rows.len(),
            count(Status::Timeout)
        );
    }
}

pub fn print_comparison(c: &Comparison, strict: bool) {
    println!(
        "{:<40} {:<10} {:<13} {:>12} {:>12} {:>9} {:>9} {:>9}  verdict",
        "workload", "objective", "algorithm", "old", "new", "change", "old_s", "new_s"
    );
    for ch in &c.changes {
        let change = match (ch.old, ch.new) {
            (Some(a), Some(b)) if a != 0.0 => format!("{:+.3}%", 100.0 * (b - a) / a),
            _ => "-".into(),
        };
        let secs = |x: Option<f64>| x.map_or("-".into(), |s| format!("{s:.3}"));
        let verdict = match &ch.verdict {
            Verdict::Broke => format!(
                "BROKE ({} -> {})",
                ch.old_status.map_or("-", |s| s.as_str()),
                ch.new_status.map_or("-", |s| s.as_str())
            ),
            v if v.is_regression(strict) => format!("{v:?}").to_uppercase(),
            v => format!("{v:?}").to_lowercase(),
        };
        println!(
            "{:<40} {:<10} {:<13} {:>12} {:>12} {:>9} {:>9} {:>9}  {}",
            ch.workload,
            ch.objective_kind,
            ch.algorithm,
            fmt_opt(ch.old),
            fmt_opt(ch.new),
            change,
            secs(ch.old_seconds),
            secs(ch.new_seconds),
            verdict
        );
    }
    let count = |v: Verdict| c.changes.iter().filter(|x| x.verdict == v).count();
    println!(
        "{} cells: {} same, {} better, {} worse, {} broke, {} missing, {} new; {} regression(s)",
        c.changes.len(),
        count(Verdict::Same),
        count(Verdict::Better),
        count(Verdict::Worse),
        count(Verdict::Broke),
        count(Verdict::Missing),
        count(Verdict::New),
        c.regressions(strict)
    );
}
