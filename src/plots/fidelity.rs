//! Predicted against measured time of the placements and schedules `bench validate` ran on
//! real GPUs, on log axes around the diagonal, with the ±10% band of the fidelity goal.

use super::{colour, legend, render, DrawResult, Figure, LEGEND_WIDTH};
use crate::error::Result;
use crate::gpu::relative_error;
use crate::pipeline::row::ValidateRow;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Which model a point's prediction comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// The workload's own: max-load, latency or the HIOS simulation of its (profiled or
    /// given) times.
    Own,
    /// The executor's issue model (`crate::gpu::issue`).
    Issue,
    /// The roofline cost model of the same zoo workload.
    Roofline,
}

/// One validated row under one model: the series it belongs to, its prediction and its
/// measurement (ms).
#[derive(Debug, Clone)]
pub struct Point {
    pub series: String,
    pub predicted: f64,
    pub measured: f64,
    pub model: Model,
}

/// The series of a `bench validate` row: the GPUs and how it ran.
pub fn series(row: &ValidateRow) -> String {
    let gpu = row.gpu.as_deref().unwrap_or("").replace("NVIDIA ", "").replace(" 80GB HBM3", "");
    let gpus = row.devices_used.unwrap_or(1);
    format!("{gpu}x{gpus} {}", launches(row))
}

/// Whether a row measured more than its plan: add kernels the executor launched beyond the
/// plan before it told inputs from waits (`Plan::extra_add_kernels`). Such rows are summed apart
/// and not plotted; the plans were measured again.
pub fn superseded(row: &ValidateRow) -> bool {
    row.extra_add_kernels.unwrap_or(0) > 0
}

/// Rows of `bench validate` JSON files as points, one per model that predicted the row (rows
/// that measured more than their plan left out).
pub fn points(rows: &[ValidateRow]) -> Vec<Point> {
    let mut out = Vec::new();
    for r in rows.iter().filter(|r| r.status == "measured" && !superseded(r)) {
        let Some(measured) = r.measured_ms else { continue };
        for (key, model) in
            [("predicted_ms", Model::Own), ("issue_model_ms", Model::Issue), ("roofline_predicted_ms", Model::Roofline)]
        {
            if let Some(predicted) = r.prediction(key) {
                out.push(Point { series: series(r), predicted, measured, model });
            }
        }
    }
    out
}

/// Fidelity of one group of validated rows (machine, GPUs used, launches, kind of plan):
/// median |measured − predicted| / measured and the rows within the goal's 10%, for the
/// workload's own model, the executor's issue model and the roofline model.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    /// GPUs present and their name, e.g. `4xH200`.
    pub machine: String,
    pub gpus_used: u64,
    /// `eager`, `graphs` or `busy kernels`.
    pub launches: String,
    /// `calibrated` (`bench calibrate` anchored the profile to one-GPU runs), `as measured`
    /// (the operators' profile alone), or `given` (busy kernels of the workload's own times).
    pub profile: String,
    /// `throughput (steady)` (pipelines timed in steady state), `throughput (stream)` (timed
    /// over fill and drain, before steady-state timing), `latency`, `hios`, or `calibration`
    /// (the row `bench calibrate` scaled the profile to), or `superseded (extra add kernels)`
    /// (measured with add kernels beyond the plan, [`superseded`]).
    pub kind: String,
    pub rows: usize,
    pub median_error: f64,
    pub within_10: usize,
    pub issue_rows: usize,
    pub issue_median_error: Option<f64>,
    pub issue_within_10: usize,
    pub roofline_rows: usize,
    pub roofline_median_error: Option<f64>,
    pub roofline_within_10: usize,
}

fn median(mut xs: Vec<f64>) -> Option<f64> {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    (n > 0).then(|| if n % 2 == 1 { xs[n / 2] } else { (xs[n / 2 - 1] + xs[n / 2]) / 2.0 })
}

fn launches(row: &ValidateRow) -> &'static str {
    if row.kernels.as_deref().unwrap_or("").starts_with("calibrated busy") {
        "busy kernels"
    } else if row.graphs == Some(true) {
        "graphs"
    } else {
        "eager"
    }
}

fn kind(row: &ValidateRow) -> String {
    // The row a profile was calibrated on reproduces its measurement by construction.
    if row.calibration_row == Some(true) {
        return "calibration".into();
    }
    if superseded(row) {
        return "superseded (extra add kernels)".into();
    }
    let kind = row.kind.as_deref().unwrap_or("");
    match (kind, row.timing.as_deref()) {
        ("throughput", Some("steady")) => "throughput (steady)".into(),
        ("throughput", _) => "throughput (stream)".into(),
        _ => kind.into(),
    }
}

/// One summary per group of the measured rows, sorted by machine, GPUs, launches, profile and
/// kind.
pub fn summary(rows: &[ValidateRow]) -> Vec<Summary> {
    type Key = (String, u64, String, String, String);
    let mut groups: std::collections::BTreeMap<Key, Vec<&ValidateRow>> = Default::default();
    for r in rows.iter().filter(|r| r.status == "measured") {
        let gpu = r.gpu.as_deref().unwrap_or("").replace("NVIDIA ", "").replace(" 80GB HBM3", "");
        let machine = format!("{}x{gpu}", r.gpus_present.unwrap_or(1));
        let launch = launches(r);
        let profile = match (launch, r.profile_calibrated) {
            ("busy kernels", _) => "given",
            (_, Some(true)) => "calibrated",
            _ => "as measured",
        };
        let key = (machine, r.devices_used.unwrap_or(1), launch.into(), profile.into(), kind(r));
        groups.entry(key).or_default().push(r);
    }
    let errors = |rs: &[&ValidateRow], key: &str| -> Vec<f64> {
        rs.iter().filter_map(|r| Some(relative_error(r.measured_ms?, r.prediction(key)?))).collect()
    };
    let within = |es: &[f64]| es.iter().filter(|&&e| e <= 0.1).count();
    groups
        .into_iter()
        .map(|((machine, gpus_used, launches, profile, kind), rs)| {
            let (own, issue, roof) =
                (errors(&rs, "predicted_ms"), errors(&rs, "issue_model_ms"), errors(&rs, "roofline_predicted_ms"));
            Summary {
                machine,
                gpus_used,
                launches,
                profile,
                kind,
                rows: own.len(),
                within_10: within(&own),
                median_error: median(own).unwrap_or(f64::NAN),
                issue_rows: issue.len(),
                issue_within_10: within(&issue),
                issue_median_error: median(issue),
                roofline_rows: roof.len(),
                roofline_within_10: within(&roof),
                roofline_median_error: median(roof),
            }
        })
        .collect()
}

pub fn plot(points: &[Point], stem: &Path) -> Result<Figure> {
    super::register_fonts();
    let mut names: Vec<String> = Vec::new();
    for p in points {
        if !names.contains(&p.series) {
            names.push(p.series.clone());
        }
    }
    names.sort();
    let all = points.iter().flat_map(|p| [p.predicted, p.measured]);
    let lo = all.clone().fold(f64::INFINITY, f64::min).max(1e-3) / 1.5;
    let hi = all.fold(0.0, f64::max).max(lo * 10.0) * 1.5;
    let count = |m: Model| points.iter().filter(|p| p.model == m).count();
    let within =
        |m: Model| points.iter().filter(|p| p.model == m && relative_error(p.measured, p.predicted) <= 0.1).count();
    let (png, svg) = render!(stem, (1150, 750), |root: &DrawingArea<_, Shift>| -> DrawResult {
        root.fill(&WHITE)?;
        let (area, legend_area) = root.split_horizontally(root.dim_in_pixel().0 - LEGEND_WIDTH - 150);
        legend(&legend_area, &names, false)?;
        let note = ("sans-serif", 16).into_font().color(&BLACK);
        let y = 60 + 26 * names.len() as i32 + 20;
        legend_area.draw(&Circle::new((22, y), 6, BLACK.filled()))?;
        legend_area.draw(&Text::new("profiled / given times", (42, y - 9), note.clone()))?;
        legend_area.draw(&Cross::new((22, y + 26), 5, BLACK.stroke_width(2)))?;
        legend_area.draw(&Text::new("issue model", (42, y + 17), note.clone()))?;
        legend_area.draw(&Circle::new((22, y + 52), 6, BLACK.stroke_width(2)))?;
        legend_area.draw(&Text::new("roofline model", (42, y + 43), note))?;
        let mut chart = ChartBuilder::on(&area)
            .caption("Predicted vs measured time on real GPUs", ("sans-serif", 24))
            .margin(14)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d((lo..hi).log_scale(), (lo..hi).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("predicted (ms, log scale)")
            .y_desc("measured (ms, log scale)")
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 17))
            .draw()?;
        chart.draw_series(LineSeries::new([(lo, lo), (hi, hi)], BLACK.stroke_width(2)))?;
        for f in [0.9, 1.1] {
            chart.draw_series(LineSeries::new([(lo, lo * f), (hi, hi * f)], BLACK.mix(0.35).stroke_width(1)))?;
        }
        for (i, name) in names.iter().enumerate() {
            let c = colour(i);
            for p in points.iter().filter(|p| &p.series == name) {
                let at = (p.predicted, p.measured);
                match p.model {
                    Model::Own => chart.draw_series(std::iter::once(Circle::new(at, 5, c.filled())))?,
                    Model::Issue => chart.draw_series(std::iter::once(Cross::new(at, 4, c.stroke_width(2))))?,
                    Model::Roofline => chart.draw_series(std::iter::once(Circle::new(at, 5, c.stroke_width(2))))?,
                };
            }
        }
        Ok(())
    });
    Ok(Figure {
        png,
        svg,
        title: "GPUs: predicted vs measured".into(),
        caption: format!(
            "Each point is one placement or schedule run by `bench validate` on real GPUs (committed results under \
             results/gpu/): x is the time its workload predicts (max-load for throughput placements, latency for \
             latency placements and HIOS schedules), y the measured median; the diagonal is perfect, the grey lines \
             ±10%. Filled points use the profiled cost model (CUDA-graph replay against GPU-only times, calibrated by \
             `bench calibrate` on each model's one-device run, or as profiled for the older runs; the paper's \
             workloads give their own times and run as busy kernels), crosses the executor's issue model (host \
             issue, streams, copies, forks and joins, and pipeline fill as the executor runs them), hollow points \
             the roofline model for the same run; the rows a profile was calibrated on are drawn too \
             (plots/gpu_fidelity.csv counts them apart). Within ±10%: {} of {} filled points, {} of {} crosses, {} of {} \
             hollow points.",
            within(Model::Own),
            count(Model::Own),
            within(Model::Issue),
            count(Model::Issue),
            within(Model::Roofline),
            count(Model::Roofline)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(measured: f64, issue: f64, extra_adds: Option<u64>) -> ValidateRow {
        let mut r = json!({
            "status": "measured", "gpu": "NVIDIA H200", "gpus_present": 2, "devices_used": 1,
            "graphs": true, "kernels": "real kernels", "profile_calibrated": true, "kind": "hios",
            "timing": "latency", "measured_ms": measured, "predicted_ms": issue, "issue_model_ms": issue,
        });
        if let Some(n) = extra_adds {
            r["extra_add_kernels"] = json!(n);
        }
        serde_json::from_value(r).expect("a row")
    }

    /// A row that ran add kernels beyond its plan is summed in a group of its own and not
    /// plotted; rows without the field (measured before it existed, never remodelled) or with 0
    /// count as they are.
    #[test]
    fn rows_with_extra_adds_are_summed_apart_and_not_plotted() {
        let rows = [row(1.0, 1.0, Some(0)), row(1.0, 1.5, Some(3)), row(2.0, 2.0, None)];
        let s = summary(&rows);
        let kinds: Vec<(&str, usize, usize)> =
            s.iter().map(|g| (g.kind.as_str(), g.issue_rows, g.issue_within_10)).collect();
        assert_eq!(kinds, vec![("hios", 2, 2), ("superseded (extra add kernels)", 1, 0)]);
        let p = points(&rows);
        assert!(p.iter().all(|p| p.predicted != 1.5), "the superseded row is not plotted");
        assert_eq!(p.iter().filter(|p| p.model == Model::Issue).count(), 2);
    }
}
