#include "harness.h"

#include <stdlib.h>

int h_checks_failed = 0;
int h_checks_passed = 0;

void h_fail(const char *file, int line, const char *what) {
    h_checks_failed++;
    fflush(stdout);
    fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
}

int h_main(const char *suite, const h_test *tests, size_t count) {
    size_t passed = 0, failed = 0, i;
    for (i = 0; i < count; i++) {
        int before = h_checks_failed;
        tests[i].fn();
        if (h_checks_failed == before) {
            passed++;
            printf("ok   %s::%s\n", suite, tests[i].name);
        } else {
            failed++;
            printf("FAIL %s::%s\n", suite, tests[i].name);
        }
    }
    printf("%s: %d checks\n", suite, h_checks_passed + h_checks_failed);
    printf("%zu passed, %zu failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

bool str_eq(libsession_str s, const char *want) {
    size_t n = strlen(want);
    return s.data != NULL && s.len == n && memcmp(s.data, want, n) == 0;
}

bool str_has(libsession_str s, const char *needle) {
    size_t n = strlen(needle), i;
    if (s.data == NULL || n > s.len) {
        return false;
    }
    for (i = 0; i + n <= s.len; i++) {
        if (memcmp(s.data + i, needle, n) == 0) {
            return true;
        }
    }
    return false;
}

void str_copy(libsession_str s, char *buf, size_t size) {
    size_t n;
    if (size == 0) {
        return;
    }
    n = s.data == NULL ? 0 : (s.len < size - 1 ? s.len : size - 1);
    if (n > 0) {
        memcpy(buf, s.data, n);
    }
    buf[n] = '\0';
}

static char *dup_str(libsession_str s) {
    char *p = malloc(s.len + 1);
    if (p == NULL) {
        abort();
    }
    if (s.len > 0) {
        memcpy(p, s.data, s.len);
    }
    p[s.len] = '\0';
    return p;
}

#define GETTER_OK(call)                                                       \
    do {                                                                      \
        libsession_result rc_ = (call);                                       \
        if (rc_ != LIBSESSION_RESULT_OK) {                                    \
            h_fail(__FILE__, __LINE__, libsession_result_str(rc_));           \
        }                                                                     \
    } while (0)

libsession_str act_id(const libsession_request *req) {
    libsession_str s = {NULL, 0};
    GETTER_OK(libsession_request_action_id(req, &s));
    return s;
}

libsession_str act_record(const libsession_request *req) {
    libsession_str s = {NULL, 0};
    GETTER_OK(libsession_request_action_record(req, &s));
    return s;
}

libsession_str act_value(const libsession_request *req) {
    libsession_str s = {NULL, 0};
    GETTER_OK(libsession_request_action_value(req, &s));
    return s;
}

bool act_expires_at(const libsession_request *req, int64_t *at) {
    bool has = false;
    GETTER_OK(libsession_request_action_expires_at(req, at, &has));
    return has;
}

bool get_session_id(const libsession_request *req, libsession_str *id) {
    GETTER_OK(libsession_request_session_id(req, id));
    return id->data != NULL;
}

bool get_cookie_session_id(const libsession_request *req, libsession_str *id) {
    GETTER_OK(libsession_request_cookie_session_id(req, id));
    return id->data != NULL;
}

bool get_has_session(const libsession_request *req) {
    bool b = false;
    GETTER_OK(libsession_request_has_session(req, &b));
    return b;
}

bool get_is_secure(const libsession_request *req) {
    bool b = false;
    GETTER_OK(libsession_request_is_secure(req, &b));
    return b;
}

bool get_max_age(const libsession_request *req, int64_t *ms) {
    bool has = false;
    libsession_result rc = libsession_request_max_age(req, ms, &has);
    return rc == LIBSESSION_RESULT_OK && has;
}

uint64_t get_id_count(const libsession_request *req) {
    uint64_t n = 0;
    GETTER_OK(libsession_request_generated_id_count(req, &n));
    return n;
}

void get_last_error(const libsession_request *req, char *buf, size_t size) {
    libsession_str s = {NULL, 0};
    GETTER_OK(libsession_request_last_error(req, &s));
    str_copy(s, buf, size);
}

libsession_str cfg_name(const libsession_config *cfg) {
    libsession_str s = {NULL, 0};
    GETTER_OK(libsession_config_name(cfg, &s));
    return s;
}

bool cfg_max_age(const libsession_config *cfg, int64_t *ms) {
    bool has = false;
    GETTER_OK(libsession_config_max_age(cfg, ms, &has));
    return has;
}

libsession_unset cfg_unset(const libsession_config *cfg) {
    libsession_unset u = LIBSESSION_UNSET_KEEP;
    GETTER_OK(libsession_config_unset(cfg, &u));
    return u;
}

bool cfg_express_compat(const libsession_config *cfg) {
    bool b = false;
    GETTER_OK(libsession_config_express_compat(cfg, &b));
    return b;
}

void store_init(store *s) {
    memset(s, 0, sizeof *s);
}

void store_clear(store *s) {
    size_t i;
    for (i = 0; i < s->len; i++) {
        free(s->entries[i].id);
        free(s->entries[i].record);
    }
    store_init(s);
}

store_entry *store_find(store *s, const char *id) {
    size_t i;
    for (i = 0; i < s->len; i++) {
        if (strcmp(s->entries[i].id, id) == 0) {
            return &s->entries[i];
        }
    }
    return NULL;
}

static void store_remove(store *s, store_entry *e) {
    free(e->id);
    free(e->record);
    *e = s->entries[--s->len];
}

libsession_result answer(libsession_request *req, libsession_action kind, store *s, int64_t now) {
    char id[256];
    store_entry *e;
    str_copy(act_id(req), id, sizeof id);
    e = store_find(s, id);
    if (kind == LIBSESSION_ACTION_LOAD) {
        s->gets++;
        if (s->fail_get > 0) {
            s->fail_get--;
            return libsession_request_handle_load_result(req, LIBSESSION_LOAD_STATUS_FAILED, S("store get failed"));
        }
        if (s->missing_get > 0) {
            s->missing_get--;
            return libsession_request_handle_load_result(req, LIBSESSION_LOAD_STATUS_MISSING, S("ENOENT"));
        }
        if (e != NULL && e->has_expiry && e->expires_at <= now) {
            store_remove(s, e);
            e = NULL;
        }
        if (e == NULL) {
            return libsession_request_handle_load_result(req, LIBSESSION_LOAD_STATUS_NOT_FOUND, NULL, 0);
        }
        return libsession_request_handle_load_result(req, LIBSESSION_LOAD_STATUS_FOUND,
                                                     (const uint8_t *)e->record, strlen(e->record));
    }
    if (kind == LIBSESSION_ACTION_SAVE || kind == LIBSESSION_ACTION_TOUCH) {
        int *fail = kind == LIBSESSION_ACTION_SAVE ? &s->fail_set : &s->fail_touch;
        int64_t at = 0;
        bool has = act_expires_at(req, &at);
        if (kind == LIBSESSION_ACTION_SAVE) {
            s->sets++;
        } else {
            s->touches++;
        }
        if (*fail > 0) {
            (*fail)--;
            return libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_FAILED, S("store write failed"));
        }
        if (kind == LIBSESSION_ACTION_TOUCH && e == NULL) {
            return libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_OK, NULL, 0);
        }
        if (kind == LIBSESSION_ACTION_SAVE && e != NULL) {
            /* A new session's save is insert-if-absent: the record there stays. */
            bool is_new = false;
            if (libsession_request_action_is_new(req, &is_new) == LIBSESSION_RESULT_OK && is_new) {
                return libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_EXISTS, NULL, 0);
            }
        }
        if (e == NULL) {
            if (s->len == STORE_MAX) {
                return libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_FAILED, S("store full"));
            }
            e = &s->entries[s->len++];
            e->id = dup_str(act_id(req));
        } else {
            free(e->record);
        }
        e->record = dup_str(act_record(req));
        e->has_expiry = has;
        e->expires_at = at;
        return libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_OK, NULL, 0);
    }
    if (kind == LIBSESSION_ACTION_DESTROY) {
        s->destroys++;
        if (s->fail_destroy > 0) {
            s->fail_destroy--;
            return libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_FAILED, S("store destroy failed"));
        }
        if (e != NULL) {
            store_remove(s, e);
        }
        return libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_OK, NULL, 0);
    }
    return LIBSESSION_RESULT_INVALID_PARAMETER;
}

libsession_action drive(libsession_request *req, store *s, int64_t now, outcome *o) {
    int guard;
    for (guard = 0; guard < 1000; guard++) {
        libsession_action kind = 0;
        libsession_result rc = libsession_request_poll_action(req, &kind);
        if (rc != LIBSESSION_RESULT_OK) {
            fprintf(stderr, "poll failed: %s\n", libsession_result_str(rc));
            return 0;
        }
        switch (kind) {
        case LIBSESSION_ACTION_LOAD:
        case LIBSESSION_ACTION_SAVE:
        case LIBSESSION_ACTION_TOUCH:
        case LIBSESSION_ACTION_DESTROY:
            rc = answer(req, kind, s, now);
            if (rc != LIBSESSION_RESULT_OK) {
                fprintf(stderr, "answer failed: %s\n", libsession_result_str(rc));
                return 0;
            }
            break;
        case LIBSESSION_ACTION_SET_COOKIE:
            o->set_cookies++;
            str_copy(act_value(req), o->cookie, sizeof o->cookie);
            break;
        case LIBSESSION_ACTION_SET_HEADER: {
            libsession_str name = {NULL, 0};
            if (libsession_request_action_header_name(req, &name) != LIBSESSION_RESULT_OK) {
                return 0;
            }
            o->set_headers++;
            str_copy(name, o->header_name, sizeof o->header_name);
            str_copy(act_value(req), o->header_value, sizeof o->header_value);
            break;
        }
        case LIBSESSION_ACTION_ERROR:
            o->errors++;
            str_copy(act_value(req), o->error, sizeof o->error);
            break;
        case LIBSESSION_ACTION_COMPLETED: {
            libsession_str v = act_value(req);
            o->completed++;
            o->completed_ok = v.data == NULL;
            str_copy(v, o->completed_error, sizeof o->completed_error);
            break;
        }
        case LIBSESSION_ACTION_FAILED:
            str_copy(act_value(req), o->failed, sizeof o->failed);
            return kind;
        case LIBSESSION_ACTION_WAIT:
        case LIBSESSION_ACTION_READY:
        case LIBSESSION_ACTION_DONE:
            return kind;
        default:
            fprintf(stderr, "unknown action kind %u\n", (unsigned)kind);
            return 0;
        }
    }
    return 0;
}

const libsession_config *simple_config(void) {
    libsession_config_builder *b = NULL;
    const libsession_config *c = NULL;
    if (libsession_config_builder_new(&b) != LIBSESSION_RESULT_OK) {
        abort();
    }
    if (libsession_config_builder_add_secret(b, S("keyboard cat keyboard cat keyboard cat")) != LIBSESSION_RESULT_OK) {
        abort();
    }
    if (libsession_config_builder_set_max_age(b, true, 60000) != LIBSESSION_RESULT_OK) {
        abort();
    }
    if (libsession_config_builder_build(b, &c) != LIBSESSION_RESULT_OK) {
        abort();
    }
    return c;
}

libsession_request *new_request(const libsession_config *cfg, int64_t now, const char *cookie) {
    static const uint8_t entropy[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                        17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
    static unsigned counter = 0;
    uint8_t e[32];
    libsession_request *req = NULL;
    memcpy(e, entropy, sizeof e);
    /* Distinct IDs per request, deterministic per run. */
    e[0] = (uint8_t)(counter & 0xff);
    e[1] = (uint8_t)((counter >> 8) & 0xff);
    counter++;
    if (libsession_request_new(cfg, now, e, sizeof e, &req) != LIBSESSION_RESULT_OK) {
        abort();
    }
    if (cookie != NULL && libsession_request_add_cookie_header(req, (const uint8_t *)cookie, strlen(cookie)) !=
                              LIBSESSION_RESULT_OK) {
        abort();
    }
    return req;
}

void cookie_header_of(const char *set_cookie, char *buf, size_t size) {
    size_t n = strcspn(set_cookie, ";");
    if (n >= size) {
        n = size - 1;
    }
    memcpy(buf, set_cookie, n);
    buf[n] = '\0';
}
