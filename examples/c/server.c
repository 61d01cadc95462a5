/*
 * A small HTTP/1.1 server with sessions from libsession: express-session's
 * view-counter example, in C, on POSIX sockets, with an in-memory store or
 * Redis (as connect-redis keeps sessions). The same routes, page, options
 * and event counters as the Rust demo (examples/demo.rs) and the Python one
 * (python -m libsession.demo); tests/demos/ drives all three alike.
 *
 *   GET /            counts this visitor's views in the session (the page)
 *   GET /login?user=NAME   regenerates the session (a new ID) and stores
 *                    "user" (NAME: 1-64 letters, digits, . _ -; default demo)
 *   GET /logout      destroys the session (and removes the cookie, with
 *                    clearCookieOnDestroy, on by default)
 *   JSON routes shared with the other demos (the fleet test drives them on
 *   every host):
 *   GET /views       counts views: {"id":"<session ID>","views":N}
 *   GET /show        {"id":"<session ID>","data":<the session data>}
 *   GET /stats       the engine's events counted by kind (also printed on
 *                    stderr every 100 requests and at exit)
 *
 * Usage: server [--port N] [--options FILE.json] [--redis URL] [PORT]
 * (0 picks a free port; default $PORT, else 3000). It prints "libsession
 * demo listening on http://127.0.0.1:PORT/" once it accepts connections,
 * serves one connection at a time (Connection: close), and exits cleanly
 * on SIGINT or SIGTERM.
 *
 *   --options FILE.json  an express-session options object (read by
 *                        libsession_config_builder_new_from_express_options),
 *                        with the store's options under "store", which is
 *                        taken out first: connect-redis's (prefix, ttl,
 *                        disableTouch, disableTTL) with --redis; in memory,
 *                        Connect MemoryStore's reapInterval and maxAge (ms):
 *                        the in-memory store then reaps on that schedule, at
 *                        the start of a request on this server's clock
 *                        (without reapInterval it sweeps expired records
 *                        after each connection). The same file can configure
 *                        a Node app.
 *   --redis URL          sessions in Redis (redis://host[:port][/db]) through
 *                        hiredis, with connect-redis's keys, records and TTLs.
 *
 * The signing secret: the options file's "secret", else $SESSION_SECRET,
 * else a fixed development secret (with a warning). Without --options
 * cookies last a day.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "libsession.h"
#include "page.h"
#include "redis_store.h"
#include "store.h"

#define MAX_REQUEST 16384
#define MAX_COOKIES 16
#define DAY_MS ((int64_t)86400000)

static volatile sig_atomic_t stopping = 0;

static void on_signal(int sig) {
    (void)sig;
    stopping = 1;
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ----- the HTTP side ----- */

typedef struct {
    char method[16];
    char target[2048];
    /* Cookie header values (pointers into the request buffer). */
    const char *cookies[MAX_COOKIES];
    size_t cookie_lens[MAX_COOKIES];
    size_t cookie_count;
} http_request;

typedef struct {
    int status;
    const char *reason;
    const char *content_type; /* NULL: text/plain */
    char body[16384];
    char set_cookie[4096];
    int has_set_cookie;
} http_response;

static void respond(http_response *res, int status, const char *reason, const char *body) {
    res->status = status;
    res->reason = reason;
    snprintf(res->body, sizeof res->body, "%s", body);
}

/* Reads until the end of the headers. Returns the length, or -1. */
static ssize_t read_head(int fd, char *buf, size_t size) {
    size_t len = 0;
    while (len + 1 < size) {
        ssize_t n = recv(fd, buf + len, size - 1 - len, 0);
        if (n <= 0) {
            return -1;
        }
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n") != NULL) {
            return (ssize_t)len;
        }
    }
    return -1;
}

/* Parses the request line and the headers we need. Returns 0 or -1. */
static int parse_request(char *buf, http_request *req) {
    char *line_end = strstr(buf, "\r\n");
    char *p, *sp1, *sp2;
    memset(req, 0, sizeof *req);
    if (line_end == NULL) {
        return -1;
    }
    *line_end = '\0';
    sp1 = strchr(buf, ' ');
    sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (sp1 == NULL || sp2 == NULL || (size_t)(sp1 - buf) >= sizeof req->method ||
        (size_t)(sp2 - sp1 - 1) >= sizeof req->target || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
        return -1;
    }
    memcpy(req->method, buf, (size_t)(sp1 - buf));
    memcpy(req->target, sp1 + 1, (size_t)(sp2 - sp1 - 1));
    for (p = line_end + 2; *p != '\0' && strncmp(p, "\r\n", 2) != 0;) {
        char *end = strstr(p, "\r\n");
        char *colon;
        if (end == NULL) {
            return -1;
        }
        *end = '\0';
        colon = strchr(p, ':');
        if (colon != NULL && (size_t)(colon - p) == 6 && strncasecmp(p, "cookie", 6) == 0 &&
            req->cookie_count < MAX_COOKIES) {
            const char *v = colon + 1;
            size_t n;
            while (*v == ' ' || *v == '\t') {
                v++;
            }
            n = strlen(v);
            while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t')) {
                n--;
            }
            req->cookies[req->cookie_count] = v;
            req->cookie_lens[req->cookie_count] = n;
            req->cookie_count++;
        }
        p = end + 2;
    }
    return 0;
}

static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, p, n, 0);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void send_response(int fd, const http_response *res, int head_only) {
    char head[8192];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: %s; charset=utf-8\r\n"
                     "Content-Length: %zu\r\n"
                     "Cache-Control: no-store\r\n"
                     "Connection: close\r\n"
                     "%s%s%s"
                     "\r\n",
                     res->status, res->reason, res->content_type != NULL ? res->content_type : "text/plain",
                     strlen(res->body), res->has_set_cookie ? "Set-Cookie: " : "",
                     res->has_set_cookie ? res->set_cookie : "", res->has_set_cookie ? "\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof head) {
        return;
    }
    if (write_all(fd, head, (size_t)n) == 0 && !head_only) {
        write_all(fd, res->body, strlen(res->body));
    }
}

/* ----- the session side ----- */

static const libsession_config *config;
static mem_store sessions;
static redis_store redis_storage;
static redis_store *redis = NULL; /* with --redis */

static void log_error(const char *what, const libsession_request *req, libsession_result rc) {
    libsession_str detail = {NULL, 0};
    if (req != NULL && libsession_request_last_error(req, &detail) != LIBSESSION_RESULT_OK) {
        detail.data = NULL;
        detail.len = 0;
    }
    fprintf(stderr, "%s: %s (%.*s)\n", what, libsession_result_str(rc), (int)detail.len,
            detail.data != NULL ? (const char *)detail.data : "");
}

/* Answers one store action from the in-memory store. */
static libsession_result answer_store(libsession_request *req, libsession_action kind, int64_t now) {
    libsession_str id, record;
    int64_t expires_at = 0;
    bool has_expiry = false;
    libsession_result rc;
    if (redis != NULL) {
        return redis_store_answer(redis, req, kind);
    }
    rc = libsession_request_action_id(req, &id);
    if (rc != LIBSESSION_RESULT_OK) {
        return rc;
    }
    if (kind == LIBSESSION_ACTION_LOAD) {
        const store_entry *e = store_get(&sessions, id.data, id.len, now);
        if (e == NULL) {
            return libsession_request_handle_load_result(req, LIBSESSION_LOAD_STATUS_NOT_FOUND, NULL, 0);
        }
        return libsession_request_handle_load_result(req, LIBSESSION_LOAD_STATUS_FOUND, (const uint8_t *)e->record,
                                                     e->record_len);
    }
    if (kind == LIBSESSION_ACTION_SAVE || kind == LIBSESSION_ACTION_TOUCH) {
        int failed;
        rc = libsession_request_action_record(req, &record);
        if (rc == LIBSESSION_RESULT_OK) {
            rc = libsession_request_action_expires_at(req, &expires_at, &has_expiry);
        }
        if (rc != LIBSESSION_RESULT_OK) {
            return rc;
        }
        failed = kind == LIBSESSION_ACTION_SAVE
                     ? store_set(&sessions, id.data, id.len, record.data, record.len, has_expiry, expires_at, now)
                     : store_touch(&sessions, id.data, id.len, record.data, record.len, has_expiry, expires_at, now);
        if (failed != 0) {
            static const char message[] = "session store is full or out of memory";
            return libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_FAILED,
                                                          (const uint8_t *)message, sizeof message - 1);
        }
        return libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_OK, NULL, 0);
    }
    /* LIBSESSION_ACTION_DESTROY */
    store_destroy(&sessions, id.data, id.len);
    return libsession_request_handle_store_result(req, LIBSESSION_STORE_STATUS_OK, NULL, 0);
}

/* Polls until READY, FAILED or DONE, answering the store and collecting the
 * cookie. This store answers at once, so WAIT never comes. Returns the kind,
 * or 0 on an API error. `op_error` receives a COMPLETED operation's error. */
static libsession_action run(libsession_request *req, int64_t now, http_response *res, char *op_error,
                             size_t op_error_size) {
    for (;;) {
        libsession_action kind = 0;
        libsession_result rc = libsession_request_poll_action(req, &kind);
        libsession_str v = {NULL, 0};
        if (rc != LIBSESSION_RESULT_OK) {
            log_error("poll", req, rc);
            return 0;
        }
        if (kind == LIBSESSION_ACTION_SET_COOKIE || kind == LIBSESSION_ACTION_COMPLETED ||
            kind == LIBSESSION_ACTION_ERROR) {
            rc = libsession_request_action_value(req, &v);
            if (rc != LIBSESSION_RESULT_OK) {
                log_error("action value", req, rc);
                return 0;
            }
        }
        switch (kind) {
        case LIBSESSION_ACTION_LOAD:
        case LIBSESSION_ACTION_SAVE:
        case LIBSESSION_ACTION_TOUCH:
        case LIBSESSION_ACTION_DESTROY:
            rc = answer_store(req, kind, now);
            if (rc != LIBSESSION_RESULT_OK) {
                log_error("store answer", req, rc);
                return 0;
            }
            break;
        case LIBSESSION_ACTION_SET_COOKIE:
            if (v.len < sizeof res->set_cookie) {
                memcpy(res->set_cookie, v.data, v.len);
                res->set_cookie[v.len] = '\0';
                res->has_set_cookie = 1;
            }
            break;
        case LIBSESSION_ACTION_COMPLETED:
            if (v.data != NULL && op_error != NULL) {
                snprintf(op_error, op_error_size, "%.*s", (int)v.len, (const char *)v.data);
            }
            break;
        case LIBSESSION_ACTION_ERROR:
            fprintf(stderr, "session error after the response: %.*s\n", (int)v.len, (const char *)v.data);
            break;
        case LIBSESSION_ACTION_WAIT:
            fprintf(stderr, "unexpected WAIT: these stores answer synchronously\n");
            return 0;
        case LIBSESSION_ACTION_SET_HEADER:
            /* The `header` option (API clients without cookies): this demo
             * serves browsers and sends only the cookie. */
            break;
        case LIBSESSION_ACTION_CONFLICT:
        case LIBSESSION_ACTION_CONFLICT_RELOADED:
            /* versioned: the save lost a race and nothing was stored: 409,
             * no cookie (a reloaded session is then finished unchanged) */
            respond(res, 409, "Conflict", "The session changed meanwhile; try again\n");
            res->has_set_cookie = 0;
            break;
        default: /* READY, FAILED, DONE */
            return kind;
        }
    }
}

/* The JSON routes: /views, /show. Returns 0, or -1 after an API error. */
static int json_route(libsession_request *req, const char *path, http_response *res) {
    libsession_str id = {NULL, 0};
    libsession_result rc = libsession_request_session_id(req, &id);
    res->content_type = "application/json";
    if (rc == LIBSESSION_RESULT_OK && strcmp(path, "/views") == 0) {
        double views = 0;
        rc = libsession_request_increment(req, (const uint8_t *)"views", 5, &views);
        if (rc == LIBSESSION_RESULT_OK) {
            /* Re-read: the increment ended the borrowed ID. */
            rc = libsession_request_session_id(req, &id);
        }
        if (rc == LIBSESSION_RESULT_OK) {
            respond(res, 200, "OK", "");
            snprintf(res->body, sizeof res->body, "{\"id\":\"%.*s\",\"views\":%.0f}", (int)id.len,
                     (const char *)id.data, views);
        }
    } else if (rc == LIBSESSION_RESULT_OK) { /* /show */
        libsession_str data = {NULL, 0};
        rc = libsession_request_data_json(req, &data);
        if (rc == LIBSESSION_RESULT_OK) {
            int w = snprintf(res->body, sizeof res->body, "{\"id\":\"%.*s\",\"data\":%.*s}", (int)id.len,
                             (const char *)id.data, (int)data.len, (const char *)data.data);
            if (w < 0 || (size_t)w >= sizeof res->body) {
                respond(res, 500, "Internal Server Error", "{\"error\":\"session too large to show\"}");
            } else {
                res->status = 200;
                res->reason = "OK";
            }
        }
    }
    if (rc != LIBSESSION_RESULT_OK) {
        log_error(path, req, rc);
        return -1;
    }
    return 0;
}

/* Answers `page` with the state of `req`'s session (NULL: none). */
static void respond_page(http_response *res, int status, const char *reason, const demo_page *page,
                         const libsession_request *req) {
    res->status = status;
    res->reason = reason;
    res->content_type = "text/html";
    if (page_render(page, req, res->body, sizeof res->body) != 0) {
        respond(res, 500, "Internal Server Error", "Page too large\n");
        res->content_type = NULL;
    }
}

/* The route handler, run at READY. */
static void route(libsession_request *req, const char *path, const char *query, int64_t now, http_response *res) {
    char op_error[256] = "";
    bool has = false;
    libsession_result rc = libsession_request_has_session(req, &has);
    if (rc != LIBSESSION_RESULT_OK) {
        log_error("has_session", req, rc);
        respond_page(res, 500, "Internal Server Error", &PAGE_STORE_ERROR, NULL);
    } else if (strcmp(path, "/views") == 0 || strcmp(path, "/show") == 0) {
        if (json_route(req, path, res) != 0) {
            respond_page(res, 500, "Internal Server Error", &PAGE_STORE_ERROR, NULL);
        }
    } else if (strcmp(path, "/") == 0) {
        double views = 0;
        rc = has ? libsession_request_increment(req, (const uint8_t *)"views", 5, &views) : LIBSESSION_RESULT_OK;
        if (rc != LIBSESSION_RESULT_OK) {
            log_error("increment", req, rc);
            respond_page(res, 500, "Internal Server Error", &PAGE_STORE_ERROR, NULL);
            return;
        }
        respond_page(res, 200, "OK", &PAGE_VIEWS, req);
    } else if (strcmp(path, "/login") == 0) {
        char user[80], json[96];
        if (user_param(query, user, sizeof user) != 0) {
            respond_page(res, 400, "Bad Request", &PAGE_BAD_USER, req);
            return;
        }
        if (has) {
            rc = libsession_request_regenerate(req);
            if (rc != LIBSESSION_RESULT_OK ||
                run(req, now, res, op_error, sizeof op_error) != LIBSESSION_ACTION_READY || op_error[0] != '\0') {
                log_error("regenerate", req, rc);
                if (op_error[0] != '\0') {
                    fprintf(stderr, "regenerate: %s\n", op_error);
                }
                respond_page(res, 500, "Internal Server Error", &PAGE_STORE_ERROR, NULL);
                return;
            }
            snprintf(json, sizeof json, "\"%s\"", user);
            rc = libsession_request_set_json(req, (const uint8_t *)"user", 4, (const uint8_t *)json, strlen(json));
            if (rc != LIBSESSION_RESULT_OK) {
                log_error("set user", req, rc);
                respond_page(res, 500, "Internal Server Error", &PAGE_STORE_ERROR, NULL);
                return;
            }
        }
        respond_page(res, 200, "OK", &PAGE_LOGIN, req);
    } else if (strcmp(path, "/logout") == 0) {
        if (has) {
            rc = libsession_request_destroy(req);
            if (rc != LIBSESSION_RESULT_OK ||
                run(req, now, res, op_error, sizeof op_error) != LIBSESSION_ACTION_READY || op_error[0] != '\0') {
                log_error("destroy", req, rc);
                if (op_error[0] != '\0') {
                    fprintf(stderr, "destroy: %s\n", op_error);
                }
                respond_page(res, 500, "Internal Server Error", &PAGE_STORE_ERROR, NULL);
                return;
            }
        }
        respond_page(res, 200, "OK", &PAGE_LOGOUT, NULL);
    } else {
        respond_page(res, 404, "Not Found", &PAGE_NOT_FOUND, req);
    }
}

static void handle_connection(int fd) {
    char buf[MAX_REQUEST];
    char path[2048];
    const char *query;
    http_request hreq;
    http_response res;
    libsession_request *req = NULL;
    int64_t now = now_ms();
    libsession_result rc;
    libsession_action kind;
    size_t i;
    memset(&res, 0, sizeof res);
    if (redis == NULL) {
        store_reap_if_due(&sessions, now); /* when the reapInterval has passed */
    }
    if (read_head(fd, buf, sizeof buf) < 0 || parse_request(buf, &hreq) != 0) {
        respond(&res, 400, "Bad Request", "Bad request\n");
        send_response(fd, &res, 0);
        return;
    }
    if (strcmp(hreq.method, "GET") != 0 && strcmp(hreq.method, "HEAD") != 0) {
        respond_page(&res, 405, "Method Not Allowed", &PAGE_METHOD, NULL);
        send_response(fd, &res, 0);
        return;
    }
    snprintf(path, sizeof path, "%.*s", (int)strcspn(hreq.target, "?#"), hreq.target);
    query = strchr(hreq.target, '?') != NULL ? strchr(hreq.target, '?') + 1 : NULL;
    if (strcmp(path, "/stats") == 0) {
        /* Outside the engine: no session, and not counted. */
        res.status = 200;
        res.reason = "OK";
        res.content_type = "application/json";
        if (stats_json(res.body, sizeof res.body) != 0) {
            respond(&res, 500, "Internal Server Error", "Stats too large\n");
        }
        send_response(fd, &res, strcmp(hreq.method, "HEAD") == 0);
        return;
    }

    /* NULL entropy: libsession seeds the request's IDs from the OS CSPRNG. */
    rc = libsession_request_new(config, now, NULL, 0, &req);
    if (rc != LIBSESSION_RESULT_OK) {
        log_error("request_new", NULL, rc);
        respond(&res, 500, "Internal Server Error", "Session error\n");
        send_response(fd, &res, 0);
        return;
    }
    /* Redis's TTL is the authority over a record's stored expiry. */
    rc = libsession_request_set_store_kind(req, redis != NULL ? LIBSESSION_STORE_KIND_TTL : LIBSESSION_STORE_KIND_MEMORY);
    if (rc == LIBSESSION_RESULT_OK) {
        rc = libsession_request_set_target(req, (const uint8_t *)hreq.target, strlen(hreq.target));
    }
    for (i = 0; rc == LIBSESSION_RESULT_OK && i < hreq.cookie_count; i++) {
        rc = libsession_request_add_cookie_header(req, (const uint8_t *)hreq.cookies[i], hreq.cookie_lens[i]);
    }
    kind = rc == LIBSESSION_RESULT_OK ? run(req, now, &res, NULL, 0) : 0;
    if (kind == LIBSESSION_ACTION_READY) {
        route(req, path, query, now, &res);
    } else {
        /* FAILED: express-session answers 500 without running the handler. */
        respond_page(&res, 500, "Internal Server Error", &PAGE_STORE_ERROR, NULL);
    }
    /* The response is decided: finish, and collect the Set-Cookie header. */
    rc = libsession_request_finish(req);
    kind = rc == LIBSESSION_RESULT_OK ? run(req, now, &res, NULL, 0) : 0;
    if (kind == LIBSESSION_ACTION_READY) { /* after CONFLICT_RELOADED */
        rc = libsession_request_finish(req);
        kind = rc == LIBSESSION_RESULT_OK ? run(req, now, &res, NULL, 0) : 0;
    }
    if (rc != LIBSESSION_RESULT_OK || kind != LIBSESSION_ACTION_DONE) {
        log_error("finish", req, rc);
    }
    stats_count(req);
    libsession_request_free(req);
    send_response(fd, &res, strcmp(hreq.method, "HEAD") == 0);
}

/* The development secret every demo uses when SESSION_SECRET is unset:
 * public, so anyone can forge its cookies. */
#define DEV_SECRET "libsession demo development secret: set SESSION_SECRET"

/* $SESSION_SECRET, else the development secret with a warning on stderr. */
static const char *secret_from_env(void) {
    const char *env = getenv("SESSION_SECRET");
    if (env != NULL && env[0] != '\0') {
        return env;
    }
    fprintf(stderr, "warning: SESSION_SECRET is not set: using a fixed development secret, so anyone can forge "
                    "this demo's cookies; set SESSION_SECRET to 32+ random bytes\n");
    return DEV_SECRET;
}

/* ----- --options FILE.json ----- */

static const char *skip_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
        p++;
    }
    return p;
}

/* The end of the JSON string that starts at p (a '"'), or NULL. */
static const char *skip_string(const char *p, const char *end) {
    for (p++; p < end; p++) {
        if (*p == '\\') {
            p++;
        } else if (*p == '"') {
            return p + 1;
        }
    }
    return NULL;
}

/* Where the JSON value that starts at p ends, or NULL. Only the members'
 * boundaries are found here: the library validates the text itself. */
static const char *skip_value(const char *p, const char *end) {
    int depth = 0;
    while (p < end) {
        if (*p == '"') {
            p = skip_string(p, end);
            if (p == NULL || depth == 0) {
                return p;
            }
            continue;
        }
        if (*p == '{' || *p == '[') {
            depth++;
        } else if (*p == '}' || *p == ']') {
            if (depth == 0) {
                return p;
            }
            if (--depth == 0) {
                return p + 1;
            }
        } else if (*p == ',' && depth == 0) {
            return p;
        }
        p++;
    }
    return depth == 0 ? p : NULL;
}

/* Splits an options object into the express-session options (every member
 * but "store", NUL-terminated, in *express) and the "store" member's value
 * (connect-redis's options, in *store, or NULL), and whether it names a
 * "secret". Returns 0, or -1 when the text is not a JSON object. Both are
 * freed by the caller. */
static int split_options(const char *text, size_t len, char **express, char **store, int *has_secret) {
    const char *p = skip_ws(text, text + len), *end = text + len;
    char *out = malloc(len + 3);
    size_t n = 0;
    *express = NULL;
    *store = NULL;
    *has_secret = 0;
    if (out == NULL || p == end || *p != '{') {
        goto bad;
    }
    out[n++] = '{';
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}') {
        p++;
    } else {
        for (;;) {
            const char *key = skip_ws(p, end), *key_end, *value, *value_end;
            if (key >= end || *key != '"' || (key_end = skip_string(key, end)) == NULL) {
                goto bad;
            }
            p = skip_ws(key_end, end);
            if (p >= end || *p != ':') {
                goto bad;
            }
            value = skip_ws(p + 1, end);
            value_end = skip_value(value, end);
            if (value_end == NULL || value_end == value) {
                goto bad;
            }
            if (key_end - key == 8 && memcmp(key, "\"secret\"", 8) == 0) {
                *has_secret = 1;
            }
            if (key_end - key == 7 && memcmp(key, "\"store\"", 7) == 0) {
                free(*store);
                *store = malloc((size_t)(value_end - value) + 1);
                if (*store == NULL) {
                    goto bad;
                }
                memcpy(*store, value, (size_t)(value_end - value));
                (*store)[value_end - value] = '\0';
            } else {
                if (n > 1) {
                    out[n++] = ',';
                }
                memcpy(out + n, key, (size_t)(value_end - key));
                n += (size_t)(value_end - key);
            }
            p = skip_ws(value_end, end);
            if (p < end && *p == ',') {
                p++;
            } else if (p < end && *p == '}') {
                p++;
                break;
            } else {
                goto bad;
            }
        }
    }
    if (skip_ws(p, end) != end) {
        goto bad;
    }
    out[n++] = '}';
    out[n] = '\0';
    *express = out;
    return 0;
bad:
    free(out);
    free(*store);
    *store = NULL;
    return -1;
}

/* One reap option's value (ms): a whole number from 1 to 2^53, or null
 * (off; -1 too for reapInterval, as in Connect). Returns 0, or -1. */
static int ms_option(const char *value, const char *end, bool minus_one_is_off, int64_t *out) {
    char num[64];
    char *stop = NULL;
    double d;
    size_t n = (size_t)(end - value);
    if (n == 4 && memcmp(value, "null", 4) == 0) {
        *out = 0;
        return 0;
    }
    if (n == 0 || n >= sizeof num) {
        return -1;
    }
    memcpy(num, value, n);
    num[n] = '\0';
    d = strtod(num, &stop);
    if (*stop != '\0' || d != d) {
        return -1;
    }
    if (minus_one_is_off && d == -1.0) {
        *out = 0;
        return 0;
    }
    if (d < 1.0 || d > 9007199254740992.0 || d != (double)(int64_t)d) {
        return -1;
    }
    *out = (int64_t)d;
    return 0;
}

/* Reads Connect MemoryStore's options (reapInterval, maxAge) from the
 * "store" object; connect-redis's names are ignored, others refused.
 * Returns 0, or -1 with a message in err. */
static int memory_store_options(const char *text, int64_t *reap_interval, int64_t *max_age, char *err,
                                size_t err_size) {
    const char *end = text + strlen(text), *p = skip_ws(text, end);
    *reap_interval = 0;
    *max_age = 0;
    if (p >= end || *p != '{') {
        snprintf(err, err_size, "\"store\" must be a JSON object");
        return -1;
    }
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}') {
        return 0;
    }
    for (;;) {
        const char *key = p, *key_end = skip_string(p, end), *value, *value_end;
        if (key >= end || *key != '"' || key_end == NULL) {
            snprintf(err, err_size, "\"store\" is not a JSON object");
            return -1;
        }
        p = skip_ws(key_end, end);
        if (p >= end || *p != ':') {
            snprintf(err, err_size, "\"store\" is not a JSON object");
            return -1;
        }
        value = skip_ws(p + 1, end);
        value_end = skip_value(value, end);
        if (value_end == NULL) {
            snprintf(err, err_size, "\"store\" is not a JSON object");
            return -1;
        }
        while (value_end > value && (value_end[-1] == ' ' || value_end[-1] == '\n' || value_end[-1] == '\t' ||
                                     value_end[-1] == '\r')) {
            value_end--;
        }
#define KEY_IS(lit) ((size_t)(key_end - key) == sizeof "\"" lit "\"" - 1 && memcmp(key, "\"" lit "\"", (size_t)(key_end - key)) == 0)
        if (KEY_IS("reapInterval")) {
            if (ms_option(value, value_end, true, reap_interval) != 0) {
                snprintf(err, err_size, "reapInterval must be a whole number of milliseconds from 1 to 2^53, or null");
                return -1;
            }
        } else if (KEY_IS("maxAge")) {
            if (ms_option(value, value_end, false, max_age) != 0) {
                snprintf(err, err_size, "maxAge must be a whole number of milliseconds from 1 to 2^53, or null");
                return -1;
            }
        } else if (!(KEY_IS("prefix") || KEY_IS("ttl") || KEY_IS("disableTouch") || KEY_IS("disableTTL"))) {
            snprintf(err, err_size, "unknown store option %.*s (a memory store reads reapInterval and maxAge)",
                     (int)(key_end - key), key);
            return -1;
        }
#undef KEY_IS
        p = skip_ws(skip_value(value, end), end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
        } else if (p < end && *p == '}') {
            return 0;
        } else {
            snprintf(err, err_size, "\"store\" is not a JSON object");
            return -1;
        }
    }
}

/* The options object `express` with "secret" (JSON-escaped) as its first
 * member, in a new string (NULL when out of memory). */
static char *with_secret(const char *express, const char *secret) {
    size_t n = strlen(express), k = strlen(secret), len = 0, i;
    char *out = malloc(n + 6 * k + 16);
    if (out == NULL) {
        return NULL;
    }
    len += (size_t)sprintf(out, "{\"secret\":\"");
    for (i = 0; i < k; i++) {
        unsigned char c = (unsigned char)secret[i];
        if (c == '"' || c == '\\') {
            out[len++] = '\\';
            out[len++] = (char)c;
        } else if (c < 0x20) {
            len += (size_t)sprintf(out + len, "\\u%04x", c);
        } else {
            out[len++] = (char)c;
        }
    }
    out[len++] = '"';
    /* express is "{}" or "{...}": a comma unless it is empty. */
    if (n > 2) {
        out[len++] = ',';
    }
    memcpy(out + len, express + 1, n); /* with its '}' and NUL */
    return out;
}

/* Reads a whole file (at most 1 MiB), NUL-terminated. NULL on failure. */
static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 1 << 20, n;
    if (f == NULL) {
        return NULL;
    }
    buf = malloc(cap + 1);
    if (buf != NULL) {
        n = fread(buf, 1, cap + 1, f);
        if (ferror(f) || n > cap) {
            free(buf);
            buf = NULL;
        } else {
            buf[n] = '\0';
            *len = n;
        }
    }
    fclose(f);
    return buf;
}

/* The config: from an express-session options object (JSON text) when one
 * is given, else a secret from $SESSION_SECRET (or the development one) and
 * a day's maxAge. */
static int build_config(const char *express, size_t express_len) {
    libsession_config_builder *b = NULL;
    const char *secret = secret_from_env();
    libsession_result rc;
    if (express != NULL) {
        rc = libsession_config_builder_new_from_express_options((const uint8_t *)express, express_len, &b);
        if (rc != LIBSESSION_RESULT_OK) {
            fprintf(stderr, "--options: %s\n", libsession_result_str(rc));
            return -1;
        }
        rc = libsession_config_builder_build(b, &config); /* consumes the builder */
        if (rc != LIBSESSION_RESULT_OK) {
            fprintf(stderr, "--options: %s\n", libsession_result_str(rc));
            return -1;
        }
        return 0;
    }
    rc = libsession_config_builder_new(&b);
    if (rc != LIBSESSION_RESULT_OK) {
        return -1;
    }
    rc = libsession_config_builder_add_secret(b, (const uint8_t *)secret, strlen(secret));
    if (rc != LIBSESSION_RESULT_OK) {
        libsession_config_builder_free(b);
        fprintf(stderr, "secret: %s\n", libsession_result_str(rc));
        return -1;
    }
    rc = libsession_config_builder_set_max_age(b, true, DAY_MS);
    if (rc != LIBSESSION_RESULT_OK) {
        libsession_config_builder_free(b);
        fprintf(stderr, "max age: %s\n", libsession_result_str(rc));
        return -1;
    }
    /* The builder is consumed, whatever the result. */
    rc = libsession_config_builder_build(b, &config);
    if (rc != LIBSESSION_RESULT_OK) {
        fprintf(stderr, "config: %s\n", libsession_result_str(rc));
        return -1;
    }
    return 0;
}

static const char USAGE[] =
    "usage: server [--port N] [--options FILE.json] [--redis URL] [PORT]\n"
    "  --port N          listen on 127.0.0.1:N (0: any free port; default $PORT, else 3000)\n"
    "  --options FILE    an express-session options object (JSON); connect-redis options under \"store\"\n"
    "  --redis URL       keep sessions in Redis (redis://host[:port][/db])\n"
    "  --help            this text\n"
    "The secret: the options file's \"secret\", else $SESSION_SECRET, else a fixed development secret.\n"
    "Routes: / (count) /login?user=NAME (regenerate) /logout (destroy) /views /show /stats\n";

/* Prints `message` and the usage on stderr; returns the exit status 2. */
static int usage_error(const char *message) {
    fprintf(stderr, "%s\n%s", message, USAGE);
    return 2;
}

/* A port number 0-65535, or -1. */
static long parse_port(const char *text) {
    char *end = NULL;
    long port;
    if (text[0] < '0' || text[0] > '9') {
        return -1;
    }
    errno = 0;
    port = strtol(text, &end, 10);
    return errno == 0 && *end == '\0' && port >= 0 && port <= 65535 ? port : -1;
}

int main(int argc, char **argv) {
    struct sockaddr_in addr;
    socklen_t addr_len = sizeof addr;
    struct sigaction sa;
    long port = -1;
    int listener, one = 1, i, positional_port = 0, has_secret = 0;
    const char *options_path = NULL, *redis_url = NULL;
    char *express = NULL, *store_options = NULL;
    int64_t reap_interval = 0, store_max_age = 0;
    char err[512];

    if (getenv("PORT") != NULL && getenv("PORT")[0] != '\0' && (port = parse_port(getenv("PORT"))) < 0) {
        return usage_error("$PORT needs a port number (0-65535)");
    }
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("%s", USAGE);
            return 0;
        } else if (strcmp(argv[i], "--options") == 0 || strcmp(argv[i], "--redis") == 0 ||
                   strcmp(argv[i], "--port") == 0) {
            if (i + 1 >= argc) {
                snprintf(err, sizeof err, "%s needs a value", argv[i]);
                return usage_error(err);
            }
            if (strcmp(argv[i], "--options") == 0) {
                options_path = argv[++i];
            } else if (strcmp(argv[i], "--redis") == 0) {
                redis_url = argv[++i];
            } else if ((port = parse_port(argv[++i])) < 0) {
                return usage_error("--port needs a port number (0-65535)");
            }
        } else if (argv[i][0] != '-' && !positional_port) {
            /* The port as the last word: the older form of --port. */
            positional_port = 1;
            if ((port = parse_port(argv[i])) < 0) {
                return usage_error("the port must be a number (0-65535)");
            }
        } else {
            snprintf(err, sizeof err, "unknown argument %s", argv[i]);
            return usage_error(err);
        }
    }
    if (port < 0) {
        port = 3000;
    }
    if (options_path != NULL) {
        size_t len = 0;
        char *text = read_file(options_path, &len);
        if (text == NULL) {
            fprintf(stderr, "cannot read %s: %s\n", options_path, strerror(errno));
            return 2;
        }
        if (split_options(text, len, &express, &store_options, &has_secret) != 0) {
            fprintf(stderr, "%s: an express-session options object is a JSON object\n", options_path);
            free(text);
            return 2;
        }
        free(text);
        if (!has_secret) {
            char *full = with_secret(express, secret_from_env());
            free(express);
            express = full;
            if (express == NULL) {
                free(store_options);
                return 1;
            }
        }
    }
    if (redis_url != NULL) {
        if (redis_store_open(&redis_storage, redis_url, store_options,
                             store_options != NULL ? strlen(store_options) : 0, err, sizeof err) != 0) {
            fprintf(stderr, "--redis: %s\n", err);
            redis_store_close(&redis_storage);
            free(express);
            free(store_options);
            return 1;
        }
        redis = &redis_storage;
    } else if (store_options != NULL &&
               memory_store_options(store_options, &reap_interval, &store_max_age, err, sizeof err) != 0) {
        fprintf(stderr, "--options: %s\n", err);
        free(express);
        free(store_options);
        return 1;
    }
    free(store_options);
    if (libsession_version_number() != LIBSESSION_VERSION_NUMBER) {
        fprintf(stderr, "libsession %s does not match the header (%s)\n", (const char *)libsession_version().data,
                LIBSESSION_VERSION);
        return 1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: accept() returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    i = build_config(express, express != NULL ? strlen(express) : 0);
    free(express);
    if (i != 0 || store_init(&sessions, 100000) != 0) {
        if (redis != NULL) {
            redis_store_close(redis);
        }
        return 1;
    }
    store_set_reaping(&sessions, reap_interval, store_max_age);
    listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) {
        perror("socket");
        return 1;
    }
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((uint16_t)port);
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(listener, 64) != 0 ||
        getsockname(listener, (struct sockaddr *)&addr, &addr_len) != 0) {
        perror("bind/listen");
        close(listener);
        store_free(&sessions);
        if (redis != NULL) {
            redis_store_close(redis);
        }
        libsession_config_free(config);
        return 1;
    }
    printf("libsession demo listening on http://127.0.0.1:%u/\n", (unsigned)ntohs(addr.sin_port));
    fflush(stdout);

    while (!stopping) {
        struct timeval timeout = {5, 0};
        int fd = accept(listener, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR) {
                continue;
            }
            perror("accept");
            break;
        }
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
        handle_connection(fd);
        close(fd);
        if (sessions.reap_interval == 0) {
            store_sweep(&sessions, now_ms());
        }
    }
    close(listener);
    store_free(&sessions);
    if (redis != NULL) {
        redis_store_close(redis);
    }
    libsession_config_free(config);
    {
        char line[1024]; /* 15 counters of up to 20 digits */
        if (stats_json(line, sizeof line) == 0) {
            fprintf(stderr, "libsession demo stats: %s\n", line);
        }
    }
    printf("stopped\n");
    return 0;
}
