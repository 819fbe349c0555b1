//! jwas patch: a small per-thread pool of compression and decompression contexts.
//!
//! `ZSTD_createCCtx` and `ZSTD_createDCtx` each run `cpuid` three times to look for BMI2.
//! In a virtual machine every `cpuid` traps to the hypervisor; we measured about 45 µs per
//! context pair. parquet-rs creates a compressor and a decompressor for every column chunk
//! it writes, so a small Parquet file with 40 columns spent 1.6 ms of its 1.9 ms there.
//! Contexts returned here are reset (session and parameters, which also drops any
//! dictionary), so a context taken from the pool is indistinguishable from a new one.

use core::ptr::NonNull;
use std::cell::RefCell;
use std::vec::Vec;

/// Contexts kept per thread and kind.
const KEEP: usize = 64;

/// A compression context that grew beyond this (it compressed large inputs) is freed,
/// not kept: the pool is for the many small ones, and 64 large ones would hold over
/// 100 MB per thread. Creating a context is cheap next to compressing that much.
const KEEP_CCTX_BYTES: usize = 256 << 10;

struct Pool {
    cctx: Vec<NonNull<zstd_sys::ZSTD_CCtx>>,
    dctx: Vec<NonNull<zstd_sys::ZSTD_DCtx>>,
}

impl Drop for Pool {
    fn drop(&mut self) {
        for c in self.cctx.drain(..) {
            // Safety: owned by the pool, not referenced anywhere else.
            unsafe { zstd_sys::ZSTD_freeCCtx(c.as_ptr()) };
        }
        for d in self.dctx.drain(..) {
            // Safety: owned by the pool, not referenced anywhere else.
            unsafe { zstd_sys::ZSTD_freeDCtx(d.as_ptr()) };
        }
    }
}

std::thread_local! {
    static POOL: RefCell<Pool> = const {
        RefCell::new(Pool { cctx: Vec::new(), dctx: Vec::new() })
    };
}

fn is_error(code: usize) -> bool {
    // Safety: Just FFI
    unsafe { zstd_sys::ZSTD_isError(code) != 0 }
}

/// A pooled compression context, or a new one (null if allocation failed).
pub(crate) fn take_cctx() -> *mut zstd_sys::ZSTD_CCtx {
    let pooled = POOL
        .try_with(|p| p.try_borrow_mut().ok().and_then(|mut p| p.cctx.pop()))
        .ok()
        .flatten();
    match pooled {
        Some(c) => c.as_ptr(),
        // Safety: zstd returns a newly owned context or null.
        None => unsafe { zstd_sys::ZSTD_createCCtx() },
    }
}

/// A pooled decompression context, or a new one (null if allocation failed).
pub(crate) fn take_dctx() -> *mut zstd_sys::ZSTD_DCtx {
    let pooled = POOL
        .try_with(|p| p.try_borrow_mut().ok().and_then(|mut p| p.dctx.pop()))
        .ok()
        .flatten();
    match pooled {
        Some(d) => d.as_ptr(),
        // Safety: zstd returns a newly owned context or null.
        None => unsafe { zstd_sys::ZSTD_createDCtx() },
    }
}

/// Resets `c` and keeps it for reuse, or frees it.
pub(crate) fn give_cctx(c: NonNull<zstd_sys::ZSTD_CCtx>) {
    use zstd_sys::ZSTD_ResetDirective::*;
    // Safety: Just FFI on a context the caller owns and gives up.
    let reset = unsafe {
        zstd_sys::ZSTD_sizeof_CCtx(c.as_ptr()) <= KEEP_CCTX_BYTES
            && !is_error(zstd_sys::ZSTD_CCtx_reset(c.as_ptr(), ZSTD_reset_session_only))
            && !is_error(zstd_sys::ZSTD_CCtx_reset(
                c.as_ptr(),
                ZSTD_reset_session_and_parameters,
            ))
    };
    let kept = reset
        && POOL
            .try_with(|p| match p.try_borrow_mut() {
                Ok(mut p) if p.cctx.len() < KEEP => {
                    p.cctx.push(c);
                    true
                }
                _ => false,
            })
            .unwrap_or(false);
    if !kept {
        // Safety: owned by the caller, who gives it up.
        unsafe { zstd_sys::ZSTD_freeCCtx(c.as_ptr()) };
    }
}

/// Resets `d` and keeps it for reuse, or frees it.
pub(crate) fn give_dctx(d: NonNull<zstd_sys::ZSTD_DCtx>) {
    use zstd_sys::ZSTD_ResetDirective::*;
    // Safety: Just FFI on a context the caller owns and gives up.
    let reset = unsafe {
        !is_error(zstd_sys::ZSTD_DCtx_reset(d.as_ptr(), ZSTD_reset_session_only))
            && !is_error(zstd_sys::ZSTD_DCtx_reset(
                d.as_ptr(),
                ZSTD_reset_session_and_parameters,
            ))
    };
    let kept = reset
        && POOL
            .try_with(|p| match p.try_borrow_mut() {
                Ok(mut p) if p.dctx.len() < KEEP => {
                    p.dctx.push(d);
                    true
                }
                _ => false,
            })
            .unwrap_or(false);
    if !kept {
        // Safety: owned by the caller, who gives it up.
        unsafe { zstd_sys::ZSTD_freeDCtx(d.as_ptr()) };
    }
}
