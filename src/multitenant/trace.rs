//! Job traces: the jobs that arrive at a shared GPU, read from our CSV, Salus's trace format or
//! Tiresias's job list, and written back in ours.
//!
//! Ours: `job_id,model,batch,kind,iterations,submit_time[,duration,priority,slo_ms,rate]`, times
//! in seconds, `model` a zoo name. Salus's: `job_id,model_name,iterations,submit_time,duration`
//! with `model_name = <model>_<batch>`. Tiresias's: `job_id,num_gpu,submit_time,iterations,
//! model_name,duration,interval`. Models of tf_cnn_benchmarks map to the zoo model nearest in
//! multiply-adds (ResNet-50 and Inception-v3 directly); the mapping is recorded per job.

use super::tenant::{model_name, parse_model, Kind, TenantKey};
use crate::error::{Error, Result};
use crate::zoo::Model;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Version of [`Trace`] as written to JSON.
pub const TRACE_SCHEMA: u32 = 1;

/// One job of a trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    pub id: String,
    pub model: Model,
    pub batch: usize,
    pub kind: Kind,
    pub iterations: u64,
    /// Seconds from the trace's start.
    pub submit_s: f64,
    /// Standalone run time in seconds, when the trace gives it (else iterations × the
    /// tenant's iteration time).
    pub duration_s: Option<f64>,
    pub priority: i64,
    /// Serving: the latency objective of a request, ms.
    pub slo_ms: Option<f64>,
    /// Serving: requests per second (Poisson); none = every request ready at submission.
    pub rate: Option<f64>,
    /// The model as the file names it, when it was mapped to a zoo model.
    pub mapped_from: Option<String>,
}

impl JobSpec {
    pub fn key(&self) -> TenantKey {
        TenantKey { model: self.model, batch: self.batch, kind: self.kind }
    }

    /// The model as the trace names it (lower case; a zoo model's command-line name when it
    /// was not mapped): what tenants are told apart and profiles looked up by.
    pub fn written_model(&self) -> String {
        match &self.mapped_from {
            Some(m) => m.split(" on ").next().unwrap_or(m).trim().to_ascii_lowercase(),
            None => model_name(self.model),
        }
    }
}

/// A trace: its jobs in file order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    pub schema_version: u32,
    pub name: String,
    /// `placebench`, `salus` or `tiresias`.
    pub format: String,
    pub jobs: Vec<JobSpec>,
}

/// Multiply-adds (G, one image) of tf_cnn_benchmarks' models at their ImageNet sizes, as their
/// papers report them: what maps each to a zoo model.
const TF_MODELS: &[(&str, f64)] = &[
    ("alexnet", 0.72),
    ("googlenet", 1.5),
    ("overfeat", 2.8),
    ("vgg11", 7.6),
    ("vgg16", 15.5),
    ("vgg19", 19.6),
    ("resnet101", 7.8),
    ("resnet152", 11.5),
    ("inception4", 12.3),
];

/// The zoo CNNs' multiply-adds (G, one image), from their graphs.
fn zoo_gmacs() -> &'static [(Model, f64)] {
    static CELL: std::sync::OnceLock<Vec<(Model, f64)>> = std::sync::OnceLock::new();
    CELL.get_or_init(|| {
        [Model::Resnet50, Model::InceptionV3, Model::NasnetMobile, Model::Nasnet]
            .into_iter()
            .map(|m| (m, super::tenant::graph(m, 1).macs() / 1e9))
            .collect()
    })
}

/// The zoo model a trace's model name stands for, and whether it was mapped.
pub fn resolve_model(name: &str) -> Option<(Model, bool)> {
    let n = name.trim().to_ascii_lowercase();
    match n.as_str() {
        "inception3" => return Some((Model::InceptionV3, false)),
        "resnet50" => return Some((Model::Resnet50, false)),
        _ => {}
    }
    if let Some(m) = parse_model(&n) {
        return Some((m, false));
    }
    let &(_, g) = TF_MODELS.iter().find(|(t, _)| *t == n)?;
    let nearest = zoo_gmacs().iter().min_by(|a, b| (a.1 / g).ln().abs().total_cmp(&(b.1 / g).ln().abs()))?;
    Some((nearest.0, true))
}

/// Column positions by header name.
struct Header(Vec<String>);

impl Header {
    fn find(&self, name: &str) -> Option<usize> {
        self.0.iter().position(|h| h == name)
    }
}

struct Row<'a> {
    file: &'a Path,
    line: u64,
    rec: &'a csv::StringRecord,
    header: &'a Header,
}

impl Row<'_> {
    fn err(&self, field: &str, message: impl Into<String>) -> Error {
        Error::input(self.file, format!("row {}: field \"{field}\"", self.line), message)
    }

    fn raw(&self, field: &str) -> Option<&str> {
        self.header.find(field).and_then(|i| self.rec.get(i)).map(str::trim).filter(|s| !s.is_empty())
    }

    fn text(&self, field: &str) -> Result<&str> {
        self.raw(field).ok_or_else(|| self.err(field, "missing"))
    }

    fn number(&self, field: &str) -> Result<Option<f64>> {
        let Some(s) = self.raw(field) else { return Ok(None) };
        let v: f64 = s.parse().map_err(|_| self.err(field, format!("not a number: {s:?}")))?;
        if !v.is_finite() || v < 0.0 {
            return Err(self.err(field, format!("must be a finite number >= 0, got {s}")));
        }
        Ok(Some(v))
    }

    fn required(&self, field: &str) -> Result<f64> {
        self.number(field)?.ok_or_else(|| self.err(field, "missing"))
    }

    fn count(&self, field: &str) -> Result<u64> {
        let s = self.text(field)?;
        match s.parse::<u64>() {
            Ok(v) if v >= 1 => Ok(v),
            _ => Err(self.err(field, format!("must be a whole number >= 1, got {s:?}"))),
        }
    }

    fn model(&self, field: &str, name: &str) -> Result<(Model, Option<String>)> {
        let (m, mapped) = resolve_model(name).ok_or_else(|| {
            self.err(field, format!("unknown model {name:?} (zoo models, or tf_cnn_benchmarks' CNNs)"))
        })?;
        Ok((m, mapped.then(|| name.to_owned())))
    }
}

/// Reads a trace file in any of the three formats (told apart by the header).
pub fn read_trace(path: &Path) -> Result<Trace> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_trace(&text, path)
}

pub fn parse_trace(text: &str, path: &Path) -> Result<Trace> {
    let mut rd = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let header = Header(
        rd.headers()
            .map_err(|e| Error::input(path, "header", e.to_string()))?
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect(),
    );
    let format = if header.find("model").is_some() && header.find("kind").is_some() {
        "placebench"
    } else if header.find("num_gpu").is_some() {
        "tiresias"
    } else if header.find("model_name").is_some() {
        "salus"
    } else {
        return Err(Error::input(
            path,
            "header",
            "not a trace: expected job_id,model,batch,kind,iterations,submit_time (or Salus's or Tiresias's columns)",
        ));
    };
    let mut jobs: Vec<JobSpec> = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for (i, rec) in rd.records().enumerate() {
        let line = i as u64 + 2;
        let rec = rec.map_err(|e| Error::input(path, format!("row {line}"), e.to_string()))?;
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let row = Row { file: path, line, rec: &rec, header: &header };
        let job = match format {
            "placebench" => ours(&row)?,
            "salus" => salus(&row)?,
            _ => tiresias(&row)?,
        };
        if !ids.insert(job.id.clone()) {
            return Err(row.err("job_id", format!("{:?} occurs twice", job.id)));
        }
        jobs.push(job);
    }
    if jobs.is_empty() {
        return Err(Error::input(path, "rows", "the trace has no jobs"));
    }
    let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(Trace { schema_version: TRACE_SCHEMA, name, format: format.into(), jobs })
}

fn ours(row: &Row) -> Result<JobSpec> {
    let (model, mapped_from) = row.model("model", row.text("model")?)?;
    let kind_text = row.text("kind")?;
    let kind = Kind::parse(kind_text).ok_or_else(|| row.err("kind", format!("{kind_text:?}: train or infer")))?;
    let priority = match row.raw("priority") {
        None => 0,
        Some(s) => s.parse().map_err(|_| row.err("priority", format!("not an integer: {s:?}")))?,
    };
    Ok(JobSpec {
        id: row.text("job_id")?.to_owned(),
        model,
        batch: row.count("batch")? as usize,
        kind,
        iterations: row.count("iterations")?,
        submit_s: row.required("submit_time")?,
        duration_s: positive(row, "duration")?,
        priority,
        slo_ms: positive(row, "slo_ms")?,
        rate: positive(row, "rate")?,
        mapped_from,
    })
}

fn positive(row: &Row, field: &str) -> Result<Option<f64>> {
    match row.number(field)? {
        Some(v) if v <= 0.0 => Err(row.err(field, "must be > 0")),
        v => Ok(v),
    }
}

fn salus(row: &Row) -> Result<JobSpec> {
    let name = row.text("model_name")?;
    let (model_part, batch) = name
        .rsplit_once('_')
        .and_then(|(m, b)| b.parse::<usize>().ok().filter(|&b| b >= 1).map(|b| (m, b)))
        .ok_or_else(|| row.err("model_name", format!("{name:?}: expected <model>_<batch>")))?;
    let (model, mapped_from) = row.model("model_name", model_part)?;
    training_job(row, model, batch, mapped_from)
}

/// A training job of the columns Salus's and Tiresias's formats share.
fn training_job(row: &Row, model: Model, batch: usize, mapped_from: Option<String>) -> Result<JobSpec> {
    Ok(JobSpec {
        id: row.text("job_id")?.to_owned(),
        model,
        batch,
        kind: Kind::Train,
        iterations: row.count("iterations")?,
        submit_s: row.required("submit_time")?,
        duration_s: positive(row, "duration")?,
        priority: 0,
        slo_ms: None,
        rate: None,
        mapped_from,
    })
}

/// Tiresias gives no batch size: tf_cnn_benchmarks' per-GPU default of 32 is used. A job of
/// several GPUs keeps its duration (the time it ran on them) and is recorded as mapped.
fn tiresias(row: &Row) -> Result<JobSpec> {
    let name = row.text("model_name")?;
    let (model, mapped) = row.model("model_name", name)?;
    let gpus = row.count("num_gpu")?;
    let mapped_from = match (mapped, gpus) {
        (m, 1) => m,
        (m, g) => Some(format!("{} on {g} GPUs", m.as_deref().unwrap_or(name))),
    };
    training_job(row, model, 32, mapped_from)
}

/// The trace in our CSV format (a mapped model under its own name: reading maps it again).
pub fn to_csv(t: &Trace) -> String {
    let mut s = String::from("job_id,model,batch,kind,iterations,submit_time,duration,priority,slo_ms,rate\n");
    let opt = |v: Option<f64>| v.map(|x| format!("{x}")).unwrap_or_default();
    for j in &t.jobs {
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            j.id,
            j.written_model(),
            j.batch,
            j.kind.as_str(),
            j.iterations,
            j.submit_s,
            opt(j.duration_s),
            j.priority,
            opt(j.slo_ms),
            opt(j.rate)
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Trace> {
        parse_trace(text, Path::new("t.csv"))
    }

    #[test]
    fn our_format_round_trips() {
        let t = parse("job_id,model,batch,kind,iterations,submit_time,duration\n1,resnet50,32,train,100,0,\n2,bert,8,infer,5,1.5,2\n")
            .unwrap();
        assert_eq!(t.format, "placebench");
        assert_eq!(t.jobs.len(), 2);
        assert_eq!(t.jobs[1].duration_s, Some(2.0));
        let back = parse(&to_csv(&t)).unwrap();
        assert_eq!(back.jobs, t.jobs);
    }

    #[test]
    fn salus_and_tiresias_names_map_to_the_zoo() {
        let s = parse("job_id,model_name,iterations,submit_time,duration\n0,vgg16_50,100,0,60\n1,resnet50_25,10,3,\n")
            .unwrap();
        assert_eq!(s.format, "salus");
        assert_eq!((s.jobs[0].batch, s.jobs[0].mapped_from.as_deref()), (50, Some("vgg16")));
        assert_eq!((s.jobs[1].model, s.jobs[1].mapped_from.clone()), (Model::Resnet50, None));
        let t =
            parse("job_id,num_gpu,submit_time,iterations,model_name,duration,interval\r\n0,1,0,606,inception3,164,30\r\n1,4,30,10,googlenet,5,1\r\n")
                .unwrap();
        assert_eq!(t.format, "tiresias");
        assert_eq!(t.jobs[0].model, Model::InceptionV3);
        assert!(t.jobs[1].mapped_from.as_deref().unwrap().contains("4 GPUs"));
    }

    #[test]
    fn bad_rows_name_row_and_field() {
        let cases = [
            ("job_id,model,batch,kind,iterations,submit_time\n1,vgg99,1,train,1,0\n", "row 2: field \"model\""),
            ("job_id,model,batch,kind,iterations,submit_time\n1,bert,1,train,1,-3\n", "field \"submit_time\""),
            ("job_id,model,batch,kind,iterations,submit_time\n1,bert,1,fly,1,0\n", "field \"kind\""),
            ("job_id,model,batch,kind,iterations,submit_time\n1,bert,0,train,1,0\n", "field \"batch\""),
            (
                "job_id,model,batch,kind,iterations,submit_time\n1,bert,1,train,1,0\n1,bert,1,train,1,0\n",
                "row 3: field \"job_id\"",
            ),
            ("job_id,model_name,iterations,submit_time,duration\n0,vgg16,1,0,1\n", "field \"model_name\""),
            ("a,b\n1,2\n", "header"),
            ("job_id,model,batch,kind,iterations,submit_time\n", "no jobs"),
        ];
        for (text, want) in cases {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.starts_with("t.csv: ") && e.contains(want) && !e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn the_shared_traces_read_when_present() {
        let dir = std::path::PathBuf::from("../shared/traces");
        if !dir.join("tiresias_60_job.csv").exists() {
            eprintln!("skipped: ../shared/traces is absent");
            return;
        }
        let t = read_trace(&dir.join("tiresias_60_job.csv")).unwrap();
        assert_eq!(t.jobs.len(), 60);
        assert!(t.jobs.iter().all(|j| j.duration_s.is_some()));
    }
}
