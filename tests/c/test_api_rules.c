/*
 * The C API's rules a host relies on: getter results stay valid together
 * until the next state-changing call; set_now keeps the current action's
 * strings; SAVE and TOUCH give their expiry and connect-redis's TTL without
 * JSON parsing; a request failed by misuse keeps the original cause in
 * last_error; polling while a store action is unanswered returns WAIT.
 */
#include "harness.h"

#include <stdlib.h>

/* Polls, answering store actions other than `want` from `s` and finishing at
 * READY, until the action `want` comes (true) or DONE/FAILED/an error (false). */
static bool poll_until(libsession_request *req, store *s, int64_t now, libsession_action want) {
    int guard;
    for (guard = 0; guard < 100; guard++) {
        libsession_action kind = 0;
        if (libsession_request_poll_action(req, &kind) != LIBSESSION_RESULT_OK) {
            return false;
        }
        if (kind == want) {
            return true;
        }
        switch (kind) {
        case LIBSESSION_ACTION_LOAD:
        case LIBSESSION_ACTION_SAVE:
        case LIBSESSION_ACTION_TOUCH:
        case LIBSESSION_ACTION_DESTROY:
            if (answer(req, kind, s, now) != LIBSESSION_RESULT_OK) {
                return false;
            }
            break;
        case LIBSESSION_ACTION_READY:
            if (libsession_request_finish(req) != LIBSESSION_RESULT_OK) {
                return false;
            }
            break;
        case LIBSESSION_ACTION_SET_COOKIE:
        case LIBSESSION_ACTION_COMPLETED:
        case LIBSESSION_ACTION_ERROR:
            break;
        default:
            return false;
        }
    }
    return false;
}

/* A request at READY on a new session, with a store. */
static libsession_request *ready(const libsession_config *cfg, store *s, int64_t now, const char *cookie) {
    outcome o;
    libsession_request *req = new_request(cfg, now, cookie);
    memset(&o, 0, sizeof o);
    CHECK(drive(req, s, now, &o) == LIBSESSION_ACTION_READY);
    return req;
}

static void test_two_get_json_results_at_once(void) {
    const libsession_config *cfg = simple_config();
    store s;
    libsession_request *req;
    libsession_str a, b, data, record, max_age;
    store_init(&s);
    req = ready(cfg, &s, NOW, NULL);
    CHECK_OK(libsession_request_set_json(req, S("a"), S("\"first value\"")));
    CHECK_OK(libsession_request_set_json(req, S("b"), S("{\"n\":[1,2,3]}")));
    CHECK_OK(libsession_request_get_json(req, S("a"), &a));
    CHECK_OK(libsession_request_get_json(req, S("b"), &b));
    CHECK_OK(libsession_request_data_json(req, &data));
    CHECK_OK(libsession_request_session_json(req, &record));
    CHECK_OK(libsession_request_max_age_json(req, &max_age));
    /* Every result is still the one it was, after the later getters. */
    CHECK(str_eq(a, "\"first value\""));
    CHECK(str_eq(b, "{\"n\":[1,2,3]}"));
    CHECK(str_eq(data, "{\"a\":\"first value\",\"b\":{\"n\":[1,2,3]}}"));
    CHECK(str_has(record, "\"cookie\":{") && str_has(record, "\"a\":\"first value\""));
    CHECK(str_eq(max_age, "60000"));
    /* The same key twice: two equal, independent results. */
    {
        libsession_str again;
        CHECK_OK(libsession_request_get_json(req, S("a"), &again));
        CHECK(str_eq(again, "\"first value\"") && str_eq(a, "\"first value\""));
    }
    /* An absent key is { NULL, 0 }. */
    CHECK_OK(libsession_request_get_json(req, S("absent"), &a));
    CHECK(a.data == NULL && a.len == 0);
    CHECK_OK(libsession_request_finish(req));
    CHECK(poll_until(req, &s, NOW, LIBSESSION_ACTION_DONE));
    libsession_request_free(req);
    store_clear(&s);
    libsession_config_free(cfg);
}

static void test_set_now_keeps_the_action(void) {
    const libsession_config *cfg = simple_config();
    store s;
    libsession_request *req;
    libsession_str id, record, id_after, record_after;
    int64_t at = 0;
    store_init(&s);
    req = ready(cfg, &s, NOW, NULL);
    CHECK_OK(libsession_request_set_json(req, S("user"), S("\"alice\"")));
    CHECK_OK(libsession_request_finish(req));
    CHECK(poll_until(req, &s, NOW, LIBSESSION_ACTION_SAVE));
    id = act_id(req);
    record = act_record(req);
    /* An asynchronous host updates the clock, then reads the action. */
    CHECK_OK(libsession_request_set_now(req, NOW + 250));
    id_after = act_id(req);
    record_after = act_record(req);
    CHECK(id_after.data == id.data && id_after.len == 43);
    CHECK(record_after.data == record.data && str_has(record_after, "\"user\":\"alice\""));
    CHECK(str_has(record, "\"user\":\"alice\"")); /* the first views too */
    CHECK(act_expires_at(req, &at) && at == NOW + 60000);
    CHECK_OK(libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_OK, NULL, 0));
    CHECK(poll_until(req, &s, NOW, LIBSESSION_ACTION_DONE));
    libsession_request_free(req);
    store_clear(&s);
    libsession_config_free(cfg);
}

static int64_t ttl(const libsession_request *req, int64_t default_ttl) {
    int64_t t = -999999;
    CHECK_OK(libsession_request_action_ttl_seconds(req, default_ttl, &t));
    return t;
}

static void test_save_expiry_and_ttl(void) {
    const libsession_config *cfg = simple_config(); /* maxAge 60000 */
    store s;
    libsession_request *req;
    int64_t at = 0, t = 7;
    bool has = true;
    libsession_action kind = 0;
    store_init(&s);
    req = ready(cfg, &s, NOW, NULL);
    /* Not a SAVE or TOUCH: no expiry to give. */
    CHECK_RC(libsession_request_action_expires_at(req, &at, &has), LIBSESSION_RESULT_WRONG_ACTION);
    CHECK_RC(libsession_request_action_ttl_seconds(req, 0, &t), LIBSESSION_RESULT_WRONG_ACTION);
    CHECK(at == 0 && has && t == 7);
    CHECK_OK(libsession_request_set_json(req, S("k"), S("1")));
    CHECK_OK(libsession_request_finish(req));
    CHECK(poll_until(req, &s, NOW, LIBSESSION_ACTION_SAVE));
    CHECK_OK(libsession_request_action_expires_at(req, &at, &has));
    CHECK(has && at == NOW + 60000);
    /* connect-redis: ceil((expires - now) / 1000), from the request's clock. */
    CHECK(ttl(req, 0) == 60);
    CHECK(ttl(req, 3600) == 60); /* the default only applies without an expiry */
    CHECK_OK(libsession_request_set_now(req, NOW + 999));
    CHECK(ttl(req, 0) == 60); /* 59.001 s rounds up */
    CHECK_OK(libsession_request_set_now(req, NOW + 59999));
    CHECK(ttl(req, 0) == 1);
    CHECK_OK(libsession_request_set_now(req, NOW + 60000));
    CHECK(ttl(req, 0) == 0); /* expired: delete, do not write */
    CHECK_OK(libsession_request_set_now(req, NOW + 61500));
    CHECK(ttl(req, 0) == -1);
    CHECK_OK(libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_OK, NULL, 0));
    /* The Set-Cookie came before the SAVE (express-session's order). */
    CHECK_OK(libsession_request_poll_action(req, &kind));
    CHECK(kind == LIBSESSION_ACTION_DONE);
    CHECK_RC(libsession_request_action_ttl_seconds(req, 0, &t), LIBSESSION_RESULT_WRONG_ACTION);
    CHECK(poll_until(req, &s, NOW, LIBSESSION_ACTION_DONE));
    libsession_request_free(req);
    store_clear(&s);
    libsession_config_free(cfg);
}

/* A browser-session cookie (no maxAge): no expiry; the TTL is the default. */
static void test_browser_session_ttl(void) {
    libsession_config_builder *b = NULL;
    const libsession_config *cfg = NULL;
    store s;
    libsession_request *req;
    int64_t at = 5;
    bool has = true;
    CHECK_OK(libsession_config_builder_new(&b));
    CHECK_OK(libsession_config_builder_add_secret(b, S("keyboard cat keyboard cat keyboard cat")));
    CHECK_OK(libsession_config_builder_build(b, &cfg));
    store_init(&s);
    req = ready(cfg, &s, NOW, NULL);
    CHECK_OK(libsession_request_set_json(req, S("k"), S("1")));
    CHECK_OK(libsession_request_finish(req));
    CHECK(poll_until(req, &s, NOW, LIBSESSION_ACTION_SAVE));
    CHECK_OK(libsession_request_action_expires_at(req, &at, &has));
    CHECK(!has && at == 0);
    CHECK(ttl(req, 0) == 86400); /* connect-redis: ttl || 86400 */
    CHECK(ttl(req, 3600) == 3600);
    CHECK_OK(libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_OK, NULL, 0));
    CHECK(poll_until(req, &s, NOW, LIBSESSION_ACTION_DONE));
    libsession_request_free(req);
    store_clear(&s);
    libsession_config_free(cfg);
}

/* TOUCH of known stored records: the expiry is now + originalMaxAge. */
static void test_touch_expiry_of_known_records(void) {
    static const char *with_max_age = "{\"cookie\":{\"originalMaxAge\":60000,\"expires\":\"2023-11-14T22:13:40.000Z\","
                                      "\"httpOnly\":true,\"path\":\"/\"},\"n\":1}";
    static const char *browser_session = "{\"cookie\":{\"originalMaxAge\":null,\"expires\":null,"
                                         "\"httpOnly\":true,\"path\":\"/\"},\"n\":1}";
    const libsession_config *cfg = simple_config();
    store s;
    outcome o;
    char cookie[2048], sid[64];
    libsession_request *req;
    libsession_str id;
    store_entry *e;
    int64_t at = 0, later = NOW + 10000;
    bool has = false;
    store_init(&s);
    memset(&o, 0, sizeof o);
    /* A first request stores a session; its cookie names it. */
    req = ready(cfg, &s, NOW, NULL);
    CHECK_OK(libsession_request_set_json(req, S("n"), S("1")));
    CHECK(get_session_id(req, &id));
    str_copy(id, sid, sizeof sid);
    CHECK_OK(libsession_request_finish(req));
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_DONE);
    libsession_request_free(req);
    cookie_header_of(o.cookie, cookie, sizeof cookie);

    /* The stored record replaced by a known one with a maxAge. */
    e = store_find(&s, sid);
    CHECK(e != NULL);
    if (e == NULL) {
        store_clear(&s);
        libsession_config_free(cfg);
        return;
    }
    free(e->record);
    e->record = malloc(strlen(with_max_age) + 1);
    if (e->record == NULL) {
        abort();
    }
    strcpy(e->record, with_max_age);
    e->has_expiry = false;
    req = ready(cfg, &s, later, cookie);
    CHECK_OK(libsession_request_finish(req));
    CHECK(poll_until(req, &s, later, LIBSESSION_ACTION_TOUCH));
    CHECK(str_eq(act_id(req), sid));
    CHECK_OK(libsession_request_action_expires_at(req, &at, &has));
    CHECK(has && at == later + 60000);
    CHECK(ttl(req, 0) == 60);
    CHECK(answer(req, LIBSESSION_ACTION_TOUCH, &s, later) == LIBSESSION_RESULT_OK);
    CHECK(poll_until(req, &s, later, LIBSESSION_ACTION_DONE));
    libsession_request_free(req);

    /* And by one without an expiry. */
    e = store_find(&s, sid);
    CHECK(e != NULL);
    if (e != NULL) {
        free(e->record);
        e->record = malloc(strlen(browser_session) + 1);
        if (e->record == NULL) {
            abort();
        }
        strcpy(e->record, browser_session);
        e->has_expiry = false;
        req = ready(cfg, &s, later, cookie);
        CHECK_OK(libsession_request_finish(req));
        CHECK(poll_until(req, &s, later, LIBSESSION_ACTION_TOUCH));
        CHECK_OK(libsession_request_action_expires_at(req, &at, &has));
        CHECK(!has);
        CHECK(ttl(req, 0) == 86400 && ttl(req, 120) == 120);
        CHECK(answer(req, LIBSESSION_ACTION_TOUCH, &s, later) == LIBSESSION_RESULT_OK);
        CHECK(poll_until(req, &s, later, LIBSESSION_ACTION_DONE));
        libsession_request_free(req);
    }
    store_clear(&s);
    libsession_config_free(cfg);
}

/* At most one store action is outstanding; polling meanwhile gives WAIT. */
static void test_wait_while_a_store_action_is_outstanding(void) {
    const libsession_config *cfg = simple_config();
    libsession_request *req;
    libsession_action kind = 0;
    store s;
    store_init(&s);
    /* A signed cookie from a first request, so that the next one loads. */
    {
        outcome o;
        char cookie[2048];
        int i;
        memset(&o, 0, sizeof o);
        req = ready(cfg, &s, NOW, NULL);
        CHECK_OK(libsession_request_set_json(req, S("n"), S("1")));
        CHECK_OK(libsession_request_finish(req));
        CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_DONE);
        libsession_request_free(req);
        cookie_header_of(o.cookie, cookie, sizeof cookie);
        req = new_request(cfg, NOW, cookie);
        CHECK_OK(libsession_request_poll_action(req, &kind));
        CHECK(kind == LIBSESSION_ACTION_LOAD);
        for (i = 0; i < 3; i++) {
            CHECK_OK(libsession_request_poll_action(req, &kind));
            CHECK(kind == LIBSESSION_ACTION_WAIT);
        }
        CHECK(answer(req, LIBSESSION_ACTION_LOAD, &s, NOW) == LIBSESSION_RESULT_OK);
        CHECK_OK(libsession_request_poll_action(req, &kind));
        CHECK(kind == LIBSESSION_ACTION_READY);
        libsession_request_free(req);
    }
    store_clear(&s);
    libsession_config_free(cfg);
}

/* After misuse fails the request, REQUEST_FAILED's message keeps the cause. */
static void test_request_failed_keeps_the_cause(void) {
    const libsession_config *cfg = simple_config();
    store s;
    libsession_request *req;
    char buf[512];
    store_init(&s);
    req = ready(cfg, &s, NOW, NULL);
    /* Facts are only taken before the first poll: misuse, the request fails. */
    CHECK_RC(libsession_request_set_target(req, S("/late")), LIBSESSION_RESULT_WRONG_PHASE);
    get_last_error(req, buf, sizeof buf);
    CHECK(strcmp(buf, "call not allowed in the request's current phase") == 0);
    CHECK_RC(libsession_request_save(req), LIBSESSION_RESULT_REQUEST_FAILED);
    get_last_error(req, buf, sizeof buf);
    CHECK(strstr(buf, "the request failed earlier") != NULL);
    CHECK(strstr(buf, "call not allowed in the request's current phase") != NULL);
    /* Still there after more calls, and not replaced by later misuse. */
    CHECK_RC(libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_OK, NULL, 0),
             LIBSESSION_RESULT_REQUEST_FAILED);
    get_last_error(req, buf, sizeof buf);
    CHECK(strstr(buf, "call not allowed in the request's current phase") != NULL);
    libsession_request_free(req);
    store_clear(&s);
    libsession_config_free(cfg);
}

int main(void) {
    static const h_test tests[] = {
        TEST(test_two_get_json_results_at_once),
        TEST(test_set_now_keeps_the_action),
        TEST(test_save_expiry_and_ttl),
        TEST(test_browser_session_ttl),
        TEST(test_touch_expiry_of_known_records),
        TEST(test_wait_while_a_store_action_is_outstanding),
        TEST(test_request_failed_keeps_the_cause),
    };
    return h_main("api_rules", tests, sizeof tests / sizeof tests[0]);
}
