//! libnftables in the helper's own process, loaded with `dlopen`, so a batch
//! of map elements costs one netlink transaction instead of starting `nft`
//! (about 5 ms each, which capped call set-ups at a few hundred a second).
//! The same JSON goes in and comes out as with `nft -j`; when the library
//! is missing (or `PPTP_PASSTHROUGH_NFT=binary` is set) callers fall back
//! to running `nft`.

use std::ffi::{CStr, CString, c_char, c_int, c_uint, c_void};
use std::sync::Mutex;

/// `NFT_CTX_OUTPUT_JSON` (libnftables.h): JSON output, and JSON input too.
const OUTPUT_JSON: c_uint = 1 << 4;

type NewFn = unsafe extern "C" fn(c_uint) -> *mut c_void;
type FreeFn = unsafe extern "C" fn(*mut c_void);
type SetFlagsFn = unsafe extern "C" fn(*mut c_void, c_uint);
type DryRunFn = unsafe extern "C" fn(*mut c_void, bool);
type BufferFn = unsafe extern "C" fn(*mut c_void) -> c_int;
type GetBufferFn = unsafe extern "C" fn(*mut c_void) -> *const c_char;
type RunFn = unsafe extern "C" fn(*mut c_void, *const c_char) -> c_int;

struct Lib {
    /// Kept for batches and checks: closing a netfilter netlink socket
    /// waits for an RCU grace period (about 20 ms here), so a context per
    /// batch would cost that much per control message.
    ctx: *mut c_void,
    new: NewFn,
    free: FreeFn,
    set_flags: SetFlagsFn,
    set_dry_run: DryRunFn,
    buffer_output: BufferFn,
    buffer_error: BufferFn,
    run: RunFn,
    output: GetBufferFn,
    error: GetBufferFn,
}

impl Lib {
    /// A fresh context with JSON and buffered output, or null.
    ///
    /// SAFETY: the function pointers are libnftables' own.
    unsafe fn context(&self) -> *mut c_void {
        // SAFETY: see above; a null context is checked before use.
        unsafe {
            let ctx = (self.new)(0);
            if ctx.is_null() {
                return ctx;
            }
            (self.set_flags)(ctx, OUTPUT_JSON);
            if (self.buffer_output)(ctx) != 0 || (self.buffer_error)(ctx) != 0 {
                (self.free)(ctx);
                return std::ptr::null_mut();
            }
            ctx
        }
    }

    /// Run `cmds` in `ctx`: stdout or the error text.
    fn exec(&self, ctx: *mut c_void, cmds: &CStr) -> Result<String, String> {
        let read = |f: GetBufferFn| {
            // SAFETY: the buffer getters return a NUL-terminated string
            // owned by the context, valid until the next command; it is
            // copied at once.
            let p = unsafe { f(ctx) };
            if p.is_null() {
                String::new()
            } else {
                // SAFETY: non-null and NUL-terminated, see above.
                unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
            }
        };
        // SAFETY: `ctx` is a live context used under the mutex; `cmds` is
        // NUL-terminated and outlives the call.
        let rc = unsafe { (self.run)(ctx, cmds.as_ptr()) };
        let out = read(self.output);
        let err = read(self.error);
        if rc == 0 {
            Ok(out)
        } else {
            Err(err.trim().to_string())
        }
    }
}

// SAFETY: the context is only ever used while `LIB`'s mutex is held, so
// it is never touched by two threads at once.
unsafe impl Send for Lib {}

/// `None`: not tried yet; `Some(None)`: not available.
static LIB: Mutex<Option<Option<Lib>>> = Mutex::new(None);

/// Look a symbol up in `handle`.
///
/// SAFETY: the caller names the C type of the symbol correctly.
unsafe fn sym<T: Copy>(handle: *mut c_void, name: &CStr) -> Option<T> {
    // SAFETY: `handle` came from dlopen and `name` is NUL-terminated.
    let p = unsafe { libc::dlsym(handle, name.as_ptr()) };
    // SAFETY: function pointers and data pointers have the same size on
    // Linux; the caller guarantees the signature.
    (!p.is_null()).then(|| unsafe { std::mem::transmute_copy::<*mut c_void, T>(&p) })
}

fn load() -> Option<Lib> {
    if std::env::var("PPTP_PASSTHROUGH_NFT").is_ok_and(|v| v == "binary") {
        return None;
    }
    // SAFETY: plain dlopen of a system library by its soname; the handle
    // is kept for the life of the process (never dlclosed).
    let handle = unsafe { libc::dlopen(c"libnftables.so.1".as_ptr(), libc::RTLD_NOW) };
    if handle.is_null() {
        return None;
    }
    // SAFETY: the signatures are those of libnftables.h (1.0 and later).
    unsafe {
        let mut lib = Lib {
            ctx: std::ptr::null_mut(),
            new: sym(handle, c"nft_ctx_new")?,
            free: sym(handle, c"nft_ctx_free")?,
            set_flags: sym(handle, c"nft_ctx_output_set_flags")?,
            set_dry_run: sym(handle, c"nft_ctx_set_dry_run")?,
            buffer_output: sym(handle, c"nft_ctx_buffer_output")?,
            buffer_error: sym(handle, c"nft_ctx_buffer_error")?,
            run: sym(handle, c"nft_run_cmd_from_buffer")?,
            output: sym(handle, c"nft_ctx_get_output_buffer")?,
            error: sym(handle, c"nft_ctx_get_error_buffer")?,
        };
        lib.ctx = lib.context();
        (!lib.ctx.is_null()).then_some(lib)
    }
}

/// Whether the library is in use (for the start-up log line).
pub fn available() -> bool {
    let mut g = LIB.lock().unwrap_or_else(|e| e.into_inner());
    g.get_or_insert_with(load).is_some()
}

/// Run nft commands (JSON, or nft syntax) in one transaction; `None` when
/// the library is not available, else stdout (JSON) or the error text.
/// Only for commands that fetch little (element batches fetch the table and
/// set definitions): the context's cache keeps what they fetched, and a
/// listing (even `list tables`) fetches every map element.
pub fn run(cmds: &str) -> Option<Result<String, String>> {
    with_lib(cmds, |lib, c| lib.exec(lib.ctx, c))
}

/// Like `run`, as a dry run: the kernel checks the transaction and drops it.
pub fn check(cmds: &str) -> Option<Result<String, String>> {
    with_lib(cmds, |lib, c| {
        // SAFETY: the live context, under the mutex; dry run is switched
        // off again before anyone else can use it.
        unsafe { (lib.set_dry_run)(lib.ctx, true) };
        let r = lib.exec(lib.ctx, c);
        // SAFETY: as above.
        unsafe { (lib.set_dry_run)(lib.ctx, false) };
        r
    })
}

fn with_lib(
    cmds: &str,
    f: impl FnOnce(&Lib, &CStr) -> Result<String, String>,
) -> Option<Result<String, String>> {
    let cmds = match CString::new(cmds) {
        Ok(c) => c,
        Err(_) => return Some(Err("command text contains a NUL byte".into())),
    };
    let mut g = LIB.lock().unwrap_or_else(|e| e.into_inner());
    let lib = g.get_or_insert_with(load).as_ref()?;
    Some(f(lib, &cmds))
}
