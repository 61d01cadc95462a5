//! The C tests (`tests/c/`) compiled with `-std=c99 -Wall -Wextra -Wpedantic
//! -Werror` against `include/libsession.h` and the static library cargo just
//! built, and run; and the header compiled on its own as C99 and as C++.
//!
//! `scripts/test-c.sh` runs the same programs under AddressSanitizer +
//! UndefinedBehaviorSanitizer and under valgrind. Needs `cc` and `c++`
//! (Debian: build-essential, g++) and `python3` (the NULL-parameter test is
//! generated from the header); skipped without them (`tests/common/tools.rs`).

use std::path::PathBuf;
use std::process::Command;

const CFLAGS: &[&str] = &["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-g"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[path = "common/host_build.rs"]
mod host_build;
#[path = "common/tools.rs"]
mod tools;

/// Where this test puts what it builds.
fn profile_dir() -> PathBuf {
    host_build::dir()
}

fn out_dir() -> PathBuf {
    let d = profile_dir().join("c-tests");
    std::fs::create_dir_all(&d).expect("create target/<profile>/c-tests");
    d
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e} (is a C compiler installed?)"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{cmd:?} failed ({}):\n{stdout}\n{stderr}", out.status);
    stdout
}

/// Builds and runs one C test program; returns its output (`None`: skipped,
/// no C compiler).
fn c_test(name: &str) -> Option<String> {
    c_test_from(&root().join("tests/c").join(format!("{name}.c")), name)
}

/// Builds and runs the C test program in `source`; returns its output
/// (`None`: skipped, no C compiler).
fn c_test_from(source: &std::path::Path, name: &str) -> Option<String> {
    if !tools::present(&format!("tests/c/{name}.c"), &["cc"]) {
        return None;
    }
    let lib = host_build::static_lib();
    assert!(lib.exists(), "{} is missing after cargo build", lib.display());
    let exe = out_dir().join(name);
    let c = root().join("tests/c");
    run(Command::new("cc")
        .args(CFLAGS)
        .arg(format!("-I{}", root().join("include").display()))
        .arg(format!("-I{}", c.display()))
        .arg(source)
        .arg(c.join("harness.c"))
        .arg(&lib)
        .args(["-lpthread", "-ldl", "-lm"])
        .arg("-o")
        .arg(&exe));
    let output = run(&mut Command::new(&exe));
    print!("{output}");
    Some(output)
}

/// The program's closing "N passed, 0 failed" line, with N > 0 (if it ran).
fn assert_passed(output: Option<String>, at_least: usize) {
    let Some(output) = output else { return };
    let last = output.lines().last().unwrap_or("");
    let (passed, failed) = last.split_once(" passed, ").expect("a closing 'N passed, M failed' line");
    assert_eq!(failed, "0 failed", "{last}");
    assert!(passed.parse::<usize>().unwrap() >= at_least, "{last}");
}

#[test]
fn c_lifecycle_tests() {
    assert_passed(c_test("test_lifecycle"), 14);
}

#[test]
fn c_error_path_tests() {
    assert_passed(c_test("test_errors"), 11);
}

#[test]
fn c_api_rules_tests() {
    assert_passed(c_test("test_api_rules"), 7);
}

/// The stored-record load path: handles taken at SAVE/TOUCH, given at LOAD.
#[test]
fn c_stored_record_tests() {
    assert_passed(c_test("test_stored"), 3);
}

/// connect-redis's command plan (`libsession_request_redis_command`) run by a
/// fake Redis: keys, values, TTLs, touch, destroy, options and their errors.
#[test]
fn c_redis_command_plan_tests() {
    assert_passed(c_test("test_redis"), 6);
}

/// NULL for every pointer parameter of every function in the header gives
/// `NULL_PARAMETER` (`tests/c/gen_null_checks.py` writes the program from the
/// header's prototypes, and refuses a header where a function taking a
/// pointer cannot report it, or a fallible function is not must-use).
#[test]
fn c_null_parameter_tests() {
    if !tools::present("c_null_parameter_tests", &["cc", "python3"]) {
        return;
    }
    let generated = run(Command::new("python3")
        .arg(root().join("tests/c/gen_null_checks.py"))
        .arg(root().join("include/libsession.h")));
    let source = out_dir().join("test_null_params.c");
    std::fs::write(&source, generated).expect("write the generated test");
    assert_passed(c_test_from(&source, "test_null_params"), 1);
}

#[test]
fn c_version_test() {
    assert_passed(c_test("test_version"), 1);
}

#[test]
fn header_compiles_standalone_as_c99_and_cpp() {
    if !tools::present("header_compiles_standalone_as_c99_and_cpp", &["cc", "c++"]) {
        return;
    }
    let header = root().join("include/libsession.h");
    let dir = out_dir();
    // As C99, pedantic, every warning an error; and included twice (guard).
    let c_file = dir.join("header_only.c");
    std::fs::write(
        &c_file,
        format!(
            "#include \"{h}\"\n#include \"{h}\"\nint main(void) {{ return libsession_version_number() == \
             LIBSESSION_VERSION_NUMBER ? 0 : 1; }}\n",
            h = header.display()
        ),
    )
    .unwrap();
    run(Command::new("cc").args(CFLAGS).args(["-fsyntax-only"]).arg(&c_file));
    // As C++ (the extern "C" guard, the C++ enum base type).
    run(Command::new("c++")
        .args(["-x", "c++", "-std=c++11", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-fsyntax-only"])
        .arg(&header));
    let cpp_file = dir.join("header_only.cpp");
    std::fs::write(
        &cpp_file,
        format!(
            "#include \"{}\"\nint main() {{ libsession_config_builder *b = nullptr; \
             return libsession_config_builder_new(&b) == LIBSESSION_RESULT_OK ? 0 : 1; }}\n",
            header.display()
        ),
    )
    .unwrap();
    run(Command::new("c++")
        .args(["-std=c++11", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-fsyntax-only"])
        .arg(&cpp_file));
}
