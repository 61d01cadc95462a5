//! libsession's C library: every `libsession_*` function of
//! `include/libsession.h`, from the engine crate's C ABI. Nothing else: the
//! functions are defined (and documented) in `libsession_engine::ffi`.

pub use libsession_engine::ffi::*;
