/*
 * The Redis store: connect-redis's keys (prefix + ID), records (the JSON
 * text) and TTLs (libsession_request_action_ttl_seconds), on hiredis's
 * asynchronous API driven by nginx's event loop: the hiredis socket is an
 * nginx connection (ngx_get_connection) whose read and write events call
 * redisAsyncHandleRead/Write. One connection per worker and store, made on
 * first use and again after a failure; commands are pipelined on it.
 *
 * A command owed to a request has a timer (timeout=): when it fires, the
 * request is answered with a store failure and the connection is dropped
 * (its other commands fail at once; the next request reconnects). A request
 * that goes away while a reply is owed detaches from the command, whose
 * reply is then ignored.
 */

#include "ngx_http_libsession.h"

#include <hiredis/hiredis.h>
#include <hiredis/async.h>


struct ngx_http_libsession_redis_s {
    ngx_str_t              host;     /* NUL-terminated */
    ngx_int_t              port;
    ngx_int_t              db;
    ngx_str_t              prefix;
    ngx_str_t              password;  /* empty: no AUTH; never logged */
    ngx_msec_t             timeout;
    redisAsyncContext     *ac;       /* this worker's connection */
};


/* A command sent: freed by its reply callback, which hiredis always calls
 * (with a NULL reply when the connection goes). */
typedef struct {
    ngx_http_libsession_ctx_t  *ctx;   /* NULL once detached */
    libsession_action           kind;
    unsigned                    nx:1;  /* SET ... NX: a nil reply is EXISTS */
} ngx_http_libsession_redis_op_t;


static ngx_uint_t  ngx_http_libsession_redis_exiting;


static redisAsyncContext *ngx_http_libsession_redis_connect(
    ngx_http_libsession_redis_t *rs, ngx_log_t *log);
static void ngx_http_libsession_redis_drop(ngx_http_libsession_redis_t *rs);
static void ngx_http_libsession_redis_message(char *buf, size_t size,
    const char *prefix, const char *text);
static void ngx_http_libsession_redis_reply(redisAsyncContext *ac,
    void *reply, void *privdata);
static void ngx_http_libsession_redis_timeout(ngx_event_t *ev);
static void ngx_http_libsession_redis_answer_failure(
    ngx_http_libsession_ctx_t *ctx, libsession_action kind, const char *msg);


/* The password: the first line of the file (a trailing \r dropped). */
static ngx_int_t
ngx_http_libsession_redis_password(ngx_conf_t *cf,
    ngx_http_libsession_redis_t *rs, ngx_str_t *file)
{
    u_char     *eol;
    ngx_str_t   text;

    if (ngx_http_libsession_read_file(cf, file, &text) != NGX_OK) {
        return NGX_ERROR;
    }

    eol = ngx_strlchr(text.data, text.data + text.len, '\n');
    if (eol != NULL) {
        text.len = eol - text.data;
    }

    if (text.len && text.data[text.len - 1] == '\r') {
        text.len--;
    }

    if (text.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" holds no Redis password", file);
        return NGX_ERROR;
    }

    rs->password = text;

    return NGX_OK;
}


char *
ngx_http_libsession_redis_conf(ngx_conf_t *cf,
    ngx_http_libsession_store_t *store, ngx_str_t *url, ngx_str_t *args,
    ngx_uint_t n)
{
    u_char                       *p, *last, *colon, *slash;
    ngx_str_t                     s;
    ngx_url_t                     u;
    ngx_uint_t                    i;
    libsession_str                prefix;
    ngx_http_libsession_redis_t  *rs;

    rs = ngx_pcalloc(cf->pool, sizeof(ngx_http_libsession_redis_t));
    if (rs == NULL) {
        return NGX_CONF_ERROR;
    }

    store->redis = rs;

    /* redis://HOST[:PORT][/DB] */
    p = url->data + sizeof("redis://") - 1;
    last = url->data + url->len;

    slash = ngx_strlchr(p, last, '/');
    if (slash == NULL) {
        slash = last;
    }

    colon = ngx_strlchr(p, slash, ':');

    s.data = p;
    s.len = (colon ? colon : slash) - p;

    if (s.len == 0) {
        goto invalid;
    }

    rs->port = 6379;
    if (colon) {
        rs->port = ngx_atoi(colon + 1, slash - colon - 1);
        if (rs->port < 1 || rs->port > 65535) {
            goto invalid;
        }
    }

    /* a name is resolved now, as nginx does for proxy_pass: hiredis would
     * resolve it with the blocking getaddrinfo() in the event loop */
    ngx_memzero(&u, sizeof(ngx_url_t));
    u.url = s;
    u.default_port = (in_port_t) rs->port;
    u.no_port = 1;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "cannot resolve the Redis host \"%V\"%s%s", &s,
                           u.err ? ": " : "", u.err ? u.err : "");
        return NGX_CONF_ERROR;
    }

    rs->host.data = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
    if (rs->host.data == NULL) {
        return NGX_CONF_ERROR;
    }

    rs->host.len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen,
                                 rs->host.data, NGX_SOCKADDR_STRLEN, 0);
    rs->host.data[rs->host.len] = '\0';

    rs->db = 0;
    if (slash < last && slash + 1 < last) {
        rs->db = ngx_atoi(slash + 1, last - slash - 1);
        if (rs->db == NGX_ERROR) {
            goto invalid;
        }
    }

    /* connect-redis's defaults */
    prefix = libsession_connect_redis_default_prefix();
    rs->prefix.data = (u_char *) prefix.data;
    rs->prefix.len = prefix.len;
    rs->timeout = 2000;

    for (i = 0; i < n; i++) {
        if (args[i].len >= 7 && ngx_strncmp(args[i].data, "prefix=", 7) == 0)
        {
            rs->prefix.data = args[i].data + 7;
            rs->prefix.len = args[i].len - 7;
            continue;
        }

        if (args[i].len > 8 && ngx_strncmp(args[i].data, "timeout=", 8) == 0)
        {
            s.data = args[i].data + 8;
            s.len = args[i].len - 8;

            rs->timeout = ngx_parse_time(&s, 0);
            if (rs->timeout == (ngx_msec_t) NGX_ERROR || rs->timeout == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid timeout \"%V\"", &args[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (args[i].len > 14
            && ngx_strncmp(args[i].data, "password_file=", 14) == 0)
        {
            s.data = args[i].data + 14;
            s.len = args[i].len - 14;

            if (ngx_http_libsession_redis_password(cf, rs, &s) != NGX_OK) {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid Redis store parameter \"%V\"", &args[i]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid Redis store URL \"%V\": expected "
                       "redis://HOST:PORT/DB", url);
    return NGX_CONF_ERROR;
}


/* ----- hiredis on an nginx connection ----- */

static void
ngx_http_libsession_redis_read_handler(ngx_event_t *ev)
{
    ngx_connection_t  *c = ev->data;

    redisAsyncHandleRead(c->data);
}


static void
ngx_http_libsession_redis_write_handler(ngx_event_t *ev)
{
    ngx_connection_t  *c = ev->data;

    redisAsyncHandleWrite(c->data);
}


static void
ngx_http_libsession_redis_add_read(void *privdata)
{
    ngx_connection_t  *c = privdata;

    if (!c->read->active
        && ngx_add_event(c->read, NGX_READ_EVENT, 0) != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "libsession: watching the Redis socket failed");
    }
}


static void
ngx_http_libsession_redis_del_read(void *privdata)
{
    ngx_connection_t  *c = privdata;

    if (c->read->active) {
        (void) ngx_del_event(c->read, NGX_READ_EVENT, 0);
    }
}


static void
ngx_http_libsession_redis_add_write(void *privdata)
{
    ngx_connection_t  *c = privdata;

    if (!c->write->active
        && ngx_add_event(c->write, NGX_WRITE_EVENT, 0) != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "libsession: watching the Redis socket failed");
    }
}


static void
ngx_http_libsession_redis_del_write(void *privdata)
{
    ngx_connection_t  *c = privdata;

    if (c->write->active) {
        (void) ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
    }
}


/* hiredis frees the context (and closes the socket right after). */
static void
ngx_http_libsession_redis_cleanup(void *privdata)
{
    ngx_connection_t             *c = privdata;
    redisAsyncContext            *ac;
    ngx_http_libsession_redis_t  *rs;

    ac = c->data;
    rs = ac->data;

    if (rs != NULL && rs->ac == ac) {
        rs->ac = NULL;
    }

    if (c->read->active) {
        (void) ngx_del_event(c->read, NGX_READ_EVENT, NGX_CLOSE_EVENT);
    }

    if (c->write->active) {
        (void) ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_CLOSE_EVENT);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    c->read->closed = 1;
    c->write->closed = 1;

    ngx_free_connection(c);
    c->fd = (ngx_socket_t) -1;
}


static void
ngx_http_libsession_redis_on_connect(const redisAsyncContext *ac, int status)
{
    ngx_http_libsession_redis_t  *rs = ac->data;

    if (status != REDIS_OK) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "libsession: connecting to Redis %s:%i failed: %s",
                      rs->host.data, rs->port,
                      ac->errstr ? ac->errstr : "?");
    }
}


static void
ngx_http_libsession_redis_on_disconnect(const redisAsyncContext *ac,
    int status)
{
    ngx_http_libsession_redis_t  *rs = ac->data;

    if (status != REDIS_OK && !ngx_http_libsession_redis_exiting) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "libsession: the Redis connection to %s:%i was lost: "
                      "%s", rs->host.data, rs->port,
                      ac->errstr ? ac->errstr : "?");
    }

    if (rs->ac == ac) {
        rs->ac = NULL;
    }
}


static redisAsyncContext *
ngx_http_libsession_redis_connect(ngx_http_libsession_redis_t *rs,
    ngx_log_t *log)
{
    ngx_connection_t   *c;
    redisAsyncContext  *ac;

    ac = redisAsyncConnect((const char *) rs->host.data, (int) rs->port);
    if (ac == NULL) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "libsession: redisAsyncConnect() failed");
        return NULL;
    }

    if (ac->err) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "libsession: connecting to Redis %s:%i failed: %s",
                      rs->host.data, rs->port, ac->errstr);
        redisAsyncFree(ac);
        return NULL;
    }

    c = ngx_get_connection(ac->c.fd, ngx_cycle->log);
    if (c == NULL) {
        redisAsyncFree(ac);
        return NULL;
    }

    c->data = ac;
    c->read->handler = ngx_http_libsession_redis_read_handler;
    c->write->handler = ngx_http_libsession_redis_write_handler;
    c->read->log = c->log;
    c->write->log = c->log;

    ac->data = rs;
    ac->ev.data = c;
    ac->ev.addRead = ngx_http_libsession_redis_add_read;
    ac->ev.delRead = ngx_http_libsession_redis_del_read;
    ac->ev.addWrite = ngx_http_libsession_redis_add_write;
    ac->ev.delWrite = ngx_http_libsession_redis_del_write;
    ac->ev.cleanup = ngx_http_libsession_redis_cleanup;

    if (redisAsyncSetConnectCallback(ac, ngx_http_libsession_redis_on_connect)
        != REDIS_OK
        || redisAsyncSetDisconnectCallback(ac,
               ngx_http_libsession_redis_on_disconnect)
           != REDIS_OK)
    {
        redisAsyncFree(ac);
        return NULL;
    }

    rs->ac = ac;

    /* sent first: a failed AUTH fails the commands after it (NOAUTH) */
    if (rs->password.len
        && redisAsyncCommand(ac, NULL, NULL, "AUTH %b", rs->password.data,
                             rs->password.len)
           != REDIS_OK)
    {
        ngx_http_libsession_redis_drop(rs);
        return NULL;
    }

    if (rs->db != 0
        && redisAsyncCommand(ac, NULL, NULL, "SELECT %d", (int) rs->db)
           != REDIS_OK)
    {
        ngx_http_libsession_redis_drop(rs);
        return NULL;
    }

    return ac;
}


/* Closes this worker's connection: its owed replies come back NULL. */
static void
ngx_http_libsession_redis_drop(ngx_http_libsession_redis_t *rs)
{
    redisAsyncContext  *ac;

    ac = rs->ac;
    if (ac != NULL) {
        rs->ac = NULL;
        redisAsyncFree(ac);
    }
}


void
ngx_http_libsession_redis_exit(ngx_cycle_t *cycle,
    ngx_http_libsession_main_conf_t *mcf)
{
    ngx_uint_t                     i;
    ngx_http_libsession_store_t  **stores;

    ngx_http_libsession_redis_exiting = 1;

    stores = mcf->stores.elts;
    for (i = 0; i < mcf->stores.nelts; i++) {
        if (stores[i]->kind == NGX_HTTP_LIBSESSION_STORE_REDIS) {
            ngx_http_libsession_redis_drop(stores[i]->redis);
        }
    }
}


/* ----- the commands ----- */

ngx_int_t
ngx_http_libsession_redis_action(ngx_http_libsession_ctx_t *ctx,
    libsession_action kind, libsession_str *id)
{
    int                              rc;
    bool                             is_new, versioned;
    int64_t                          ttl;
    uint64_t                         expected, written;
    ngx_str_t                        key;
    libsession_str                   record;
    libsession_result                lrc;
    redisAsyncContext               *ac;
    ngx_http_libsession_redis_t     *rs;
    ngx_http_libsession_redis_op_t  *op;

    rs = ctx->store->redis;

    key.len = rs->prefix.len + id->len;
    key.data = ngx_pnalloc(ctx->request->pool, key.len);
    if (key.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ngx_cpymem(key.data, rs->prefix.data, rs->prefix.len),
               id->data, id->len);

    record.data = NULL;
    record.len = 0;
    ttl = 0;
    is_new = false;
    versioned = false;

    if (kind == LIBSESSION_ACTION_SAVE || kind == LIBSESSION_ACTION_TOUCH) {
        /* a new session's ID is insert-if-absent (SET NX); a versioned
         * save or touch needs a compare-and-set this store does not send */
        lrc = libsession_request_action_is_new(ctx->req, &is_new);
        if (lrc == LIBSESSION_RESULT_OK) {
            lrc = libsession_request_action_version(ctx->req, &versioned,
                                                    &expected, &written);
        }

        if (lrc != LIBSESSION_RESULT_OK) {
            ngx_http_libsession_log_result(ctx->request->connection->log,
                                           NGX_LOG_ERR, ctx->req,
                                           "reading the action", lrc);
            return NGX_ERROR;
        }

        if (versioned && !is_new) {
            ngx_http_libsession_redis_answer_failure(ctx, kind,
                "versioned: true is not supported by the nginx Redis store "
                "(no compare-and-set)");
            return NGX_OK;
        }


        /* connect-redis's TTL (its default when the cookie has no expiry) */
        lrc = libsession_request_action_ttl_seconds(ctx->req, 0, &ttl);
        if (lrc != LIBSESSION_RESULT_OK) {
            ngx_http_libsession_log_result(ctx->request->connection->log,
                                           NGX_LOG_ERR, ctx->req,
                                           "computing the TTL", lrc);
            return NGX_ERROR;
        }

        if (kind == LIBSESSION_ACTION_SAVE) {
            lrc = libsession_request_action_record(ctx->req, &record);
            if (lrc != LIBSESSION_RESULT_OK || record.data == NULL) {
                ngx_http_libsession_log_result(ctx->request->connection->log,
                                               NGX_LOG_ERR, ctx->req,
                                               "reading the record", lrc);
                return NGX_ERROR;
            }
        }
    }

    ac = rs->ac;
    if (ac == NULL) {
        ac = ngx_http_libsession_redis_connect(rs,
                                               ctx->request->connection->log);
        if (ac == NULL) {
            ngx_http_libsession_redis_answer_failure(ctx, kind,
                "cannot connect to Redis");
            return NGX_OK;
        }
    }

    op = ngx_alloc(sizeof(ngx_http_libsession_redis_op_t),
                   ctx->request->connection->log);
    if (op == NULL) {
        return NGX_ERROR;
    }

    op->ctx = ctx;
    op->kind = kind;
    op->nx = 0;

    switch (kind) {

    case LIBSESSION_ACTION_LOAD:
        rc = redisAsyncCommand(ac, ngx_http_libsession_redis_reply, op,
                               "GET %b", key.data, key.len);
        break;

    case LIBSESSION_ACTION_SAVE:
        /* an expired record is deleted, as connect-redis does */
        if (ttl <= 0) {
            rc = redisAsyncCommand(ac, ngx_http_libsession_redis_reply, op,
                                   "DEL %b", key.data, key.len);
        } else if (is_new) {
            /* never over another session's record: the engine takes
             * another ID on a nil reply */
            op->nx = 1;
            rc = redisAsyncCommand(ac, ngx_http_libsession_redis_reply, op,
                                   "SET %b %b EX %lld NX", key.data, key.len,
                                   record.data, record.len, (long long) ttl);
        } else {
            rc = redisAsyncCommand(ac, ngx_http_libsession_redis_reply, op,
                                   "SET %b %b EX %lld", key.data, key.len,
                                   record.data, record.len, (long long) ttl);
        }
        break;

    case LIBSESSION_ACTION_TOUCH:
        if (ttl <= 0) {
            rc = redisAsyncCommand(ac, ngx_http_libsession_redis_reply, op,
                                   "DEL %b", key.data, key.len);
        } else {
            rc = redisAsyncCommand(ac, ngx_http_libsession_redis_reply, op,
                                   "EXPIRE %b %lld", key.data, key.len,
                                   (long long) ttl);
        }
        break;

    default: /* LIBSESSION_ACTION_DESTROY */
        rc = redisAsyncCommand(ac, ngx_http_libsession_redis_reply, op,
                               "DEL %b", key.data, key.len);
        break;
    }

    if (rc != REDIS_OK) {
        ngx_free(op);
        ngx_http_libsession_redis_drop(rs);
        ngx_http_libsession_redis_answer_failure(ctx, kind,
                                                 "sending to Redis failed");
        return NGX_OK;
    }

    ctx->op = op;
    ctx->timeout_ev.handler = ngx_http_libsession_redis_timeout;
    ngx_add_timer(&ctx->timeout_ev, rs->timeout);

    return NGX_AGAIN;
}


static void
ngx_http_libsession_redis_answer_failure(ngx_http_libsession_ctx_t *ctx,
    libsession_action kind, const char *msg)
{
    ngx_int_t  rc;

    if (kind == LIBSESSION_ACTION_LOAD) {
        rc = ngx_http_libsession_answer_load_failed(ctx, msg);

    } else {
        rc = ngx_http_libsession_answer_store(ctx, msg);
    }

    if (rc != NGX_OK) {
        /* the poll loop reports the failed request */
        ngx_log_error(NGX_LOG_ERR, ctx->request->connection->log, 0,
                      "libsession: answering a Redis failure failed");
    }
}


/* A message for libsession (which takes UTF-8): printable ASCII only. */
static void
ngx_http_libsession_redis_message(char *buf, size_t size, const char *prefix,
    const char *text)
{
    u_char  *p, *q;

    p = ngx_snprintf((u_char *) buf, size - 1, "%s%s", prefix, text);
    *p = '\0';

    for (q = (u_char *) buf; q < p; q++) {
        if (*q < 0x20 || *q >= 0x7f) {
            *q = '?';
        }
    }
}


static void
ngx_http_libsession_redis_reply(redisAsyncContext *ac, void *r,
    void *privdata)
{
    redisReply                      *reply = r;
    ngx_http_libsession_ctx_t       *ctx;
    ngx_http_libsession_redis_op_t  *op = privdata;
    libsession_action                kind;
    libsession_result                lrc;
    unsigned                         nx;
    char                             msg[256];

    ctx = op->ctx;
    kind = op->kind;
    nx = op->nx;
    ngx_free(op);

    if (ctx == NULL || ngx_http_libsession_redis_exiting) {
        return;
    }

    ctx->op = NULL;

    if (ctx->timeout_ev.timer_set) {
        ngx_del_timer(&ctx->timeout_ev);
    }

    if (reply == NULL) {
        ngx_http_libsession_redis_message(msg, sizeof(msg), "",
            (ac->errstr && ac->err) ? ac->errstr
                                    : "the Redis connection closed");
        ngx_http_libsession_redis_answer_failure(ctx, kind, msg);

    } else if (reply->type == REDIS_REPLY_ERROR) {
        ngx_http_libsession_redis_message(msg, sizeof(msg), "Redis: ",
                                          reply->str ? reply->str : "?");
        ngx_http_libsession_redis_answer_failure(ctx, kind, msg);

    } else if (kind == LIBSESSION_ACTION_LOAD) {
        if (reply->type == REDIS_REPLY_STRING) {
            (void) ngx_http_libsession_answer_load(ctx, (u_char *) reply->str,
                                                   reply->len);

        } else if (reply->type == REDIS_REPLY_NIL) {
            (void) ngx_http_libsession_answer_load(ctx, NULL, 0);

        } else {
            ngx_http_libsession_redis_answer_failure(ctx, kind,
                "unexpected Redis reply to GET");
        }

    } else if (nx && reply->type == REDIS_REPLY_NIL) {
        /* SET NX kept the record already there */
        lrc = libsession_request_handle_store_result(ctx->req,
                  LIBSESSION_STORE_STATUS_EXISTS, NULL, 0);
        if (lrc != LIBSESSION_RESULT_OK) {
            ngx_http_libsession_log_result(ctx->request->connection->log,
                                           NGX_LOG_ERR, ctx->req,
                                           "answering a store action", lrc);
        }

    } else {
        (void) ngx_http_libsession_answer_store(ctx, NULL);
    }

    ngx_http_libsession_resume(ctx);
}


static void
ngx_http_libsession_redis_timeout(ngx_event_t *ev)
{
    ngx_http_libsession_ctx_t       *ctx = ev->data;
    ngx_http_libsession_redis_op_t  *op;

    op = ctx->op;
    if (op == NULL) {
        return;
    }

    ngx_log_error(NGX_LOG_ERR, ctx->request->connection->log, 0,
                  "libsession: Redis %s:%i timed out",
                  ctx->store->redis->host.data, ctx->store->redis->port);

    op->ctx = NULL;
    ctx->op = NULL;

    ngx_http_libsession_redis_answer_failure(ctx, op->kind,
                                             "Redis timed out");

    /* the connection may be stuck: the next request makes a new one; the
     * detached command's reply frees it */
    ngx_http_libsession_redis_drop(ctx->store->redis);

    ngx_http_libsession_resume(ctx);
}


void
ngx_http_libsession_redis_detach(ngx_http_libsession_ctx_t *ctx)
{
    ngx_http_libsession_redis_op_t  *op = ctx->op;

    op->ctx = NULL;
    ctx->op = NULL;
}
