/* The C hiredis store (examples/c/redis_store.c) against a real redis-server
 * (tests/c_server.rs starts it and runs this with its URL): a new session's
 * save is SET NX (an ID already stored is kept, and the engine takes
 * another), and in versioned mode the second of two racing saves is a
 * CONFLICT answered from the EVAL compare-and-set, which the host sees as
 * LIBSESSION_ACTION_CONFLICT before DONE, with nothing stored. Prints
 * "ok" lines; exits non-zero on the first failed check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libsession.h"
#include "redis_store.h"

#define NOW ((int64_t)1700000000000)
#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                           \
        }                                                                      \
    } while (0)
#define OK(call) CHECK((call) == LIBSESSION_RESULT_OK)
#define S(lit) (const uint8_t *)(lit), strlen(lit)

static const uint8_t ENTROPY[32] = {7};

/* Polls, answering store actions from Redis, until READY or DONE; counts
 * SET_COOKIE and CONFLICT actions; keeps the last cookie ("name=value"). */
static libsession_action drive(redis_store *s, libsession_request *req, int *cookies, int *conflicts,
                               char *cookie, size_t size) {
    int guard;
    for (guard = 0; guard < 50; guard++) {
        libsession_action kind = 0;
        OK(libsession_request_poll_action(req, &kind));
        switch (kind) {
        case LIBSESSION_ACTION_LOAD:
        case LIBSESSION_ACTION_SAVE:
        case LIBSESSION_ACTION_TOUCH:
        case LIBSESSION_ACTION_DESTROY:
            OK(redis_store_answer(s, req, kind));
            break;
        case LIBSESSION_ACTION_SET_COOKIE: {
            libsession_str v;
            size_t n = 0;
            OK(libsession_request_action_value(req, &v));
            while (n < v.len && n + 1 < size && v.data[n] != ';') {
                cookie[n] = (char)v.data[n];
                n++;
            }
            cookie[n] = '\0';
            ++*cookies;
            break;
        }
        case LIBSESSION_ACTION_CONFLICT:
            ++*conflicts;
            break;
        case LIBSESSION_ACTION_READY:
        case LIBSESSION_ACTION_DONE:
            return kind;
        default:
            fprintf(stderr, "unexpected action %u\n", (unsigned)kind);
            exit(1);
        }
    }
    CHECK(!"the request does not end");
    return LIBSESSION_ACTION_DONE;
}

static const libsession_config *config(const char *json) {
    libsession_config_builder *b = NULL;
    const libsession_config *cfg = NULL;
    OK(libsession_config_builder_new_from_express_options((const uint8_t *)json, strlen(json), &b));
    OK(libsession_config_builder_build(b, &cfg));
    return cfg;
}

int main(int argc, char **argv) {
    static const char taken[] = "TAKENTAKENTAKENTAKENTAKENTAKENTAKENTAKENTAK";
    static const char fresh[] = "FRESHFRESHFRESHFRESHFRESHFRESHFRESHFRESHFRE";
    const libsession_config *cfg;
    libsession_request *req, *a, *b;
    redis_store s;
    redisContext *direct;
    redisReply *reply;
    char err[256], cookie[1024], cookie_a[1024];
    int cookies = 0, conflicts = 0;
    double n = 0;
    libsession_str id;
    if (argc != 2) {
        fprintf(stderr, "usage: %s redis://127.0.0.1:PORT/\n", argv[0]);
        return 2;
    }
    CHECK(redis_store_open(&s, argv[1], "{}", 2, err, sizeof err) == 0);

    /* SET NX: an ID already stored is never overwritten. */
    direct = redisConnect(s.host, s.port); /* the test's own connection */
    CHECK(direct != NULL && direct->err == 0);
    reply = redisCommand(direct, "SET sess:%s %s", taken, "{\"cookie\":{},\"owner\":\"someone else\"}");
    CHECK(reply != NULL);
    freeReplyObject(reply);
    cfg = config("{\"secret\":\"c-live-secret-c-live-secret-c-live-01\",\"cookie\":{\"maxAge\":60000}}");
    OK(libsession_request_new(cfg, NOW, ENTROPY, sizeof ENTROPY, &req));
    OK(libsession_request_push_session_id(req, S(taken)));
    OK(libsession_request_push_session_id(req, S(fresh)));
    CHECK(drive(&s, req, &cookies, &conflicts, cookie, sizeof cookie) == LIBSESSION_ACTION_READY);
    OK(libsession_request_increment(req, S("n"), &n));
    OK(libsession_request_finish(req));
    CHECK(drive(&s, req, &cookies, &conflicts, cookie, sizeof cookie) == LIBSESSION_ACTION_DONE);
    OK(libsession_request_session_id(req, &id));
    CHECK(id.len == strlen(fresh) && memcmp(id.data, fresh, id.len) == 0);
    libsession_request_free(req);
    libsession_config_free(cfg);
    reply = redisCommand(direct, "GET sess:%s", taken);
    CHECK(reply != NULL && reply->type == REDIS_REPLY_STRING && strstr(reply->str, "someone else") != NULL);
    freeReplyObject(reply);
    printf("ok set nx\n");

    /* versioned: two requests load version 1; the second save conflicts. */
    cfg = config("{\"secret\":\"c-live-secret-c-live-secret-c-live-01\",\"versioned\":true,"
                 "\"cookie\":{\"maxAge\":60000}}");
    OK(libsession_request_new(cfg, NOW, ENTROPY, sizeof ENTROPY, &req));
    CHECK(drive(&s, req, &cookies, &conflicts, cookie, sizeof cookie) == LIBSESSION_ACTION_READY);
    OK(libsession_request_increment(req, S("n"), &n));
    OK(libsession_request_finish(req));
    cookies = 0;
    CHECK(drive(&s, req, &cookies, &conflicts, cookie, sizeof cookie) == LIBSESSION_ACTION_DONE);
    CHECK(cookies == 1);
    libsession_request_free(req);
    OK(libsession_request_new(cfg, NOW, ENTROPY, sizeof ENTROPY, &a));
    OK(libsession_request_new(cfg, NOW, ENTROPY, sizeof ENTROPY, &b));
    OK(libsession_request_add_cookie_header(a, S(cookie)));
    OK(libsession_request_add_cookie_header(b, S(cookie)));
    CHECK(drive(&s, a, &cookies, &conflicts, cookie_a, sizeof cookie_a) == LIBSESSION_ACTION_READY);
    CHECK(drive(&s, b, &cookies, &conflicts, cookie_a, sizeof cookie_a) == LIBSESSION_ACTION_READY);
    OK(libsession_request_set_json(a, S("a"), S("true")));
    OK(libsession_request_set_json(b, S("b"), S("true")));
    OK(libsession_request_finish(a));
    OK(libsession_request_finish(b));
    conflicts = 0;
    CHECK(drive(&s, a, &cookies, &conflicts, cookie_a, sizeof cookie_a) == LIBSESSION_ACTION_DONE);
    CHECK(conflicts == 0);
    cookies = 0;
    CHECK(drive(&s, b, &cookies, &conflicts, cookie_a, sizeof cookie_a) == LIBSESSION_ACTION_DONE);
    CHECK(conflicts == 1 && cookies == 0);
    OK(libsession_request_session_id(a, &id));
    reply = redisCommand(direct, "GET sess:%b", id.data, id.len);
    CHECK(reply != NULL && reply->type == REDIS_REPLY_STRING);
    CHECK(strstr(reply->str, "\"a\":true") != NULL && strstr(reply->str, "\"b\":true") == NULL);
    CHECK(strstr(reply->str, "\"libsessionVersion\":2") != NULL);
    freeReplyObject(reply);
    libsession_request_free(a);
    libsession_request_free(b);
    libsession_config_free(cfg);
    printf("ok versioned conflict\n");
    redisFree(direct);
    redis_store_close(&s);
    return 0;
}
