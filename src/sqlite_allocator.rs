//! SQLite allocates through mimalloc, like the rest of the service.
//!
//! sqlx copies every value of a row on the connection's worker thread, and the row is freed
//! on the runtime's. Through the C library's allocator each such pair crossed glibc's arena
//! locks; `malloc` and `free` took a sixth of a page read's time. The setting only takes
//! before SQLite's first connection in the process.

use std::ffi::{c_int, c_void};

use libmimalloc_sys::{mi_free, mi_good_size, mi_malloc, mi_realloc, mi_usable_size};
use libsqlite3_sys::{SQLITE_CONFIG_MALLOC, SQLITE_OK, sqlite3_config, sqlite3_mem_methods};

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
/// started already) and keeps its own allocator.
pub fn install() -> bool {
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
    // SAFETY: SQLite copies the methods before returning; each of them keeps its contract.
    unsafe {
        sqlite3_config(SQLITE_CONFIG_MALLOC, &methods as *const sqlite3_mem_methods) == SQLITE_OK
    }
}
