/*
 * connect-redis's command plan from C (libsession_redis_options_new,
 * libsession_request_redis_command): a fake Redis (a table of keys with
 * values and TTLs) executes exactly the commands the library plans, and the
 * tests check keys, values, TTLs, touch, destroy, disableTouch/disableTTL,
 * the prefix, the lifetime of the borrowed key, and the options' errors.
 * Run under ASan+UBSan and valgrind by scripts/test-c.sh.
 */
#include "harness.h"

#include <stdlib.h>

#define FAKE_MAX 8

typedef struct {
    char key[128];
    char *value;
    bool has_ttl;
    int64_t ttl;
} fake_entry;

typedef struct {
    fake_entry e[FAKE_MAX];
    /* The last command executed, for the checks. */
    libsession_redis_op last_op;
    char last_key[128];
    bool last_has_ttl;
    int64_t last_ttl;
    int commands;
} fake_redis;

static fake_entry *fake_find(fake_redis *r, libsession_str key) {
    int i;
    for (i = 0; i < FAKE_MAX; i++) {
        if (r->e[i].value != NULL && str_eq(key, r->e[i].key)) {
            return &r->e[i];
        }
    }
    return NULL;
}

static void fake_del(fake_entry *e) {
    if (e != NULL) {
        free(e->value);
        e->value = NULL;
    }
}

static void fake_clear(fake_redis *r) {
    int i;
    for (i = 0; i < FAKE_MAX; i++) {
        fake_del(&r->e[i]);
    }
}

/* Runs the plan of the current store action and answers the request. */
static void execute(libsession_request *req, const libsession_redis_options *opts, fake_redis *r) {
    libsession_redis_command c;
    fake_entry *e;
    memset(&c, 0, sizeof c);
    CHECK_OK(libsession_request_redis_command(req, opts, &c));
    r->last_op = c.op;
    r->last_has_ttl = c.has_ttl;
    r->last_ttl = c.ttl_seconds;
    r->last_key[0] = '\0';
    if (c.key.data != NULL) {
        str_copy(c.key, r->last_key, sizeof r->last_key);
    }
    r->commands++;
    e = c.key.data != NULL ? fake_find(r, c.key) : NULL;
    switch (c.op) {
    case LIBSESSION_REDIS_OP_GET:
        CHECK(c.value.data == NULL && !c.has_ttl);
        if (e == NULL || e->value[0] == '\0') {
            CHECK_OK(libsession_request_handle_load_result(req, LIBSESSION_LOAD_STATUS_NOT_FOUND, NULL, 0));
        } else {
            CHECK_OK(libsession_request_handle_load_result(req, LIBSESSION_LOAD_STATUS_FOUND,
                                                           (const uint8_t *)e->value, strlen(e->value)));
        }
        return;
    case LIBSESSION_REDIS_OP_SET: {
        int i;
        CHECK(c.value.data != NULL);
        if (e == NULL) {
            for (i = 0; i < FAKE_MAX && e == NULL; i++) {
                if (r->e[i].value == NULL) {
                    e = &r->e[i];
                }
            }
        }
        CHECK(e != NULL);
        if (e != NULL) {
            free(e->value);
            e->value = malloc(c.value.len + 1);
            CHECK(e->value != NULL);
            if (e->value != NULL) {
                memcpy(e->value, c.value.data, c.value.len);
                e->value[c.value.len] = '\0';
            }
            str_copy(c.key, e->key, sizeof e->key);
            e->has_ttl = c.has_ttl;
            e->ttl = c.ttl_seconds;
        }
        break;
    }
    case LIBSESSION_REDIS_OP_EXPIRE:
        CHECK(c.has_ttl && c.value.data == NULL);
        if (e != NULL && c.ttl_seconds <= 0) {
            fake_del(e);
        } else if (e != NULL) {
            e->has_ttl = true;
            e->ttl = c.ttl_seconds;
        }
        break;
    case LIBSESSION_REDIS_OP_DEL:
        CHECK(c.value.data == NULL && !c.has_ttl);
        fake_del(e);
        break;
    case LIBSESSION_REDIS_OP_NONE:
        CHECK(c.key.data == NULL && c.value.data == NULL && !c.has_ttl);
        break;
    default:
        CHECK(!"unknown op");
    }
    CHECK_OK(libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_OK, NULL, 0));
}

/* One request: `handler` 'i' increments views, 'r' reads only, 'd'
 * destroys. Store actions go through the plan. `later` moves the request's
 * clock (libsession_request_set_now) before each SAVE/TOUCH/DESTROY plan. Fills
 * `cookie` from a Set-Cookie. Returns views as the handler saw it. */
static double run(const libsession_config *cfg, const libsession_redis_options *opts, fake_redis *r, char *cookie,
                  size_t cookie_size, char handler, int64_t later) {
    libsession_request *req = new_request(cfg, NOW, cookie[0] ? cookie : NULL);
    double views = 0;
    int guard;
    CHECK_OK(libsession_request_set_store_kind(req, LIBSESSION_STORE_KIND_TTL));
    for (guard = 0; guard < 50; guard++) {
        libsession_action kind = 0;
        CHECK_OK(libsession_request_poll_action(req, &kind));
        if (kind == LIBSESSION_ACTION_DONE) {
            break;
        }
        switch (kind) {
        case LIBSESSION_ACTION_LOAD:
        case LIBSESSION_ACTION_SAVE:
        case LIBSESSION_ACTION_TOUCH:
        case LIBSESSION_ACTION_DESTROY:
            if (later != 0 && kind != LIBSESSION_ACTION_LOAD) {
                CHECK_OK(libsession_request_set_now(req, NOW + later));
            }
            execute(req, opts, r);
            break;
        case LIBSESSION_ACTION_READY:
            if (handler == 'i') {
                CHECK_OK(libsession_request_increment(req, S("views"), &views));
            } else if (handler == 'd') {
                CHECK_OK(libsession_request_destroy(req));
                handler = 'r';
                continue; /* poll: DESTROY, COMPLETED, READY */
            } else {
                libsession_str json = {NULL, 0};
                if (libsession_request_get_json(req, S("views"), &json) == LIBSESSION_RESULT_OK && json.len > 0) {
                    char buf[32];
                    str_copy(json, buf, sizeof buf);
                    views = atof(buf);
                }
            }
            CHECK_OK(libsession_request_finish(req));
            break;
        case LIBSESSION_ACTION_SET_COOKIE: {
            char set_cookie[1024];
            str_copy(act_value(req), set_cookie, sizeof set_cookie);
            cookie_header_of(set_cookie, cookie, cookie_size);
            break;
        }
        case LIBSESSION_ACTION_COMPLETED:
            CHECK(act_value(req).data == NULL);
            break;
        default:
            CHECK(kind != LIBSESSION_ACTION_FAILED && kind != LIBSESSION_ACTION_WAIT && kind != LIBSESSION_ACTION_ERROR);
            break;
        }
    }
    libsession_request_free(req);
    return views;
}

static libsession_redis_options *options(const char *json) {
    libsession_redis_options *o = NULL;
    CHECK_OK(libsession_redis_options_new((const uint8_t *)json, strlen(json), &o));
    return o;
}

static void test_keys_values_and_ttls(void) {
    const libsession_config *cfg = simple_config(); /* maxAge 60 s */
    libsession_redis_options *opts = options("{}");
    fake_redis r;
    char cookie[512] = "";
    libsession_str prefix = {NULL, 0};
    memset(&r, 0, sizeof r);
    CHECK_OK(libsession_redis_options_prefix(opts, &prefix));
    CHECK(str_eq(prefix, "sess:"));

    /* A new visitor: SET sess:<id> <record> EX 60. */
    CHECK(run(cfg, opts, &r, cookie, sizeof cookie, 'i', 0) == 1);
    CHECK(r.last_op == LIBSESSION_REDIS_OP_SET && r.last_has_ttl && r.last_ttl == 60);
    CHECK(strncmp(r.last_key, "sess:", 5) == 0 && strlen(r.last_key) == 5 + 43);
    CHECK(r.e[0].value != NULL && strstr(r.e[0].value, "\"views\":1") != NULL);
    CHECK(cookie[0] != '\0');

    /* Back with the cookie: GET sess:<id>, then SET again. */
    r.commands = 0;
    CHECK(run(cfg, opts, &r, cookie, sizeof cookie, 'i', 0) == 2);
    CHECK(r.commands == 2 && r.last_op == LIBSESSION_REDIS_OP_SET && r.last_ttl == 60);
    CHECK(strstr(r.e[0].value, "\"views\":2") != NULL);

    /* A read-only request: GET, then EXPIRE sess:<id> 60 (the value stays). */
    CHECK(run(cfg, opts, &r, cookie, sizeof cookie, 'r', 0) == 2);
    CHECK(r.last_op == LIBSESSION_REDIS_OP_EXPIRE && r.last_ttl == 60);
    CHECK(strcmp(r.last_key, r.e[0].key) == 0);

    /* The clock 1.5 s on when the touch is planned: ceil(58.5) = 59. */
    CHECK(run(cfg, opts, &r, cookie, sizeof cookie, 'r', 1500) == 2);
    CHECK(r.last_op == LIBSESSION_REDIS_OP_EXPIRE && r.last_ttl == 59);

    /* Logout: DEL sess:<id>. */
    CHECK(run(cfg, opts, &r, cookie, sizeof cookie, 'd', 0) == 0);
    CHECK(r.last_op == LIBSESSION_REDIS_OP_DEL && r.e[0].value == NULL);

    fake_clear(&r);
    libsession_redis_options_free(opts);
    libsession_config_free(cfg);
}

static void test_expired_saves_delete_and_expired_touches_expire_nonpositive(void) {
    const libsession_config *cfg = simple_config();
    libsession_redis_options *opts = options("{\"prefix\":\"\"}");
    fake_redis r;
    char cookie[512] = "";
    memset(&r, 0, sizeof r);
    CHECK(run(cfg, opts, &r, cookie, sizeof cookie, 'i', 0) == 1);
    CHECK(r.last_op == LIBSESSION_REDIS_OP_SET && strlen(r.last_key) == 43); /* empty prefix */
    /* The save is planned 61 s after the request began: TTL -1, so DEL. */
    CHECK(run(cfg, opts, &r, cookie, sizeof cookie, 'i', 61000) == 2);
    CHECK(r.last_op == LIBSESSION_REDIS_OP_DEL && r.e[0].value == NULL);
    /* Stored again, then a touch planned 62 s later: EXPIRE key -2. */
    cookie[0] = '\0';
    CHECK(run(cfg, opts, &r, cookie, sizeof cookie, 'i', 0) == 1);
    CHECK(run(cfg, opts, &r, cookie, sizeof cookie, 'r', 62000) == 1);
    CHECK(r.last_op == LIBSESSION_REDIS_OP_EXPIRE && r.last_ttl == -2);
    fake_clear(&r);
    libsession_redis_options_free(opts);
    libsession_config_free(cfg);
}

static void test_disable_touch_ttl_and_prefix(void) {
    const libsession_config *cfg = simple_config();
    libsession_redis_options *no_touch = options("{\"prefix\":\"app:\",\"disableTouch\":true,\"ttl\":10}");
    libsession_redis_options *no_ttl = options("{\"disableTTL\":true,\"ttl\":null}");
    fake_redis r;
    char cookie[512] = "";
    memset(&r, 0, sizeof r);
    CHECK(run(cfg, no_touch, &r, cookie, sizeof cookie, 'i', 0) == 1);
    CHECK(r.last_op == LIBSESSION_REDIS_OP_SET && strncmp(r.last_key, "app:", 4) == 0 && r.last_ttl == 60);
    CHECK(run(cfg, no_touch, &r, cookie, sizeof cookie, 'r', 0) == 1);
    CHECK(r.last_op == LIBSESSION_REDIS_OP_NONE && r.last_key[0] == '\0');
    fake_clear(&r);
    memset(&r, 0, sizeof r);
    cookie[0] = '\0';
    CHECK(run(cfg, no_ttl, &r, cookie, sizeof cookie, 'i', 0) == 1);
    CHECK(r.last_op == LIBSESSION_REDIS_OP_SET && !r.last_has_ttl && r.last_ttl == 0);
    CHECK(strncmp(r.last_key, "sess:", 5) == 0);
    CHECK(run(cfg, no_ttl, &r, cookie, sizeof cookie, 'r', 0) == 1);
    CHECK(r.last_op == LIBSESSION_REDIS_OP_NONE);
    fake_clear(&r);
    libsession_redis_options_free(no_touch);
    libsession_redis_options_free(no_ttl);
    libsession_config_free(cfg);
}

/* A stored `null` and an empty value are no session (a fresh one starts). */
static void test_null_and_empty_records_are_fresh_sessions(void) {
    const libsession_config *cfg = simple_config();
    libsession_redis_options *opts = options("{}");
    fake_redis r;
    char cookie[512] = "";
    memset(&r, 0, sizeof r);
    CHECK(run(cfg, opts, &r, cookie, sizeof cookie, 'i', 0) == 1);
    free(r.e[0].value);
    r.e[0].value = malloc(5);
    CHECK(r.e[0].value != NULL);
    if (r.e[0].value != NULL) {
        memcpy(r.e[0].value, "null", 5);
    }
    CHECK(run(cfg, opts, &r, cookie, sizeof cookie, 'r', 0) == 0);
    CHECK(run(cfg, opts, &r, cookie, sizeof cookie, 'i', 0) == 1);
    fake_clear(&r);
    libsession_redis_options_free(opts);
    libsession_config_free(cfg);
}

/* The key is kept in the request's outputs: two plans of one action are
 * both valid at once; a non-store action is WRONG_ACTION. */
static void test_plan_lifetimes_and_wrong_actions(void) {
    const libsession_config *cfg = simple_config();
    libsession_redis_options *opts = options("{}");
    libsession_request *req = new_request(cfg, NOW, "connect.sid=s%3Aabc.invalid");
    libsession_redis_command a, b;
    libsession_action kind = 0;
    double n = 0;
    CHECK_OK(libsession_request_poll_action(req, &kind));
    /* A forged cookie: no LOAD; READY with a fresh session. */
    CHECK(kind == LIBSESSION_ACTION_READY);
    CHECK_RC(libsession_request_redis_command(req, opts, &a), LIBSESSION_RESULT_WRONG_ACTION);
    libsession_request_free(req);

    req = new_request(cfg, NOW, NULL);
    CHECK_OK(libsession_request_poll_action(req, &kind));
    CHECK_OK(libsession_request_increment(req, S("n"), &n));
    CHECK_OK(libsession_request_finish(req));
    CHECK_OK(libsession_request_poll_action(req, &kind));
    if (kind == LIBSESSION_ACTION_SET_COOKIE) { /* the header goes out first */
        CHECK_OK(libsession_request_poll_action(req, &kind));
    }
    CHECK(kind == LIBSESSION_ACTION_SAVE);
    CHECK_OK(libsession_request_redis_command(req, opts, &a));
    CHECK_OK(libsession_request_set_now(req, NOW + 2000)); /* keeps outputs */
    CHECK_OK(libsession_request_redis_command(req, opts, &b));
    CHECK(a.op == LIBSESSION_REDIS_OP_SET && b.op == LIBSESSION_REDIS_OP_SET);
    CHECK(a.ttl_seconds == 60 && b.ttl_seconds == 58);
    CHECK(a.key.data != b.key.data && a.key.len == b.key.len && memcmp(a.key.data, b.key.data, a.key.len) == 0);
    CHECK(a.value.len == act_record(req).len && a.value.data == act_record(req).data);
    CHECK_OK(libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_OK, NULL, 0));
    CHECK_OK(libsession_request_poll_action(req, &kind));
    CHECK(kind == LIBSESSION_ACTION_SET_COOKIE || kind == LIBSESSION_ACTION_DONE);
    CHECK_RC(libsession_request_redis_command(req, opts, &a), LIBSESSION_RESULT_WRONG_ACTION);
    libsession_request_free(req);
    libsession_redis_options_free(opts);
    libsession_config_free(cfg);
}

static void test_options_errors(void) {
    libsession_redis_options *o = NULL;
    char message[256];
    char tiny[8];
    CHECK_RC(libsession_redis_options_new(S("{\"serializer\":{}}"), &o), LIBSESSION_RESULT_INVALID_OPTION);
    CHECK(o == NULL);
    CHECK_RC(libsession_redis_options_check(S("{\"serializer\":{}}"), (uint8_t *)message, sizeof message),
             LIBSESSION_RESULT_INVALID_OPTION);
    CHECK(strstr(message, "`serializer` is not supported") != NULL);
    CHECK_RC(libsession_redis_options_check(S("{\"ttl\":\"1d\"}"), (uint8_t *)message, sizeof message),
             LIBSESSION_RESULT_INVALID_OPTION);
    CHECK(strstr(message, "`ttl`") != NULL);
    CHECK_RC(libsession_redis_options_check(S("{\"scanCount\":10}"), (uint8_t *)tiny, sizeof tiny),
             LIBSESSION_RESULT_INVALID_OPTION);
    CHECK(strlen(tiny) == sizeof tiny - 1);
    CHECK_RC(libsession_redis_options_check(S("{\"prefx\":\"a\"}"), NULL, 0), LIBSESSION_RESULT_INVALID_OPTION);
    CHECK_RC(libsession_redis_options_check(S("[1]"), (uint8_t *)message, sizeof message),
             LIBSESSION_RESULT_INVALID_OPTION);
    CHECK_RC(libsession_redis_options_check(S("{"), (uint8_t *)message, sizeof message),
             LIBSESSION_RESULT_INVALID_JSON);
    CHECK_OK(libsession_redis_options_check(S("{\"ttl\":5}"), (uint8_t *)message, sizeof message));
    CHECK(message[0] == '\0');
    CHECK_RC(libsession_redis_options_new(S("{\"disableTTL\":1}"), &o), LIBSESSION_RESULT_INVALID_OPTION);
    CHECK_RC(libsession_redis_options_new(S("\xff"), &o), LIBSESSION_RESULT_INVALID_UTF8);
}

int main(void) {
    static const h_test tests[] = {
        TEST(test_keys_values_and_ttls),
        TEST(test_expired_saves_delete_and_expired_touches_expire_nonpositive),
        TEST(test_disable_touch_ttl_and_prefix),
        TEST(test_null_and_empty_records_are_fresh_sessions),
        TEST(test_plan_lifetimes_and_wrong_actions),
        TEST(test_options_errors),
    };
    return h_main("redis", tests, sizeof tests / sizeof tests[0]);
}
