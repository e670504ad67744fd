//! Latency against the number of GPUs, one line per scheduling algorithm, for one model.

use super::{algorithms, colour, legend, render, DrawResult, Figure, LEGEND_WIDTH};
use crate::error::Result;
use crate::results::Record;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// `records` of `bench hios` (workloads named `<model>@k<K>`) for the model `model`.
pub fn plot(records: &[Record], model: &str, stem: &Path) -> Result<Figure> {
    super::register_fonts();
    let rows: Vec<(&Record, usize)> = records
        .iter()
        .filter_map(|r| {
            let (m, k) = r.workload.rsplit_once("@k")?;
            (m == model && r.feasible).then(|| Some((r, k.parse().ok()?))).flatten()
        })
        .collect();
    let algos = algorithms(&rows.iter().map(|(r, _)| (*r).clone()).collect::<Vec<_>>());
    let kmax = rows.iter().map(|r| r.1).max().unwrap_or(1) as f64;
    let top = rows.iter().filter_map(|(r, _)| r.objective).fold(0.0, f64::max) * 1.1;
    let (png, svg) = render!(stem, (1000, 600), |root: &DrawingArea<_, Shift>| -> DrawResult {
        root.fill(&WHITE)?;
        let (area, legend_area) = root.split_horizontally(root.dim_in_pixel().0 - LEGEND_WIDTH);
        legend(&legend_area, &algos, true)?;
        let mut chart = ChartBuilder::on(&area)
            .caption(format!("{model}: simulated latency vs GPUs"), ("sans-serif", 24))
            .margin(14)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d((0.8f64..kmax * 1.25).log_scale(), 0f64..top.max(1e-9))?;
        chart
            .configure_mesh()
            .x_desc("GPUs (log scale)")
            .y_desc("latency (ms)")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 17))
            .draw()?;
        for (ai, a) in algos.iter().enumerate() {
            let mut pts: Vec<(f64, f64)> = rows
                .iter()
                .filter(|(r, _)| &r.algorithm == a)
                .filter_map(|(r, k)| Some((*k as f64, r.objective?)))
                .collect();
            pts.sort_by(|x, y| x.0.total_cmp(&y.0));
            let c = colour(ai);
            chart.draw_series(LineSeries::new(pts.clone(), c.stroke_width(3)))?;
            chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 4, c.filled())))?;
        }
        Ok(())
    });
    Ok(Figure {
        png,
        svg,
        title: format!("{model}: latency vs GPUs"),
        caption: format!(
            "Simulated single-sample latency of {model} for each scheduling algorithm as the number of GPUs grows \
             (H200 roofline times, NVLink transfers, the shared-contention model); lower is better."
        ),
    })
}
