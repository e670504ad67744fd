//! Dolan–Moré performance profile: for each algorithm, the share of workloads on which its
//! objective is within a factor τ of the best any algorithm found.

use super::{algorithms, colour, feasible_objective, legend, render, workloads, DrawResult, Figure, LEGEND_WIDTH};
use crate::error::Result;
use crate::results::Record;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Largest factor shown.
const TAU_MAX: f64 = 3.0;

pub fn plot(records: &[Record], kind: &str, dir: &Path) -> Result<Figure> {
    let algos = algorithms(records);
    let loads = workloads(records);
    let best: Vec<Option<f64>> = loads
        .iter()
        .map(|w| records.iter().filter(|r| &r.workload == w).filter_map(feasible_objective).reduce(f64::min))
        .collect();
    // Ratios per algorithm; a missing or infeasible run never counts as solved.
    let ratios: Vec<Vec<f64>> = algos
        .iter()
        .map(|a| {
            let mut v: Vec<f64> = loads
                .iter()
                .zip(&best)
                .filter_map(|(w, b)| {
                    let r = records.iter().find(|r| &r.workload == w && &r.algorithm == a)?;
                    let b = (*b)?;
                    Some(if b > 0.0 { feasible_objective(r)? / b } else { 1.0 })
                })
                .collect();
            v.sort_by(f64::total_cmp);
            v
        })
        .collect();
    let n = loads.len().max(1) as f64;
    let (png, svg) =
        render!(&dir.join(format!("{kind}_profile")), (1000, 650), |root: &DrawingArea<_, Shift>| -> DrawResult {
            root.fill(&WHITE)?;
            let (plot_area, legend_area) = root.split_horizontally(root.dim_in_pixel().0 - LEGEND_WIDTH);
            legend(&legend_area, &algos, true)?;
            let mut chart = ChartBuilder::on(&plot_area)
                .caption(format!("{kind}: performance profile over {} workloads", loads.len()), ("sans-serif", 26))
                .margin(16)
                .x_label_area_size(50)
                .y_label_area_size(70)
                .build_cartesian_2d(1f64..TAU_MAX, 0f64..1.02)?;
            chart
                .configure_mesh()
                .x_desc("τ (objective / best objective found)")
                .y_desc("share of workloads within τ")
                .label_style(("sans-serif", 16))
                .axis_desc_style(("sans-serif", 18))
                .draw()?;
            for ai in 0..algos.len() {
                let c = colour(ai);
                // A step function: it rises by 1/n at each ratio.
                let mut points = vec![(1.0, 0.0)];
                let mut count = 0.0;
                for &r in &ratios[ai] {
                    let x = r.clamp(1.0, TAU_MAX);
                    points.push((x, count / n));
                    count += 1.0;
                    points.push((x, count / n));
                }
                points.push((TAU_MAX, count / n));
                chart.draw_series(LineSeries::new(points, c.stroke_width(3)))?;
            }
            Ok(())
        });
    Ok(Figure {
        png,
        svg,
        title: format!("{kind}: performance profile"),
        caption: format!(
            "For each algorithm, the share of the {} workloads on which its feasible {kind} objective is within a factor τ \
             of the best objective any algorithm found there (Dolan–Moré); higher and further left is better, and a line \
             that ends below 1 did not find a feasible placement everywhere.",
            loads.len()
        ),
    })
}
