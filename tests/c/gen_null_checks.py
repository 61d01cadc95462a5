#!/usr/bin/env python3
"""Generates a C test that passes NULL for every pointer parameter of every
function in include/libsession.h, one at a time, with valid values
elsewhere, and expects LIBSESSION_RESULT_NULL_PARAMETER (the *_free functions
must take NULL as a no-op). The list comes from the header's prototypes, so a
new function is covered without editing anything.

It also enforces the header's rules, failing (exit status 1) when one is
broken: every function with a pointer parameter, except *_free, returns
libsession_result; every function returning libsession_result is
LIBSESSION_MUST_USE.

Usage: gen_null_checks.py include/libsession.h > test_null_params.c
(scripts/test-c.sh and tests/c_api.rs run it.)
"""

import re
import sys

# Arguments for the valid parameters, by C type (after `const`/`struct`
# normalisation); pointer types not listed here are out-parameters and get
# the fixture's scratch union.
HANDLES = {
    "struct libsession_request *": "fx.req",
    "const struct libsession_request *": "fx.req",
    "struct libsession_config_builder *": "fx.builder",
    "const struct libsession_config_builder *": "fx.builder",
    "const struct libsession_config *": "fx.cfg",
    "struct libsession_request **": "&fx.req_out",
    "struct libsession_config_builder **": "&fx.builder_out",
    "const struct libsession_config **": "&fx.cfg_out",
    "const struct libsession_redis_options *": "fx.redis",
    "struct libsession_redis_options **": "&fx.redis_out",
    "const struct libsession_stored_record *": "fx.stored",
    "struct libsession_stored_record *": "fx.stored",
    "struct libsession_stored_record **": "&fx.stored_out",
    "const uint8_t *": '(const uint8_t *)"x"',
}
SCALARS = {"size_t": "1", "bool": "false", "int64_t": "NOW", "uint64_t": "0", "uint32_t": "0", "double": "0.0"}
# Functions that take ownership of a handle argument whatever the result.
CONSUMES = {"libsession_config_builder_build": "builder"}


def prototypes(header):
    text = re.sub(r"/\*.*?\*/", " ", header, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    pattern = re.compile(r"(LIBSESSION_MUST_USE\s+)?([A-Za-z_][\w\s\*]*?)\b(libsession_\w+)\s*\(([^()]*)\)\s*;")
    for m in pattern.finditer(text):
        ret = " ".join(m.group(2).split())
        params = []
        raw = " ".join(m.group(4).split())
        if raw and raw != "void":
            for p in raw.split(","):
                pm = re.match(r"^(.*?)(\w+)$", p.strip())
                if not pm:
                    raise SystemExit(f"cannot parse parameter {p!r} of {m.group(3)}")
                ctype = " ".join(pm.group(1).replace("*", " * ").split()).replace("* *", "**")
                params.append((ctype, pm.group(2)))
        yield bool(m.group(1)), ret, m.group(3), params


def argument(ctype, name, params, i):
    if ctype in HANDLES:
        return HANDLES[ctype]
    if ctype.endswith("*"):
        return f"({ctype})(void *)&fx.out"
    if ctype in SCALARS or ctype.startswith("libsession_"):
        return SCALARS.get(ctype, "0")
    raise SystemExit(f"no test value for parameter `{ctype} {name}`: teach gen_null_checks.py")


def main():
    header = open(sys.argv[1], encoding="utf-8").read()
    protos = list(prototypes(header))
    if len(protos) < 50:
        raise SystemExit(f"found only {len(protos)} prototypes in {sys.argv[1]}: the parser is broken")
    problems = []
    calls = []
    for must_use, ret, fn, params in protos:
        pointers = [i for i, (t, _) in enumerate(params) if t.endswith("*")]
        if ret == "libsession_result" and not must_use:
            problems.append(f"{fn} returns libsession_result but is not LIBSESSION_MUST_USE")
        if fn.endswith("_free"):
            calls.append(f"    {fn}(NULL); /* a no-op */\n    h_checks_passed++;\n")
            continue
        if pointers and ret != "libsession_result":
            problems.append(f"{fn} takes a pointer but returns {ret}, so it cannot report NULL_PARAMETER")
            continue
        for i in pointers:
            args = []
            for j, (t, n) in enumerate(params):
                if j == i:
                    args.append("NULL")
                elif t == "size_t" and j > 0 and j - 1 == i and n.endswith("_len"):
                    args.append("1")  # NULL with a length: NULL with 0 is the empty string
                else:
                    args.append(argument(t, n, params, j))
            consumed = "true" if CONSUMES.get(fn) not in (None, params[i][1]) else "false"
            calls.append(
                f"    fx_init(&fx);\n"
                f"    CHECK_RC({fn}({', '.join(args)}), LIBSESSION_RESULT_NULL_PARAMETER);\n"
                f"    fx_free(&fx, {consumed});\n"
            )
    if problems:
        sys.stderr.write("include/libsession.h breaks the C API's rules:\n  " + "\n  ".join(problems) + "\n")
        raise SystemExit(1)
    sys.stdout.write(
        """/* Generated by tests/c/gen_null_checks.py from include/libsession.h; do not edit. */
#include "harness.h"

typedef struct {
    libsession_config_builder *builder;
    const libsession_config *cfg;
    libsession_request *req;
    libsession_config_builder *builder_out;
    const libsession_config *cfg_out;
    libsession_request *req_out;
    libsession_redis_options *redis;
    libsession_redis_options *redis_out;
    libsession_stored_record *stored;
    libsession_stored_record *stored_out;
    union {
        libsession_str s;
        int64_t i;
        uint64_t u;
        double d;
        bool b;
        uint32_t e;
        size_t z;
        void *p;
    } out;
} fixture;

static void fx_init(fixture *fx) {
    memset(fx, 0, sizeof *fx);
    if (libsession_config_builder_new(&fx->builder) != LIBSESSION_RESULT_OK) {
        h_fail(__FILE__, __LINE__, "builder_new");
    }
    fx->cfg = simple_config();
    fx->req = new_request(fx->cfg, NOW, NULL);
    if (libsession_redis_options_new(NULL, 0, &fx->redis) != LIBSESSION_RESULT_INVALID_JSON ||
        libsession_redis_options_new((const uint8_t *)"{}", 2, &fx->redis) != LIBSESSION_RESULT_OK) {
        h_fail(__FILE__, __LINE__, "redis_options_new");
    }
    if (libsession_stored_record_from_text((const uint8_t *)"{\\"cookie\\":{}}", 13, &fx->stored) !=
        LIBSESSION_RESULT_OK) {
        h_fail(__FILE__, __LINE__, "stored_record_from_text");
    }
}

static void fx_free(fixture *fx, bool builder_consumed) {
    if (!builder_consumed) {
        libsession_config_builder_free(fx->builder);
    }
    libsession_request_free(fx->req);
    libsession_config_free(fx->cfg);
    libsession_config_builder_free(fx->builder_out);
    libsession_config_free(fx->cfg_out);
    libsession_request_free(fx->req_out);
    libsession_redis_options_free(fx->redis);
    libsession_redis_options_free(fx->redis_out);
    libsession_stored_record_free(fx->stored);
    libsession_stored_record_free(fx->stored_out);
}

static void test_null_for_every_pointer_parameter(void) {
    fixture fx;
"""
        + "".join(calls)
        + """}

int main(void) {
    static const h_test tests[] = {
        TEST(test_null_for_every_pointer_parameter),
    };
    return h_main("null_params", tests, sizeof tests / sizeof tests[0]);
}
"""
    )
    sys.stderr.write(f"gen_null_checks.py: {len(protos)} functions, {len(calls)} calls\n")


if __name__ == "__main__":
    main()
