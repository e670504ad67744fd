//! Figures drawn from result files only (nothing is rerun here), one file per figure kind,
//! each written as PNG and SVG with an embedded DejaVu font.

pub mod dart;
pub mod fidelity;
pub mod figures;
pub mod fuzz;
pub mod gantt;
pub mod nwv;
mod profile;
mod relative;
pub mod salus;
pub mod scaling;
mod time;

use crate::error::{Error, Result};
use crate::results::Record;
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Once;

type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// A figure and the sentence that says what it shows (for plots/README.md).
#[derive(Debug, Clone)]
pub struct Figure {
    pub png: PathBuf,
    pub svg: PathBuf,
    pub title: String,
    pub caption: String,
}

/// The font is compiled in: `sans-serif` means DejaVu Sans on every machine.
fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Only fails on a corrupt font file, which the dejavu crate does not ship.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
        let _ = plotters::style::register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold());
    });
}

/// Draws `draw` into `<stem>.png` and `<stem>.svg`, each written under a temporary name and
/// renamed, so a figure is never half-written.
macro_rules! render {
    ($stem:expr, $size:expr, $draw:expr) => {{
        let stem: &std::path::Path = $stem;
        let (png, svg) = (stem.with_extension("png"), stem.with_extension("svg"));
        let (tmp_png, tmp_svg) = (stem.with_extension("tmp.png"), stem.with_extension("tmp.svg"));
        let fail = |e: Box<dyn std::error::Error>| $crate::error::Error::Usage(format!("{}: {e}", stem.display()));
        {
            let root = BitMapBackend::new(&tmp_png, $size).into_drawing_area();
            $draw(&root).map_err(fail)?;
            root.present().map_err(|e| fail(Box::new(e)))?;
        }
        {
            let root = SVGBackend::new(&tmp_svg, $size).into_drawing_area();
            $draw(&root).map_err(fail)?;
            root.present().map_err(|e| fail(Box::new(e)))?;
        }
        std::fs::rename(&tmp_png, &png).map_err(|e| $crate::error::Error::io(&png, e))?;
        std::fs::rename(&tmp_svg, &svg).map_err(|e| $crate::error::Error::io(&svg, e))?;
        (png, svg)
    }};
}
pub(crate) use render;

/// Writes every figure for one objective's records into `dir`; `kind` names the files.
pub fn plot_records(records: &[Record], kind: &str, dir: &Path) -> Result<Vec<Figure>> {
    register_fonts();
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut figures = Vec::new();
    if records.iter().all(|r| r.objective.is_none()) {
        return Ok(figures);
    }
    figures.push(relative::plot(records, kind, dir)?);
    figures.push(profile::plot(records, kind, dir)?);
    figures.push(time::plot(records, kind, dir)?);
    Ok(figures)
}

/// Algorithms in the order they first appear (the registry's report order).
fn algorithms(records: &[Record]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in records {
        if !out.contains(&r.algorithm) {
            out.push(r.algorithm.clone());
        }
    }
    out
}

/// Workloads in the order they first appear.
fn workloads(records: &[Record]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in records {
        if !out.contains(&r.workload) {
            out.push(r.workload.clone());
        }
    }
    out
}

/// Short axis label of a workload name.
fn short(workload: &str) -> String {
    workload
        .replace("LayerGraphs/", "L/")
        .replace("OperatorGraphs/", "Op/")
        .replace("embedded/", "e/")
        .replace("_inference", "_inf")
        .replace("_training", "_train")
}

/// The series legend in a white box with a black border, where `at` says.
fn boxed_legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    at: SeriesLabelPosition,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(at)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .draw()?;
    Ok(())
}

/// One fixed colour per algorithm position, readable on white.
fn colour(i: usize) -> RGBColor {
    // Tableau's ten, then six darker ones, so that up to 16 series never share a colour.
    const PALETTE: [RGBColor; 16] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
        RGBColor(188, 189, 34),
        RGBColor(23, 190, 207),
        RGBColor(0, 0, 128),
        RGBColor(128, 0, 0),
        RGBColor(0, 100, 0),
        RGBColor(204, 163, 0),
        RGBColor(40, 40, 40),
        RGBColor(0, 128, 128),
    ];
    PALETTE[i % PALETTE.len()]
}

/// The objective of a feasible row.
fn feasible_objective(r: &Record) -> Option<f64> {
    r.objective.filter(|_| r.feasible && !r.status.is_failure())
}

/// The objective of a row the checker found infeasible (drawn hollow: not a result).
fn infeasible_objective(r: &Record) -> Option<f64> {
    r.objective.filter(|_| !r.feasible && !r.status.is_failure())
}

/// The legend's note on hollow marks, below the algorithms.
fn legend_hollow_note<DB: DrawingBackend>(area: &DrawingArea<DB, plotters::coord::Shift>, rows: usize) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let y = 60 + 26 * rows as i32 + 10;
    area.draw(&Rectangle::new([(14, y - 8), (30, y + 8)], BLACK.stroke_width(2)))?;
    area.draw(&Text::new("infeasible", (42, y - 9), ("sans-serif", 17).into_font().color(&BLACK)))?;
    Ok(())
}

/// A legend drawn in its own area to the right of a chart, so it never covers data.
fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    names: &[String],
    line: bool,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    for (i, name) in names.iter().enumerate() {
        let y = 60 + 26 * i as i32;
        let c = colour(i);
        if line {
            area.draw(&PathElement::new([(10, y), (34, y)], c.stroke_width(3)))?;
        } else {
            area.draw(&Rectangle::new([(14, y - 8), (30, y + 8)], c.filled()))?;
        }
        area.draw(&Text::new(name.clone(), (42, y - 9), ("sans-serif", 17).into_font().color(&BLACK)))?;
    }
    Ok(())
}

/// Width of the legend area.
const LEGEND_WIDTH: u32 = 170;

/// Workload names under the x axis, rotated, each starting just below its pixel position.
fn workload_labels<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    positions: &[(i32, i32)],
    names: &[String],
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    for (&(px, py), name) in positions.iter().zip(names) {
        let style = ("sans-serif", 15)
            .into_font()
            .color(&BLACK)
            .transform(FontTransform::Rotate90)
            .pos(Pos::new(HPos::Left, VPos::Center));
        root.draw(&Text::new(short(name), (px, py + 8), style))?;
    }
    Ok(())
}

/// A line chart's axis labels and, where fixed, its y range.
pub struct Axes<'a> {
    pub x: &'a str,
    pub y: &'a str,
    pub y_range: Option<(f64, f64)>,
}

/// A line chart of named series with a marker at every point, into `<stem>.png` and `.svg`.
fn lines(
    title: &str,
    axes: &Axes,
    series: &[(String, Vec<(f64, f64)>)],
    legend_upper: bool,
    stem: &Path,
) -> Result<(PathBuf, PathBuf)> {
    register_fonts();
    let span = |f: fn(&(f64, f64)) -> f64| {
        let (lo, hi) = series
            .iter()
            .flat_map(|s| s.1.iter().map(f))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), u| (a.min(u), b.max(u)));
        if lo.is_finite() {
            (lo, hi.max(lo + 1e-6))
        } else {
            (0.0, 1.0)
        }
    };
    let (lo, hi) = span(|p| p.0);
    let (ylo, yhi) = axes.y_range.unwrap_or_else(|| {
        let (a, b) = span(|p| p.1);
        let pad = 0.05 * (b - a);
        (a - pad, b + pad)
    });
    Ok(render!(stem, (900, 560), |root: &DrawingArea<_, plotters::coord::Shift>| -> DrawResult {
        root.fill(&WHITE)?;
        let pad = 0.02 * (hi - lo);
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(lo - pad..hi + pad, ylo..yhi)?;
        chart
            .configure_mesh()
            .x_desc(axes.x)
            .y_desc(axes.y)
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 17))
            .draw()?;
        for (i, (name, points)) in series.iter().enumerate() {
            let c = colour(i);
            chart
                .draw_series(LineSeries::new(points.iter().copied(), c.stroke_width(2)))?
                .label(name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, c.filled())))?;
        }
        let at = if legend_upper { SeriesLabelPosition::UpperLeft } else { SeriesLabelPosition::LowerLeft };
        boxed_legend(&mut chart, at)?;
        Ok(())
    }))
}
