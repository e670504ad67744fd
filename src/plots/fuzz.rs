//! The fuzz run's figure: coverage reached against inputs run, one line per reader.

use super::{colour, render, DrawResult, Figure};
use crate::error::Result;
use crate::fuzz::FuzzReport;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

pub fn plot(report: &FuzzReport, stem: &Path) -> Result<Figure> {
    super::register_fonts();
    let most_inputs = report.targets.iter().map(|t| t.inputs).max().unwrap_or(1).max(10) as f64;
    let most_cov = report.targets.iter().flat_map(|t| t.curve.iter().map(|c| c.1)).max().unwrap_or(1).max(1) as f64;
    let what = if report.instrumented { "edges reached" } else { "kinds of outcome seen" };
    let (png, svg) = render!(stem, (900, 560), |root: &DrawingArea<_, Shift>| -> DrawResult {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(root)
            .caption(format!("fuzzing the readers (seed {})", report.seed), ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d((1f64..most_inputs * 1.2).log_scale(), 0f64..most_cov * 1.1)?;
        chart
            .configure_mesh()
            .x_desc("inputs run (log scale)")
            .y_desc(what)
            .x_label_formatter(&|x| format!("{x:.0e}"))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 17))
            .draw()?;
        for (i, t) in report.targets.iter().enumerate() {
            let c = colour(i);
            let failures = t.panics + t.violations;
            chart
                .draw_series(LineSeries::new(
                    t.curve.iter().map(|&(n, cov, _)| (n as f64, cov as f64)),
                    c.stroke_width(2),
                ))?
                .label(format!(
                    "{}: {} inputs, {:.0}/s, {failures} failures",
                    t.target.name(),
                    t.inputs,
                    t.inputs_per_second
                ))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        }
        super::boxed_legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        Ok(())
    });
    Ok(Figure {
        png,
        svg,
        title: "fuzzing the readers".into(),
        caption: format!(
            "{what} against inputs run, per reader; a failure is a panic, a reader slower than a second, or a refusal \
             that is not one line naming the file."
        ),
    })
}
