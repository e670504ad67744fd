//! The pipeline family's figures: a run's node timeline (a lane per node or stream, a bar
//! per unit of work, coloured by task, real time solid and best effort pale, overruns
//! outlined in red) and the schedulability ratio of each method over utilisation.

use super::{boxed_legend, colour, render, DrawResult, Figure};
use crate::error::Result;
use crate::multitenant::dart::timeline::Segment;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// A task as the timeline's legend names it.
pub struct TaskLabel {
    pub name: String,
    pub rt: bool,
}

pub fn timeline(title: &str, lanes: &[String], tasks: &[TaskLabel], segs: &[Segment], stem: &Path) -> Result<Figure> {
    super::register_fonts();
    let end = segs.iter().map(|s| s.end_ms).fold(0.0, f64::max).max(1e-9);
    let n = lanes.len().max(1);
    let height = 150 + 60 * n as u32 + 22 * tasks.len() as u32;
    let (png, svg) = render!(stem, (1300, height), |root: &DrawingArea<_, Shift>| -> DrawResult {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 22))
            .margin(14)
            .x_label_area_size(45)
            .y_label_area_size(170)
            .build_cartesian_2d(0f64..end * 1.22, -0.5f64..n as f64 - 0.5)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(2 * n + 1)
            .y_label_formatter(&|y| {
                let k = y.round();
                if (y - k).abs() < 1e-6 && k >= 0.0 && (k as usize) < lanes.len() {
                    lanes[lanes.len() - 1 - k as usize].clone()
                } else {
                    String::new()
                }
            })
            .x_desc("time (ms)")
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .draw()?;
        for s in segs {
            let c = colour(s.task);
            let rt = tasks.get(s.task).is_some_and(|t| t.rt);
            let fill = if rt { c.filled() } else { c.mix(0.35).filled() };
            // The first lane on top.
            let y = (n - 1 - s.lane.min(n - 1)) as f64;
            let bar = [(s.start_ms, y - 0.35), (s.end_ms, y + 0.35)];
            chart.draw_series(std::iter::once(Rectangle::new(bar, fill)))?;
            let edge = if s.overrun { RED.stroke_width(2) } else { WHITE.stroke_width(1) };
            chart.draw_series(std::iter::once(Rectangle::new(bar, edge)))?;
        }
        for (i, t) in tasks.iter().enumerate() {
            let c = colour(i);
            let style = if t.rt { c.filled() } else { c.mix(0.35).filled() };
            chart
                .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())?
                .label(format!("{} ({})", t.name, if t.rt { "real time" } else { "best effort" }))
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], style));
        }
        boxed_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    });
    Ok(Figure {
        png,
        svg,
        title: title.to_owned(),
        caption: "Simulated timeline of the synchronous release at WCET over two longest periods: a lane per \
                  pipeline node (or per stream), a bar per unit of work coloured by task (real time solid, best \
                  effort pale); a red outline marks a unit that overran its WCET."
            .into(),
    })
}

/// One method's schedulability ratio at each utilisation.
pub struct RatioSeries {
    pub method: String,
    pub points: Vec<(f64, f64)>,
}

pub fn ratio(title: &str, series: &[RatioSeries], stem: &Path) -> Result<Figure> {
    let lines: Vec<(String, Vec<(f64, f64)>)> = series.iter().map(|s| (s.method.clone(), s.points.clone())).collect();
    let axes = super::Axes {
        x: "GPU utilisation of the task set",
        y: "fraction of sets schedulable",
        y_range: Some((0.0, 1.05)),
    };
    let (png, svg) = super::lines(title, &axes, &lines, false, stem)?;
    Ok(Figure {
        png,
        svg,
        title: title.to_owned(),
        caption: "Fraction of generated task sets each method runs without a deadline miss (admitting methods: \
                  admitted by their analysis and confirmed by the checker), by the sets' total GPU utilisation."
            .into(),
    })
}
