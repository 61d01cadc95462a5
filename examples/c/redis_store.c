#define _POSIX_C_SOURCE 200809L

#include "redis_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int redis_store_open(redis_store *s, const char *url, const char *options_json, size_t options_len, char *err,
                     size_t err_size) {
    const char *p = url, *host_end;
    char *end = NULL;
    libsession_result rc;
    memset(s, 0, sizeof *s);
    s->port = 6379;
    s->timeout.tv_sec = 2;
    if (strncmp(p, "redis://", 8) != 0) {
        snprintf(err, err_size, "%s: only redis://host[:port][/db] URLs are supported", url);
        return -1;
    }
    p += 8;
    host_end = p + strcspn(p, ":/");
    if (host_end == p || (size_t)(host_end - p) >= sizeof s->host || memchr(p, '@', (size_t)(host_end - p))) {
        snprintf(err, err_size, "%s: a host is needed (and no credentials)", url);
        return -1;
    }
    memcpy(s->host, p, (size_t)(host_end - p));
    p = host_end;
    if (*p == ':') {
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port <= 0 || port > 65535) {
            snprintf(err, err_size, "%s: invalid port", url);
            return -1;
        }
        s->port = (int)port;
        p = end;
    }
    if (*p == '/' && p[1] != '\0') {
        long db = strtol(p + 1, &end, 10);
        if (end == p + 1 || *end != '\0' || db < 0 || db > 1000000) {
            snprintf(err, err_size, "%s: invalid database number", url);
            return -1;
        }
        s->db = (int)db;
    } else if (*p != '\0' && strcmp(p, "/") != 0) {
        snprintf(err, err_size, "%s: unexpected text after the host", url);
        return -1;
    }
    if (options_json == NULL) {
        options_json = "{}";
        options_len = 2;
    }
    rc = libsession_redis_options_new((const uint8_t *)options_json, options_len, &s->options);
    if (rc != LIBSESSION_RESULT_OK) {
        char why[256] = "";
        if (libsession_redis_options_check((const uint8_t *)options_json, options_len, (uint8_t *)why, sizeof why) ==
            LIBSESSION_RESULT_OK) {
            snprintf(why, sizeof why, "%s", libsession_result_str(rc));
        }
        snprintf(err, err_size, "connect-redis options: %s", why);
        return -1;
    }
    return 0;
}

void redis_store_close(redis_store *s) {
    if (s->ctx != NULL) {
        redisFree(s->ctx);
        s->ctx = NULL;
    }
    libsession_redis_options_free(s->options);
    s->options = NULL;
}

static void drop_connection(redis_store *s) {
    if (s->ctx != NULL) {
        redisFree(s->ctx);
        s->ctx = NULL;
    }
}

/* Connects (and selects the database). Returns 0, or -1 with a message. */
static int connect_store(redis_store *s, char *err, size_t err_size) {
    redisReply *reply;
    if (s->ctx != NULL) {
        return 0;
    }
    s->ctx = redisConnectWithTimeout(s->host, s->port, s->timeout);
    if (s->ctx == NULL) {
        snprintf(err, err_size, "Redis %s:%d: out of memory", s->host, s->port);
        return -1;
    }
    if (s->ctx->err != 0 || redisSetTimeout(s->ctx, s->timeout) != REDIS_OK) {
        snprintf(err, err_size, "Redis %s:%d: connect: %s", s->host, s->port, s->ctx->errstr);
        drop_connection(s);
        return -1;
    }
    if (s->db != 0) {
        char db[16];
        snprintf(db, sizeof db, "%d", s->db);
        reply = redisCommand(s->ctx, "SELECT %s", db);
        if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
            snprintf(err, err_size, "Redis SELECT %s: %s", db, reply != NULL ? reply->str : s->ctx->errstr);
            if (reply != NULL) {
                freeReplyObject(reply);
            }
            drop_connection(s);
            return -1;
        }
        freeReplyObject(reply);
    }
    return 0;
}

/* Sends one command; on a broken connection, reconnects and sends it once
 * more. Returns the reply (an error reply included), or NULL with a message. */
static redisReply *send_command(redis_store *s, int argc, const char **argv, const size_t *lens, char *err,
                                size_t err_size) {
    int attempt;
    for (attempt = 0; attempt < 2; attempt++) {
        redisReply *reply;
        int timed_out;
        if (connect_store(s, err, err_size) != 0) {
            return NULL;
        }
        errno = 0;
        reply = redisCommandArgv(s->ctx, argc, argv, lens);
        if (reply != NULL) {
            return reply;
        }
        timed_out = s->ctx->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
        snprintf(err, err_size, "Redis %s: %s", argv[0], timed_out ? "timed out" : s->ctx->errstr);
        drop_connection(s); /* the connection is unusable after an error */
        if (timed_out) {
            return NULL; /* a frozen server: retrying would double the wait */
        }
    }
    return NULL;
}

static libsession_result fail(libsession_request *req, libsession_action kind, const char *message) {
    size_t n = strlen(message);
    if (kind == LIBSESSION_ACTION_LOAD) {
        return libsession_request_handle_load_result(req, LIBSESSION_LOAD_STATUS_FAILED, (const uint8_t *)message, n);
    }
    return libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_FAILED, (const uint8_t *)message, n);
}

libsession_result redis_store_answer(redis_store *s, libsession_request *req, libsession_action kind) {
    libsession_redis_command c;
    const char *argv[8];
    size_t lens[8];
    char ttl[24];
    char expected[24];
    char err[512];
    int argc = 0;
    redisReply *reply;
    libsession_result rc = libsession_request_redis_command(req, s->options, &c);
    if (rc != LIBSESSION_RESULT_OK) {
        return rc;
    }
    switch (c.op) {
    case LIBSESSION_REDIS_OP_NONE:
        return libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_OK, NULL, 0);
    case LIBSESSION_REDIS_OP_GET:
        argv[argc] = "GET";
        break;
    case LIBSESSION_REDIS_OP_SET:
        argv[argc] = "SET";
        break;
    case LIBSESSION_REDIS_OP_EXPIRE:
        argv[argc] = "EXPIRE";
        break;
    case LIBSESSION_REDIS_OP_DEL:
        argv[argc] = "DEL";
        break;
    case LIBSESSION_REDIS_OP_EVAL:
        /* versioned: EVAL script 1 key expected ttl [value], atomic on the server */
        snprintf(expected, sizeof expected, "%llu", (unsigned long long)c.expected_version);
        snprintf(ttl, sizeof ttl, "%lld", (long long)(c.has_ttl ? c.ttl_seconds : 0));
        argv[0] = "EVAL";
        lens[0] = 4;
        argv[1] = (const char *)c.script.data;
        lens[1] = c.script.len;
        argv[2] = "1";
        lens[2] = 1;
        argv[3] = (const char *)c.key.data;
        lens[3] = c.key.len;
        argv[4] = expected;
        lens[4] = strlen(expected);
        argv[5] = ttl;
        lens[5] = strlen(ttl);
        argc = 6;
        if (c.value.data != NULL) {
            argv[argc] = (const char *)c.value.data;
            lens[argc++] = c.value.len;
        }
        break;
    default:
        return fail(req, kind, "unknown Redis command in the plan");
    }
    if (c.op != LIBSESSION_REDIS_OP_EVAL) {
        lens[argc] = strlen(argv[argc]);
        argc++;
        argv[argc] = (const char *)c.key.data;
        lens[argc++] = c.key.len;
        if (c.op == LIBSESSION_REDIS_OP_SET) {
            argv[argc] = (const char *)c.value.data;
            lens[argc++] = c.value.len;
        }
        if (c.has_ttl) {
            snprintf(ttl, sizeof ttl, "%lld", (long long)c.ttl_seconds);
            if (c.op == LIBSESSION_REDIS_OP_SET) {
                argv[argc] = "EX";
                lens[argc++] = 2;
            }
            argv[argc] = ttl;
            lens[argc] = strlen(ttl);
            argc++;
        }
        if (c.op == LIBSESSION_REDIS_OP_SET && c.nx) {
            /* a new session's ID: insert-if-absent, never over another session */
            argv[argc] = "NX";
            lens[argc++] = 2;
        }
    }
    reply = send_command(s, argc, argv, lens, err, sizeof err);
    if (reply == NULL) {
        return fail(req, kind, err);
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        snprintf(err, sizeof err, "Redis %s: %s", argv[0], reply->str);
        rc = fail(req, kind, err);
    } else if (c.op == LIBSESSION_REDIS_OP_SET && c.nx && reply->type == REDIS_REPLY_NIL) {
        /* SET NX kept the record already there: the engine takes another ID */
        rc = libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_EXISTS, NULL, 0);
    } else if (c.op == LIBSESSION_REDIS_OP_EVAL && reply->type == REDIS_REPLY_INTEGER && reply->integer == 0) {
        /* the compare-and-set found another version: nothing written */
        rc = libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_CONFLICT, NULL, 0);
    } else if (c.op == LIBSESSION_REDIS_OP_EVAL && reply->type != REDIS_REPLY_INTEGER) {
        rc = fail(req, kind, "Redis EVAL: unexpected reply type");
    } else if (kind != LIBSESSION_ACTION_LOAD) {
        rc = libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_OK, NULL, 0);
    } else if (reply->type == REDIS_REPLY_NIL || (reply->type == REDIS_REPLY_STRING && reply->len == 0)) {
        rc = libsession_request_handle_load_result(req, LIBSESSION_LOAD_STATUS_NOT_FOUND, NULL, 0);
    } else if (reply->type == REDIS_REPLY_STRING) {
        rc = libsession_request_handle_load_result(req, LIBSESSION_LOAD_STATUS_FOUND, (const uint8_t *)reply->str,
                                                   reply->len);
    } else {
        rc = fail(req, kind, "Redis GET: unexpected reply type");
    }
    freeReplyObject(reply);
    return rc;
}
