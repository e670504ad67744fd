//! Objective per workload relative to the best proven optimum: one bar per algorithm.

use super::{
    algorithms, colour, feasible_objective, infeasible_objective, legend, legend_hollow_note, render, workload_labels,
    workloads, DrawResult, Figure, LEGEND_WIDTH,
};
use crate::error::{Error, Result};
use crate::results::{Record, Status};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Bars above this ratio are clipped and labelled with their value.
const CAP: f64 = 3.0;

/// Most workloads in one row of panels (rows are filled evenly).
const PER_ROW: usize = 16;

/// The reference of a workload: the best objective proven optimal (the DP's optimum over
/// pipeline-ordered splits, or an IP solved to optimality), else the best feasible objective.
fn reference(records: &[Record], workload: &str) -> Option<f64> {
    let rows = records.iter().filter(|r| r.workload == workload);
    let proven = rows.clone().filter(|r| r.status == Status::Optimal).filter_map(feasible_objective).reduce(f64::min);
    proven.or_else(|| rows.filter_map(feasible_objective).reduce(f64::min)).filter(|&x| x > 0.0)
}

pub fn plot(records: &[Record], kind: &str, dir: &Path) -> Result<Figure> {
    let algos = algorithms(records);
    let loads = workloads(records);
    let refs: Vec<Option<f64>> = loads.iter().map(|w| reference(records, w)).collect();
    // (ratio, feasible): an infeasible placement is drawn hollow, so that one "beating" the
    // reference is not read as a win.
    let ratio = |w: usize, a: &str| -> Option<(f64, bool)> {
        let r = records.iter().find(|r| r.workload == loads[w] && r.algorithm == a)?;
        match (feasible_objective(r), infeasible_objective(r)) {
            (Some(x), _) => Some((x / refs[w]?, true)),
            (None, Some(x)) => Some((x / refs[w]?, false)),
            _ => None,
        }
    };
    // Long sets of workloads (HIOS: every model, size and GPU count) wrap into rows of panels.
    let rows = loads.len().div_ceil(PER_ROW).max(1);
    let per_row = loads.len().div_ceil(rows).max(1);
    let width = (160 + per_row as u32 * (14 * algos.len() as u32 + 16)).max(900);
    let size = (width, 720 + 600 * (rows as u32 - 1));
    let (png, svg) =
        render!(&dir.join(format!("{kind}_relative")), size, |root: &DrawingArea<_, Shift>| -> DrawResult {
            root.fill(&WHITE)?;
            let (plot_area, legend_area) = root.split_horizontally(root.dim_in_pixel().0 - LEGEND_WIDTH);
            legend(&legend_area, &algos, false)?;
            legend_hollow_note(&legend_area, algos.len())?;
            let (head, body) = plot_area.split_vertically(120);
            head.titled(
                &format!("{kind}: objective / reference (1 = best proven, else best found)"),
                ("sans-serif", 24),
            )?;
            for (row, panel) in body.split_evenly((rows, 1)).iter().enumerate() {
                let first = row * per_row;
                let here = per_row.min(loads.len() - first);
                let mut chart = ChartBuilder::on(panel)
                    .margin(16)
                    .x_label_area_size(170)
                    .y_label_area_size(70)
                    .build_cartesian_2d(0f64..per_row as f64, 0f64..CAP)?;
                chart
                    .configure_mesh()
                    .disable_x_mesh()
                    .x_labels(0)
                    .y_desc("objective / reference")
                    .label_style(("sans-serif", 16))
                    .axis_desc_style(("sans-serif", 18))
                    .draw()?;
                let group = 0.8 / algos.len().max(1) as f64;
                for (ai, a) in algos.iter().enumerate() {
                    let c = colour(ai);
                    let bars: Vec<_> = (0..here)
                        .filter_map(|i| ratio(first + i, a).map(|r| (i, r)))
                        .map(|(i, (r, feasible))| {
                            let x0 = i as f64 + 0.1 + ai as f64 * group;
                            let style = if feasible { c.filled() } else { c.stroke_width(2) };
                            Rectangle::new([(x0, 0.0), (x0 + group * 0.9, r.min(CAP))], style)
                        })
                        .collect();
                    chart.draw_series(bars)?;
                    for i in 0..here {
                        if let Some((r, feasible)) = ratio(first + i, a).filter(|&(r, _)| r > CAP) {
                            let x = i as f64 + 0.1 + (ai as f64 + 0.45) * group;
                            let style = ("sans-serif", 13)
                                .into_font()
                                .color(if feasible { &WHITE } else { &BLACK })
                                .transform(FontTransform::Rotate90)
                                .pos(Pos::new(HPos::Left, VPos::Center));
                            chart.draw_series(std::iter::once(Text::new(
                                format!("{r:.1}x"),
                                (x, CAP * 0.97),
                                style,
                            )))?;
                        }
                    }
                }
                chart.draw_series(LineSeries::new([(0.0, 1.0), (here as f64, 1.0)], BLACK.stroke_width(1)))?;
                let positions: Vec<(i32, i32)> =
                    (0..here).map(|i| chart.backend_coord(&(i as f64 + 0.5, 0.0))).collect();
                workload_labels(root, &positions, &loads[first..first + here])?;
            }
            Ok(())
        });
    if refs.iter().all(Option::is_none) {
        return Err(Error::Usage(format!("{kind}: no feasible objective to plot")));
    }
    Ok(Figure {
        png,
        svg,
        title: format!("{kind}: relative objective"),
        caption: format!(
            "Each bar is an algorithm's {kind} objective divided by the workload's reference: the best objective some \
             exact method proved optimal in its space (for throughput the DP over pipeline-ordered splits, or an IP \
             solved to optimality), else the best feasible objective found; bars below 1 beat that reference with \
             placements outside its space, bars above {CAP} are clipped and labelled, a hollow bar is a placement the \
             checker found infeasible (its objective, not a result), and a missing bar is a skipped or failed run."
        ),
    })
}
