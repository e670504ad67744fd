//! Wall time of every algorithm on every workload, on a log scale.

use super::{
    algorithms, colour, legend, legend_hollow_note, render, workload_labels, workloads, DrawResult, Figure,
    LEGEND_WIDTH,
};
use crate::error::Result;
use crate::results::{Record, Status};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Times below this are drawn at it (a log axis has no zero).
const FLOOR: f64 = 1e-4;

pub fn plot(records: &[Record], kind: &str, dir: &Path) -> Result<Figure> {
    let algos = algorithms(records);
    let loads = workloads(records);
    let ran: Vec<&Record> = records.iter().filter(|r| r.status != Status::Skipped).collect();
    let top = ran.iter().map(|r| r.wall_seconds).fold(1.0, f64::max) * 2.0;
    let width = (160 + loads.len() as u32 * 60).max(900);
    let (png, svg) =
        render!(&dir.join(format!("{kind}_time")), (width, 720), |root: &DrawingArea<_, Shift>| -> DrawResult {
            root.fill(&WHITE)?;
            let (plot_area, legend_area) = root.split_horizontally(root.dim_in_pixel().0 - LEGEND_WIDTH);
            legend(&legend_area, &algos, false)?;
            legend_hollow_note(&legend_area, algos.len())?;
            let mut chart = ChartBuilder::on(&plot_area)
                .caption(format!("{kind}: wall time per workload"), ("sans-serif", 26))
                .margin(16)
                .x_label_area_size(170)
                .y_label_area_size(80)
                .build_cartesian_2d(0f64..loads.len() as f64, ((FLOOR / 3.0)..top).log_scale())?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(0)
                .y_desc("seconds (log scale)")
                .y_label_formatter(&|y| format!("{y:.0e}"))
                .label_style(("sans-serif", 16))
                .axis_desc_style(("sans-serif", 18))
                .draw()?;
            for (ai, a) in algos.iter().enumerate() {
                let c = colour(ai);
                let offset = 0.15 + 0.7 * ai as f64 / algos.len().max(1) as f64;
                let points: Vec<_> = loads
                    .iter()
                    .enumerate()
                    .filter_map(|(w, name)| {
                        let r = ran.iter().find(|r| &r.workload == name && &r.algorithm == a)?;
                        Some(((w as f64 + offset, r.wall_seconds.max(FLOOR)), r.feasible))
                    })
                    .collect();
                chart.draw_series(points.into_iter().map(move |(p, feasible)| {
                    Circle::new(p, 5, if feasible { c.filled() } else { c.stroke_width(2) })
                }))?;
            }
            let positions: Vec<(i32, i32)> =
                (0..loads.len()).map(|w| chart.backend_coord(&(w as f64 + 0.5, FLOOR / 3.0))).collect();
            workload_labels(root, &positions, &loads)?;
            Ok(())
        });
    Ok(Figure {
        png,
        svg,
        title: format!("{kind}: solve time"),
        caption: format!(
            "Wall seconds of each algorithm on each workload on a log scale (times under {FLOOR} s drawn at {FLOOR}); \
             the integer programs stop at their time limit, which shows as a ceiling; a hollow mark is a run whose \
             placement the checker found infeasible."
        ),
    })
}
