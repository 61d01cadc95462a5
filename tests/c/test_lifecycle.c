/*
 * The lifecycle through the C API: the canonical poll loop, every handler
 * operation, secret rotation, every config option, asynchronous answers,
 * caller-chosen IDs, entropy, and a config shared between threads.
 */
#include "harness.h"

#include <pthread.h>
#include <stdlib.h>

/* The canonical loop written out in full, as the header shows it. */
static void test_canonical_poll_loop(void) {
    const libsession_config *cfg = simple_config();
    store s;
    char cookie[2048] = "";
    int round;
    store_init(&s);
    for (round = 1; round <= 3; round++) {
        libsession_request *req = NULL;
        libsession_action kind = 0;
        bool done = false;
        int guard = 0;
        int64_t now = NOW + round * 1000;
        CHECK_OK(libsession_request_new(cfg, (int64_t)now, S("0123456789abcdef0123456789abcdef"), &req));
        CHECK_OK(libsession_request_set_target(req, S("/")));
        if (cookie[0] != '\0') {
            CHECK_OK(libsession_request_add_cookie_header(req, (const uint8_t *)cookie, strlen(cookie)));
        }
        while (!done && guard++ < 100) {
            CHECK_OK(libsession_request_poll_action(req, &kind));
            switch (kind) {
            case LIBSESSION_ACTION_LOAD:
                CHECK(round > 1);
                CHECK_OK(answer(req, kind, &s, now));
                break;
            case LIBSESSION_ACTION_SAVE: {
                int64_t at = 0;
                CHECK(act_expires_at(req, &at));
                CHECK(at == now + 60000);
                CHECK(str_has(act_record(req), "\"views\":"));
                CHECK_OK(answer(req, kind, &s, now));
                break;
            }
            case LIBSESSION_ACTION_TOUCH:
            case LIBSESSION_ACTION_DESTROY:
                CHECK_OK(answer(req, kind, &s, now));
                break;
            case LIBSESSION_ACTION_READY: {
                double views = 0;
                CHECK_OK(libsession_request_increment(req, S("views"), &views));
                CHECK(views == (double)round);
                CHECK_OK(libsession_request_finish(req));
                break;
            }
            case LIBSESSION_ACTION_SET_COOKIE: {
                libsession_str v = act_value(req);
                char value[2048];
                CHECK(str_has(v, "connect.sid=s%3A"));
                CHECK(str_has(v, "; Path=/; Expires="));
                CHECK(str_has(v, "; HttpOnly; SameSite=Lax"));
                str_copy(v, value, sizeof value);
                cookie_header_of(value, cookie, sizeof cookie);
                break;
            }
            case LIBSESSION_ACTION_DONE:
                done = true;
                break;
            default:
                CHECK(!"unexpected action");
                done = true;
            }
        }
        CHECK(done);
        /* DONE repeats forever. */
        CHECK_OK(libsession_request_poll_action(req, &kind));
        CHECK(kind == LIBSESSION_ACTION_DONE);
        libsession_request_free(req);
    }
    CHECK(s.len == 1);
    CHECK(s.gets == 2);
    CHECK(s.sets == 3);
    store_clear(&s);
    libsession_config_free(cfg);
}

/* A request at READY with a new session. */
static libsession_request *ready(const libsession_config *cfg, store *s, const char *cookie) {
    outcome o;
    libsession_request *req = new_request(cfg, NOW, cookie);
    memset(&o, 0, sizeof o);
    CHECK(drive(req, s, NOW, &o) == LIBSESSION_ACTION_READY);
    return req;
}

/* Finishes a request and drives it to DONE. */
static void finish(libsession_request *req, store *s, int64_t now, outcome *o) {
    CHECK_OK(libsession_request_finish(req));
    CHECK(drive(req, s, now, o) == LIBSESSION_ACTION_DONE);
}

static void test_data_operations(void) {
    const libsession_config *cfg = simple_config();
    store s;
    libsession_request *req;
    libsession_str json, id;
    double n = 0;
    outcome o;
    store_init(&s);
    memset(&o, 0, sizeof o);
    req = ready(cfg, &s, NULL);

    CHECK(get_has_session(req));
    CHECK(get_session_id(req, &id));
    CHECK(id.len == 43);
    CHECK(!get_cookie_session_id(req, &id));
    CHECK(!get_is_secure(req));

    /* get of an absent key: OK with an absent string. */
    json.data = (const uint8_t *)"untouched";
    CHECK_OK(libsession_request_get_json(req, S("user"), &json));
    CHECK(json.data == NULL && json.len == 0);

    CHECK_OK(libsession_request_set_json(req, S("user"), S("{\"name\":\"ada\",\"roles\":[\"a\",1,true,null]}")));
    CHECK_OK(libsession_request_get_json(req, S("user"), &json));
    CHECK(str_eq(json, "{\"name\":\"ada\",\"roles\":[\"a\",1,true,null]}"));
    CHECK_OK(libsession_request_set_json(req, S("n"), S("  41  ")));
    CHECK_OK(libsession_request_increment(req, S("n"), &n));
    CHECK(n == 42.0);
    CHECK_OK(libsession_request_set_json(req, S("s"), S("\"text\"")));
    CHECK_OK(libsession_request_increment(req, S("s"), &n));
    CHECK(n == 1.0);
    CHECK_OK(libsession_request_set_json(req, S("empty"), S("\"\"")));
    CHECK_OK(libsession_request_get_json(req, S("empty"), &json));
    CHECK(str_eq(json, "\"\""));

    CHECK_OK(libsession_request_data_json(req, &json));
    CHECK(str_eq(json, "{\"user\":{\"name\":\"ada\",\"roles\":[\"a\",1,true,null]},\"n\":42,\"s\":1,\"empty\":\"\"}"));
    CHECK_OK(libsession_request_session_json(req, &json));
    CHECK(str_has(json, "\"cookie\":{\"originalMaxAge\":60000"));
    CHECK(str_has(json, "\"n\":42"));

    CHECK_OK(libsession_request_delete(req, S("user")));
    CHECK_OK(libsession_request_delete(req, S("never-set")));
    CHECK_OK(libsession_request_get_json(req, S("user"), &json));
    CHECK(json.data == NULL);
    CHECK_OK(libsession_request_get_json(req, S("cookie"), &json));
    CHECK(json.data == NULL);

    /* Unicode survives the round trip. */
    CHECK_OK(libsession_request_set_json(req, S("greeting"), S("\"gr\xc3\xbc\xc3\x9f \\u00e9 \xf0\x9f\x8d\xaa\"")));
    CHECK_OK(libsession_request_get_json(req, S("greeting"), &json));
    CHECK(str_eq(json, "\"gr\xc3\xbc\xc3\x9f \xc3\xa9 \xf0\x9f\x8d\xaa\""));

    finish(req, &s, NOW, &o);
    CHECK(o.set_cookies == 1);
    CHECK(s.len == 1);
    CHECK(s.len == 1 && strstr(s.entries[0].record, "\"greeting\"") != NULL);
    CHECK(s.len == 1 && strstr(s.entries[0].record, "\"user\"") == NULL);
    libsession_request_free(req);
    store_clear(&s);
    libsession_config_free(cfg);
}

static void test_cookie_operations(void) {
    const libsession_config *cfg = simple_config();
    store s;
    libsession_request *req;
    int64_t ms = 0;
    outcome o;
    store_init(&s);
    memset(&o, 0, sizeof o);
    req = ready(cfg, &s, NULL);

    CHECK(get_max_age(req, &ms));
    CHECK(ms == 60000.0);
    CHECK_OK(libsession_request_set_max_age(req, true, 5000));
    CHECK(get_max_age(req, &ms) && ms == 5000.0);
    CHECK_OK(libsession_request_set_now(req, (int64_t)(NOW + 1000)));
    CHECK(get_max_age(req, &ms) && ms == 4000.0);
    CHECK_OK(libsession_request_touch(req));
    CHECK(get_max_age(req, &ms) && ms == 5000.0);
    CHECK_OK(libsession_request_set_max_age(req, false, 0));
    CHECK(!get_max_age(req, &ms));
    CHECK_OK(libsession_request_set_expires(req, true, (int64_t)(NOW + 1000 + 7000)));
    CHECK(get_max_age(req, &ms) && ms == 7000.0);
    CHECK_OK(libsession_request_set_expires(req, false, 0));
    CHECK(!get_max_age(req, &ms));
    CHECK_OK(libsession_request_set_max_age(req, true, 3600000));

    CHECK_OK(libsession_request_set_cookie_attr(req, LIBSESSION_COOKIE_ATTR_PRIORITY, S("\"high\"")));
    CHECK_OK(libsession_request_set_cookie_attr(req, LIBSESSION_COOKIE_ATTR_PATH, S("\"/\"")));
    CHECK_OK(libsession_request_set_cookie_attr(req, LIBSESSION_COOKIE_ATTR_HTTP_ONLY, S("false")));
    CHECK_OK(libsession_request_set_cookie_attr(req, LIBSESSION_COOKIE_ATTR_DOMAIN, S("\"example.com\"")));
    CHECK_OK(libsession_request_set_cookie_attr(req, LIBSESSION_COOKIE_ATTR_PARTITIONED, S("true")));
    CHECK_OK(libsession_request_set_cookie_attr(req, LIBSESSION_COOKIE_ATTR_SECURE, S("false")));
    CHECK_OK(libsession_request_set_cookie_attr_by_name(req, S("sameSite"), S("\"strict\"")));
    CHECK_OK(libsession_request_set_cookie_attr(req, LIBSESSION_COOKIE_ATTR_ORIGINAL_MAX_AGE, S("3600000")));
    CHECK_OK(libsession_request_set_cookie_attr(req, LIBSESSION_COOKIE_ATTR_SAME_SITE, S("\"strict\"")));

    CHECK_OK(libsession_request_set_json(req, S("x"), S("1")));
    finish(req, &s, NOW + 1000, &o);
    CHECK(o.set_cookies == 1);
    CHECK(strstr(o.cookie, "; Domain=example.com") != NULL);
    CHECK(strstr(o.cookie, "; Priority=High") != NULL);
    CHECK(strstr(o.cookie, "; SameSite=Strict") != NULL);
    CHECK(strstr(o.cookie, "; Partitioned") != NULL);
    CHECK(strstr(o.cookie, "HttpOnly") == NULL);
    CHECK(strstr(o.cookie, "Expires=Tue, 14 Nov 2023 23:13:21 GMT") != NULL);
    libsession_request_free(req);
    store_clear(&s);
    libsession_config_free(cfg);
}

static void test_save_reload_regenerate_destroy(void) {
    const libsession_config *cfg = simple_config();
    store s;
    libsession_request *req;
    libsession_str id;
    char first_id[64], second_id[64];
    libsession_action kind = 0;
    outcome o;
    store_init(&s);
    memset(&o, 0, sizeof o);
    req = ready(cfg, &s, NULL);
    CHECK(get_session_id(req, &id));
    str_copy(id, first_id, sizeof first_id);

    /* save: SAVE, then COMPLETED without error, then READY. */
    CHECK_OK(libsession_request_set_json(req, S("k"), S("\"v1\"")));
    CHECK_OK(libsession_request_save(req));
    CHECK_OK(libsession_request_poll_action(req, &kind));
    CHECK(kind == LIBSESSION_ACTION_SAVE);
    CHECK(str_eq(act_id(req), first_id));
    CHECK(act_value(req).data == NULL);
    CHECK_OK(answer(req, kind, &s, NOW));
    CHECK_OK(libsession_request_poll_action(req, &kind));
    CHECK(kind == LIBSESSION_ACTION_COMPLETED);
    CHECK(act_value(req).data == NULL);
    CHECK_OK(libsession_request_poll_action(req, &kind));
    CHECK(kind == LIBSESSION_ACTION_READY);
    CHECK(s.len == 1);

    /* reload: the stored copy replaces the in-memory changes. */
    CHECK_OK(libsession_request_set_json(req, S("k"), S("\"v2\"")));
    CHECK_OK(libsession_request_reload(req));
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
    CHECK(o.completed == 1 && o.completed_ok);
    {
        libsession_str v;
        CHECK_OK(libsession_request_get_json(req, S("k"), &v));
        CHECK(str_eq(v, "\"v1\""));
    }

    /* regenerate: DESTROY of the old ID, then a new session and ID. */
    CHECK_OK(libsession_request_regenerate(req));
    CHECK_OK(libsession_request_poll_action(req, &kind));
    CHECK(kind == LIBSESSION_ACTION_DESTROY);
    CHECK(str_eq(act_id(req), first_id));
    CHECK_OK(answer(req, kind, &s, NOW));
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
    CHECK(o.completed == 2 && o.completed_ok);
    CHECK(s.len == 0);
    CHECK(get_session_id(req, &id));
    str_copy(id, second_id, sizeof second_id);
    CHECK(strcmp(first_id, second_id) != 0);
    CHECK(get_id_count(req) == 2);
    {
        libsession_str v;
        CHECK_OK(libsession_request_get_json(req, S("k"), &v));
        CHECK(v.data == NULL);
    }

    /* destroy: the session is gone at once; the ID stays. */
    CHECK_OK(libsession_request_set_json(req, S("k"), S("3")));
    CHECK_OK(libsession_request_save(req));
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
    CHECK(s.len == 1);
    CHECK_OK(libsession_request_destroy(req));
    CHECK(!get_has_session(req));
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
    CHECK(o.completed == 4 && o.completed_ok);
    CHECK(s.len == 0);
    CHECK(get_session_id(req, &id) && str_eq(id, second_id));
    CHECK_RC(libsession_request_increment(req, S("k"), NULL), LIBSESSION_RESULT_NULL_PARAMETER);
    {
        double n = -1;
        CHECK_RC(libsession_request_increment(req, S("k"), &n), LIBSESSION_RESULT_NO_SESSION);
        CHECK(n == -1);
    }
    finish(req, &s, NOW, &o);
    CHECK(s.len == 0);
    libsession_request_free(req);

    /* unset: no session for the rest of the request (kept in the store by default). */
    req = ready(cfg, &s, NULL);
    CHECK_OK(libsession_request_set_json(req, S("k"), S("1")));
    CHECK_OK(libsession_request_unset(req));
    CHECK(!get_has_session(req));
    CHECK_OK(libsession_request_unset(req));
    memset(&o, 0, sizeof o);
    finish(req, &s, NOW, &o);
    CHECK(o.set_cookies == 0);
    CHECK(s.len == 0);
    libsession_request_free(req);
    store_clear(&s);
    libsession_config_free(cfg);
}

/* A second request carrying the first one's cookie, which the store has. */
static void test_cookie_round_trip_and_touch(void) {
    const libsession_config *cfg = simple_config();
    store s;
    libsession_request *req;
    char cookie[2048], first_id[64];
    libsession_str id;
    outcome o;
    store_init(&s);
    memset(&o, 0, sizeof o);
    req = ready(cfg, &s, NULL);
    CHECK_OK(libsession_request_set_json(req, S("k"), S("1")));
    CHECK(get_session_id(req, &id));
    str_copy(id, first_id, sizeof first_id);
    finish(req, &s, NOW, &o);
    libsession_request_free(req);
    cookie_header_of(o.cookie, cookie, sizeof cookie);

    req = ready(cfg, &s, cookie);
    CHECK(get_cookie_session_id(req, &id) && str_eq(id, first_id));
    CHECK(get_session_id(req, &id) && str_eq(id, first_id));
    memset(&o, 0, sizeof o);
    finish(req, &s, NOW + 10, &o);
    CHECK(s.touches == 1); /* unmodified, resave off: touched, not saved */
    CHECK(s.sets == 1);
    CHECK(o.set_cookies == 0);
    libsession_request_free(req);

    /* An expired record is a new session. */
    req = ready(cfg, &s, cookie);
    CHECK(get_session_id(req, &id) && str_eq(id, first_id));
    libsession_request_free(req); /* freed mid-request: allowed */
    {
        libsession_request *late = new_request(cfg, NOW + 120000, cookie);
        memset(&o, 0, sizeof o);
        CHECK(drive(late, &s, NOW + 120000, &o) == LIBSESSION_ACTION_READY);
        CHECK(get_session_id(late, &id) && !str_eq(id, first_id));
        libsession_request_free(late);
    }
    store_clear(&s);
    libsession_config_free(cfg);
}

/* The first secret signs; every secret verifies. */
static void test_secret_rotation(void) {
    libsession_config_builder *b = NULL;
    const libsession_config *old_cfg = NULL, *rotated = NULL, *new_only = NULL;
    store s;
    libsession_request *req;
    char old_cookie[2048], new_cookie[2048], sid[64];
    libsession_str id;
    outcome o;
    store_init(&s);

    CHECK_OK(libsession_config_builder_new(&b));
    CHECK_OK(libsession_config_builder_add_secret(b, S("old secret old secret old secret!")));
    CHECK_OK(libsession_config_builder_build(b, &old_cfg));
    CHECK_OK(libsession_config_builder_new(&b));
    CHECK_OK(libsession_config_builder_add_secret(b, S("new secret new secret new secret!")));
    CHECK_OK(libsession_config_builder_add_secret(b, S("old secret old secret old secret!")));
    CHECK_OK(libsession_config_builder_set_rolling(b, true));
    CHECK_OK(libsession_config_builder_build(b, &rotated));
    CHECK_OK(libsession_config_builder_new(&b));
    CHECK_OK(libsession_config_builder_add_secret(b, S("new secret new secret new secret!")));
    CHECK_OK(libsession_config_builder_build(b, &new_only));

    /* A session under the old secret. */
    req = ready(old_cfg, &s, NULL);
    CHECK_OK(libsession_request_set_json(req, S("who"), S("\"ada\"")));
    CHECK(get_session_id(req, &id));
    str_copy(id, sid, sizeof sid);
    memset(&o, 0, sizeof o);
    finish(req, &s, NOW, &o);
    libsession_request_free(req);
    cookie_header_of(o.cookie, old_cookie, sizeof old_cookie);

    /* The rotated config accepts it and re-signs with the new secret. */
    req = ready(rotated, &s, old_cookie);
    CHECK(s.gets == 1);
    CHECK(get_cookie_session_id(req, &id) && str_eq(id, sid));
    {
        libsession_str v;
        CHECK_OK(libsession_request_get_json(req, S("who"), &v));
        CHECK(str_eq(v, "\"ada\""));
    }
    memset(&o, 0, sizeof o);
    finish(req, &s, NOW, &o);
    CHECK(o.set_cookies == 1);
    libsession_request_free(req);
    cookie_header_of(o.cookie, new_cookie, sizeof new_cookie);
    CHECK(strcmp(old_cookie, new_cookie) != 0);
    CHECK(strstr(new_cookie, sid) != NULL);

    /* Only the new secret: the new cookie verifies, the old one does not. */
    req = ready(new_only, &s, new_cookie);
    CHECK(get_cookie_session_id(req, &id) && str_eq(id, sid));
    libsession_request_free(req);
    req = ready(new_only, &s, old_cookie);
    CHECK(!get_cookie_session_id(req, &id));
    CHECK(get_session_id(req, &id) && !str_eq(id, sid));
    CHECK(s.gets == 2); /* the unverified cookie caused no load */
    libsession_request_free(req);

    libsession_config_free(old_cfg);
    libsession_config_free(rotated);
    libsession_config_free(new_only);
    store_clear(&s);
}

/* Every builder setter, checked through the cookie it produces. */
static void test_every_config_option(void) {
    libsession_config_builder *b = NULL;
    const libsession_config *cfg = NULL;
    store s;
    libsession_request *req;
    libsession_str name;
    int64_t ms = 0;
    libsession_action kind = 0;
    outcome o;
    store_init(&s);

    CHECK_OK(libsession_config_builder_new(&b));
    CHECK_OK(libsession_config_builder_set_name(b, S("sid")));
    CHECK_OK(libsession_config_builder_add_secret(b, S("s3cret s3cret s3cret s3cret s3cret")));
    CHECK_OK(libsession_config_builder_set_resave(b, true));
    CHECK_OK(libsession_config_builder_set_save_uninitialized(b, true));
    CHECK_OK(libsession_config_builder_set_rolling(b, true));
    CHECK_OK(libsession_config_builder_set_unset(b, LIBSESSION_UNSET_DESTROY));
    CHECK_OK(libsession_config_builder_set_proxy(b, LIBSESSION_TRISTATE_UNSET));
    CHECK_OK(libsession_config_builder_set_trust_proxy(b, true));
    CHECK_OK(libsession_config_builder_set_cookie_path(b, S("/app")));
    CHECK_OK(libsession_config_builder_set_cookie_domain(b, S("example.com")));
    CHECK_OK(libsession_config_builder_set_http_only(b, false));
    CHECK_OK(libsession_config_builder_set_secure(b, LIBSESSION_SECURE_ALWAYS));
    CHECK_OK(libsession_config_builder_set_max_age(b, true, 1000));
    CHECK_OK(libsession_config_builder_set_same_site(b, LIBSESSION_SAME_SITE_NONE));
    CHECK_OK(libsession_config_builder_set_partitioned(b, LIBSESSION_TRISTATE_TRUE));
    CHECK_OK(libsession_config_builder_set_priority(b, LIBSESSION_PRIORITY_HIGH));
    CHECK_OK(libsession_config_builder_set_cookie_limits(b, 4096, 16));
    CHECK_OK(libsession_config_builder_set_express_compat(b, false));
    CHECK_OK(libsession_config_builder_build(b, &cfg));

    name = cfg_name(cfg);
    CHECK(str_eq(name, "sid"));
    CHECK(cfg_max_age(cfg, &ms) && ms == 1000.0);
    CHECK(cfg_unset(cfg) == LIBSESSION_UNSET_DESTROY);
    CHECK(!cfg_express_compat(cfg));

    /* Behind a trusted proxy saying https: secure, cookie sent. */
    req = new_request(cfg, NOW, NULL);
    CHECK_OK(libsession_request_set_target(req, S("/app/page?x=1")));
    CHECK_OK(libsession_request_add_forwarded_proto(req, S("https")));
    memset(&o, 0, sizeof o);
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
    CHECK(get_is_secure(req));
    finish(req, &s, NOW, &o);
    CHECK(o.set_cookies == 1);
    CHECK(strncmp(o.cookie, "sid=s%3A", 8) == 0);
    CHECK(strstr(o.cookie, "; Max-Age=1") == NULL); /* express-session sends Expires only */
    CHECK(strstr(o.cookie, "; Domain=example.com; Path=/app; Expires=") != NULL);
    CHECK(strstr(o.cookie, "; Secure; Partitioned; Priority=High; SameSite=None") != NULL);
    CHECK(strstr(o.cookie, "HttpOnly") == NULL);
    CHECK(s.sets == 1); /* saveUninitialized */
    libsession_request_free(req);

    /* Plain HTTP with a Secure cookie: no Set-Cookie. */
    req = new_request(cfg, NOW, NULL);
    CHECK_OK(libsession_request_set_target(req, S("/app")));
    memset(&o, 0, sizeof o);
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
    CHECK(!get_is_secure(req));
    finish(req, &s, NOW, &o);
    CHECK(o.set_cookies == 0);
    libsession_request_free(req);

    /* TLS on the connection itself. */
    req = new_request(cfg, NOW, NULL);
    CHECK_OK(libsession_request_set_target(req, S("/app")));
    CHECK_OK(libsession_request_set_tls(req, true));
    memset(&o, 0, sizeof o);
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
    CHECK(get_is_secure(req));
    /* unset with unset=destroy: the stored session is destroyed at the end. */
    CHECK_OK(libsession_request_unset(req));
    CHECK_OK(libsession_request_finish(req));
    CHECK_OK(libsession_request_poll_action(req, &kind));
    CHECK(kind == LIBSESSION_ACTION_DESTROY);
    CHECK_OK(answer(req, kind, &s, NOW));
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_DONE);
    libsession_request_free(req);

    /* Outside the cookie path: no session at all. */
    req = new_request(cfg, NOW, NULL);
    CHECK_OK(libsession_request_set_target(req, S("/other")));
    memset(&o, 0, sizeof o);
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
    CHECK(!get_has_session(req));
    {
        libsession_str id;
        CHECK(!get_session_id(req, &id));
    }
    finish(req, &s, NOW, &o);
    CHECK(o.set_cookies == 0);
    libsession_request_free(req);

    /* Store unavailable: no session, no store calls. */
    req = new_request(cfg, NOW, NULL);
    CHECK_OK(libsession_request_set_target(req, S("/app")));
    CHECK_OK(libsession_request_set_store_unavailable(req, true));
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
    CHECK(!get_has_session(req));
    libsession_request_free(req);

    /* proxy=false ignores X-Forwarded-Proto even with trust_proxy. */
    libsession_config_free(cfg);
    CHECK_OK(libsession_config_builder_new(&b));
    CHECK_OK(libsession_config_builder_add_secret(b, S("s3cret s3cret s3cret s3cret s3cret")));
    CHECK_OK(libsession_config_builder_set_proxy(b, LIBSESSION_TRISTATE_FALSE));
    CHECK_OK(libsession_config_builder_set_trust_proxy(b, true));
    CHECK_OK(libsession_config_builder_set_same_site(b, LIBSESSION_SAME_SITE_AUTO));
    CHECK_OK(libsession_config_builder_set_secure(b, LIBSESSION_SECURE_AUTO));
    CHECK_OK(libsession_config_builder_set_partitioned(b, LIBSESSION_TRISTATE_FALSE));
    CHECK_OK(libsession_config_builder_set_priority(b, LIBSESSION_PRIORITY_NONE));
    CHECK_OK(libsession_config_builder_set_cookie_domain(b, NULL, 0));
    CHECK_OK(libsession_config_builder_set_max_age(b, false, 0));
    CHECK_OK(libsession_config_builder_build(b, &cfg));
    CHECK(!cfg_max_age(cfg, &ms));
    CHECK(cfg_unset(cfg) == LIBSESSION_UNSET_KEEP);
    req = new_request(cfg, NOW, NULL);
    CHECK_OK(libsession_request_add_forwarded_proto(req, S("https")));
    memset(&o, 0, sizeof o);
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
    CHECK(!get_is_secure(req));
    CHECK_OK(libsession_request_set_json(req, S("a"), S("1")));
    finish(req, &s, NOW, &o);
    CHECK(strcmp(strstr(o.cookie, ";"), "; Path=/; HttpOnly; SameSite=Lax") == 0);
    libsession_request_free(req);

    libsession_config_free(cfg);
    store_clear(&s);
}

static void test_express_options(void) {
    libsession_config_builder *b = NULL;
    const libsession_config *cfg = NULL;
    static const char options[] =
        "{\"name\":\"app.sid\",\"secret\":[\"first\",\"second\"],\"resave\":false,"
        "\"saveUninitialized\":false,\"rolling\":false,\"unset\":\"keep\",\"proxy\":null,"
        "\"app_trust_proxy\":false,\"cookie\":{\"maxAge\":1000,\"sameSite\":\"strict\",\"secure\":false}}";
    store s;
    libsession_request *req;
    int64_t ms = 0;
    outcome o;
    store_init(&s);
    CHECK_OK(libsession_config_builder_new_from_express_options((const uint8_t *)options, strlen(options), &b));
    CHECK_OK(libsession_config_builder_build(b, &cfg));
    CHECK(str_eq(cfg_name(cfg), "app.sid"));
    CHECK(cfg_express_compat(cfg));
    CHECK(cfg_max_age(cfg, &ms) && ms == 1000.0);
    req = ready(cfg, &s, NULL);
    CHECK_OK(libsession_request_set_json(req, S("a"), S("1")));
    memset(&o, 0, sizeof o);
    finish(req, &s, NOW, &o);
    CHECK(strncmp(o.cookie, "app.sid=s%3A", 12) == 0);
    CHECK(strstr(o.cookie, "; SameSite=Strict") != NULL);
    libsession_request_free(req);
    libsession_config_free(cfg);

    /* add_secret replaces the options' secrets with its own list. */
    CHECK_OK(libsession_config_builder_new_from_express_options((const uint8_t *)options, strlen(options), &b));
    CHECK_OK(libsession_config_builder_add_secret(b, S("third")));
    CHECK_OK(libsession_config_builder_build(b, &cfg));
    {
        char cookie[2048];
        libsession_str id;
        cookie_header_of(o.cookie, cookie, sizeof cookie);
        req = ready(cfg, &s, cookie);
        CHECK(!get_cookie_session_id(req, &id));
        libsession_request_free(req);
    }
    libsession_config_free(cfg);

    /* express defaults: saveUninitialized, resave, no secret required at build. */
    CHECK_OK(libsession_config_builder_new_express(&b));
    CHECK_OK(libsession_config_builder_build(b, &cfg));
    CHECK(cfg_express_compat(cfg));
    req = new_request(cfg, NOW, NULL);
    memset(&o, 0, sizeof o);
    /* Without a secret every request fails like express-session's. */
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_FAILED);
    CHECK(strcmp(o.failed, "secret option required for sessions") == 0);
    CHECK_OK(libsession_request_finish(req));
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_DONE);
    libsession_request_free(req);
    libsession_config_free(cfg);

    CHECK_OK(libsession_config_builder_new_express(&b));
    CHECK_OK(libsession_config_builder_add_secret(b, S("x")));
    CHECK_OK(libsession_config_builder_build(b, &cfg));
    req = ready(cfg, &s, NULL);
    memset(&o, 0, sizeof o);
    finish(req, &s, NOW, &o);
    CHECK(o.set_cookies == 1); /* saveUninitialized: an unmodified new session is stored */
    CHECK(strstr(o.cookie, "; Path=/; HttpOnly") != NULL);
    libsession_request_free(req);
    libsession_config_free(cfg);
    store_clear(&s);
}

/* An asynchronous store: WAIT until the answer arrives. */
static void test_wait_for_async_store(void) {
    const libsession_config *cfg = simple_config();
    store s;
    libsession_request *req;
    libsession_action kind = 0;
    char cookie[2048];
    outcome o;
    store_init(&s);
    req = ready(cfg, &s, NULL);
    CHECK_OK(libsession_request_set_json(req, S("a"), S("1")));
    memset(&o, 0, sizeof o);
    finish(req, &s, NOW, &o);
    libsession_request_free(req);
    cookie_header_of(o.cookie, cookie, sizeof cookie);

    req = new_request(cfg, NOW, cookie);
    CHECK_OK(libsession_request_poll_action(req, &kind));
    CHECK(kind == LIBSESSION_ACTION_LOAD);
    CHECK(act_id(req).len == 43);
    /* The host goes away to its event loop; polling again just waits. */
    CHECK_OK(libsession_request_poll_action(req, &kind));
    CHECK(kind == LIBSESSION_ACTION_WAIT);
    CHECK(act_id(req).data == NULL);
    CHECK_OK(libsession_request_poll_action(req, &kind));
    CHECK(kind == LIBSESSION_ACTION_WAIT);
    /* Time passed while waiting. */
    CHECK_OK(libsession_request_set_now(req, (int64_t)(NOW + 500)));
    CHECK_OK(answer(req, LIBSESSION_ACTION_LOAD, &s, NOW + 500));
    CHECK_OK(libsession_request_poll_action(req, &kind));
    CHECK(kind == LIBSESSION_ACTION_READY);
    CHECK_OK(libsession_request_poll_action(req, &kind));
    CHECK(kind == LIBSESSION_ACTION_READY); /* repeats until the host acts */
    memset(&o, 0, sizeof o);
    finish(req, &s, NOW + 500, &o);
    libsession_request_free(req);
    store_clear(&s);
    libsession_config_free(cfg);
}

static void test_push_session_id(void) {
    const libsession_config *cfg = simple_config();
    store s;
    libsession_request *req;
    libsession_str id;
    outcome o;
    store_init(&s);
    req = new_request(cfg, NOW, NULL);
    CHECK(get_id_count(req) == 0);
    CHECK_OK(libsession_request_push_session_id(req, S("chosen-id-1")));
    CHECK_OK(libsession_request_push_session_id(req, S("chosen-id-2")));
    memset(&o, 0, sizeof o);
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
    CHECK(get_session_id(req, &id) && str_eq(id, "chosen-id-1"));
    CHECK(get_id_count(req) == 1);
    CHECK_OK(libsession_request_regenerate(req));
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
    CHECK(get_session_id(req, &id) && str_eq(id, "chosen-id-2"));
    /* The queue is empty: IDs now come from the entropy. */
    CHECK_OK(libsession_request_regenerate(req));
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
    CHECK(get_session_id(req, &id) && id.len == 43);
    CHECK(get_id_count(req) == 3);
    CHECK_OK(libsession_request_set_json(req, S("a"), S("1")));
    finish(req, &s, NOW, &o);
    CHECK(strstr(o.cookie, "connect.sid=s%3A") == o.cookie);
    libsession_request_free(req);
    store_clear(&s);
    libsession_config_free(cfg);
}

static void test_entropy(void) {
    const libsession_config *cfg = simple_config();
    uint8_t seed[64];
    libsession_request *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    libsession_str id;
    char ida[64], idb[64], idc[64], idd[64];
    libsession_action kind;
    size_t i;
    for (i = 0; i < sizeof seed; i++) {
        seed[i] = (uint8_t)(i * 7);
    }
    /* The same 32 bytes give the same ID; 64 bytes are accepted (hashed). */
    CHECK_OK(libsession_request_new(cfg, (int64_t)NOW, seed, 32, &a));
    CHECK_OK(libsession_request_new(cfg, (int64_t)NOW, seed, 32, &b));
    CHECK_OK(libsession_request_new(cfg, (int64_t)NOW, seed, 64, &c));
    /* No entropy: the operating system's. */
    CHECK_OK(libsession_request_new(cfg, (int64_t)NOW, NULL, 0, &d));
    CHECK_OK(libsession_request_poll_action(a, &kind));
    CHECK_OK(libsession_request_poll_action(b, &kind));
    CHECK_OK(libsession_request_poll_action(c, &kind));
    CHECK_OK(libsession_request_poll_action(d, &kind));
    CHECK(get_session_id(a, &id));
    str_copy(id, ida, sizeof ida);
    CHECK(get_session_id(b, &id));
    str_copy(id, idb, sizeof idb);
    CHECK(get_session_id(c, &id));
    str_copy(id, idc, sizeof idc);
    CHECK(get_session_id(d, &id));
    str_copy(id, idd, sizeof idd);
    CHECK(strlen(ida) == 43 && strlen(idc) == 43 && strlen(idd) == 43);
    CHECK(strcmp(ida, idb) == 0);
    CHECK(strcmp(ida, idc) != 0);
    CHECK(strcmp(ida, idd) != 0);
    libsession_request_free(a);
    libsession_request_free(b);
    libsession_request_free(c);
    libsession_request_free(d);
    libsession_config_free(cfg);
}

/* A config with simple_config's secret and the given record limits. */
static const libsession_config *limited_config(size_t max_bytes, size_t max_keys, size_t max_depth) {
    libsession_config_builder *b = NULL;
    const libsession_config *c = NULL;
    CHECK_OK(libsession_config_builder_new(&b));
    CHECK_OK(libsession_config_builder_add_secret(b, S("keyboard cat keyboard cat keyboard cat")));
    CHECK_OK(libsession_config_builder_set_record_limits(b, max_bytes, max_keys, max_depth));
    CHECK_OK(libsession_config_builder_build(b, &c));
    return c;
}

/* Loads `record` as the stored record of the session behind `cookie`:
 * whether the load failed with RECORD_CORRUPT (true) or gave the stored
 * session (false). */
static bool loads_corrupt(const libsession_config *cfg, store *s, const char *cookie, const char *record) {
    libsession_request *req;
    libsession_event ev;
    libsession_action kind;
    outcome o;
    bool corrupt = false;
    free(s->entries[0].record);
    s->entries[0].record = malloc(strlen(record) + 1);
    if (s->entries[0].record == NULL) {
        abort();
    }
    memcpy(s->entries[0].record, record, strlen(record) + 1);
    req = new_request(cfg, NOW, cookie);
    memset(&o, 0, sizeof o);
    kind = drive(req, s, NOW, &o);
    for (;;) {
        CHECK_OK(libsession_request_poll_event(req, &ev));
        if (ev.kind == LIBSESSION_EVENT_KIND_NONE) {
            break;
        }
        corrupt = corrupt || ev.kind == LIBSESSION_EVENT_KIND_RECORD_CORRUPT;
    }
    if (kind == LIBSESSION_ACTION_FAILED) {
        CHECK(corrupt);
        CHECK(strstr(o.failed, "corrupt session record") != NULL);
    } else {
        libsession_str json;
        CHECK(kind == LIBSESSION_ACTION_READY && !corrupt);
        CHECK_OK(libsession_request_get_json(req, S("data"), &json));
        CHECK(json.data != NULL);
    }
    libsession_request_free(req);
    return kind == LIBSESSION_ACTION_FAILED;
}

/* RecordLimits (issue 16): a record over the size, keys-per-object or
 * nesting limit is corrupt (RECORD_CORRUPT, a failed load); raising the
 * limit accepts it; a limit of 0 is refused; the defaults are readable. */
static void test_record_limits(void) {
    static const char wide[] = "{\"cookie\":{\"originalMaxAge\":null,\"expires\":null,\"httpOnly\":true,\"path\":\"/\"},"
                               "\"data\":1,\"a\":1,\"b\":2,\"c\":3}";
    static const char deep[] = "{\"cookie\":{\"originalMaxAge\":null,\"expires\":null,\"httpOnly\":true,\"path\":\"/\"},"
                               "\"data\":[[[[1]]]]}";
    const size_t kib = 1024, big = 16384;
    const libsession_config *cfg = limited_config(kib, big, 64);
    libsession_config_builder *b = NULL;
    size_t bytes = 0, keys = 0, depth = 0;
    char cookie[2048], large[1200];
    store s;
    outcome o;
    libsession_request *req;
    store_init(&s);
    req = ready(cfg, &s, NULL);
    CHECK_OK(libsession_request_set_json(req, S("data"), S("1")));
    memset(&o, 0, sizeof o);
    finish(req, &s, NOW, &o);
    libsession_request_free(req);
    cookie_header_of(o.cookie, cookie, sizeof cookie);
    CHECK(s.len == 1);

    /* Size: 1099 bytes against 1024, then against 1099. */
    memset(large, 'x', sizeof large);
    memcpy(large, wide, sizeof wide - 2); /* without the closing brace */
    memcpy(large + sizeof wide - 2, ",\"pad\":\"", 8);
    memcpy(large + 1097, "\"}", 3);
    CHECK(strlen(large) == 1099);
    CHECK(loads_corrupt(cfg, &s, cookie, large));
    libsession_config_free(cfg);
    cfg = limited_config(1099, big, 64);
    CHECK(!loads_corrupt(cfg, &s, cookie, large));
    libsession_config_free(cfg);

    /* Keys: 5 at the top level against 4, then against 5. */
    cfg = limited_config(kib, 4, 64);
    CHECK(loads_corrupt(cfg, &s, cookie, wide));
    libsession_config_free(cfg);
    cfg = limited_config(kib, 5, 64);
    CHECK(!loads_corrupt(cfg, &s, cookie, wide));
    libsession_config_free(cfg);

    /* Depth: 5 levels (the record and four arrays) against 4, then 5. */
    cfg = limited_config(kib, big, 4);
    CHECK(loads_corrupt(cfg, &s, cookie, deep));
    libsession_config_free(cfg);
    cfg = limited_config(kib, big, 5);
    CHECK(!loads_corrupt(cfg, &s, cookie, deep));
    libsession_config_free(cfg);

    /* The same from express options' "recordLimits". */
    {
        static const char tight[] = "{\"secret\":\"keyboard cat keyboard cat keyboard cat\",\"recordLimits\":{\"maxDepth\":4}}";
        static const char bad[] = "{\"secret\":\"keyboard cat keyboard cat keyboard cat\",\"recordLimits\":{\"maxDepth\":0}}";
        CHECK_OK(libsession_config_builder_new_from_express_options((const uint8_t *)tight, sizeof tight - 1, &b));
        CHECK_OK(libsession_config_builder_build(b, &cfg));
        CHECK(loads_corrupt(cfg, &s, cookie, deep));
        libsession_config_free(cfg);
        b = NULL;
        CHECK_RC(libsession_config_builder_new_from_express_options((const uint8_t *)bad, sizeof bad - 1, &b),
                 LIBSESSION_RESULT_INVALID_OPTION);
        CHECK(b == NULL);
    }

    /* A limit of 0 would refuse every record: INVALID_PARAMETER. */
    CHECK_OK(libsession_config_builder_new(&b));
    CHECK_RC(libsession_config_builder_set_record_limits(b, 0, 1, 1), LIBSESSION_RESULT_INVALID_PARAMETER);
    CHECK_RC(libsession_config_builder_set_record_limits(b, 1, 0, 1), LIBSESSION_RESULT_INVALID_PARAMETER);
    CHECK_RC(libsession_config_builder_set_record_limits(b, 1, 1, 0), LIBSESSION_RESULT_INVALID_PARAMETER);
    CHECK_RC(libsession_config_builder_set_record_limits(NULL, 1, 1, 1), LIBSESSION_RESULT_NULL_PARAMETER);
    libsession_config_builder_free(b);
    CHECK_OK(libsession_default_record_limits(&bytes, &keys, &depth));
    CHECK(bytes == 1048576 && keys == 16384 && depth == 512);
    CHECK_RC(libsession_default_record_limits(NULL, &keys, &depth), LIBSESSION_RESULT_NULL_PARAMETER);
    store_clear(&s);
}

/* Store failures are inputs, reported where express-session reports them. */
#define REMOVAL "connect.sid=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax"

/* The events a host drains: what happened to the cookie and the store, in
 * order, then NONE; a logout's removal cookie (clearCookieOnDestroy). */
static void test_events_and_removal_cookie(void) {
    const libsession_config *cfg = simple_config();
    store s;
    libsession_request *req;
    char cookie[2048], tampered[2048];
    libsession_event ev;
    outcome o;
    size_t n;
    store_init(&s);

    req = ready(cfg, &s, NULL);
    CHECK_OK(libsession_request_poll_event(req, &ev));
    CHECK(ev.kind == LIBSESSION_EVENT_KIND_NO_COOKIE && ev.key_index == 0 &&
          ev.operation == LIBSESSION_STORE_OPERATION_NONE);
    CHECK_OK(libsession_request_poll_event(req, &ev));
    CHECK(ev.kind == LIBSESSION_EVENT_KIND_NONE);
    CHECK_OK(libsession_request_set_json(req, S("a"), S("1")));
    memset(&o, 0, sizeof o);
    finish(req, &s, NOW, &o);
    libsession_request_free(req);
    cookie_header_of(o.cookie, cookie, sizeof cookie);

    /* A tampered signature: a fresh session and SIGNATURE_INVALID. */
    n = strlen(cookie);
    memcpy(tampered, cookie, n + 1);
    tampered[n - 1] = tampered[n - 1] == 'A' ? 'B' : 'A';
    req = ready(cfg, &s, tampered);
    CHECK_OK(libsession_request_poll_event(req, &ev));
    CHECK(ev.kind == LIBSESSION_EVENT_KIND_SIGNATURE_INVALID);
    libsession_request_free(req);

    /* A store failure on load: STORE_ERROR with the operation. */
    s.fail_get = 1;
    req = new_request(cfg, NOW, cookie);
    memset(&o, 0, sizeof o);
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_FAILED);
    CHECK_OK(libsession_request_poll_event(req, &ev));
    CHECK(ev.kind == LIBSESSION_EVENT_KIND_STORE_ERROR && ev.operation == LIBSESSION_STORE_OPERATION_LOAD);
    CHECK_OK(libsession_request_finish(req));
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_DONE);
    libsession_request_free(req);

    /* Logout: the destroy, then a removal cookie. */
    req = ready(cfg, &s, cookie);
    CHECK_OK(libsession_request_destroy(req));
    memset(&o, 0, sizeof o);
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
    CHECK_OK(libsession_request_finish(req));
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_DONE);
    CHECK(o.set_cookies == 1);
    CHECK(strncmp(o.cookie, REMOVAL, strlen(REMOVAL)) == 0);
    libsession_request_free(req);

    /* A stale cookie removed when the host asks. */
    req = new_request(cfg, NOW, cookie);
    CHECK_OK(libsession_request_set_clear_stale_cookie(req, true));
    memset(&o, 0, sizeof o);
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
    CHECK_OK(libsession_request_poll_event(req, &ev));
    CHECK(ev.kind == LIBSESSION_EVENT_KIND_RECORD_NOT_FOUND);
    CHECK_OK(libsession_request_finish(req));
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_DONE);
    CHECK(o.set_cookies == 1 && strcmp(o.cookie, REMOVAL) == 0);
    CHECK_RC(libsession_request_set_clear_stale_cookie(req, true), LIBSESSION_RESULT_WRONG_PHASE);
    libsession_request_free(req);

    store_clear(&s);
    libsession_config_free(cfg);
}

/* Whether the session's `key` holds exactly the JSON `text`. */
static bool get_json_eq(libsession_request *req, const char *key, const char *text) {
    libsession_str json = {NULL, 0};
    return libsession_request_get_json(req, (const uint8_t *)key, strlen(key), &json) == LIBSESSION_RESULT_OK &&
           str_eq(json, text);
}

/* The `header` option: the signed ID for clients without cookies, sent back
 * in SET_HEADER after the session's SET_COOKIE and read from
 * libsession_request_add_session_header. */
static void test_session_header(void) {
    static const char opts[] =
        "{\"secret\":\"keyboard cat keyboard cat keyboard cat\",\"header\":\"X-Session-Id\"}";
    libsession_config_builder *b = NULL;
    const libsession_config *cfg = NULL, *plain = simple_config();
    libsession_request *req;
    libsession_str name = {NULL, 0};
    char value[2048], expect[2100];
    outcome o;
    store s;
    store_init(&s);
    CHECK_OK(libsession_config_builder_new_from_express_options((const uint8_t *)opts, strlen(opts), &b));
    CHECK_OK(libsession_config_builder_build(b, &cfg));
    CHECK_OK(libsession_config_session_header(cfg, &name));
    CHECK(name.len == 12 && memcmp(name.data, "X-Session-Id", 12) == 0);
    CHECK_OK(libsession_config_session_header(plain, &name));
    CHECK(name.data == NULL && name.len == 0);

    /* A new session: SET_COOKIE, then SET_HEADER with the cookie's value. */
    req = ready(cfg, &s, NULL);
    CHECK_OK(libsession_request_set_json(req, S("views"), S("1")));
    memset(&o, 0, sizeof o);
    finish(req, &s, NOW, &o);
    libsession_request_free(req);
    CHECK(o.set_cookies == 1 && o.set_headers == 1 && strcmp(o.header_name, "X-Session-Id") == 0);
    snprintf(expect, sizeof expect, "connect.sid=%s;", o.header_value);
    CHECK(strncmp(o.cookie, expect, strlen(expect)) == 0);
    snprintf(value, sizeof value, "%s", o.header_value);

    /* The header alone (no cookie) loads the session; nothing to resend. */
    req = new_request(cfg, NOW, NULL);
    CHECK_OK(libsession_request_add_session_header(req, (const uint8_t *)value, strlen(value)));
    memset(&o, 0, sizeof o);
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
    CHECK(get_json_eq(req, "views", "1"));
    CHECK_OK(libsession_request_set_json(req, S("views"), S("2")));
    CHECK_OK(libsession_request_finish(req));
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_DONE);
    CHECK(o.set_cookies == 0 && o.set_headers == 0);
    CHECK_RC(libsession_request_add_session_header(req, S("x")), LIBSESSION_RESULT_WRONG_PHASE);
    libsession_request_free(req);

    /* Without the option the header is ignored, and never a SET_HEADER. */
    req = new_request(plain, NOW, NULL);
    CHECK_OK(libsession_request_add_session_header(req, (const uint8_t *)value, strlen(value)));
    memset(&o, 0, sizeof o);
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
    CHECK(!get_json_eq(req, "views", "2"));
    CHECK_OK(libsession_request_set_json(req, S("views"), S("1")));
    CHECK_OK(libsession_request_finish(req));
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_DONE);
    CHECK(o.set_cookies == 1 && o.set_headers == 0);
    libsession_request_free(req);

    /* An invalid header name is a configuration error. */
    CHECK_RC(libsession_config_builder_new_from_express_options(
                 S("{\"secret\":\"keyboard cat keyboard cat keyboard cat\",\"header\":\"X Session\"}"), &b),
             LIBSESSION_RESULT_INVALID_HEADER_NAME);
    store_clear(&s);
    libsession_config_free(cfg);
    libsession_config_free(plain);
}

/* A config with one secret, a maxAge of one minute and one lifecycle option. */
static const libsession_config *lifecycle_config(libsession_result (*set)(libsession_config_builder *, uint64_t),
                                                 uint64_t ms) {
    libsession_config_builder *b = NULL;
    const libsession_config *c = NULL;
    CHECK_OK(libsession_config_builder_new(&b));
    CHECK_OK(libsession_config_builder_add_secret(b, S("keyboard cat keyboard cat keyboard cat")));
    CHECK_OK(libsession_config_builder_set_max_age(b, true, 60000));
    CHECK_OK(set(b, ms));
    CHECK_OK(libsession_config_builder_build(b, &c));
    return c;
}

/* The oldest event's kind, if any (NONE otherwise); the rest are dropped. */
static bool has_event(libsession_request *req, libsession_event_kind want) {
    libsession_event ev;
    bool found = false;
    do {
        CHECK_OK(libsession_request_poll_event(req, &ev));
        found = found || ev.kind == (uint32_t)want;
    } while (ev.kind != LIBSESSION_EVENT_KIND_NONE);
    return found;
}

/* One request at now with cookie: the handler sets "a" (when set_a); the
 * session ID it began with is copied to id_out; the outcome to o. */
static void lifecycle_request(const libsession_config *cfg, store *s, int64_t now, const char *cookie, bool set_a,
                              char *id_out, outcome *o, libsession_event_kind want, bool *saw) {
    libsession_str id;
    libsession_request *req = new_request(cfg, now, cookie);
    memset(o, 0, sizeof *o);
    CHECK(drive(req, s, now, o) == LIBSESSION_ACTION_READY);
    CHECK(get_session_id(req, &id));
    str_copy(id, id_out, 64);
    if (set_a) {
        CHECK_OK(libsession_request_set_json(req, S("a"), S("1")));
    }
    finish(req, s, now, o);
    *saw = has_event(req, want);
    libsession_request_free(req);
}

/* absoluteTimeout, idleTimeout, regenerateGrace and regenerate keeping the
 * data, through the C ABI (issue 14). */
static void test_lifecycle_options(void) {
    store s;
    outcome o;
    char cookie[2048], first[64], again[64], fresh[64];
    bool saw = false;
    store_entry *e;
    const libsession_config *cfg;
    store_init(&s);

    /* absoluteTimeout 10 s: the store's expiry is the absolute deadline (the
     * cookie's minute comes later); at +10 s the session is over even for a
     * store that kept it. */
    cfg = lifecycle_config(libsession_config_builder_set_absolute_timeout, 10000);
    lifecycle_request(cfg, &s, NOW, NULL, true, first, &o, LIBSESSION_EVENT_KIND_NONE, &saw);
    cookie_header_of(o.cookie, cookie, sizeof cookie);
    e = store_find(&s, first);
    CHECK(e != NULL && e->has_expiry && e->expires_at == NOW + 10000);
    CHECK(e != NULL && strstr(e->record, "\"libsessionCreatedAt\":1700000000000") != NULL);
    lifecycle_request(cfg, &s, NOW + 9999, cookie, false, again, &o, LIBSESSION_EVENT_KIND_NONE, &saw);
    CHECK(strcmp(first, again) == 0);
    e = store_find(&s, first);
    CHECK(e != NULL && e->expires_at == NOW + 10000);
    if (e != NULL) {
        e->has_expiry = false; /* a store that kept it: the engine refuses it */
    }
    lifecycle_request(cfg, &s, NOW + 10000, cookie, false, fresh, &o, LIBSESSION_EVENT_KIND_ABSOLUTE_TIMEOUT, &saw);
    CHECK(saw);
    CHECK(strcmp(first, fresh) != 0);
    CHECK(store_find(&s, first) == NULL);
    libsession_config_free(cfg);
    store_clear(&s);

    /* idleTimeout 5 s: a request at +4 s moves the last-seen time on (a save);
     * one at +4.1 s does not (a touch); 5 s after the last-seen time it is over. */
    cfg = lifecycle_config(libsession_config_builder_set_idle_timeout, 5000);
    lifecycle_request(cfg, &s, NOW, NULL, true, first, &o, LIBSESSION_EVENT_KIND_NONE, &saw);
    cookie_header_of(o.cookie, cookie, sizeof cookie);
    CHECK(s.sets == 1);
    lifecycle_request(cfg, &s, NOW + 4000, cookie, false, again, &o, LIBSESSION_EVENT_KIND_NONE, &saw);
    CHECK(strcmp(first, again) == 0);
    CHECK(s.sets == 2 && s.touches == 0);
    lifecycle_request(cfg, &s, NOW + 4100, cookie, false, again, &o, LIBSESSION_EVENT_KIND_NONE, &saw);
    CHECK(strcmp(first, again) == 0);
    CHECK(s.sets == 2 && s.touches == 1);
    e = store_find(&s, first);
    CHECK(e != NULL && e->has_expiry && e->expires_at == NOW + 9000);
    if (e != NULL) {
        e->has_expiry = false;
    }
    lifecycle_request(cfg, &s, NOW + 9000, cookie, false, fresh, &o, LIBSESSION_EVENT_KIND_IDLE_TIMEOUT, &saw);
    CHECK(saw);
    CHECK(strcmp(first, fresh) != 0);
    libsession_config_free(cfg);
    store_clear(&s);

    /* regenerateGrace 2 s, and regenerate keeping the data. */
    cfg = lifecycle_config(libsession_config_builder_set_regenerate_grace, 2000);
    lifecycle_request(cfg, &s, NOW, NULL, true, first, &o, LIBSESSION_EVENT_KIND_NONE, &saw);
    cookie_header_of(o.cookie, cookie, sizeof cookie);
    {
        libsession_action kind = 0;
        libsession_str id, v;
        libsession_request *req = new_request(cfg, NOW + 100, cookie);
        memset(&o, 0, sizeof o);
        CHECK(drive(req, &s, NOW + 100, &o) == LIBSESSION_ACTION_READY);
        CHECK_OK(libsession_request_set_json(req, S("user"), S("\"alice\"")));
        CHECK_OK(libsession_request_regenerate_with(req, true));
        /* The old ID's record becomes its grace copy: a SAVE, not a DESTROY. */
        CHECK_OK(libsession_request_poll_action(req, &kind));
        CHECK(kind == LIBSESSION_ACTION_SAVE);
        CHECK(str_eq(act_id(req), first));
        CHECK(str_has(act_record(req), "\"libsessionGraceUntil\":1700000002100"));
        CHECK(!str_has(act_record(req), "alice"));
        {
            int64_t at = 0;
            CHECK(act_expires_at(req, &at) && at == NOW + 2100);
        }
        CHECK_OK(answer(req, kind, &s, NOW + 100));
        CHECK(drive(req, &s, NOW + 100, &o) == LIBSESSION_ACTION_READY);
        CHECK(o.completed == 1 && o.completed_ok);
        CHECK(get_session_id(req, &id) && !str_eq(id, first));
        CHECK_OK(libsession_request_get_json(req, S("a"), &v));
        CHECK(str_eq(v, "1"));
        CHECK_OK(libsession_request_get_json(req, S("user"), &v));
        CHECK(str_eq(v, "\"alice\""));
        finish(req, &s, NOW + 100, &o);
        CHECK(o.set_cookies == 1);
        libsession_request_free(req);
    }
    /* Within the window the old cookie loads read-only: no write, no cookie. */
    {
        int sets = s.sets, touches = s.touches, destroys = s.destroys;
        libsession_str id, v;
        libsession_request *req = new_request(cfg, NOW + 1000, cookie);
        memset(&o, 0, sizeof o);
        CHECK(drive(req, &s, NOW + 1000, &o) == LIBSESSION_ACTION_READY);
        CHECK(get_session_id(req, &id) && str_eq(id, first));
        CHECK_OK(libsession_request_get_json(req, S("user"), &v));
        CHECK(v.data == NULL);
        CHECK_OK(libsession_request_set_json(req, S("user"), S("\"mallory\"")));
        CHECK_OK(libsession_request_save(req));
        CHECK(drive(req, &s, NOW + 1000, &o) == LIBSESSION_ACTION_READY);
        CHECK(o.completed == 1 && !o.completed_ok);
        CHECK(strstr(o.completed_error, "read-only") != NULL);
        finish(req, &s, NOW + 1000, &o);
        CHECK(o.set_cookies == 0);
        CHECK(s.sets == sets && s.touches == touches && s.destroys == destroys);
        CHECK(has_event(req, LIBSESSION_EVENT_KIND_REGENERATE_GRACE));
        libsession_request_free(req);
    }
    /* After it, not at all, even from a store that kept the record. */
    e = store_find(&s, first);
    CHECK(e != NULL && e->has_expiry && e->expires_at == NOW + 2100);
    if (e != NULL) {
        e->has_expiry = false;
    }
    lifecycle_request(cfg, &s, NOW + 2100, cookie, false, fresh, &o, LIBSESSION_EVENT_KIND_REGENERATE_GRACE_ENDED,
                      &saw);
    CHECK(saw);
    CHECK(strcmp(first, fresh) != 0);
    CHECK(store_find(&s, first) == NULL);
    libsession_config_free(cfg);
    store_clear(&s);
}

static void test_store_failures(void) {
    const libsession_config *cfg = simple_config();
    store s;
    libsession_request *req;
    char cookie[2048];
    libsession_action kind = 0;
    outcome o;
    store_init(&s);
    req = ready(cfg, &s, NULL);
    CHECK_OK(libsession_request_set_json(req, S("a"), S("1")));
    memset(&o, 0, sizeof o);
    finish(req, &s, NOW, &o);
    libsession_request_free(req);
    cookie_header_of(o.cookie, cookie, sizeof cookie);

    /* A failed load: FAILED (respond 500), the handler does not run. */
    s.fail_get = 1;
    req = new_request(cfg, NOW, cookie);
    memset(&o, 0, sizeof o);
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_FAILED);
    CHECK(strcmp(o.failed, "store get failed") == 0);
    CHECK_OK(libsession_request_poll_action(req, &kind));
    CHECK(kind == LIBSESSION_ACTION_FAILED); /* repeats until the host acts */
    CHECK_RC(libsession_request_increment(req, S("a"), NULL), LIBSESSION_RESULT_NULL_PARAMETER);
    CHECK_OK(libsession_request_finish(req));
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_DONE);
    CHECK(o.set_cookies == 0);
    libsession_request_free(req);

    /* ENOENT on the first load counts as not found: a new session. */
    s.missing_get = 1;
    req = new_request(cfg, NOW, cookie);
    memset(&o, 0, sizeof o);
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
    CHECK(get_has_session(req));
    /* ...but on a reload it is an error. */
    CHECK_OK(libsession_request_set_json(req, S("b"), S("1")));
    CHECK_OK(libsession_request_save(req));
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
    s.missing_get = 1;
    CHECK_OK(libsession_request_reload(req));
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
    CHECK(!o.completed_ok && strcmp(o.completed_error, "ENOENT") == 0);
    /* A failed handler save: COMPLETED with the message. */
    s.fail_set = 1;
    CHECK_OK(libsession_request_save(req));
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
    CHECK(!o.completed_ok && strcmp(o.completed_error, "store write failed") == 0);
    /* A failed end-of-request save: ERROR after the response. */
    CHECK_OK(libsession_request_set_json(req, S("c"), S("1")));
    s.fail_set = 1;
    finish(req, &s, NOW, &o);
    CHECK(o.errors == 1 && strcmp(o.error, "store write failed") == 0);
    libsession_request_free(req);

    /* A failed destroy in regenerate still regenerates. */
    req = ready(cfg, &s, NULL);
    s.fail_destroy = 1;
    CHECK_OK(libsession_request_regenerate(req));
    memset(&o, 0, sizeof o);
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
    CHECK(!o.completed_ok && strcmp(o.completed_error, "store destroy failed") == 0);
    CHECK(get_has_session(req));
    libsession_request_free(req);

    /* A corrupt record: FAILED. */
    {
        size_t i;
        CHECK(s.len == 2); /* the first session, and the one made after ENOENT */
        for (i = 0; i < s.len; i++) {
            store_entry *e = &s.entries[i];
            free(e->record);
            e->record = malloc(16);
            if (e->record == NULL) {
                abort();
            }
            strcpy(e->record, "{not json");
        }
    }
    req = new_request(cfg, NOW, cookie);
    memset(&o, 0, sizeof o);
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_FAILED);
    CHECK(o.failed[0] != '\0');
    libsession_request_free(req);
    store_clear(&s);
    libsession_config_free(cfg);
}

/* The config may be freed before the requests made from it. */
static void test_config_outlived_by_requests(void) {
    const libsession_config *cfg = simple_config();
    store s;
    libsession_request *req;
    outcome o;
    store_init(&s);
    req = new_request(cfg, NOW, NULL);
    libsession_config_free(cfg);
    memset(&o, 0, sizeof o);
    CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
    CHECK_OK(libsession_request_set_json(req, S("a"), S("1")));
    finish(req, &s, NOW, &o);
    CHECK(o.set_cookies == 1);
    libsession_request_free(req);
    store_clear(&s);
}

/* One config, many threads, one request per thread at a time. */
#define THREADS 4
#define PER_THREAD 25

static void *worker(void *arg) {
    const libsession_config *cfg = arg;
    int i, bad = 0;
    for (i = 0; i < PER_THREAD; i++) {
        store s;
        outcome o;
        double n = 0;
        libsession_request *req = NULL;
        store_init(&s);
        memset(&o, 0, sizeof o);
        if (libsession_request_new(cfg, (int64_t)NOW, NULL, 0, &req) != LIBSESSION_RESULT_OK) {
            bad++;
            continue;
        }
        if (drive(req, &s, NOW, &o) != LIBSESSION_ACTION_READY ||
            libsession_request_increment(req, S("n"), &n) != LIBSESSION_RESULT_OK || n != 1.0 ||
            libsession_request_finish(req) != LIBSESSION_RESULT_OK ||
            drive(req, &s, NOW, &o) != LIBSESSION_ACTION_DONE || o.set_cookies != 1 || s.len != 1) {
            bad++;
        }
        libsession_request_free(req);
        store_clear(&s);
    }
    return bad == 0 ? NULL : arg;
}

static void test_config_shared_by_threads(void) {
    const libsession_config *cfg = simple_config();
    pthread_t threads[THREADS];
    int i;
    for (i = 0; i < THREADS; i++) {
        CHECK(pthread_create(&threads[i], NULL, worker, (void *)cfg) == 0);
    }
    for (i = 0; i < THREADS; i++) {
        void *result = (void *)1;
        CHECK(pthread_join(threads[i], &result) == 0);
        CHECK(result == NULL);
    }
    libsession_config_free(cfg);
}

/* A new session's SAVE is insert-if-absent: two requests given the same
 * entropy end with different IDs, the first record stays, and the second
 * response's last Set-Cookie names its own session. */
static void test_insert_if_absent(void) {
    const libsession_config *cfg = simple_config();
    static const uint8_t entropy[32] = {42};
    char ids[2][64];
    libsession_action kind = 0;
    bool is_new = true;
    store s;
    int r;
    store_init(&s);
    for (r = 0; r < 2; r++) {
        libsession_request *req = NULL;
        libsession_str id;
        outcome o;
        CHECK_OK(libsession_request_new(cfg, NOW, entropy, sizeof entropy, &req));
        memset(&o, 0, sizeof o);
        CHECK(drive(req, &s, NOW, &o) == LIBSESSION_ACTION_READY);
        CHECK_OK(libsession_request_action_is_new(req, &is_new));
        CHECK(!is_new); /* READY is no SAVE */
        CHECK_OK(libsession_request_set_json(req, S("k"), S("1")));
        finish(req, &s, NOW, &o);
        CHECK(get_session_id(req, &id));
        str_copy(id, ids[r], sizeof ids[r]);
        CHECK(strstr(o.cookie, ids[r]) != NULL);
        libsession_request_free(req);
    }
    CHECK(strcmp(ids[0], ids[1]) != 0);
    CHECK(store_find(&s, ids[0]) != NULL && store_find(&s, ids[1]) != NULL);
    /* EXISTS answers only a new session's SAVE. */
    {
        libsession_request *req = new_request(cfg, NOW, NULL);
        CHECK_OK(libsession_request_poll_action(req, &kind));
        CHECK(kind == LIBSESSION_ACTION_READY);
        CHECK_RC(libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_EXISTS, NULL, 0),
                 LIBSESSION_RESULT_UNEXPECTED_INPUT);
        libsession_request_free(req);
    }
    store_clear(&s);
    libsession_config_free(cfg);
}

/* versioned: two requests load the same session (version 1); the first
 * saves version 2; the second's SAVE carries expected 1, the store (here
 * the test) answers CONFLICT, and the host sees LIBSESSION_ACTION_CONFLICT
 * before DONE, with no Set-Cookie and a CONFLICT event. The connect-redis
 * plan sends the compare-and-set as EVAL; a new session's save as SET NX. */
static void test_versioned_conflict(void) {
    static const char options[] = "{\"secret\":\"versioned-secret-versioned-secret-0123\","
                                  "\"versioned\":true,\"onConflict\":\"fail\",\"cookie\":{\"maxAge\":60000}}";
    libsession_config_builder *b = NULL;
    const libsession_config *cfg = NULL;
    libsession_redis_options *ropts = NULL;
    libsession_request *req[2];
    libsession_redis_command c;
    libsession_action kind = 0;
    libsession_event ev;
    char cookie[2048];
    bool has = false, is_new = false, conflict_event = false;
    uint64_t expected = 0, written = 0;
    double n = 0;
    int i, guard, set_cookies = 0, conflicts = 0;
    store s;
    outcome o;
    store_init(&s);
    CHECK_OK(libsession_config_builder_new_from_express_options((const uint8_t *)options, strlen(options), &b));
    CHECK_OK(libsession_config_builder_build(b, &cfg)); /* consumes the builder */
    CHECK_OK(libsession_redis_options_new(S("{}"), &ropts));

    /* A new session: its SAVE is insert-if-absent (SET NX), version 1. */
    req[0] = new_request(cfg, NOW, NULL);
    memset(&o, 0, sizeof o);
    CHECK(drive(req[0], &s, NOW, &o) == LIBSESSION_ACTION_READY);
    CHECK_OK(libsession_request_increment(req[0], S("n"), &n));
    CHECK_OK(libsession_request_finish(req[0]));
    CHECK_OK(libsession_request_poll_action(req[0], &kind));
    CHECK(kind == LIBSESSION_ACTION_SAVE); /* the cookie waits for the save */
    CHECK_OK(libsession_request_action_is_new(req[0], &is_new));
    CHECK(is_new);
    CHECK_OK(libsession_request_action_version(req[0], &has, &expected, &written));
    CHECK(has && expected == 0 && written == 1);
    memset(&c, 0, sizeof c);
    CHECK_OK(libsession_request_redis_command(req[0], ropts, &c));
    CHECK(c.op == LIBSESSION_REDIS_OP_SET && c.nx && c.has_ttl && c.ttl_seconds == 60);
    CHECK_OK(answer(req[0], kind, &s, NOW));
    CHECK(drive(req[0], &s, NOW, &o) == LIBSESSION_ACTION_DONE);
    CHECK(o.set_cookies == 1);
    cookie_header_of(o.cookie, cookie, sizeof cookie);
    libsession_request_free(req[0]);

    /* Both load version 1 and change the session. */
    for (i = 0; i < 2; i++) {
        req[i] = new_request(cfg, NOW, cookie);
        memset(&o, 0, sizeof o);
        CHECK(drive(req[i], &s, NOW, &o) == LIBSESSION_ACTION_READY);
        CHECK_OK(libsession_request_increment(req[i], S("n"), &n));
        CHECK(n == 2);
        CHECK_OK(libsession_request_finish(req[i]));
    }
    /* The first saves: expected 1, written 2; the plan is an EVAL. */
    CHECK_OK(libsession_request_poll_action(req[0], &kind));
    CHECK(kind == LIBSESSION_ACTION_SAVE);
    CHECK_OK(libsession_request_action_version(req[0], &has, &expected, &written));
    CHECK(has && expected == 1 && written == 2);
    memset(&c, 0, sizeof c);
    CHECK_OK(libsession_request_redis_command(req[0], ropts, &c));
    CHECK(c.op == LIBSESSION_REDIS_OP_EVAL && !c.nx && c.expected_version == 1);
    CHECK(c.script.data != NULL && c.script.len > 0 && c.value.data != NULL && c.has_ttl);
    CHECK_OK(answer(req[0], kind, &s, NOW));
    memset(&o, 0, sizeof o);
    CHECK(drive(req[0], &s, NOW, &o) == LIBSESSION_ACTION_DONE);
    CHECK(o.set_cookies == 1); /* the rolling expiry of a saved session */
    libsession_request_free(req[0]);

    /* The second: the stored record is at version 2, not 1: CONFLICT. */
    CHECK_OK(libsession_request_poll_action(req[1], &kind));
    CHECK(kind == LIBSESSION_ACTION_SAVE);
    CHECK_OK(libsession_request_action_version(req[1], &has, &expected, &written));
    CHECK(has && expected == 1 && written == 2);
    CHECK_RC(libsession_request_handle_store_result(req[1], LIBSESSION_STORE_STATUS_EXISTS, NULL, 0),
             LIBSESSION_RESULT_UNEXPECTED_INPUT); /* EXISTS answers only a new session's SAVE */
    libsession_request_free(req[1]);
    req[1] = new_request(cfg, NOW, cookie); /* version 2 now: make it lose a race again */
    memset(&o, 0, sizeof o);
    CHECK(drive(req[1], &s, NOW, &o) == LIBSESSION_ACTION_READY);
    CHECK_OK(libsession_request_increment(req[1], S("n"), &n));
    CHECK(n == 3);
    CHECK_OK(libsession_request_finish(req[1]));
    CHECK_OK(libsession_request_poll_action(req[1], &kind));
    CHECK(kind == LIBSESSION_ACTION_SAVE);
    CHECK_OK(libsession_request_action_version(req[1], &has, &expected, &written));
    CHECK(has && expected == 2 && written == 3);
    CHECK_OK(libsession_request_handle_store_result(req[1], LIBSESSION_STORE_STATUS_CONFLICT, NULL, 0));
    for (guard = 0; guard < 10; guard++) {
        CHECK_OK(libsession_request_poll_action(req[1], &kind));
        if (kind == LIBSESSION_ACTION_DONE) {
            break;
        }
        set_cookies += kind == LIBSESSION_ACTION_SET_COOKIE;
        conflicts += kind == LIBSESSION_ACTION_CONFLICT;
    }
    CHECK(kind == LIBSESSION_ACTION_DONE && conflicts == 1 && set_cookies == 0);
    for (guard = 0; guard < 20; guard++) {
        CHECK_OK(libsession_request_poll_event(req[1], &ev));
        if (ev.kind == LIBSESSION_EVENT_KIND_NONE) {
            break;
        }
        conflict_event |= ev.kind == LIBSESSION_EVENT_KIND_CONFLICT && ev.operation == LIBSESSION_STORE_OPERATION_SAVE;
    }
    CHECK(conflict_event);
    libsession_request_free(req[1]);
    libsession_redis_options_free(ropts);
    store_clear(&s);
    libsession_config_free(cfg);
}

int main(void) {
    static const h_test tests[] = {
        TEST(test_versioned_conflict),
        TEST(test_insert_if_absent),
        TEST(test_canonical_poll_loop),
        TEST(test_data_operations),
        TEST(test_cookie_operations),
        TEST(test_save_reload_regenerate_destroy),
        TEST(test_cookie_round_trip_and_touch),
        TEST(test_secret_rotation),
        TEST(test_every_config_option),
        TEST(test_express_options),
        TEST(test_wait_for_async_store),
        TEST(test_push_session_id),
        TEST(test_entropy),
        TEST(test_store_failures),
        TEST(test_events_and_removal_cookie),
        TEST(test_session_header),
        TEST(test_record_limits),
        TEST(test_lifecycle_options),
        TEST(test_config_outlived_by_requests),
        TEST(test_config_shared_by_threads),
    };
    return h_main("lifecycle", tests, sizeof tests / sizeof tests[0]);
}
