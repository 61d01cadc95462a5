/*
 * The stored-record load path from C: a store keeps the engine-made record
 * handle it takes at SAVE/TOUCH and gives it back at LOAD; MemoryStore's
 * touch through libsession_stored_record_apply_touch; records from text.
 * Run under ASan+UBSan and valgrind by scripts/test-c.sh (no leaks: every
 * handle is freed).
 */
#include "harness.h"

#include <stdlib.h>

/* One held record: what a C memory store keeps per session. */
typedef struct {
    char id[128];
    libsession_stored_record *record;
} held;

static void held_put(held *h, libsession_str id, libsession_stored_record *record) {
    str_copy(id, h->id, sizeof h->id);
    libsession_stored_record_free(h->record);
    h->record = record;
}

static bool text_is(const libsession_stored_record *record, libsession_str want) {
    libsession_str text = {NULL, 0};
    if (libsession_stored_record_text(record, &text) != LIBSESSION_RESULT_OK) {
        return false;
    }
    return text.len == want.len && memcmp(text.data, want.data, want.len) == 0;
}

/* One request against the held record. `handler` runs at READY: 'i'
 * increments views, 'r' only reads. Returns views as the handler saw it
 * (0 for none); fills `cookie` with the Cookie header for the next request. */
static double run(const libsession_config *cfg, held *h, int64_t now, char *cookie, size_t cookie_size, char handler) {
    libsession_request *req = new_request(cfg, now, cookie[0] ? cookie : NULL);
    double views = 0;
    int guard;
    for (guard = 0; guard < 50; guard++) {
        libsession_action kind = 0;
        CHECK_OK(libsession_request_poll_action(req, &kind));
        if (kind == LIBSESSION_ACTION_DONE) {
            break;
        }
        switch (kind) {
        case LIBSESSION_ACTION_LOAD:
            if (h->record && str_eq(act_id(req), h->id)) {
                CHECK_OK(libsession_request_handle_load_stored(req, h->record));
            } else {
                CHECK_OK(libsession_request_handle_load_result(req, LIBSESSION_LOAD_STATUS_NOT_FOUND, NULL, 0));
            }
            break;
        case LIBSESSION_ACTION_READY: {
            libsession_stored_record *none = NULL;
            libsession_str json = {NULL, 0};
            CHECK_RC(libsession_request_take_stored_record(req, &none), LIBSESSION_RESULT_WRONG_ACTION);
            CHECK(none == NULL);
            if (libsession_request_get_json(req, S("views"), &json) == LIBSESSION_RESULT_OK && json.len > 0) {
                char buf[32];
                str_copy(json, buf, sizeof buf);
                views = atof(buf);
            }
            if (handler == 'i') {
                double n = 0;
                CHECK_OK(libsession_request_increment(req, S("views"), &n));
            }
            CHECK_OK(libsession_request_finish(req));
            break;
        }
        case LIBSESSION_ACTION_SET_COOKIE: {
            char value[1024];
            str_copy(act_value(req), value, sizeof value);
            cookie_header_of(value, cookie, cookie_size);
            break;
        }
        case LIBSESSION_ACTION_SAVE: {
            libsession_stored_record *record = NULL;
            CHECK_OK(libsession_request_take_stored_record(req, &record));
            CHECK(record != NULL);
            /* The handle's text is the action's record, which stays valid. */
            CHECK(text_is(record, act_record(req)));
            held_put(h, act_id(req), record);
            CHECK_OK(libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_OK, NULL, 0));
            break;
        }
        case LIBSESSION_ACTION_TOUCH: {
            libsession_stored_record *touched = NULL;
            CHECK_OK(libsession_request_take_stored_record(req, &touched));
            CHECK_RC(libsession_stored_record_apply_touch(h->record, h->record), LIBSESSION_RESULT_INVALID_PARAMETER);
            CHECK_OK(libsession_stored_record_apply_touch(h->record, touched));
            /* Only the cookie differed: the held record is the touched one. */
            CHECK(text_is(h->record, act_record(req)));
            libsession_stored_record_free(touched);
            CHECK_OK(libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_OK, NULL, 0));
            break;
        }
        default:
            CHECK(!"unexpected action");
            guard = 50;
        }
    }
    libsession_request_free(req);
    return views;
}

static void test_records_kept_as_the_engine_made_them(void) {
    const libsession_config *cfg = simple_config();
    held h;
    char cookie[1024] = "";
    int64_t now = 1700000000000;
    memset(&h, 0, sizeof h);
    CHECK(run(cfg, &h, now, cookie, sizeof cookie, 'i') == 0);
    CHECK(h.record != NULL && cookie[0] != '\0');
    CHECK(run(cfg, &h, now + 1000, cookie, sizeof cookie, 'i') == 1);
    CHECK(run(cfg, &h, now + 2000, cookie, sizeof cookie, 'r') == 2);
    /* After the touch, the held record still loads (its session or text). */
    CHECK(run(cfg, &h, now + 3000, cookie, sizeof cookie, 'i') == 2);
    CHECK(run(cfg, &h, now + 4000, cookie, sizeof cookie, 'r') == 3);
    libsession_stored_record_free(h.record);
    libsession_config_free(cfg);
}

static void test_records_from_text_load_like_text(void) {
    const libsession_config *cfg = simple_config();
    held h;
    char cookie[1024] = "";
    int64_t now = 1700000000000;
    libsession_stored_record *copy = NULL;
    libsession_str text = {NULL, 0};
    memset(&h, 0, sizeof h);
    CHECK(run(cfg, &h, now, cookie, sizeof cookie, 'i') == 0);
    /* The same record as text alone: loads give the same session. */
    CHECK_OK(libsession_stored_record_text(h.record, &text));
    CHECK_OK(libsession_stored_record_from_text(text.data, text.len, &copy));
    CHECK(text_is(copy, text));
    libsession_stored_record_free(h.record);
    h.record = copy;
    CHECK(run(cfg, &h, now + 1000, cookie, sizeof cookie, 'r') == 1);
    CHECK(run(cfg, &h, now + 1000, cookie, sizeof cookie, 'r') == 1);
    CHECK(run(cfg, &h, now + 2000, cookie, sizeof cookie, 'i') == 1);
    CHECK(run(cfg, &h, now + 3000, cookie, sizeof cookie, 'r') == 2);
    libsession_stored_record_free(h.record);
    libsession_config_free(cfg);
}

static void test_bad_input(void) {
    libsession_stored_record *r = NULL;
    libsession_stored_record *s = NULL;
    CHECK_RC(libsession_stored_record_from_text((const uint8_t *)"\xff", 1, &r), LIBSESSION_RESULT_INVALID_UTF8);
    CHECK(r == NULL);
    CHECK_OK(libsession_stored_record_from_text(S("[1]"), &r));
    CHECK_OK(libsession_stored_record_from_text(S("{\"cookie\":{\"path\":\"/\"}}"), &s));
    /* A held record that is not an object stays as it is. */
    CHECK_OK(libsession_stored_record_apply_touch(r, s));
    {
        libsession_str text = {NULL, 0};
        CHECK_OK(libsession_stored_record_text(r, &text));
        CHECK(str_eq(text, "[1]"));
    }
    libsession_stored_record_free(r);
    libsession_stored_record_free(s);
    libsession_stored_record_free(NULL);
}

int main(void) {
    static const h_test tests[] = {
        TEST(test_records_kept_as_the_engine_made_them),
        TEST(test_records_from_text_load_like_text),
        TEST(test_bad_input),
    };
    return h_main("stored", tests, sizeof tests / sizeof tests[0]);
}
