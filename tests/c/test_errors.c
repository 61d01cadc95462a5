/*
 * Every error path of the C API: NULL for each pointer argument of each
 * function, invalid enum values, calls in the wrong order (misuse, sticky),
 * invalid UTF-8, invalid JSON, session conditions, configuration errors,
 * entropy, result codes and messages. Out-parameters must stay untouched on
 * failure, and a rejected argument must leave the request usable.
 */
#include "harness.h"

#include <math.h>
#include <stdlib.h>

#define NULLP LIBSESSION_RESULT_NULL_PARAMETER
#define INVAL LIBSESSION_RESULT_INVALID_PARAMETER

static libsession_config_builder *builder(void) {
    libsession_config_builder *b = NULL;
    if (libsession_config_builder_new(&b) != LIBSESSION_RESULT_OK) {
        abort();
    }
    return b;
}

/* The builder's last error contains `needle`. */
static bool builder_error_has(const libsession_config_builder *b, const char *needle) {
    char buf[512];
    libsession_str m = {NULL, 0};
    CHECK_OK(libsession_config_builder_last_error(b, &m));
    str_copy(m, buf, sizeof buf);
    return strstr(buf, needle) != NULL;
}

/* The request's last error contains `needle`. */
static bool request_error_has(const libsession_request *r, const char *needle) {
    char buf[512];
    get_last_error(r, buf, sizeof buf);
    return strstr(buf, needle) != NULL;
}

/* A request at READY with a session (no store actions needed). */
static libsession_request *ready_request(const libsession_config *cfg) {
    store s;
    outcome o;
    libsession_request *req = new_request(cfg, NOW, NULL);
    store_init(&s);
    memset(&o, 0, sizeof o);
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
    return req;
}

static void test_null_builder_arguments(void) {
    libsession_config_builder *b = builder();
    libsession_config_builder *untouched = (libsession_config_builder *)&b;
    const libsession_config *cfg_untouched = (const libsession_config *)&b;
    const libsession_config *cfg = NULL;
    int64_t ms = -1;

    /* Constructors: NULL out-parameter. */
    CHECK_RC(libsession_config_builder_new(NULL), NULLP);
    CHECK_RC(libsession_config_builder_new_express(NULL), NULLP);
    CHECK_RC(libsession_config_builder_new_from_express_options(S("{}"), NULL), NULLP);
    /* NULL text with a length; NULL with length 0 is the empty (invalid) text. */
    CHECK_RC(libsession_config_builder_new_from_express_options(NULL, 2, &untouched), NULLP);
    CHECK_RC(libsession_config_builder_new_from_express_options(NULL, 0, &untouched), LIBSESSION_RESULT_INVALID_JSON);
    CHECK(untouched == (libsession_config_builder *)&b);

    /* Setters with a NULL builder. */
    CHECK_RC(libsession_config_builder_set_name(NULL, S("n")), NULLP);
    CHECK_RC(libsession_config_builder_add_secret(NULL, S("s")), NULLP);
    CHECK_RC(libsession_config_builder_set_unset(NULL, LIBSESSION_UNSET_KEEP), NULLP);
    CHECK_RC(libsession_config_builder_set_proxy(NULL, LIBSESSION_TRISTATE_TRUE), NULLP);
    CHECK_RC(libsession_config_builder_set_cookie_path(NULL, S("/")), NULLP);
    CHECK_RC(libsession_config_builder_set_cookie_domain(NULL, S("a.example")), NULLP);
    CHECK_RC(libsession_config_builder_set_secure(NULL, LIBSESSION_SECURE_AUTO), NULLP);
    CHECK_RC(libsession_config_builder_set_same_site(NULL, LIBSESSION_SAME_SITE_LAX), NULLP);
    CHECK_RC(libsession_config_builder_set_partitioned(NULL, LIBSESSION_TRISTATE_TRUE), NULLP);
    CHECK_RC(libsession_config_builder_set_priority(NULL, LIBSESSION_PRIORITY_LOW), NULLP);
    /* Setters that can fail only on NULL report it too. */
    CHECK_RC(libsession_config_builder_set_resave(NULL, true), NULLP);
    CHECK_RC(libsession_config_builder_set_save_uninitialized(NULL, true), NULLP);
    CHECK_RC(libsession_config_builder_set_rolling(NULL, true), NULLP);
    CHECK_RC(libsession_config_builder_set_trust_proxy(NULL, true), NULLP);
    CHECK_RC(libsession_config_builder_set_http_only(NULL, true), NULLP);
    CHECK_RC(libsession_config_builder_set_max_age(NULL, true, 1), NULLP);
    CHECK_RC(libsession_config_builder_set_cookie_limits(NULL, 1, 1), NULLP);
    CHECK_RC(libsession_config_builder_set_express_compat(NULL, true), NULLP);
    CHECK_RC(libsession_config_builder_last_error(NULL, NULL), NULLP);
    CHECK_RC(libsession_config_builder_last_error(b, NULL), NULLP);

    /* NULL string arguments with a length, on a live builder. */
    CHECK_RC(libsession_config_builder_set_name(b, NULL, 3), NULLP);
    CHECK(builder_error_has(b, "`name` is NULL"));
    CHECK_RC(libsession_config_builder_add_secret(b, NULL, 3), NULLP);
    CHECK(builder_error_has(b, "`secret` is NULL"));
    CHECK_RC(libsession_config_builder_set_cookie_path(b, NULL, 3), NULLP);
    CHECK(builder_error_has(b, "`path` is NULL"));
    CHECK_RC(libsession_config_builder_set_cookie_domain(b, NULL, 3), NULLP);
    CHECK(builder_error_has(b, "`domain` is NULL"));

    /* build: NULL builder; NULL out-parameter (the builder is consumed anyway). */
    CHECK_RC(libsession_config_builder_build(NULL, &cfg_untouched), NULLP);
    CHECK(cfg_untouched == (const libsession_config *)&b);
    CHECK_OK(libsession_config_builder_add_secret(b, S("0123456789abcdef0123456789abcdef")));
    CHECK_RC(libsession_config_builder_build(b, NULL), NULLP);
    b = NULL; /* consumed: valgrind and ASAN see a use or a leak otherwise */

    /* Frees of NULL are no-ops. */
    libsession_config_builder_free(NULL);
    libsession_config_free(NULL);
    libsession_request_free(NULL);

    /* Config accessors. */
    cfg = simple_config();
    {
        libsession_str name = {NULL, 7};
        bool has = false;
        libsession_unset unset = 99;
        CHECK_RC(libsession_config_name(NULL, &name), NULLP);
        CHECK_RC(libsession_config_name(cfg, NULL), NULLP);
        CHECK_RC(libsession_config_max_age(NULL, &ms, &has), NULLP);
        CHECK_RC(libsession_config_max_age(cfg, NULL, &has), NULLP);
        CHECK_RC(libsession_config_max_age(cfg, &ms, NULL), NULLP);
        CHECK_RC(libsession_config_unset(NULL, &unset), NULLP);
        CHECK_RC(libsession_config_unset(cfg, NULL), NULLP);
        CHECK_RC(libsession_config_express_compat(NULL, &has), NULLP);
        CHECK_RC(libsession_config_express_compat(cfg, NULL), NULLP);
        CHECK(ms == -1 && name.len == 7 && !has && unset == 99);
    }
    libsession_config_free(cfg);
}

static void test_null_request_arguments(void) {
    const libsession_config *cfg = simple_config();
    libsession_request *req = NULL;
    libsession_request *untouched = (libsession_request *)&req;
    libsession_str str = {(const uint8_t *)"x", 1};
    libsession_action kind = 99;
    double d = -1;
    int64_t at = -1, ms = -1;
    bool flag = false;
    uint64_t count = 7;
    store s;
    outcome o;
    static const uint8_t entropy[32] = {0};
    store_init(&s);
    memset(&o, 0, sizeof o);

    /* request_new */
    CHECK_RC(libsession_request_new(NULL, 0, entropy, 32, &untouched), NULLP);
    CHECK_RC(libsession_request_new(cfg, 0, NULL, 32, &untouched), NULLP);
    CHECK_RC(libsession_request_new(cfg, 0, entropy, 32, NULL), NULLP);
    CHECK(untouched == (libsession_request *)&req);

    /* Every request function with a NULL request. */
    CHECK_RC(libsession_request_last_error(NULL, &str), NULLP);
    CHECK_RC(libsession_request_push_session_id(NULL, S("id")), NULLP);
    CHECK_RC(libsession_request_generated_id_count(NULL, &count), NULLP);
    CHECK_RC(libsession_request_set_target(NULL, S("/")), NULLP);
    CHECK_RC(libsession_request_add_cookie_header(NULL, S("a=b")), NULLP);
    CHECK_RC(libsession_request_add_forwarded_proto(NULL, S("https")), NULLP);
    CHECK_RC(libsession_request_set_tls(NULL, true), NULLP);
    CHECK_RC(libsession_request_set_store_unavailable(NULL, true), NULLP);
    CHECK_RC(libsession_request_set_now(NULL, 1), NULLP);
    CHECK_RC(libsession_request_poll_action(NULL, &kind), NULLP);
    CHECK(kind == 99);
    CHECK_RC(libsession_request_action_id(NULL, &str), NULLP);
    CHECK_RC(libsession_request_action_record(NULL, &str), NULLP);
    CHECK_RC(libsession_request_action_value(NULL, &str), NULLP);
    CHECK_RC(libsession_request_action_expires_at(NULL, &at, &flag), NULLP);
    CHECK_RC(libsession_request_action_ttl_seconds(NULL, 0, &at), NULLP);
    CHECK_RC(libsession_request_handle_load_result(NULL, LIBSESSION_LOAD_STATUS_NOT_FOUND, NULL, 0), NULLP);
    CHECK_RC(libsession_request_handle_store_result(NULL, LIBSESSION_STORE_STATUS_OK, NULL, 0), NULLP);
    CHECK_RC(libsession_request_session_json(NULL, &str), NULLP);
    CHECK_RC(libsession_request_data_json(NULL, &str), NULLP);
    CHECK_RC(libsession_request_get_json(NULL, S("k"), &str), NULLP);
    CHECK_RC(libsession_request_set_json(NULL, S("k"), S("1")), NULLP);
    CHECK_RC(libsession_request_delete(NULL, S("k")), NULLP);
    CHECK_RC(libsession_request_increment(NULL, S("k"), &d), NULLP);
    CHECK_RC(libsession_request_touch(NULL), NULLP);
    CHECK_RC(libsession_request_set_max_age(NULL, true, 1), NULLP);
    CHECK_RC(libsession_request_set_expires(NULL, true, 1), NULLP);
    CHECK_RC(libsession_request_set_cookie_attr(NULL, LIBSESSION_COOKIE_ATTR_PATH, S("\"/\"")), NULLP);
    CHECK_RC(libsession_request_set_cookie_attr_by_name(NULL, S("path"), S("\"/\"")), NULLP);
    CHECK_RC(libsession_request_save(NULL), NULLP);
    CHECK_RC(libsession_request_reload(NULL), NULLP);
    CHECK_RC(libsession_request_destroy(NULL), NULLP);
    CHECK_RC(libsession_request_regenerate(NULL), NULLP);
    CHECK_RC(libsession_request_unset(NULL), NULLP);
    CHECK_RC(libsession_request_finish(NULL), NULLP);
    CHECK_RC(libsession_request_session_id(NULL, &str), NULLP);
    CHECK_RC(libsession_request_cookie_session_id(NULL, &str), NULLP);
    CHECK_RC(libsession_request_has_session(NULL, &flag), NULLP);
    CHECK_RC(libsession_request_max_age(NULL, &ms, &flag), NULLP);
    CHECK_RC(libsession_request_is_secure(NULL, &flag), NULLP);
    CHECK(str.data[0] == 'x' && d == -1 && at == -1 && ms == -1 && !flag && count == 7);

    /* Facts: NULL data with a length (NULL with 0 is the empty string). */
    req = new_request(cfg, NOW, NULL);
    CHECK_RC(libsession_request_push_session_id(req, NULL, 1), NULLP);
    CHECK(request_error_has(req, "`id` is NULL"));
    CHECK_RC(libsession_request_set_target(req, NULL, 1), NULLP);
    CHECK(request_error_has(req, "`target` is NULL"));
    CHECK_RC(libsession_request_add_cookie_header(req, NULL, 1), NULLP);
    CHECK(request_error_has(req, "`value` is NULL"));
    CHECK_RC(libsession_request_add_forwarded_proto(req, NULL, 1), NULLP);
    CHECK_OK(libsession_request_add_cookie_header(req, NULL, 0));
    CHECK_OK(libsession_request_set_target(req, S("/")));
    CHECK_RC(libsession_request_poll_action(req, NULL), NULLP);
    CHECK(request_error_has(req, "`kind_out` is NULL"));
    /* None of that failed the request. */
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);

    /* Handler operations at READY. */
    CHECK_RC(libsession_request_session_json(req, NULL), NULLP);
    CHECK_RC(libsession_request_data_json(req, NULL), NULLP);
    CHECK_RC(libsession_request_get_json(req, NULL, 1, &str), NULLP);
    CHECK_RC(libsession_request_get_json(req, S("k"), NULL), NULLP);
    CHECK_RC(libsession_request_set_json(req, NULL, 1, S("1")), NULLP);
    CHECK_RC(libsession_request_set_json(req, S("k"), NULL, 1), NULLP);
    CHECK(request_error_has(req, "`json` is NULL"));
    CHECK_RC(libsession_request_delete(req, NULL, 1), NULLP);
    CHECK_RC(libsession_request_increment(req, NULL, 1, &d), NULLP);
    CHECK_RC(libsession_request_increment(req, S("k"), NULL), NULLP);
    CHECK(request_error_has(req, "`value_out` is NULL"));
    CHECK_RC(libsession_request_set_cookie_attr(req, LIBSESSION_COOKIE_ATTR_PATH, NULL, 1), NULLP);
    CHECK_RC(libsession_request_set_cookie_attr_by_name(req, NULL, 1, S("1")), NULLP);
    CHECK_RC(libsession_request_set_cookie_attr_by_name(req, S("path"), NULL, 1), NULLP);
    CHECK_RC(libsession_request_session_id(req, NULL), NULLP);
    CHECK_RC(libsession_request_cookie_session_id(req, NULL), NULLP);
    CHECK_RC(libsession_request_max_age(req, NULL, &flag), NULLP);
    CHECK_RC(libsession_request_max_age(req, &ms, NULL), NULLP);
    CHECK_RC(libsession_request_has_session(req, NULL), NULLP);
    CHECK_RC(libsession_request_is_secure(req, NULL), NULLP);
    CHECK_RC(libsession_request_generated_id_count(req, NULL), NULLP);
    CHECK_RC(libsession_request_last_error(req, NULL), NULLP);
    CHECK(str.data[0] == 'x' && d == -1 && ms == -1);
    /* Nothing changed, nothing failed. */
    CHECK_OK(libsession_request_data_json(req, &str));
    CHECK(str_eq(str, "{}"));
    CHECK_OK(libsession_request_save(req));
    CHECK_OK(libsession_request_poll_action(req, &kind));
    CHECK(kind == LIBSESSION_ACTION_SAVE);
    CHECK_RC(libsession_request_action_expires_at(req, NULL, &flag), NULLP);
    CHECK_RC(libsession_request_action_expires_at(req, &at, NULL), NULLP);
    CHECK_RC(libsession_request_action_ttl_seconds(req, 0, NULL), NULLP);
    CHECK_RC(libsession_request_action_id(req, NULL), NULLP);
    CHECK_RC(libsession_request_action_record(req, NULL), NULLP);
    CHECK_RC(libsession_request_action_value(req, NULL), NULLP);
    CHECK(act_id(req).len == 43); /* the failed getters changed nothing */
    /* Store answers with NULL data and a length. */
    CHECK_RC(libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_FAILED, NULL, 1), NULLP);
    CHECK(request_error_has(req, "`message` is NULL"));
    /* NULL with a length is refused even where the text is ignored. */
    CHECK_RC(libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_OK, NULL, 7), NULLP);
    CHECK_OK(libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_OK, NULL, 0));
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
    CHECK_OK(libsession_request_reload(req));
    CHECK_OK(libsession_request_poll_action(req, &kind));
    CHECK(kind == LIBSESSION_ACTION_LOAD);
    CHECK_RC(libsession_request_handle_load_result(req, LIBSESSION_LOAD_STATUS_FOUND, NULL, 1), NULLP);
    CHECK(request_error_has(req, "`data` is NULL"));
    CHECK_RC(libsession_request_handle_load_result(req, LIBSESSION_LOAD_STATUS_FAILED, NULL, 1), NULLP);
    CHECK_RC(libsession_request_handle_load_result(req, LIBSESSION_LOAD_STATUS_MISSING, NULL, 1), NULLP);
    CHECK_OK(libsession_request_handle_load_result(req, LIBSESSION_LOAD_STATUS_FAILED, NULL, 0));
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
    CHECK(o.completed == 2 && !o.completed_ok && o.completed_error[0] == '\0');
    CHECK_OK(libsession_request_finish(req));
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_DONE);
    libsession_request_free(req);
    store_clear(&s);
    libsession_config_free(cfg);
}

static void test_invalid_enum_values(void) {
    libsession_config_builder *b = builder();
    const libsession_config *cfg = NULL;
    libsession_request *req;
    libsession_action kind = 0;
    CHECK_RC(libsession_config_builder_set_unset(b, 2), INVAL);
    CHECK(builder_error_has(b, "2 is not a valid libsession_unset"));
    CHECK_RC(libsession_config_builder_set_proxy(b, 3), INVAL);
    CHECK_RC(libsession_config_builder_set_secure(b, 3), INVAL);
    CHECK_RC(libsession_config_builder_set_same_site(b, 6), INVAL);
    CHECK_RC(libsession_config_builder_set_partitioned(b, UINT32_MAX), INVAL);
    CHECK_RC(libsession_config_builder_set_priority(b, 4), INVAL);
    CHECK(builder_error_has(b, "4 is not a valid libsession_priority"));
    /* The builder is still usable, with its defaults. */
    CHECK_OK(libsession_config_builder_add_secret(b, S("0123456789abcdef0123456789abcdef")));
    CHECK_OK(libsession_config_builder_build(b, &cfg));

    req = ready_request(cfg);
    CHECK_RC(libsession_request_set_cookie_attr(req, 8, S("1")), INVAL);
    CHECK(request_error_has(req, "8 is not a valid libsession_cookie_attr"));
    CHECK_RC(libsession_request_set_cookie_attr(req, UINT32_MAX, S("1")), INVAL);
    CHECK_OK(libsession_request_save(req));
    CHECK_OK(libsession_request_poll_action(req, &kind));
    CHECK_RC(libsession_request_handle_store_result(req, 4, NULL, 0), INVAL);
    CHECK(request_error_has(req, "4 is not a valid libsession_store_status"));
    CHECK_RC(libsession_request_handle_load_result(req, 4, NULL, 0), INVAL);
    /* Not misuse of the protocol: the SAVE can still be answered. */
    CHECK_OK(libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_OK, NULL, 0));
    CHECK_OK(libsession_request_poll_action(req, &kind));
    CHECK(kind == LIBSESSION_ACTION_COMPLETED);
    libsession_request_free(req);
    libsession_config_free(cfg);
}

static void test_wrong_call_order(void) {
    const libsession_config *cfg = simple_config();
    libsession_request *req;
    libsession_str str;
    libsession_action kind = 0;
    double d = -1;
    store s;
    outcome o;
    store_init(&s);
    memset(&o, 0, sizeof o);

    /* A store answer nobody asked for: misuse, and the request is failed for good. */
    req = new_request(cfg, NOW, NULL);
    CHECK_RC(libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_OK, NULL, 0),
             LIBSESSION_RESULT_UNEXPECTED_INPUT);
    CHECK(libsession_result_is_misuse(LIBSESSION_RESULT_UNEXPECTED_INPUT));
    CHECK(request_error_has(req, "unexpected input"));
    kind = 99;
    CHECK_RC(libsession_request_poll_action(req, &kind), LIBSESSION_RESULT_REQUEST_FAILED);
    CHECK(kind == 99);
    CHECK_RC(libsession_request_poll_action(req, &kind), LIBSESSION_RESULT_REQUEST_FAILED);
    CHECK_RC(libsession_request_finish(req), LIBSESSION_RESULT_REQUEST_FAILED);
    CHECK_RC(libsession_request_set_target(req, S("/")), LIBSESSION_RESULT_REQUEST_FAILED);
    CHECK_RC(libsession_request_increment(req, S("n"), &d), LIBSESSION_RESULT_REQUEST_FAILED);
    CHECK(d == -1);
    CHECK(libsession_result_is_misuse(LIBSESSION_RESULT_REQUEST_FAILED));
    libsession_request_free(req);

    /* A load answer before the LOAD was polled. */
    req = new_request(cfg, NOW, "connect.sid=s%3Aabc.def");
    CHECK_RC(libsession_request_handle_load_result(req, LIBSESSION_LOAD_STATUS_NOT_FOUND, NULL, 0),
             LIBSESSION_RESULT_UNEXPECTED_INPUT);
    libsession_request_free(req);

    /* Facts after the first poll. */
    req = new_request(cfg, NOW, NULL);
    CHECK_OK(libsession_request_poll_action(req, &kind));
    CHECK(kind == LIBSESSION_ACTION_READY);
    CHECK_RC(libsession_request_add_cookie_header(req, S("a=b")), LIBSESSION_RESULT_WRONG_PHASE);
    CHECK(libsession_result_is_misuse(LIBSESSION_RESULT_WRONG_PHASE));
    CHECK_RC(libsession_request_poll_action(req, &kind), LIBSESSION_RESULT_REQUEST_FAILED);
    libsession_request_free(req);

    /* A handler operation while a store answer is owed; the wrong answer kind. */
    req = ready_request(cfg);
    CHECK_OK(libsession_request_save(req));
    CHECK_OK(libsession_request_poll_action(req, &kind));
    CHECK(kind == LIBSESSION_ACTION_SAVE);
    CHECK_RC(libsession_request_handle_load_result(req, LIBSESSION_LOAD_STATUS_NOT_FOUND, NULL, 0),
             LIBSESSION_RESULT_UNEXPECTED_INPUT);
    CHECK_RC(libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_OK, NULL, 0),
             LIBSESSION_RESULT_REQUEST_FAILED);
    libsession_request_free(req);
    req = ready_request(cfg);
    CHECK_OK(libsession_request_save(req));
    CHECK_RC(libsession_request_set_json(req, S("k"), S("1")), LIBSESSION_RESULT_WRONG_PHASE);
    libsession_request_free(req);

    /* A stored session "fixed", and its cookie. */
    req = new_request(cfg, NOW, NULL);
    CHECK_OK(libsession_request_push_session_id(req, S("fixed-session-id-fixed-session-id")));
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
    CHECK_OK(libsession_request_set_json(req, S("k"), S("1")));
    CHECK_OK(libsession_request_finish(req));
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_DONE);
    libsession_request_free(req);

    /* A handler operation before READY (the LOAD is outstanding). */
    {
        char cookie[2048];
        cookie_header_of(o.cookie, cookie, sizeof cookie);
        req = new_request(cfg, NOW, cookie);
    }
    CHECK_OK(libsession_request_poll_action(req, &kind));
    CHECK(kind == LIBSESSION_ACTION_LOAD);
    CHECK(str_eq(act_id(req), "fixed-session-id-fixed-session-id"));
    CHECK_RC(libsession_request_increment(req, S("k"), &d), LIBSESSION_RESULT_WRONG_PHASE);
    CHECK(d == -1);
    libsession_request_free(req);

    /* Handler operations after FAILED; finish twice. */
    s.fail_get = 1;
    {
        char cookie[2048];
        cookie_header_of(o.cookie, cookie, sizeof cookie);
        req = new_request(cfg, NOW, cookie);
    }
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_FAILED);
    CHECK_RC(libsession_request_save(req), LIBSESSION_RESULT_WRONG_PHASE);
    libsession_request_free(req);
    req = ready_request(cfg);
    CHECK_OK(libsession_request_finish(req));
    CHECK_RC(libsession_request_finish(req), LIBSESSION_RESULT_WRONG_PHASE);
    CHECK_RC(libsession_request_set_json(req, S("k"), S("1")), LIBSESSION_RESULT_REQUEST_FAILED);
    /* Reading is still allowed. */
    CHECK_OK(libsession_request_session_json(req, &str));
    CHECK(str_has(str, "\"cookie\":"));
    libsession_request_free(req);

    /* After DONE. */
    req = ready_request(cfg);
    CHECK_OK(libsession_request_finish(req));
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_DONE);
    CHECK_RC(libsession_request_touch(req), LIBSESSION_RESULT_WRONG_PHASE);
    libsession_request_free(req);
    store_clear(&s);
    libsession_config_free(cfg);
}

static void test_invalid_utf8(void) {
    libsession_config_builder *b = builder();
    const libsession_config *cfg;
    libsession_request *req;
    libsession_str str;
    libsession_action kind = 0;
    double d = -1;
    static const char bad_options[] = "{\"name\":\"\xff\"}";

    CHECK_RC(libsession_config_builder_set_name(b, S("sid\xc3")), LIBSESSION_RESULT_INVALID_UTF8);
    CHECK(builder_error_has(b, "`name` is not valid UTF-8 (at byte 3)"));
    CHECK_RC(libsession_config_builder_set_cookie_path(b, S("/\xe2\x82")), LIBSESSION_RESULT_INVALID_UTF8);
    CHECK_RC(libsession_config_builder_set_cookie_domain(b, S("\xc0\xaf.example")), LIBSESSION_RESULT_INVALID_UTF8);
    /* Secrets are bytes: any bytes are fine. */
    CHECK_OK(libsession_config_builder_add_secret(b, S("\xff\xfe\x00\x01\xff\xfe\x00\x01\xff\xfe\x00\x01\xff\xfe\x00\x01\xff\xfe\x00\x01\xff\xfe\x00\x01\xff\xfe\x00\x01\xff\xfe\x00\x01")));
    CHECK_OK(libsession_config_builder_build(b, &cfg));
    b = NULL;
    {
        libsession_config_builder *untouched = (libsession_config_builder *)&b;
        CHECK_RC(libsession_config_builder_new_from_express_options((const uint8_t *)bad_options,
                                                                    strlen(bad_options), &untouched),
                 LIBSESSION_RESULT_INVALID_UTF8);
        CHECK(untouched == (libsession_config_builder *)&b);
    }

    req = new_request(cfg, NOW, NULL);
    CHECK_RC(libsession_request_push_session_id(req, S("id\xff")), LIBSESSION_RESULT_INVALID_UTF8);
    CHECK(request_error_has(req, "`id` is not valid UTF-8 (at byte 2)"));
    /* Raw header bytes are not text: any bytes are accepted. */
    CHECK_OK(libsession_request_add_cookie_header(req, S("x=\xff\xfe")));
    CHECK_OK(libsession_request_set_target(req, S("/\xff")));
    CHECK_OK(libsession_request_poll_action(req, &kind));
    CHECK(kind == LIBSESSION_ACTION_READY);

    CHECK_RC(libsession_request_set_json(req, S("k\xff"), S("1")), LIBSESSION_RESULT_INVALID_UTF8);
    CHECK(request_error_has(req, "`key` is not valid UTF-8 (at byte 1)"));
    CHECK_RC(libsession_request_set_json(req, S("k"), S("\"\xc3\x28\"")), LIBSESSION_RESULT_INVALID_UTF8);
    CHECK(request_error_has(req, "`json` is not valid UTF-8 (at byte 1)"));
    CHECK_RC(libsession_request_get_json(req, S("\xed\xa0\x80"), &str), LIBSESSION_RESULT_INVALID_UTF8);
    CHECK_RC(libsession_request_delete(req, S("\x80")), LIBSESSION_RESULT_INVALID_UTF8);
    CHECK_RC(libsession_request_increment(req, S("\xf8"), &d), LIBSESSION_RESULT_INVALID_UTF8);
    CHECK(d == -1);
    CHECK_RC(libsession_request_set_cookie_attr_by_name(req, S("pa\xffth"), S("1")), LIBSESSION_RESULT_INVALID_UTF8);
    CHECK_RC(libsession_request_set_cookie_attr(req, LIBSESSION_COOKIE_ATTR_PATH, S("\"\xff\"")),
             LIBSESSION_RESULT_INVALID_UTF8);
    CHECK(!libsession_result_is_misuse(LIBSESSION_RESULT_INVALID_UTF8));

    /* Store messages must be UTF-8; a rejected answer can be given again. */
    CHECK_OK(libsession_request_save(req));
    CHECK_OK(libsession_request_poll_action(req, &kind));
    CHECK(kind == LIBSESSION_ACTION_SAVE);
    CHECK_RC(libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_FAILED, S("disk \xff")),
             LIBSESSION_RESULT_INVALID_UTF8);
    CHECK(request_error_has(req, "`message` is not valid UTF-8 (at byte 5)"));
    CHECK_OK(libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_FAILED, S("disk full")));
    CHECK_OK(libsession_request_poll_action(req, &kind));
    CHECK(kind == LIBSESSION_ACTION_COMPLETED);
    CHECK(str_eq(act_value(req), "disk full"));
    CHECK_OK(libsession_request_poll_action(req, &kind));
    CHECK_OK(libsession_request_reload(req));
    CHECK_OK(libsession_request_poll_action(req, &kind));
    CHECK(kind == LIBSESSION_ACTION_LOAD);
    CHECK_RC(libsession_request_handle_load_result(req, LIBSESSION_LOAD_STATUS_MISSING, S("\xff")),
             LIBSESSION_RESULT_INVALID_UTF8);
    CHECK_RC(libsession_request_handle_load_result(req, LIBSESSION_LOAD_STATUS_FAILED, S("\xff")),
             LIBSESSION_RESULT_INVALID_UTF8);
    /* A record's bytes are not checked here: a non-UTF-8 record is corrupt. */
    CHECK_OK(libsession_request_handle_load_result(req, LIBSESSION_LOAD_STATUS_FOUND, S("{\"a\":\"\xff\"}")));
    CHECK_OK(libsession_request_poll_action(req, &kind));
    CHECK(kind == LIBSESSION_ACTION_COMPLETED);
    CHECK(act_value(req).data != NULL);
    libsession_request_free(req);
    libsession_config_free(cfg);
}

static void test_invalid_json(void) {
    const libsession_config *cfg = simple_config();
    libsession_request *req = ready_request(cfg);
    libsession_config_builder *b = NULL;
    static const char *bad[] = {"", "{", "[1,]", "01", "nope", "{\"a\":1} x", "NaN", "'s'", "\"\\u12\"", "{\"a\" 1}"};
    char deep[2200];
    size_t i;
    libsession_str str;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_RC(libsession_request_set_json(req, S("k"), (const uint8_t *)bad[i], strlen(bad[i])),
                 LIBSESSION_RESULT_INVALID_JSON);
        CHECK(request_error_has(req, "`json`: invalid JSON at byte"));
        CHECK_RC(libsession_request_set_cookie_attr(req, LIBSESSION_COOKIE_ATTR_DOMAIN, (const uint8_t *)bad[i],
                                                    strlen(bad[i])),
                 LIBSESSION_RESULT_INVALID_JSON);
        CHECK_RC(libsession_request_set_cookie_attr_by_name(req, S("domain"), (const uint8_t *)bad[i], strlen(bad[i])),
                 LIBSESSION_RESULT_INVALID_JSON);
        CHECK_RC(libsession_config_builder_new_from_express_options((const uint8_t *)bad[i], strlen(bad[i]), &b),
                 LIBSESSION_RESULT_INVALID_JSON);
    }
    /* Nesting deeper than 1024 levels is rejected, not a stack overflow. */
    for (i = 0; i < 1100; i++) {
        deep[i] = '[';
        deep[2199 - i] = ']';
    }
    CHECK_RC(libsession_request_set_json(req, S("k"), (const uint8_t *)deep, 2200), LIBSESSION_RESULT_INVALID_JSON);
    CHECK(!libsession_result_is_misuse(LIBSESSION_RESULT_INVALID_JSON));
    CHECK(b == NULL);
    /* Nothing was set; the request carries on. */
    CHECK_OK(libsession_request_data_json(req, &str));
    CHECK(str_eq(str, "{}"));
    CHECK_OK(libsession_request_set_json(req, S("k"), S("[[[1]]]")));
    libsession_request_free(req);
    libsession_config_free(cfg);
}

static void test_session_conditions(void) {
    libsession_config_builder *b = builder();
    const libsession_config *cfg = NULL;
    libsession_request *req;
    libsession_str str = {NULL, 0};
    double d = -1;
    libsession_action kind = 0;
    store s;
    outcome o;
    store_init(&s);
    memset(&o, 0, sizeof o);
    CHECK_OK(libsession_config_builder_add_secret(b, S("0123456789abcdef0123456789abcdef")));
    CHECK_OK(libsession_config_builder_set_cookie_path(b, S("/app")));
    CHECK_OK(libsession_config_builder_set_max_age(b, true, 1000));
    CHECK_OK(libsession_config_builder_build(b, &cfg));

    /* No session (out of scope): a condition, not misuse; the request continues. */
    req = new_request(cfg, NOW, NULL);
    CHECK_OK(libsession_request_set_target(req, S("/elsewhere")));
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
    CHECK_RC(libsession_request_increment(req, S("n"), &d), LIBSESSION_RESULT_NO_SESSION);
    CHECK(request_error_has(req, "there is no session on this request"));
    CHECK(!libsession_result_is_misuse(LIBSESSION_RESULT_NO_SESSION));
    CHECK_RC(libsession_request_set_json(req, S("n"), S("1")), LIBSESSION_RESULT_NO_SESSION);
    CHECK_RC(libsession_request_get_json(req, S("n"), &str), LIBSESSION_RESULT_NO_SESSION);
    CHECK_RC(libsession_request_session_json(req, &str), LIBSESSION_RESULT_NO_SESSION);
    CHECK_RC(libsession_request_data_json(req, &str), LIBSESSION_RESULT_NO_SESSION);
    CHECK_RC(libsession_request_delete(req, S("n")), LIBSESSION_RESULT_NO_SESSION);
    CHECK_RC(libsession_request_touch(req), LIBSESSION_RESULT_NO_SESSION);
    CHECK_RC(libsession_request_set_max_age(req, true, 1), LIBSESSION_RESULT_NO_SESSION);
    CHECK_RC(libsession_request_set_expires(req, false, 0), LIBSESSION_RESULT_NO_SESSION);
    CHECK_RC(libsession_request_set_cookie_attr(req, LIBSESSION_COOKIE_ATTR_PATH, S("\"/\"")),
             LIBSESSION_RESULT_NO_SESSION);
    CHECK_RC(libsession_request_save(req), LIBSESSION_RESULT_NO_SESSION);
    CHECK_RC(libsession_request_reload(req), LIBSESSION_RESULT_NO_SESSION);
    CHECK_RC(libsession_request_destroy(req), LIBSESSION_RESULT_NO_SESSION);
    CHECK_RC(libsession_request_regenerate(req), LIBSESSION_RESULT_NO_SESSION);
    CHECK_OK(libsession_request_unset(req));
    CHECK(str.data == NULL && d == -1);
    {
        int64_t ms = -1;
        bool has = true;
        CHECK_RC(libsession_request_max_age(req, &ms, &has), LIBSESSION_RESULT_NO_SESSION);
        CHECK(ms == -1 && has);
    }
    CHECK_OK(libsession_request_finish(req));
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_DONE);
    libsession_request_free(req);

    /* Reserved keys, unknown attributes, invalid cookie values. */
    req = new_request(cfg, NOW, NULL);
    CHECK_OK(libsession_request_set_target(req, S("/app")));
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
    CHECK_RC(libsession_request_set_json(req, S("cookie"), S("1")), LIBSESSION_RESULT_RESERVED_KEY);
    CHECK_RC(libsession_request_set_json(req, S("regenerate"), S("1")), LIBSESSION_RESULT_RESERVED_KEY);
    CHECK_RC(libsession_request_delete(req, S("id")), LIBSESSION_RESULT_RESERVED_KEY);
    CHECK_RC(libsession_request_increment(req, S("save"), &d), LIBSESSION_RESULT_RESERVED_KEY);
    CHECK(request_error_has(req, "reserved"));
    CHECK_RC(libsession_request_set_cookie_attr_by_name(req, S("expires"), S("1")),
             LIBSESSION_RESULT_UNKNOWN_COOKIE_ATTRIBUTE);
    CHECK(request_error_has(req, "unknown cookie attribute `expires`"));
    CHECK_OK(libsession_request_set_cookie_attr(req, LIBSESSION_COOKIE_ATTR_ORIGINAL_MAX_AGE, S("\"soon\"")));
    CHECK_RC(libsession_request_touch(req), LIBSESSION_RESULT_INVALID_COOKIE_VALUE);
    CHECK_RC(libsession_request_set_max_age(req, true, 5), LIBSESSION_RESULT_OK);
    /* An unserializable attribute is reported when the header is written. */
    CHECK_OK(libsession_request_set_cookie_attr(req, LIBSESSION_COOKIE_ATTR_PRIORITY, S("\"urgent\"")));
    CHECK_OK(libsession_request_set_json(req, S("n"), S("1")));
    CHECK_OK(libsession_request_finish(req));
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_DONE);
    CHECK(o.errors == 1 && o.set_cookies == 0);
    CHECK_OK(libsession_request_poll_action(req, &kind));
    CHECK(kind == LIBSESSION_ACTION_DONE);
    libsession_request_free(req);
    store_clear(&s);
    libsession_config_free(cfg);
}

static void test_config_errors(void) {
    libsession_config_builder *b;
    const libsession_config *untouched = (const libsession_config *)&b;
    int i;
    static const char unknown_option[] = "{\"secret\":\"s\",\"store\":1}";
    static const char bad_unset[] = "{\"secret\":\"s\",\"unset\":\"bogus\"}";
    static const char bad_max_age[] = "{\"secret\":\"s\",\"cookie\":{\"maxAge\":\"1d\"}}";
    static const char empty_secrets[] = "{\"secret\":[]}";

    /* Each build consumes its builder, success or not. */
    b = builder();
    CHECK_RC(libsession_config_builder_build(b, &untouched), LIBSESSION_RESULT_NO_SECRET);
    b = builder();
    CHECK_OK(libsession_config_builder_add_secret(b, NULL, 0));
    CHECK_RC(libsession_config_builder_build(b, &untouched), LIBSESSION_RESULT_EMPTY_SECRET);
    b = builder();
    for (i = 0; i < 9; i++) {
        CHECK_OK(libsession_config_builder_add_secret(b, S("0123456789abcdef0123456789abcdef")));
    }
    CHECK_RC(libsession_config_builder_build(b, &untouched), LIBSESSION_RESULT_TOO_MANY_SECRETS);
    /* Strict mode: each secret at least 32 bytes; an empty one is refused in every mode. */
    b = builder();
    CHECK_OK(libsession_config_builder_add_secret(b, S("0123456789abcdef0123456789abcde")));
    CHECK_RC(libsession_config_builder_build(b, &untouched), LIBSESSION_RESULT_SHORT_SECRET);
    CHECK(strstr(libsession_result_str(LIBSESSION_RESULT_SHORT_SECRET), "32 bytes") != NULL);
    CHECK_OK(libsession_config_builder_new_express(&b));
    CHECK_OK(libsession_config_builder_add_secret(b, S("keyboard cat")));
    CHECK_OK(libsession_config_builder_add_secret(b, NULL, 0));
    CHECK_RC(libsession_config_builder_build(b, &untouched), LIBSESSION_RESULT_EMPTY_SECRET);
    b = builder();
    CHECK_OK(libsession_config_builder_add_secret(b, S("0123456789abcdef0123456789abcdef")));
    CHECK_OK(libsession_config_builder_set_name(b, S("a b")));
    CHECK_RC(libsession_config_builder_build(b, &untouched), LIBSESSION_RESULT_INVALID_NAME);
    b = builder();
    CHECK_OK(libsession_config_builder_add_secret(b, S("0123456789abcdef0123456789abcdef")));
    CHECK_OK(libsession_config_builder_set_cookie_domain(b, S("bad domain")));
    CHECK_RC(libsession_config_builder_build(b, &untouched), LIBSESSION_RESULT_INVALID_DOMAIN);
    b = builder();
    CHECK_OK(libsession_config_builder_add_secret(b, S("0123456789abcdef0123456789abcdef")));
    CHECK_OK(libsession_config_builder_set_cookie_path(b, S("/a;b")));
    CHECK_RC(libsession_config_builder_build(b, &untouched), LIBSESSION_RESULT_INVALID_PATH);
    b = builder();
    CHECK_OK(libsession_config_builder_add_secret(b, S("0123456789abcdef0123456789abcdef")));
    CHECK_OK(libsession_config_builder_add_secret(b, S("0123456789abcdef0123456789abcdef")));
    CHECK_OK(libsession_config_builder_set_same_site(b, LIBSESSION_SAME_SITE_NONE));
    CHECK_OK(libsession_config_builder_set_secure(b, LIBSESSION_SECURE_NEVER));
    CHECK_RC(libsession_config_builder_build(b, &untouched), LIBSESSION_RESULT_SAME_SITE_NONE_WITHOUT_SECURE);
    CHECK(untouched == (const libsession_config *)&b);

    b = NULL;
    CHECK_RC(libsession_config_builder_new_from_express_options(S("[]"), &b), LIBSESSION_RESULT_INVALID_OPTION);
    CHECK_RC(libsession_config_builder_new_from_express_options((const uint8_t *)unknown_option,
                                                                strlen(unknown_option), &b),
             LIBSESSION_RESULT_INVALID_OPTION);
    CHECK_RC(libsession_config_builder_new_from_express_options((const uint8_t *)bad_unset, strlen(bad_unset), &b),
             LIBSESSION_RESULT_INVALID_UNSET);
    CHECK_RC(libsession_config_builder_new_from_express_options((const uint8_t *)bad_max_age, strlen(bad_max_age),
                                                                &b),
             LIBSESSION_RESULT_INVALID_MAX_AGE);
    CHECK_RC(libsession_config_builder_new_from_express_options((const uint8_t *)empty_secrets,
                                                                strlen(empty_secrets), &b),
             LIBSESSION_RESULT_NO_SECRET);
    CHECK(b == NULL);
    CHECK(!libsession_result_is_misuse(LIBSESSION_RESULT_NO_SECRET));

    /* express compatibility accepts what express-session accepts. */
    b = builder();
    CHECK_OK(libsession_config_builder_add_secret(b, S("0123456789abcdef0123456789abcdef")));
    CHECK_OK(libsession_config_builder_set_name(b, S("a b")));
    CHECK_OK(libsession_config_builder_set_express_compat(b, true));
    untouched = NULL;
    CHECK_OK(libsession_config_builder_build(b, &untouched));
    CHECK(untouched != NULL);
    libsession_config_free(untouched);
}

static void test_entropy_errors(void) {
    const libsession_config *cfg = simple_config();
    libsession_request *untouched = (libsession_request *)&cfg;
    static const uint8_t entropy[32] = {0};
    CHECK_RC(libsession_request_new(cfg, 0, entropy, 31, &untouched), LIBSESSION_RESULT_INSUFFICIENT_ENTROPY);
    CHECK_RC(libsession_request_new(cfg, 0, entropy, 0, &untouched), LIBSESSION_RESULT_INSUFFICIENT_ENTROPY);
    CHECK_RC(libsession_request_new(cfg, 0, entropy, 1, &untouched), LIBSESSION_RESULT_INSUFFICIENT_ENTROPY);
    CHECK(untouched == (libsession_request *)&cfg);
    CHECK(!libsession_result_is_misuse(LIBSESSION_RESULT_INSUFFICIENT_ENTROPY));
    libsession_config_free(cfg);
}

static void test_result_codes(void) {
    static const uint32_t misuse[] = {LIBSESSION_RESULT_NULL_PARAMETER, LIBSESSION_RESULT_INVALID_PARAMETER,
                                      LIBSESSION_RESULT_UNEXPECTED_INPUT, LIBSESSION_RESULT_WRONG_PHASE,
                                      LIBSESSION_RESULT_REQUEST_FAILED};
    static const uint32_t other[] = {
        LIBSESSION_RESULT_OK, LIBSESSION_RESULT_PANIC, LIBSESSION_RESULT_INVALID_UTF8,
        LIBSESSION_RESULT_INVALID_JSON, LIBSESSION_RESULT_INSUFFICIENT_ENTROPY, LIBSESSION_RESULT_ENTROPY_UNAVAILABLE,
        LIBSESSION_RESULT_NO_SESSION, LIBSESSION_RESULT_RESERVED_KEY, LIBSESSION_RESULT_IDS_EXHAUSTED,
        LIBSESSION_RESULT_UNKNOWN_COOKIE_ATTRIBUTE, LIBSESSION_RESULT_INVALID_COOKIE_VALUE,
        LIBSESSION_RESULT_NO_SECRET, LIBSESSION_RESULT_EMPTY_SECRET, LIBSESSION_RESULT_TOO_MANY_SECRETS,
        LIBSESSION_RESULT_INVALID_NAME, LIBSESSION_RESULT_INVALID_DOMAIN, LIBSESSION_RESULT_INVALID_PATH,
        LIBSESSION_RESULT_INVALID_SAME_SITE, LIBSESSION_RESULT_INVALID_PRIORITY, LIBSESSION_RESULT_INVALID_SECURE,
        LIBSESSION_RESULT_INVALID_MAX_AGE, LIBSESSION_RESULT_INVALID_UNSET,
        LIBSESSION_RESULT_SAME_SITE_NONE_WITHOUT_SECURE, LIBSESSION_RESULT_INVALID_OPTION,
        LIBSESSION_RESULT_SHORT_SECRET, LIBSESSION_RESULT_INVALID_PREFIX};
    const char *unknown = libsession_result_str(99999);
    size_t i;
    CHECK(LIBSESSION_RESULT_OK == 0);
    CHECK(strcmp(libsession_result_str(LIBSESSION_RESULT_OK), "ok") == 0);
    CHECK(unknown != NULL && strstr(unknown, "unknown") != NULL);
    for (i = 0; i < sizeof misuse / sizeof misuse[0]; i++) {
        const char *m = libsession_result_str(misuse[i]);
        CHECK(m != NULL && m[0] != '\0' && strcmp(m, unknown) != 0);
        CHECK(libsession_result_is_misuse(misuse[i]));
    }
    for (i = 0; i < sizeof other / sizeof other[0]; i++) {
        const char *m = libsession_result_str(other[i]);
        CHECK(m != NULL && m[0] != '\0' && strcmp(m, unknown) != 0);
        CHECK(!libsession_result_is_misuse(other[i]));
    }
    CHECK(!libsession_result_is_misuse(99999));
    CHECK(strcmp(libsession_result_str(LIBSESSION_RESULT_NO_SESSION), "there is no session on this request") == 0);
}

static void test_last_error_message(void) {
    const libsession_config *cfg = simple_config();
    libsession_request *req = new_request(cfg, NOW, NULL);
    char buf[64];
    get_last_error(req, buf, sizeof buf);
    CHECK(buf[0] == '\0'); /* nothing failed yet */
    CHECK_RC(libsession_request_poll_action(req, NULL), NULLP);
    get_last_error(req, buf, sizeof buf);
    CHECK(strcmp(buf, "`kind_out` is NULL") == 0);
    /* The message stays until another call fails; getters never change it. */
    CHECK_OK(libsession_request_set_target(req, S("/")));
    CHECK_RC(libsession_request_get_json(req, NULL, 1, NULL), NULLP);
    get_last_error(req, buf, sizeof buf);
    CHECK(strcmp(buf, "`kind_out` is NULL") == 0);
    libsession_request_free(req);
    libsession_config_free(cfg);
}

int main(void) {
    static const h_test tests[] = {
        TEST(test_null_builder_arguments),
        TEST(test_null_request_arguments),
        TEST(test_invalid_enum_values),
        TEST(test_wrong_call_order),
        TEST(test_invalid_utf8),
        TEST(test_invalid_json),
        TEST(test_session_conditions),
        TEST(test_config_errors),
        TEST(test_entropy_errors),
        TEST(test_result_codes),
        TEST(test_last_error_message),
    };
    return h_main("errors", tests, sizeof tests / sizeof tests[0]);
}
