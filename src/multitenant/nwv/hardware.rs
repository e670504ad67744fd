//! `bench nwv --gpu`: zoo models with seeded weights packed onto a virtual memory, then every
//! switching method measured on GPU 0 over seeded random request sequences, each switch
//! against its model: the model's bytes at the rate a fit over synthetic sizes gives (the
//! gather kernel's own fit, host-to-device copies for reloads, pinned reloads for the cache's
//! misses). The device-to-device copy's fit, the obvious model of a gather, is reported too.

use super::matchers::{pack, MatchOptions, RandomMatch};
use super::packing::virtual_weights;
use super::sweep::{matchers, NwvArgs, ZOO};
use super::task::{zoo_task, Importance};
use crate::error::{Error, Result};
use crate::gpu::switching::{SwitchMethod, SwitchRow, SwitchSpec};
use crate::gpu::{relative_error, LinkFit};
use crate::multitenant::tenant::{graph, parse_model};
use crate::results::{Record, Status};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The default page size on the GPU: 16,384 weights (64 KiB).
pub const GPU_PAGE: usize = 16_384;

/// `requests` seeded uniform draws over `models` models.
pub fn sequence(models: usize, requests: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7377_6974);
    (0..requests).map(|_| rng.random_range(0..models)).collect()
}

/// Least-recently-used misses of `seq` with `slots` whole-model slots.
pub fn lru_misses(seq: &[usize], slots: usize) -> Vec<bool> {
    let mut lru: Vec<usize> = Vec::new();
    seq.iter()
        .map(|&m| match lru.iter().position(|&x| x == m) {
            Some(k) => {
                lru.remove(k);
                lru.push(m);
                false
            }
            None => {
                if lru.len() == slots.max(1) {
                    lru.remove(0);
                }
                lru.push(m);
                true
            }
        })
        .collect()
}

fn at(f: &LinkFit, bytes: usize) -> f64 {
    f.alpha_ms + bytes as f64 / f.bytes_per_ms
}

/// The modelled mean switch of a row, where the method has a model.
pub fn predicted_ms(row: &SwitchRow, seq: &[usize], bytes: &[usize], fits: &Fits, slots: usize) -> Option<f64> {
    let per = |f: &LinkFit| seq.iter().map(|&m| at(f, bytes[m])).sum::<f64>() / seq.len() as f64;
    match row.method {
        SwitchMethod::Gather => Some(per(fits.gather.as_ref().unwrap_or(&fits.device))),
        SwitchMethod::ReloadPinned => Some(per(&fits.pinned)),
        SwitchMethod::ReloadPageable => fits.pageable.as_ref().map(per),
        SwitchMethod::LruResident => {
            let miss = lru_misses(seq, slots);
            Some(
                seq.iter().zip(&miss).filter(|e| *e.1).map(|(&m, _)| at(&fits.pinned, bytes[m])).sum::<f64>()
                    / seq.len() as f64,
            )
        }
        SwitchMethod::ReloadFile | SwitchMethod::AllResident => None,
    }
}

/// The copy fits the model uses.
pub struct Fits {
    pub device: LinkFit,
    pub gather: Option<LinkFit>,
    pub pinned: LinkFit,
    pub pageable: Option<LinkFit>,
}

fn percentile(xs: &[f64], q: f64) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1]
}

/// Runs the measurement; one row per method and sequence, and the report as the run file.
pub fn run(a: &NwvArgs) -> Result<(Vec<Record>, Vec<crate::run::RunFile>)> {
    let names: Vec<String> = if a.models.is_empty() || a.models == ["zoo"] {
        ZOO.iter().map(|s| s.to_string()).collect()
    } else {
        a.models.clone()
    };
    let seed = a.output.common.seed;
    let importance = if a.importance == Importance::Fisher { Importance::Magnitude2 } else { a.importance };
    let mut tasks = Vec::new();
    let mut models = Vec::new();
    for n in &names {
        let (Some(t), Some(m)) = (zoo_task(n, seed, importance), parse_model(n)) else {
            return Err(Error::Usage(format!("--gpu runs zoo models ({}); {n} is not one", ZOO.join(", "))));
        };
        tasks.push(t);
        models.push(graph(m, 1));
    }
    let s = a.page_size.unwrap_or(GPU_PAGE);
    let largest = tasks.iter().map(|t| t.pages(s)).max().unwrap_or(1);
    let v = a.virtual_pages.first().copied().unwrap_or(largest).max(largest);
    let o = MatchOptions { seed, faithful: false, lap_max: a.lap_max };
    let m = matchers(&a.matchers)?
        .into_iter()
        .find(|m| m.applies(&tasks, s, v, &o).is_ok() && m.virtual_pages(&tasks, s, &o).is_none())
        .unwrap_or(&RandomMatch);
    eprintln!("packing {} models onto {v} pages of {s} with {}", tasks.len(), m.name());
    let pk = pack(m, &tasks, s, v, a.order, 0, &o);
    let virt = virtual_weights(&tasks, &pk);
    let requests = if a.requests.is_empty() { vec![30, 300] } else { a.requests.clone() };
    let sequences: Vec<Vec<usize>> = requests.iter().map(|&r| sequence(tasks.len(), r, seed)).collect();
    let bytes: Vec<usize> = tasks.iter().map(|t| 4 * t.len()).collect();
    let largest_bytes = 4 * tasks.iter().map(|t| t.len()).max().unwrap_or(1);
    // The cache gets the gather's resident bytes: virtual weights, tables and scratch.
    let budget = 4 * (virt.len() + pk.tables.iter().map(Vec::len).sum::<usize>()) + largest_bytes;
    let slots = (budget / largest_bytes).max(1).min(tasks.len());
    let links = crate::gpu::profile_links(10, crate::gpu::plan::CopyKernel::Engine)?;
    let find = |prefix: &str| links.iter().find(|f| f.name.starts_with(prefix)).cloned();
    let spec = SwitchSpec {
        models,
        weights: tasks.iter().map(|t| t.weights.clone()).collect(),
        virtual_weights: virt,
        tables: pk.tables.clone(),
        page_size: s,
        sequences: sequences.clone(),
        methods: if a.switch.is_empty() { SwitchMethod::ALL.to_vec() } else { a.switch.clone() },
        file_dir: std::env::temp_dir().join(format!("placebench-nwv-{}", std::process::id())),
        cache_slots: slots,
    };
    let report = crate::gpu::measure_switching(&spec)?;
    let (Some(device), Some(pinned)) = (find("device-to-device"), find("host-to-device (pinned)")) else {
        return Err(Error::Gpu("the link profile has no device-to-device or pinned fit".into()));
    };
    let fits = Fits { device, gather: report.gather.clone(), pageable: report.pageable.clone(), pinned };
    let bitwise = report.gather_bitwise.iter().all(|&b| b);
    let mut records = Vec::new();
    for row in &report.rows {
        let seq = &sequences[requests.iter().position(|&r| r == row.requests).unwrap_or(0)];
        let mean = row.switch_ms.iter().sum::<f64>() / row.switch_ms.len().max(1) as f64;
        let predicted = predicted_ms(row, seq, &bytes, &fits, slots);
        let as_copy = (row.method == SwitchMethod::Gather)
            .then(|| seq.iter().map(|&m| at(&fits.device, bytes[m])).sum::<f64>() / seq.len() as f64);
        let mut r = Record::new(
            &format!("{}@requests={}", names.join("+"), row.requests),
            "-",
            "nwv-switch",
            row.method.as_str(),
            format!("page_size={s};virtual_pages={v};matcher={}", m.name()),
            seed,
        );
        r.objective = Some(row.total_ms);
        r.claimed_objective = predicted;
        r.status = Status::Feasible;
        r.feasible = true;
        if row.method == SwitchMethod::Gather && !bitwise {
            r.status = Status::Mismatch;
            r.feasible = false;
            r.message = "the GPU's gather differs from the CPU's".into();
        }
        r.notes = format!(
            "device={};switch_mean_ms={mean};switch_p99_ms={};predicted_switch_ms={};switch_relative_error={};forward_ms={};energy_j={};resident_bytes={};misses={};as_device_copy_ms={}",
            report.device,
            percentile(&row.switch_ms, 0.99),
            predicted.map_or("-".into(), |p| p.to_string()),
            predicted.filter(|_| mean > 0.0).map_or("-".into(), |p| relative_error(mean, p).to_string()),
            row.forward_ms,
            row.energy_j.map_or("-".into(), |e| e.to_string()),
            row.resident_bytes,
            row.misses,
            as_copy.map_or("-".into(), |p| p.to_string())
        );
        records.push(r);
    }
    let file = serde_json::json!({
        "schema_version": 1,
        "report": report,
        "links": links,
        "models": names,
        "bytes": bytes,
        "sequences": sequences,
    });
    Ok((records, vec![("switching.json".into(), serde_json::to_string_pretty(&file).unwrap_or_default() + "\n")]))
}
