//! One allocator for the whole process: mimalloc, for Rust and for SQLite.
//!
//! mimalloc instead of the system allocator: faster for the many small allocations of a
//! request, and it returns freed memory to the system instead of keeping it per thread. It
//! is built without transparent huge pages: with them every 2 MiB region it touched became
//! resident whole, and the service started at 68 MiB of heap instead of 35.
//!
//! SQLite allocates through it too, and without counting. sqlx copies every value of a row
//! on the connection's worker thread, and the row is freed on the runtime's. SQLite counts
//! its allocations behind one process-wide mutex, and waking the threads queued on it took
//! a sixth of a page read's time; through the C library's allocator each such pair also
//! crossed glibc's arena locks, and `malloc` and `free` took another sixth.

use std::ffi::{c_int, c_void};

use libmimalloc_sys::{
    mi_free, mi_good_size, mi_malloc, mi_option_set, mi_option_t, mi_realloc, mi_usable_size,
};
use libsqlite3_sys::{
    SQLITE_CONFIG_MALLOC, SQLITE_CONFIG_MEMSTATUS, SQLITE_OK, sqlite3_config, sqlite3_mem_methods,
};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc 3's `mi_option_e` (`mimalloc.h`), which the Rust
/// bindings do not name.
const PURGE_DELAY: mi_option_t = 15;

/// How long freed memory stays with mimalloc before it goes back to the system. Its default,
/// a second, kept what the readiness report had just freed on every connection's thread:
/// through a run of reads and reports at scale 100 the peak was 159 MiB, with 10 ms it is
/// 127 MiB (`bench/README.md`).
const PURGE_DELAY_MS: std::ffi::c_long = 10;

unsafe extern "C" fn allocate(size: c_int) -> *mut c_void {
    // SAFETY: SQLite asks for a positive size.
    unsafe { mi_malloc(size as usize) }
}

unsafe extern "C" fn free(block: *mut c_void) {
    // SAFETY: SQLite frees only what `allocate` or `reallocate` returned.
    unsafe { mi_free(block) }
}

unsafe extern "C" fn reallocate(block: *mut c_void, size: c_int) -> *mut c_void {
    // SAFETY: as above; SQLite passes a positive size and a block of ours.
    unsafe { mi_realloc(block, size as usize) }
}

unsafe extern "C" fn size_of(block: *mut c_void) -> c_int {
    // SAFETY: a block of ours; SQLite never allocates beyond `c_int`.
    unsafe { mi_usable_size(block) as c_int }
}

unsafe extern "C" fn round_up(size: c_int) -> c_int {
    // SAFETY: a pure function of the size.
    unsafe { mi_good_size(size as usize) as c_int }
}

unsafe extern "C" fn init(_: *mut c_void) -> c_int {
    SQLITE_OK
}

unsafe extern "C" fn shutdown(_: *mut c_void) {}

/// Call before anything opens a SQLite database; returns false when SQLite refused (it had
/// started already) and keeps counting with its own allocator.
pub fn configure() -> bool {
    // SAFETY: an option mimalloc reads each time it purges.
    unsafe { mi_option_set(PURGE_DELAY, PURGE_DELAY_MS) };
    let methods = sqlite3_mem_methods {
        xMalloc: Some(allocate),
        xFree: Some(free),
        xRealloc: Some(reallocate),
        xSize: Some(size_of),
        xRoundup: Some(round_up),
        xInit: Some(init),
        xShutdown: Some(shutdown),
        pAppData: std::ptr::null_mut(),
    };
    // SAFETY: no SQLite connection is open yet; the first option takes one int, and SQLite
    // copies the methods before returning, each of them keeping its contract.
    unsafe {
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0 as c_int) == SQLITE_OK
            && sqlite3_config(SQLITE_CONFIG_MALLOC, &methods as *const sqlite3_mem_methods)
                == SQLITE_OK
    }
}
