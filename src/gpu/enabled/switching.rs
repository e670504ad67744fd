//! Switching between many models on GPU 0: the virtual weights resident and a model switched
//! in by one page-table gather kernel, against reloading its weights (from pinned memory,
//! pageable memory or a file), an LRU cache of whole models in the same bytes, and every model
//! resident. Each request is a switch, timed to the GPU's completion, then the model's forward
//! pass as one CUDA graph; energy from NVML's counter where the driver has it.

use super::kernels::{address, page_gather};
use super::layers::LayerKernels;
use super::{check, err, profiler::real_kernels_on_gpu0};
use crate::gpu::switching::{SwitchMethod, SwitchReport, SwitchRow, SwitchSpec};
use crate::gpu::LinkFit;
use cudarc::driver::sys;
use std::time::Instant;

/// Host memory the driver pinned, freed on drop.
struct Pinned(*mut std::ffi::c_void);

impl Drop for Pinned {
    fn drop(&mut self) {
        unsafe { sys::cuMemFreeHost(self.0) };
    }
}

fn energy_mj(nvml: &Option<nvml_wrapper::Nvml>) -> Option<u64> {
    nvml.as_ref()?.device_by_index(0).ok()?.total_energy_consumption().ok()
}

pub fn measure_switching(spec: &SwitchSpec) -> crate::Result<SwitchReport> {
    let (ctx, lib) = real_kernels_on_gpu0("switching models")?;
    let stream = ctx.new_stream().map_err(|e| err("stream", e))?;
    let s = spec.page_size;
    let largest = spec.weights.iter().map(Vec::len).max().unwrap_or(1);
    let virt = stream.clone_htod(&spec.virtual_weights).map_err(|e| err("upload virtual weights", e))?;
    let tables: Vec<u32> = spec.tables.iter().flatten().map(|&v| v as u32).collect();
    let offsets: Vec<usize> = spec
        .tables
        .iter()
        .scan(0, |o, t| {
            let at = *o;
            *o += t.len();
            Some(at)
        })
        .collect();
    let table_buf = stream.clone_htod(&tables).map_err(|e| err("upload page tables", e))?;
    let scratch = stream.alloc_zeros::<f32>(largest).map_err(|e| err("scratch", e))?;
    let (virt_p, table_p, scratch_p) =
        (address(&virt, &stream), address(&table_buf, &stream), address(&scratch, &stream));
    // The gather of every model, read back: bit for bit its weights through its table.
    let mut bitwise = Vec::with_capacity(spec.weights.len());
    for (m, w) in spec.weights.iter().enumerate() {
        page_gather(&lib, &stream, scratch_p, virt_p, table_p + 4 * offsets[m] as u64, w.len() as u64, s as u32)?;
        let back = stream.clone_dtoh(&scratch).map_err(|e| err("read back", e))?;
        let want = crate::multitenant::nwv::packing::gather(&spec.virtual_weights, &spec.tables[m], s, w.len());
        bitwise.push(back[..w.len()].iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()));
    }
    ctx.bind_to_thread().map_err(|e| err("bind", e))?;
    let mut pinned = Vec::with_capacity(spec.weights.len());
    for w in &spec.weights {
        let mut p: *mut std::ffi::c_void = std::ptr::null_mut();
        check("pinned alloc", unsafe { sys::cuMemAllocHost_v2(&mut p, 4 * w.len()) })?;
        unsafe { std::ptr::copy_nonoverlapping(w.as_ptr() as *const u8, p as *mut u8, 4 * w.len()) };
        pinned.push(Pinned(p));
    }
    std::fs::create_dir_all(&spec.file_dir).map_err(|e| crate::Error::io(&spec.file_dir, e))?;
    let files: Vec<std::path::PathBuf> =
        (0..spec.weights.len()).map(|m| spec.file_dir.join(format!("model{m}.f32"))).collect();
    for (f, w) in files.iter().zip(&spec.weights) {
        let bytes: Vec<u8> = w.iter().flat_map(|x| x.to_le_bytes()).collect();
        std::fs::write(f, bytes).map_err(|e| crate::Error::io(f, e))?;
    }
    let forward = {
        // One layer of all the model's operators: one graph a forward pass.
        let whole = |g: &crate::zoo::graph::OpGraph| std::iter::once(0..g.ops.len()).collect();
        LayerKernels::new(&spec.models.iter().map(|g| (g.clone(), whole(g), true)).collect::<Vec<_>>())?
    };
    let nvml = nvml_wrapper::Nvml::init().ok();
    let upload = |dst: u64, src: *const std::ffi::c_void, bytes: usize| {
        check("upload", unsafe { sys::cuMemcpyHtoDAsync_v2(dst, src, bytes, stream.cu_stream()) })
    };
    let mut rows = Vec::new();
    for &method in &spec.methods {
        // Every model resident, or the cache's slots, allocated before the clock starts.
        let resident: Vec<_> = match method {
            SwitchMethod::AllResident => spec
                .weights
                .iter()
                .map(|w| stream.clone_htod(w))
                .collect::<Result<_, _>>()
                .map_err(|e| err("resident", e))?,
            _ => Vec::new(),
        };
        let cache_bufs: Vec<_> = if method == SwitchMethod::LruResident {
            (0..spec.cache_slots)
                .map(|_| stream.alloc_zeros::<f32>(largest))
                .collect::<Result<_, _>>()
                .map_err(|e| err("cache", e))?
        } else {
            Vec::new()
        };
        let mut lru: Vec<(usize, usize)> = Vec::new(); // (model, slot), most recent last
        for seq in &spec.sequences {
            stream.synchronize().map_err(|e| err("synchronize", e))?;
            let e0 = energy_mj(&nvml);
            let t0 = Instant::now();
            let (mut switch_ms, mut forward_ms, mut misses) = (Vec::with_capacity(seq.len()), 0.0, 0);
            for &m in seq {
                let n = spec.weights[m].len();
                let t = Instant::now();
                match method {
                    SwitchMethod::Gather => page_gather(
                        &lib,
                        &stream,
                        scratch_p,
                        virt_p,
                        table_p + 4 * offsets[m] as u64,
                        n as u64,
                        s as u32,
                    )?,
                    SwitchMethod::ReloadPinned => upload(scratch_p, pinned[m].0, 4 * n)?,
                    SwitchMethod::ReloadPageable => upload(scratch_p, spec.weights[m].as_ptr() as *const _, 4 * n)?,
                    SwitchMethod::ReloadFile => {
                        let bytes = std::fs::read(&files[m]).map_err(|e| crate::Error::io(&files[m], e))?;
                        upload(scratch_p, bytes.as_ptr() as *const _, bytes.len())?;
                        stream.synchronize().map_err(|e| err("synchronize", e))?;
                    }
                    SwitchMethod::LruResident => {
                        if let Some(k) = lru.iter().position(|&(x, _)| x == m) {
                            let hit = lru.remove(k);
                            lru.push(hit);
                        } else {
                            misses += 1;
                            let slot = if lru.len() < cache_bufs.len() { lru.len() } else { lru.remove(0).1 };
                            upload(address(&cache_bufs[slot], &stream), pinned[m].0, 4 * n)?;
                            lru.push((m, slot));
                        }
                    }
                    SwitchMethod::AllResident => {}
                }
                stream.synchronize().map_err(|e| err("synchronize", e))?;
                switch_ms.push(t.elapsed().as_secs_f64() * 1e3);
                let t = Instant::now();
                forward.run(m, 0)?;
                forward_ms += t.elapsed().as_secs_f64() * 1e3;
            }
            let total_ms = t0.elapsed().as_secs_f64() * 1e3;
            let energy_j = match (e0, energy_mj(&nvml)) {
                (Some(a), Some(b)) => Some((b.saturating_sub(a)) as f64 / 1e3),
                _ => None,
            };
            let resident_bytes = match method {
                SwitchMethod::Gather => 4 * (spec.virtual_weights.len() + tables.len() + largest),
                SwitchMethod::AllResident => 4 * spec.weights.iter().map(Vec::len).sum::<usize>(),
                SwitchMethod::LruResident => 4 * largest * cache_bufs.len(),
                _ => 4 * largest,
            };
            rows.push(SwitchRow {
                method,
                requests: seq.len(),
                switch_ms,
                forward_ms,
                total_ms,
                energy_j,
                resident_bytes,
                misses,
            });
        }
        drop(resident);
    }
    stream.synchronize().map_err(|e| err("synchronize", e))?;
    for f in &files {
        std::fs::remove_file(f).ok();
    }
    // Pageable uploads over the sizes the other links are fitted on (4 KiB .. 256 MiB).
    let host = vec![0u8; 256 << 20];
    let dst = stream.alloc_zeros::<u8>(host.len()).map_err(|e| err("alloc", e))?;
    let dst_p = address(&dst, &stream);
    let mut points = Vec::new();
    for i in 0..=8 {
        let b = 4096usize << (2 * i);
        let ms = super::time_ms(&stream, 2, 10, || upload(dst_p, host.as_ptr() as *const _, b))?;
        points.push((b, ms));
    }
    let pageable = Some(LinkFit::fit("host-to-device (pageable)", points));
    // The gather kernel as a link of its own: the largest model's table over its first bytes,
    // timed as the switches are (host clock, launch to completion), 4 KiB .. 256 MiB.
    let big = (0..spec.weights.len()).max_by_key(|&m| spec.weights[m].len()).unwrap_or(0);
    let mut points = Vec::new();
    for i in 0..=8 {
        let n = ((4096usize << (2 * i)) / 4).min(spec.weights[big].len());
        let mut ms = Vec::with_capacity(12);
        for k in 0..12 {
            let t = Instant::now();
            page_gather(&lib, &stream, scratch_p, virt_p, table_p + 4 * offsets[big] as u64, n as u64, s as u32)?;
            stream.synchronize().map_err(|e| err("synchronize", e))?;
            if k >= 2 {
                ms.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
        points.push((4 * n, super::median(&mut ms)));
    }
    let gather = Some(LinkFit::fit("page-table gather (host-timed)", points));
    Ok(SwitchReport {
        device: forward.device(),
        rows,
        gather_bitwise: bitwise,
        energy: nvml.is_some(),
        pageable,
        gather,
    })
}
