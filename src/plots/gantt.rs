//! A per-GPU timeline (Gantt chart) of one schedule: a bar per stage, a lane per GPU.

use super::{render, DrawResult, Figure};
use crate::error::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// (gpu, start, end, operators in the stage) per stage, as `bench hios` writes in `timeline`.
pub type Lane = (usize, f64, f64, usize);

pub fn plot(title: &str, stages: &[Lane], gpus: usize, stem: &Path) -> Result<Figure> {
    super::register_fonts();
    let end = stages.iter().map(|s| s.2).fold(0.0, f64::max).max(1e-9);
    let (png, svg) = render!(stem, (1200, 120 + 70 * gpus as u32), |root: &DrawingArea<_, Shift>| -> DrawResult {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 24))
            .margin(14)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..end * 1.02, -0.5f64..gpus as f64 - 0.5)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(2 * gpus.max(1) + 1)
            .y_label_formatter(&|y| {
                if (y - y.round()).abs() < 1e-6 && *y >= 0.0 {
                    format!("GPU {}", y.round() as usize)
                } else {
                    String::new()
                }
            })
            .x_desc("time (ms)")
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 17))
            .draw()?;
        for &(g, s, e, ops) in stages {
            // Stages of several concurrent operators in orange, single operators in blue.
            let c = if ops > 1 { RGBColor(255, 127, 14) } else { RGBColor(31, 119, 180) };
            let y = g as f64;
            chart.draw_series(std::iter::once(Rectangle::new([(s, y - 0.35), (e, y + 0.35)], c.filled())))?;
            chart
                .draw_series(std::iter::once(Rectangle::new([(s, y - 0.35), (e, y + 0.35)], WHITE.stroke_width(1))))?;
        }
        Ok(())
    });
    Ok(Figure {
        png,
        svg,
        title: title.to_owned(),
        caption: "Simulated timeline of one schedule: a lane per GPU, a bar per stage (orange: several operators \
                  run at once on separate streams; blue: one operator); gaps are waits for inputs from other GPUs."
            .into(),
    })
}
