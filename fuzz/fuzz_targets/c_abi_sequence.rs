//! Random sequences of C ABI calls (NULLs, wrong phases, any bytes): no
//! panic crosses the boundary, no crash, every handle is freed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use libsession_engine::ffi::*;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, ops)) = data.split_first() else { return };
    unsafe {
        let mut b: *mut libsession_config_builder = std::ptr::null_mut();
        let rc = if mode & 1 == 0 { libsession_config_builder_new(&mut b) } else { libsession_config_builder_new_express(&mut b) };
        assert_eq!(rc, 0);
        let secret = b"fuzz secret fuzz secret fuzz secret!";
        let _ = libsession_config_builder_add_secret(b, secret.as_ptr(), secret.len());
        let _ = libsession_config_builder_set_max_age(b, mode & 2 == 0, 60_000);
        let mut cfg: *const libsession_config = std::ptr::null();
        assert_eq!(libsession_config_builder_build(b, &mut cfg), 0);
        let mut req: *mut libsession_request = std::ptr::null_mut();
        let entropy = [3u8; 32];
        assert_eq!(libsession_request_new(cfg, 1_700_000_000_000, entropy.as_ptr(), entropy.len(), &mut req), 0);
        let record = br#"{"cookie":{"originalMaxAge":60000,"expires":"2033-11-14T23:13:20.000Z","httpOnly":true,"path":"/"},"n":1}"#;
        let mut kind = 0u32;
        let mut out = libsession_str { data: std::ptr::null(), len: 0 };
        let mut d = 0f64;
        for chunk in ops.chunks(3) {
            let (op, arg) = (chunk[0], chunk.get(1..).unwrap_or(&[]));
            let null = op & 0x80 != 0; // pass NULL where a pointer goes
            let r = if null { std::ptr::null_mut() } else { req };
            let _ = match op % 16 {
                0 => libsession_request_poll_action(r, &mut kind),
                1 => libsession_request_handle_load_result(r, u32::from(arg.first().copied().unwrap_or(0)) % 5, record.as_ptr(), record.len()),
                2 => libsession_request_handle_store_result(r, u32::from(arg.first().copied().unwrap_or(0)) % 4, b"down".as_ptr(), 4),
                3 => libsession_request_set_json(r, b"k".as_ptr(), 1, arg.as_ptr(), arg.len()),
                4 => libsession_request_get_json(r, arg.as_ptr(), arg.len(), &mut out),
                5 => libsession_request_delete(r, arg.as_ptr(), arg.len()),
                6 => libsession_request_increment(r, b"n".as_ptr(), 1, &mut d),
                7 => libsession_request_save(r),
                8 => libsession_request_reload(r),
                9 => libsession_request_destroy(r),
                10 => libsession_request_regenerate(r),
                11 => libsession_request_finish(r),
                12 => libsession_request_add_cookie_header(r, arg.as_ptr(), arg.len()),
                13 => libsession_request_action_record(r, &mut out),
                14 => libsession_request_set_target(r, arg.as_ptr(), arg.len()),
                _ => libsession_request_unset(r),
            };
        }
        libsession_request_free(req);
        libsession_config_free(cfg);
    }
});
