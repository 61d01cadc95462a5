/*
 * A small test harness for the C API tests: check macros, an in-memory
 * store answering the engine's actions, and the canonical poll loop.
 */
#ifndef LIBSESSION_TEST_HARNESS_H
#define LIBSESSION_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "libsession.h"

extern int h_checks_failed;
extern int h_checks_passed;

void h_fail(const char *file, int line, const char *what);

#define CHECK(cond)                                       \
    do {                                                  \
        if (cond) {                                       \
            h_checks_passed++;                            \
        } else {                                          \
            h_fail(__FILE__, __LINE__, #cond);            \
        }                                                 \
    } while (0)

#define CHECK_RC(call, want)                                                                \
    do {                                                                                    \
        libsession_result rc_ = (call);                                                     \
        if (rc_ == (uint32_t)(want)) {                                                      \
            h_checks_passed++;                                                              \
        } else {                                                                            \
            char msg_[512];                                                                 \
            snprintf(msg_, sizeof msg_, "%s returned %u (%s), expected %u", #call,          \
                     (unsigned)rc_, libsession_result_str(rc_), (unsigned)(want));          \
            h_fail(__FILE__, __LINE__, msg_);                                               \
        }                                                                                   \
    } while (0)

#define CHECK_OK(call) CHECK_RC(call, LIBSESSION_RESULT_OK)

/* A string literal as (const uint8_t *, size_t). */
#define S(lit) (const uint8_t *)(lit), (sizeof(lit) - 1)

/* Runs one test case and reports it; see h_main. */
typedef void (*h_test_fn)(void);
typedef struct {
    const char *name;
    h_test_fn fn;
} h_test;
#define TEST(fn) { #fn, fn }

/* Runs the cases, prints one line each and "N passed, M failed"; returns the
 * process exit status. */
int h_main(const char *suite, const h_test *tests, size_t count);

/* Whether a borrowed string equals a C string. */
bool str_eq(libsession_str s, const char *want);
/* Whether a borrowed string contains a C string. */
bool str_has(libsession_str s, const char *needle);
/* Copies a borrowed string into buf (NUL-terminated, truncated to fit). */
void str_copy(libsession_str s, char *buf, size_t size);

/* ----- an in-memory store ----- */

#define STORE_MAX 32

typedef struct {
    char *id;
    char *record;
    bool has_expiry;
    int64_t expires_at;
} store_entry;

typedef struct {
    store_entry entries[STORE_MAX];
    size_t len;
    /* Fault injection: each counter makes that many next calls fail. */
    int fail_get, missing_get, fail_set, fail_touch, fail_destroy;
    /* Calls answered. */
    int gets, sets, touches, destroys;
} store;

void store_init(store *s);
void store_clear(store *s);
store_entry *store_find(store *s, const char *id);

/* ----- getters as values (each checks its call returned OK) ----- */

libsession_str act_id(const libsession_request *req);
libsession_str act_record(const libsession_request *req);
libsession_str act_value(const libsession_request *req);
/* The action's expiry: whether it has one, and *at. */
bool act_expires_at(const libsession_request *req, int64_t *at);
/* Whether the request has a session ID (then *id is it). */
bool get_session_id(const libsession_request *req, libsession_str *id);
bool get_cookie_session_id(const libsession_request *req, libsession_str *id);
bool get_has_session(const libsession_request *req);
bool get_is_secure(const libsession_request *req);
/* Whether the session's cookie has a maxAge (then *ms is it). */
bool get_max_age(const libsession_request *req, int64_t *ms);
uint64_t get_id_count(const libsession_request *req);
/* The request's last error message as a C string (truncated to fit). */
void get_last_error(const libsession_request *req, char *buf, size_t size);
libsession_str cfg_name(const libsession_config *cfg);
bool cfg_max_age(const libsession_config *cfg, int64_t *ms);
libsession_unset cfg_unset(const libsession_config *cfg);
bool cfg_express_compat(const libsession_config *cfg);

/* What one run of the poll loop saw. */
typedef struct {
    int set_cookies;
    char cookie[2048];   /* the last Set-Cookie value */
    int errors;
    char error[512];     /* the last ERROR message */
    char failed[512];    /* the FAILED message, if any */
    int completed;
    bool completed_ok;   /* the last COMPLETED had no error */
    char completed_error[512];
    int set_headers;
    char header_name[128];  /* the last SET_HEADER's name and value */
    char header_value[2048];
} outcome;

/* Polls and answers store actions until WAIT, READY, FAILED or DONE (or a
 * call fails: returns 0 then). */
libsession_action drive(libsession_request *req, store *s, int64_t now, outcome *o);

/* Answers one polled store action (LOAD/SAVE/TOUCH/DESTROY) from the store;
 * returns the result code of the handle_* call. */
libsession_result answer(libsession_request *req, libsession_action kind, store *s, int64_t now);

/* A config with one secret and a maxAge of one minute (strict defaults). */
const libsession_config *simple_config(void);

/* A request with fixed entropy and an optional Cookie header. */
libsession_request *new_request(const libsession_config *cfg, int64_t now, const char *cookie);

/* The "name=value" part of a Set-Cookie value, as a Cookie header. */
void cookie_header_of(const char *set_cookie, char *buf, size_t size);

#define NOW ((int64_t)1700000000000)

#endif
