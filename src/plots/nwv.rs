//! The packing family's figure: each matcher's matching cost against the packing ratio it
//! reaches (virtual memories from the largest task's size up to no sharing).

use super::Figure;
use crate::error::Result;
use std::path::Path;

/// One matcher's (packing ratio, cost) points.
#[derive(Debug, Clone)]
pub struct CostSeries {
    pub matcher: String,
    pub points: Vec<(f64, f64)>,
}

/// Costs spread over decades, and no sharing costs nothing: the axis is log10 of the cost,
/// with zero drawn a decade below the least positive cost.
pub fn cost(title: &str, series: &[CostSeries], stem: &Path) -> Result<Figure> {
    let least =
        series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).filter(|&c| c > 0.0).fold(f64::INFINITY, f64::min);
    let floor = if least.is_finite() { least / 10.0 } else { 1e-12 };
    let lines: Vec<(String, Vec<(f64, f64)>)> = series
        .iter()
        .map(|s| (s.matcher.clone(), s.points.iter().map(|&(x, c)| (x, c.max(floor).log10())).collect()))
        .collect();
    let axes = super::Axes { x: "packing ratio (weights / virtual slots)", y: "log10 matching cost", y_range: None };
    let (png, svg) = super::lines(title, &axes, &lines, true, stem)?;
    Ok(Figure {
        png,
        svg,
        title: title.to_owned(),
        caption: format!(
            "Total importance-weighted cost of the weights that share virtual pages, by how densely each matcher packs \
             the tasks; a cost of zero is drawn at {floor:.3e}."
        ),
    })
}
