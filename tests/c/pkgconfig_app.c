/*
 * A program as a C user writes it against the installed library
 * (scripts/install-c.sh), built with `pkg-config --cflags --libs libsession`
 * by scripts/test-c.sh: only <libsession.h>, no test harness.
 *
 * Two requests of one visitor: the first (no cookie) stores user = "ada"
 * and prints the engine's Set-Cookie; the second sends that cookie back,
 * loads the record the first one saved and prints the user. Exits non-zero
 * on any unexpected result.
 */
#include <libsession.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW_MS 1767225600000LL /* 2026-01-01T00:00:00Z */

/* A one-record store and the cookie jar: enough for one visitor. */
static char stored_id[256];
static char stored_record[4096];
static char cookie_pair[1024]; /* "connect.sid=s%3A..." */

static int fail(const char *what, libsession_result rc) {
    fprintf(stderr, "pkgconfig_app: %s: %s\n", what, libsession_result_str(rc));
    return 1;
}

/* Copies a library string into a NUL-terminated buffer; 0 when it does not fit. */
static int copy(libsession_str s, char *buf, size_t size) {
    if (s.data == NULL || s.len >= size) {
        return 0;
    }
    memcpy(buf, s.data, s.len);
    buf[s.len] = '\0';
    return 1;
}

#define TRY(what, call)                                                       \
    do {                                                                      \
        libsession_result rc_ = (call);                                       \
        if (rc_ != LIBSESSION_RESULT_OK) {                                    \
            status = fail(what, rc_);                                         \
            goto out;                                                         \
        }                                                                     \
    } while (0)

/* One request through the whole loop; `first` sets the user, the second
 * one reads it. */
static int one_request(const libsession_config *cfg, int first) {
    libsession_request *req = NULL;
    libsession_action kind;
    libsession_str s;
    int status = 0, done = 0, guard = 0;
    char buf[4096];

    TRY("request_new", libsession_request_new(cfg, NOW_MS, NULL, 0, &req));
    TRY("set_target", libsession_request_set_target(req, (const uint8_t *)"/", 1));
    if (!first) {
        TRY("add_cookie_header",
            libsession_request_add_cookie_header(req, (const uint8_t *)cookie_pair, strlen(cookie_pair)));
    }
    while (!done) {
        if (++guard > 100) {
            fprintf(stderr, "pkgconfig_app: the loop did not end\n");
            status = 1;
            goto out;
        }
        TRY("poll_action", libsession_request_poll_action(req, &kind));
        switch (kind) {
        case LIBSESSION_ACTION_LOAD:
            TRY("action_id", libsession_request_action_id(req, &s));
            if (copy(s, buf, sizeof buf) && strcmp(buf, stored_id) == 0) {
                TRY("handle_load_result",
                    libsession_request_handle_load_result(req, LIBSESSION_LOAD_STATUS_FOUND,
                                                          (const uint8_t *)stored_record, strlen(stored_record)));
            } else {
                TRY("handle_load_result",
                    libsession_request_handle_load_result(req, LIBSESSION_LOAD_STATUS_NOT_FOUND, NULL, 0));
            }
            break;
        case LIBSESSION_ACTION_SAVE:
            TRY("action_id", libsession_request_action_id(req, &s));
            if (!copy(s, stored_id, sizeof stored_id)) {
                status = fail("session ID too long", LIBSESSION_RESULT_OK);
                goto out;
            }
            TRY("action_record", libsession_request_action_record(req, &s));
            if (!copy(s, stored_record, sizeof stored_record)) {
                status = fail("record too long", LIBSESSION_RESULT_OK);
                goto out;
            }
            TRY("handle_store_result", libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_OK, NULL, 0));
            break;
        case LIBSESSION_ACTION_TOUCH:
        case LIBSESSION_ACTION_DESTROY:
            TRY("handle_store_result", libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_OK, NULL, 0));
            break;
        case LIBSESSION_ACTION_READY:
            if (first) {
                TRY("set_json", libsession_request_set_json(req, (const uint8_t *)"user", 4, (const uint8_t *)"\"ada\"", 5));
            } else {
                TRY("get_json", libsession_request_get_json(req, (const uint8_t *)"user", 4, &s));
                if (!copy(s, buf, sizeof buf)) {
                    status = fail("user too long", LIBSESSION_RESULT_OK);
                    goto out;
                }
                printf("user: %s\n", buf);
            }
            TRY("finish", libsession_request_finish(req));
            break;
        case LIBSESSION_ACTION_SET_COOKIE: {
            char *semi;
            TRY("action_value", libsession_request_action_value(req, &s));
            if (!copy(s, buf, sizeof buf)) {
                status = fail("Set-Cookie too long", LIBSESSION_RESULT_OK);
                goto out;
            }
            printf("Set-Cookie: %s\n", buf);
            semi = strchr(buf, ';');
            if (semi != NULL) {
                *semi = '\0';
            }
            if (strlen(buf) >= sizeof cookie_pair) {
                status = fail("cookie too long", LIBSESSION_RESULT_OK);
                goto out;
            }
            strcpy(cookie_pair, buf);
            break;
        }
        case LIBSESSION_ACTION_DONE:
            done = 1;
            break;
        default:
            fprintf(stderr, "pkgconfig_app: unexpected action %d\n", (int)kind);
            status = 1;
            goto out;
        }
    }
out:
    libsession_request_free(req);
    return status;
}

int main(void) {
    static const char secret[] = "an example secret of at least 32 bytes";
    libsession_config_builder *b = NULL;
    const libsession_config *cfg = NULL;
    libsession_result rc;
    int status;

    if (libsession_version_number() != LIBSESSION_VERSION_NUMBER) {
        fprintf(stderr, "pkgconfig_app: header and library versions differ\n");
        return 1;
    }
    printf("libsession %s\n", LIBSESSION_VERSION);
    rc = libsession_config_builder_new(&b);
    if (rc != LIBSESSION_RESULT_OK) {
        return fail("config_builder_new", rc);
    }
    rc = libsession_config_builder_add_secret(b, (const uint8_t *)secret, sizeof secret - 1);
    if (rc != LIBSESSION_RESULT_OK) {
        libsession_config_builder_free(b);
        return fail("add_secret", rc);
    }
    rc = libsession_config_builder_build(b, &cfg); /* consumes the builder */
    if (rc != LIBSESSION_RESULT_OK) {
        return fail("config_builder_build", rc);
    }
    status = one_request(cfg, 1);
    if (status == 0) {
        status = one_request(cfg, 0);
    }
    libsession_config_free(cfg);
    return status;
}
