//! The GPU-sharing figures of one trace, drawn from its run files: the JCT distribution per
//! policy, makespan and mean JCT per policy, and the memory timeline of one policy (the
//! persistent region and the lanes over time, rebuilt from the admissions and departures).

use super::{colour, render, DrawResult, Figure};
use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// One policy's run on the trace, as its run file holds it.
struct Run<'a> {
    policy: &'a str,
    v: &'a Value,
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// Draws the three figures of `trace` from the run files `runs` (one per policy) into `dir`.
pub fn plot(trace: &str, runs: &[&Value], dir: &Path) -> Result<Vec<Figure>> {
    super::register_fonts();
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let runs: Vec<Run> = runs.iter().map(|v| Run { policy: v["policy"].as_str().unwrap_or("?"), v }).collect();
    if runs.is_empty() {
        return Ok(Vec::new());
    }
    let stem = trace.replace('/', "__");
    Ok(vec![
        cdf(trace, &runs, &dir.join(format!("{stem}_jct_cdf")))?,
        bars(trace, &runs, &dir.join(format!("{stem}_makespan")))?,
        timeline(trace, &runs, &dir.join(format!("{stem}_memory")))?,
    ])
}

fn jcts(r: &Run) -> Vec<f64> {
    let mut v: Vec<f64> = r.v["jobs"]
        .as_array()
        .map(|a| a.iter().map(|j| (num(&j["finish_s"]) - num(&j["submit_s"])) / 60.0).collect())
        .unwrap_or_default();
    v.sort_by(f64::total_cmp);
    v
}

fn cdf(trace: &str, runs: &[Run], stem: &Path) -> Result<Figure> {
    let series: Vec<Vec<f64>> = runs.iter().map(jcts).collect();
    let most = series.iter().flatten().copied().fold(1e-3, f64::max);
    let (png, svg) = render!(stem, (900, 560), |root: &DrawingArea<_, Shift>| -> DrawResult {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(root)
            .caption(format!("{trace}: job completion times"), ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..most * 1.05, 0f64..1.0)?;
        chart
            .configure_mesh()
            .x_desc("JCT (minutes)")
            .y_desc("fraction of jobs")
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 17))
            .draw()?;
        for (i, (r, s)) in runs.iter().zip(&series).enumerate() {
            let c = colour(i);
            let n = s.len().max(1) as f64;
            let pts = s.iter().enumerate().flat_map(|(k, &x)| [(x, k as f64 / n), (x, (k + 1) as f64 / n)]);
            chart
                .draw_series(LineSeries::new(pts, c.stroke_width(2)))?
                .label(r.policy.to_owned())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        }
        super::boxed_legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        Ok(())
    });
    Ok(Figure {
        png,
        svg,
        title: format!("{trace}: JCT distribution"),
        caption: "Empirical distribution of job completion times (finish − submission) per policy, from the \
                  checker's replay."
            .into(),
    })
}

fn bars(trace: &str, runs: &[Run], stem: &Path) -> Result<Figure> {
    let vals: Vec<(f64, f64)> = runs
        .iter()
        .map(|r| (num(&r.v["summary"]["makespan_s"]) / 60.0, num(&r.v["summary"]["mean_jct_s"]) / 60.0))
        .collect();
    let most = vals.iter().map(|v| v.0.max(v.1)).fold(1e-3, f64::max);
    let n = runs.len();
    let (png, svg) = render!(stem, (1000, 620), |root: &DrawingArea<_, Shift>| -> DrawResult {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(root)
            .caption(format!("{trace}: makespan and mean JCT"), ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(140)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..n as f64, 0f64..most * 1.1)?;
        let names: Vec<String> = runs.iter().map(|r| r.policy.to_owned()).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc("minutes")
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 17))
            .draw()?;
        let (a, b) = (colour(0), colour(1));
        chart
            .draw_series(
                vals.iter()
                    .enumerate()
                    .map(|(i, v)| Rectangle::new([(i as f64 + 0.1, 0.0), (i as f64 + 0.5, v.0)], a.filled())),
            )?
            .label("makespan")
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 15, y + 5)], a.filled()));
        chart
            .draw_series(
                vals.iter()
                    .enumerate()
                    .map(|(i, v)| Rectangle::new([(i as f64 + 0.5, 0.0), (i as f64 + 0.9, v.1)], b.filled())),
            )?
            .label("mean JCT")
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 15, y + 5)], b.filled()));
        super::boxed_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        // Policy names under their bars, turned upright to fit (drawn on the whole area, as
        // the chart clips text below its axis).
        for (i, name) in names.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
            let font = ("sans-serif", 14).into_font().transform(FontTransform::Rotate90);
            root.draw(&Text::new(name.clone(), (x + 6, y + 6), font))?;
        }
        Ok(())
    });
    Ok(Figure {
        png,
        svg,
        title: format!("{trace}: makespan and mean JCT"),
        caption: "Makespan (first submission to last finish) and mean JCT per policy.".into(),
    })
}

/// One step of the memory timeline: minutes, persistent GiB, lanes GiB, open lanes.
type Step = (f64, f64, f64, usize);

/// Reserved bytes over time (GiB): persistent region and lanes, as steps.
fn memory_steps(run: &Value) -> Vec<Step> {
    let (mut persistent, mut lanes) = (0.0f64, HashMap::<u64, (f64, usize)>::new());
    let mut charged: HashMap<u64, f64> = HashMap::new();
    let mut out = vec![(0.0, 0.0, 0.0, 0)];
    let gib = crate::multitenant::tenant::GIB;
    for e in run["timeline"].as_array().into_iter().flatten() {
        let (t, job, lane) = (num(&e["t"]) / 60e3, e["job"].as_u64().unwrap_or(0), e["lane"].as_u64().unwrap_or(0));
        match e["event"].as_str() {
            Some("admit") => {
                let p = num(&e["persistent"]);
                persistent += p;
                charged.insert(job, p);
                let l = lanes.entry(lane).or_insert((0.0, 0));
                l.0 = num(&e["lane_size"]);
                l.1 += 1;
            }
            Some("depart") | Some("preempt") => {
                persistent -= charged.remove(&job).unwrap_or(0.0);
                if let Some(l) = lanes.get_mut(&lane) {
                    l.1 -= 1;
                    if l.1 == 0 {
                        lanes.remove(&lane);
                    }
                }
            }
            Some("resize") => {
                if let Some(l) = lanes.get_mut(&lane) {
                    l.0 = num(&e["size"]);
                }
            }
            _ => continue,
        }
        let total: f64 = lanes.values().map(|l| l.0).sum();
        out.push((t, persistent / gib, total / gib, lanes.len()));
    }
    out
}

fn timeline(trace: &str, runs: &[Run], stem: &Path) -> Result<Figure> {
    let run = runs.iter().find(|r| r.policy == "pack").unwrap_or(&runs[0]);
    let steps = memory_steps(run.v);
    let end = steps.last().map_or(1.0, |s| s.0).max(1e-3);
    let top = steps.iter().map(|s| s.1 + s.2).fold(1e-3, f64::max);
    let policy = run.policy;
    let (png, svg) = render!(stem, (1000, 520), |root: &DrawingArea<_, Shift>| -> DrawResult {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(root)
            .caption(format!("{trace}: GPU memory under {policy}"), ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..end, 0f64..top * 1.15)?;
        chart
            .configure_mesh()
            .x_desc("minutes")
            .y_desc("GiB reserved")
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 17))
            .draw()?;
        let stepped = |f: &dyn Fn(&Step) -> f64| -> Vec<(f64, f64)> {
            let mut v = Vec::new();
            for w in steps.windows(2) {
                v.push((w[1].0, f(&w[0])));
                v.push((w[1].0, f(&w[1])));
            }
            v
        };
        let (a, b) = (colour(0), colour(3));
        chart
            .draw_series(LineSeries::new(stepped(&|s| s.1 + s.2), b.stroke_width(2)))?
            .label("persistent + lanes")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], b.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(stepped(&|s| s.1), a.stroke_width(2)))?
            .label("persistent region")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], a.stroke_width(2)));
        super::boxed_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    });
    let most_lanes = steps.iter().map(|s| s.3).max().unwrap_or(0);
    Ok(Figure {
        png,
        svg,
        title: format!("{trace}: memory timeline ({policy})"),
        caption: format!(
            "Bytes reserved by the persistent region and by persistent region plus lanes over time under {policy}, \
             rebuilt from the admissions and departures (at most {most_lanes} lanes at once)."
        ),
    })
}
