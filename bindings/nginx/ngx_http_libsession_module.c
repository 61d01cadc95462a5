/*
 * ngx_http_libsession_module: express-session sessions at the edge.
 *
 * The whole session lifecycle of a request runs in the rewrite phase (so
 * that a location's `return` sees the session too): libsession's poll loop
 * loads the session from the store, the module checks libsession_require
 * and applies libsession_increment, then finishes the request at once (an
 * upstream cannot change the session) and answers the end-of-request save,
 * touch or destroy. The request suspends while a Redis answer is owed. The
 * Set-Cookie values are kept and added by a header filter to whatever
 * response goes out: nginx's own, or a proxied one.
 */

#include "ngx_http_libsession.h"

#include <sys/random.h>


static ngx_int_t ngx_http_libsession_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_libsession_start(ngx_http_request_t *r,
    ngx_http_libsession_loc_conf_t *lcf, ngx_http_libsession_ctx_t **ctxp);
static ngx_int_t ngx_http_libsession_drive(ngx_http_libsession_ctx_t *ctx);
static ngx_int_t ngx_http_libsession_ready(ngx_http_libsession_ctx_t *ctx);
static ngx_int_t ngx_http_libsession_decision(ngx_http_libsession_ctx_t *ctx,
    ngx_http_libsession_loc_conf_t *lcf);
static ngx_http_libsession_ctx_t *ngx_http_libsession_get_ctx(
    ngx_http_request_t *r);
static void ngx_http_libsession_cleanup(void *data);
static void ngx_http_libsession_resume_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_libsession_copy(ngx_pool_t *pool, ngx_str_t *dst,
    libsession_str *src);
static ngx_int_t ngx_http_libsession_json_value(ngx_pool_t *pool,
    ngx_str_t *dst, libsession_str *json);
static ngx_uint_t ngx_http_libsession_truthy(libsession_str *json);

static ngx_int_t ngx_http_libsession_header_filter(ngx_http_request_t *r);

static ngx_int_t ngx_http_libsession_id_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_libsession_key_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);

static char *ngx_http_libsession_options(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_libsession_secrets(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_libsession_store(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_libsession_require(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_libsession_increment(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);

static ngx_int_t ngx_http_libsession_add_variables(ngx_conf_t *cf);
static void *ngx_http_libsession_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_libsession_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_libsession_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_libsession_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_libsession_init(ngx_conf_t *cf);
static void ngx_http_libsession_config_cleanup(void *data);
static ngx_int_t ngx_http_libsession_init_process(ngx_cycle_t *cycle);
static void ngx_http_libsession_exit_process(ngx_cycle_t *cycle);


#define NGX_HTTP_LIBSESSION_MIN_SECRET  32
#define NGX_HTTP_LIBSESSION_MAX_SECRETS 16


static ngx_conf_enum_t  ngx_http_libsession_store_errors[] = {
    { ngx_string("fail"), NGX_HTTP_LIBSESSION_ERROR_FAIL },
    { ngx_string("fresh"), NGX_HTTP_LIBSESSION_ERROR_FRESH },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_libsession_commands[] = {

    { ngx_string("libsession_options"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_libsession_options,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("libsession_secrets"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_libsession_secrets,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("libsession_store"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_libsession_store,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("libsession"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_libsession_loc_conf_t, enable),
      NULL },

    { ngx_string("libsession_require"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_libsession_require,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("libsession_increment"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_libsession_increment,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("libsession_store_error"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_libsession_loc_conf_t, store_error),
      &ngx_http_libsession_store_errors },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_libsession_module_ctx = {
    ngx_http_libsession_add_variables,     /* preconfiguration */
    ngx_http_libsession_init,              /* postconfiguration */

    ngx_http_libsession_create_main_conf,  /* create main configuration */
    ngx_http_libsession_init_main_conf,    /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_libsession_create_loc_conf,   /* create location configuration */
    ngx_http_libsession_merge_loc_conf     /* merge location configuration */
};


ngx_module_t  ngx_http_libsession_module = {
    NGX_MODULE_V1,
    &ngx_http_libsession_module_ctx,       /* module context */
    ngx_http_libsession_commands,          /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_libsession_init_process,      /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_libsession_exit_process,      /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;

static ngx_str_t  ngx_http_libsession_id_name = ngx_string("libsession_id");
static ngx_str_t  ngx_http_libsession_prefix = ngx_string("libsession_");


/* ----- the request ----- */

#define NGX_HTTP_LIBSESSION_ENTROPY       32
#define NGX_HTTP_LIBSESSION_ENTROPY_POOL  4096

/* This worker's entropy: the kernel's CSPRNG output, read 4 KB at a time
 * (one getrandom(2) per 128 requests instead of one per request); each
 * 32-byte chunk seeds one request's session IDs, and is wiped once used.
 * Only workers fill it (never the master before a fork). */
static u_char  ngx_http_libsession_entropy[NGX_HTTP_LIBSESSION_ENTROPY_POOL];
static size_t  ngx_http_libsession_entropy_used =
    NGX_HTTP_LIBSESSION_ENTROPY_POOL;


static u_char *
ngx_http_libsession_take_entropy(void)
{
    u_char   *p;
    ssize_t   n;

    if (ngx_http_libsession_entropy_used + NGX_HTTP_LIBSESSION_ENTROPY
        > NGX_HTTP_LIBSESSION_ENTROPY_POOL)
    {
        n = getrandom(ngx_http_libsession_entropy,
                      NGX_HTTP_LIBSESSION_ENTROPY_POOL, 0);
        if (n != NGX_HTTP_LIBSESSION_ENTROPY_POOL) {
            return NULL;    /* libsession reads the OS source itself */
        }

        ngx_http_libsession_entropy_used = 0;
    }

    p = ngx_http_libsession_entropy + ngx_http_libsession_entropy_used;
    ngx_http_libsession_entropy_used += NGX_HTTP_LIBSESSION_ENTROPY;

    return p;
}

int64_t
ngx_http_libsession_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();
    return (int64_t) tp->sec * 1000 + (int64_t) tp->msec;
}


void
ngx_http_libsession_log_result(ngx_log_t *log, ngx_uint_t level,
    libsession_request *req, const char *what, libsession_result rc)
{
    libsession_str  msg;

    msg.data = NULL;
    msg.len = 0;

    if (req == NULL
        || libsession_request_last_error(req, &msg) != LIBSESSION_RESULT_OK)
    {
        msg.data = NULL;
        msg.len = 0;
    }

    ngx_log_error(level, log, 0, "libsession: %s failed: %s (%s) %*s",
                  what, libsession_result_name(rc)
                        ? libsession_result_name(rc) : "?",
                  libsession_result_str(rc),
                  (size_t) msg.len, msg.data ? (const char *) msg.data : "");
}


static ngx_int_t
ngx_http_libsession_handler(ngx_http_request_t *r)
{
    ngx_int_t                        rc;
    ngx_http_libsession_ctx_t       *ctx;
    ngx_http_libsession_loc_conf_t  *lcf;

    if (r != r->main) {
        return NGX_DECLINED;
    }

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_libsession_module);

    ctx = ngx_http_libsession_get_ctx(r);

    if (ctx != NULL) {
        if (ctx->waiting) {
            return NGX_DONE;
        }

        if (ctx->done) {
            return ngx_http_libsession_decision(ctx, lcf);
        }

        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!lcf->enable) {
        return NGX_DECLINED;
    }

    rc = ngx_http_libsession_start(r, lcf, &ctx);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_libsession_drive(ctx);

    if (rc == NGX_AGAIN) {
        ctx->waiting = 1;
        r->read_event_handler = ngx_http_test_reading;
        return NGX_DONE;
    }

    return ngx_http_libsession_decision(ctx, lcf);
}


/* Creates the libsession request with nginx's facts about the request. */
static ngx_int_t
ngx_http_libsession_start(ngx_http_request_t *r,
    ngx_http_libsession_loc_conf_t *lcf, ngx_http_libsession_ctx_t **ctxp)
{
    u_char                           *entropy;
    ngx_uint_t                        i, nkeys;
    ngx_list_part_t                  *part;
    ngx_table_elt_t                  *h;
    libsession_str                    hn;
    libsession_result                 lrc;
    libsession_request               *req;
    ngx_pool_cleanup_t               *cln;
    ngx_http_libsession_ctx_t        *ctx;
    ngx_http_libsession_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_libsession_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_libsession_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    nkeys = mcf->var_keys.nelts;
    if (nkeys) {
        ctx->values = ngx_pcalloc(r->pool, nkeys * sizeof(ngx_str_t));
        if (ctx->values == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ngx_array_init(&ctx->cookies, r->pool, 1, sizeof(ngx_str_t))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    ctx->lcf = lcf;
    ctx->store = lcf->store;
    ctx->rc = NGX_DECLINED;

    ctx->timeout_ev.data = ctx;
    ctx->timeout_ev.log = r->connection->log;
    ctx->resume_ev.data = ctx;
    ctx->resume_ev.handler = ngx_http_libsession_resume_handler;
    ctx->resume_ev.log = r->connection->log;

    cln->handler = ngx_http_libsession_cleanup;
    cln->data = ctx;

    ngx_http_set_ctx(r, ctx, ngx_http_libsession_module);

    entropy = ngx_http_libsession_take_entropy();

    lrc = libsession_request_new(mcf->config, ngx_http_libsession_now(),
                                 entropy,
                                 entropy ? NGX_HTTP_LIBSESSION_ENTROPY : 0,
                                 &req);

    if (entropy != NULL) {
        ngx_explicit_memzero(entropy, NGX_HTTP_LIBSESSION_ENTROPY);
    }
    if (lrc != LIBSESSION_RESULT_OK) {
        ngx_http_libsession_log_result(r->connection->log, NGX_LOG_ERR, NULL,
                                       "libsession_request_new", lrc);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->req = req;

    lrc = libsession_request_set_store_kind(req,
              ctx->store->kind == NGX_HTTP_LIBSESSION_STORE_REDIS
              ? LIBSESSION_STORE_KIND_TTL : LIBSESSION_STORE_KIND_MEMORY);
    if (lrc != LIBSESSION_RESULT_OK) {
        goto failed;
    }

    lrc = libsession_request_set_target(req, r->unparsed_uri.data,
                                        r->unparsed_uri.len);
    if (lrc != LIBSESSION_RESULT_OK) {
        goto failed;
    }

#if (NGX_HTTP_SSL)
    lrc = libsession_request_set_tls(req, r->connection->ssl != NULL);
    if (lrc != LIBSESSION_RESULT_OK) {
        goto failed;
    }
#endif

    /* The `header` option: the request header carrying the signed ID. */
    lrc = libsession_config_session_header(mcf->config, &hn);
    if (lrc != LIBSESSION_RESULT_OK) {
        goto failed;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0) {
            continue;
        }

        if (h[i].key.len == sizeof("Cookie") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Cookie",
                               sizeof("Cookie") - 1) == 0)
        {
            lrc = libsession_request_add_cookie_header(req, h[i].value.data,
                                                       h[i].value.len);
            if (lrc != LIBSESSION_RESULT_OK) {
                goto failed;
            }

        } else if (hn.data != NULL && h[i].key.len == hn.len
                   && ngx_strncasecmp(h[i].key.data, (u_char *) hn.data,
                                      hn.len) == 0)
        {
            lrc = libsession_request_add_session_header(req, h[i].value.data,
                                                        h[i].value.len);
            if (lrc != LIBSESSION_RESULT_OK) {
                goto failed;
            }

        } else if (h[i].key.len == sizeof("X-Forwarded-Proto") - 1
                   && ngx_strncasecmp(h[i].key.data,
                                      (u_char *) "X-Forwarded-Proto",
                                      sizeof("X-Forwarded-Proto") - 1) == 0)
        {
            lrc = libsession_request_add_forwarded_proto(req, h[i].value.data,
                                                         h[i].value.len);
            if (lrc != LIBSESSION_RESULT_OK) {
                goto failed;
            }
        }
    }

    *ctxp = ctx;

    return NGX_OK;

failed:

    ngx_http_libsession_log_result(r->connection->log, NGX_LOG_ERR, req,
                                   "setting up the request", lrc);
    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}


/* The poll loop: NGX_AGAIN while a store answer is owed, NGX_OK once the
 * request is DONE (ctx->rc says what to respond). */
static ngx_int_t
ngx_http_libsession_drive(ngx_http_libsession_ctx_t *ctx)
{
    ngx_int_t            rc;
    ngx_log_t           *log;
    ngx_str_t           *cookie;
    libsession_str       s, hs;
    libsession_result    lrc;
    libsession_action    kind;
    libsession_request  *req;

    req = ctx->req;
    log = ctx->request->connection->log;

    for ( ;; ) {

        lrc = libsession_request_poll_action(req, &kind);
        if (lrc != LIBSESSION_RESULT_OK) {
            ngx_http_libsession_log_result(log, NGX_LOG_ERR, req,
                                           "libsession_request_poll_action",
                                           lrc);
            goto failed;
        }

        switch (kind) {

        case LIBSESSION_ACTION_LOAD:
        case LIBSESSION_ACTION_SAVE:
        case LIBSESSION_ACTION_TOUCH:
        case LIBSESSION_ACTION_DESTROY:

            lrc = libsession_request_action_id(req, &s);
            if (lrc != LIBSESSION_RESULT_OK || s.data == NULL) {
                ngx_http_libsession_log_result(log, NGX_LOG_ERR, req,
                                               "libsession_request_action_id",
                                               lrc);
                goto failed;
            }

            if (ctx->store->kind == NGX_HTTP_LIBSESSION_STORE_SHM) {
                rc = ngx_http_libsession_shm_action(ctx, kind, &s);

            } else {
                rc = ngx_http_libsession_redis_action(ctx, kind, &s);
            }

            if (rc == NGX_AGAIN) {
                return NGX_AGAIN;
            }

            if (rc != NGX_OK) {
                goto failed;
            }

            break;

        case LIBSESSION_ACTION_SET_COOKIE:

            lrc = libsession_request_action_value(req, &s);
            if (lrc != LIBSESSION_RESULT_OK || s.data == NULL) {
                ngx_http_libsession_log_result(log, NGX_LOG_ERR, req,
                                               "reading the Set-Cookie value",
                                               lrc);
                goto failed;
            }

            cookie = ngx_array_push(&ctx->cookies);
            if (cookie == NULL
                || ngx_http_libsession_copy(ctx->request->pool, cookie, &s)
                   != NGX_OK)
            {
                goto failed;
            }

            break;

        case LIBSESSION_ACTION_SET_HEADER:

            /* The `header` option: the last one wins, as for the cookie. */
            lrc = libsession_request_action_header_name(req, &hs);
            if (lrc != LIBSESSION_RESULT_OK || hs.data == NULL
                || libsession_request_action_value(req, &s)
                   != LIBSESSION_RESULT_OK || s.data == NULL)
            {
                ngx_http_libsession_log_result(log, NGX_LOG_ERR, req,
                                               "reading the session header",
                                               lrc);
                goto failed;
            }

            if (ngx_http_libsession_copy(ctx->request->pool,
                                         &ctx->header_name, &hs) != NGX_OK
                || ngx_http_libsession_copy(ctx->request->pool,
                                            &ctx->header_value, &s) != NGX_OK)
            {
                goto failed;
            }

            break;

        case LIBSESSION_ACTION_WAIT:
            if (ctx->op != NULL) {
                return NGX_AGAIN;
            }

            ngx_log_error(NGX_LOG_ERR, log, 0,
                          "libsession: WAIT with no store answer owed");
            goto failed;

        case LIBSESSION_ACTION_READY:

            if (ngx_http_libsession_ready(ctx) != NGX_OK) {
                goto failed;
            }

            lrc = libsession_request_finish(req);
            if (lrc != LIBSESSION_RESULT_OK) {
                ngx_http_libsession_log_result(log, NGX_LOG_ERR, req,
                                               "libsession_request_finish",
                                               lrc);
                goto failed;
            }

            break;

        case LIBSESSION_ACTION_FAILED:

            if (libsession_request_action_value(req, &s)
                != LIBSESSION_RESULT_OK || s.data == NULL)
            {
                ngx_str_set(&s, "");
            }

            ngx_log_error(NGX_LOG_ERR, log, 0,
                          "libsession: the session could not be loaded: %*s",
                          (size_t) s.len, s.data);

            ctx->rc = ctx->load_failed ? NGX_HTTP_SERVICE_UNAVAILABLE
                                       : NGX_HTTP_INTERNAL_SERVER_ERROR;

            lrc = libsession_request_finish(req);
            if (lrc != LIBSESSION_RESULT_OK) {
                ngx_http_libsession_log_result(log, NGX_LOG_ERR, req,
                                               "libsession_request_finish",
                                               lrc);
                goto failed;
            }

            break;

        case LIBSESSION_ACTION_COMPLETED:
            break;

        case LIBSESSION_ACTION_ERROR:

            if (libsession_request_action_value(req, &s)
                != LIBSESSION_RESULT_OK || s.data == NULL)
            {
                ngx_str_set(&s, "");
            }

            ngx_log_error(NGX_LOG_ERR, log, 0, "libsession: %*s",
                          (size_t) s.len, s.data);
            break;

        case LIBSESSION_ACTION_DONE:
            ctx->done = 1;
            return NGX_OK;

        default:
            ngx_log_error(NGX_LOG_ERR, log, 0,
                          "libsession: unknown action %ui", (ngx_uint_t) kind);
            goto failed;
        }
    }

failed:

    ctx->done = 1;
    ctx->rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
    return NGX_OK;
}


/* READY: the handler's turn. Checks libsession_require, applies
 * libsession_increment, and keeps what the variables show. */
static ngx_int_t
ngx_http_libsession_ready(ngx_http_libsession_ctx_t *ctx)
{
    bool                              has;
    double                            value;
    ngx_uint_t                        i;
    ngx_str_t                        *keys;
    ngx_log_t                        *log;
    libsession_str                    id, cookie_id, json;
    libsession_result                 lrc;
    libsession_request               *req;
    ngx_http_libsession_loc_conf_t   *lcf;
    ngx_http_libsession_main_conf_t  *mcf;

    req = ctx->req;
    lcf = ctx->lcf;
    log = ctx->request->connection->log;
    mcf = ngx_http_get_module_main_conf(ctx->request,
                                        ngx_http_libsession_module);

    lrc = libsession_request_has_session(req, &has);
    if (lrc != LIBSESSION_RESULT_OK) {
        goto failed;
    }

    if (!has) {
        return NGX_OK;
    }

    lrc = libsession_request_session_id(req, &id);
    if (lrc != LIBSESSION_RESULT_OK) {
        goto failed;
    }

    lrc = libsession_request_cookie_session_id(req, &cookie_id);
    if (lrc != LIBSESSION_RESULT_OK) {
        goto failed;
    }

    /* a stored session was loaded: the cookie's ID is the session's */
    ctx->valid = id.data != NULL && cookie_id.data != NULL
                 && id.len == cookie_id.len
                 && ngx_memcmp(id.data, cookie_id.data, id.len) == 0;

    if (lcf->require == NGX_HTTP_LIBSESSION_REQUIRE_KEY && ctx->valid) {
        lrc = libsession_request_get_json(req, lcf->require_key.data,
                                          lcf->require_key.len, &json);
        if (lrc != LIBSESSION_RESULT_OK) {
            goto failed;
        }

        ctx->has_required = ngx_http_libsession_truthy(&json);
    }

    if (ngx_http_libsession_decision(ctx, lcf) == NGX_DECLINED
        && lcf->increments != NULL)
    {
        keys = lcf->increments->elts;
        for (i = 0; i < lcf->increments->nelts; i++) {
            lrc = libsession_request_increment(req, keys[i].data, keys[i].len,
                                               &value);
            if (lrc != LIBSESSION_RESULT_OK) {
                goto failed;
            }
        }
    }

    /* what $libsession_id and $libsession_<key> show */

    lrc = libsession_request_session_id(req, &id);
    if (lrc != LIBSESSION_RESULT_OK) {
        goto failed;
    }

    if (id.data != NULL
        && ngx_http_libsession_copy(ctx->request->pool, &ctx->id, &id)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    keys = mcf->var_keys.elts;
    for (i = 0; i < mcf->var_keys.nelts; i++) {
        lrc = libsession_request_get_json(req, keys[i].data, keys[i].len,
                                          &json);
        if (lrc != LIBSESSION_RESULT_OK) {
            goto failed;
        }

        if (json.data != NULL
            && ngx_http_libsession_json_value(ctx->request->pool,
                                              &ctx->values[i], &json)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;

failed:

    ngx_http_libsession_log_result(log, NGX_LOG_ERR, req,
                                   "reading the session", lrc);
    return NGX_ERROR;
}


/* What the rewrite phase returns for a request whose session work is done,
 * in location lcf (another one than ctx->lcf after an internal redirect). */
static ngx_int_t
ngx_http_libsession_decision(ngx_http_libsession_ctx_t *ctx,
    ngx_http_libsession_loc_conf_t *lcf)
{
    if (ctx->rc != NGX_DECLINED) {
        return ctx->rc;
    }

    switch (lcf->require) {

    case NGX_HTTP_LIBSESSION_REQUIRE_SESSION:
        return ctx->valid ? NGX_DECLINED : NGX_HTTP_UNAUTHORIZED;

    case NGX_HTTP_LIBSESSION_REQUIRE_KEY:
        /* the key was checked for the location the request started in */
        if (ctx->valid && ctx->has_required
            && ctx->lcf->require == NGX_HTTP_LIBSESSION_REQUIRE_KEY
            && ctx->lcf->require_key.len == lcf->require_key.len
            && ngx_strncmp(ctx->lcf->require_key.data, lcf->require_key.data,
                           lcf->require_key.len) == 0)
        {
            return NGX_DECLINED;
        }

        return NGX_HTTP_UNAUTHORIZED;

    default:
        return NGX_DECLINED;
    }
}


/* The context, also after an internal redirect (which clears r->ctx): the
 * pool cleanup keeps it. */
static ngx_http_libsession_ctx_t *
ngx_http_libsession_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t         *cln;
    ngx_http_libsession_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_libsession_module);
    if (ctx != NULL) {
        return ctx;
    }

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_libsession_cleanup) {
            ctx = cln->data;
            if (ctx->request == r) {
                ngx_http_set_ctx(r, ctx, ngx_http_libsession_module);
                return ctx;
            }
        }
    }

    return NULL;
}


static void
ngx_http_libsession_cleanup(void *data)
{
    ngx_http_libsession_ctx_t  *ctx = data;

    if (ctx->op != NULL) {
        ngx_http_libsession_redis_detach(ctx);
    }

    if (ctx->timeout_ev.timer_set) {
        ngx_del_timer(&ctx->timeout_ev);
    }

    if (ctx->resume_ev.posted) {
        ngx_delete_posted_event(&ctx->resume_ev);
    }

    libsession_request_free(ctx->req);
    ctx->req = NULL;
}


ngx_int_t
ngx_http_libsession_answer_load(ngx_http_libsession_ctx_t *ctx, u_char *data,
    size_t len)
{
    libsession_result  lrc;

    lrc = libsession_request_handle_load_result(ctx->req,
              data ? LIBSESSION_LOAD_STATUS_FOUND
                   : LIBSESSION_LOAD_STATUS_NOT_FOUND,
              data, data ? len : 0);

    if (lrc != LIBSESSION_RESULT_OK && data != NULL
        && !libsession_result_is_misuse(lrc))
    {
        /* a record libsession cannot take (not UTF-8): a failed load, as
         * connect-redis's failed JSON.parse is */
        ngx_http_libsession_log_result(ctx->request->connection->log,
                                       NGX_LOG_ERR, ctx->req,
                                       "reading a stored record", lrc);

        lrc = libsession_request_handle_load_result(ctx->req,
                  LIBSESSION_LOAD_STATUS_FAILED,
                  (const uint8_t *) "the stored record is unreadable",
                  sizeof("the stored record is unreadable") - 1);
    }

    if (lrc != LIBSESSION_RESULT_OK) {
        ngx_http_libsession_log_result(ctx->request->connection->log,
                                       NGX_LOG_ERR, ctx->req,
                                       "answering a load", lrc);
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_libsession_answer_load_failed(ngx_http_libsession_ctx_t *ctx,
    const char *msg)
{
    libsession_result  lrc;

    if (ctx->lcf->store_error == NGX_HTTP_LIBSESSION_ERROR_FRESH) {
        ngx_log_error(NGX_LOG_WARN, ctx->request->connection->log, 0,
                      "libsession: store \"%V\" failed (%s), "
                      "going on with a fresh session",
                      &ctx->store->spec, msg);

        return ngx_http_libsession_answer_load(ctx, NULL, 0);
    }

    ctx->load_failed = 1;

    lrc = libsession_request_handle_load_result(ctx->req,
                                                LIBSESSION_LOAD_STATUS_FAILED,
                                                (const uint8_t *) msg,
                                                ngx_strlen(msg));
    if (lrc != LIBSESSION_RESULT_OK) {
        ngx_http_libsession_log_result(ctx->request->connection->log,
                                       NGX_LOG_ERR, ctx->req,
                                       "answering a load", lrc);
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_libsession_answer_store(ngx_http_libsession_ctx_t *ctx,
    const char *error)
{
    libsession_result  lrc;

    lrc = libsession_request_handle_store_result(ctx->req,
              error ? LIBSESSION_STORE_STATUS_FAILED
                    : LIBSESSION_STORE_STATUS_OK,
              (const uint8_t *) error, error ? ngx_strlen(error) : 0);

    if (lrc != LIBSESSION_RESULT_OK) {
        ngx_http_libsession_log_result(ctx->request->connection->log,
                                       NGX_LOG_ERR, ctx->req,
                                       "answering a store action", lrc);
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_http_libsession_resume(ngx_http_libsession_ctx_t *ctx)
{
    ngx_post_event(&ctx->resume_ev, &ngx_posted_events);
}


static void
ngx_http_libsession_resume_handler(ngx_event_t *ev)
{
    ngx_connection_t           *c;
    ngx_http_request_t         *r;
    ngx_http_libsession_ctx_t  *ctx;

    ctx = ev->data;
    r = ctx->request;
    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    if (libsession_request_set_now(ctx->req, ngx_http_libsession_now())
        != LIBSESSION_RESULT_OK)
    {
        ctx->done = 1;
        ctx->rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    } else if (ngx_http_libsession_drive(ctx) == NGX_AGAIN) {
        return;
    }

    ctx->waiting = 0;
    r->read_event_handler = ngx_http_block_reading;

    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}


static ngx_int_t
ngx_http_libsession_copy(ngx_pool_t *pool, ngx_str_t *dst,
    libsession_str *src)
{
    dst->data = ngx_pnalloc(pool, src->len ? src->len : 1);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dst->data, src->data, src->len);
    dst->len = src->len;

    return NGX_OK;
}


/* express's `if (!req.session.key)`: null, false, 0 and "" are falsy. */
static ngx_uint_t
ngx_http_libsession_truthy(libsession_str *json)
{
    if (json->data == NULL) {
        return 0;
    }

#define ngx_http_libsession_is(s)                                            \
    (json->len == sizeof(s) - 1                                              \
     && ngx_strncmp(json->data, s, sizeof(s) - 1) == 0)

    if (ngx_http_libsession_is("null") || ngx_http_libsession_is("false")
        || ngx_http_libsession_is("0") || ngx_http_libsession_is("\"\""))
    {
        return 0;
    }

#undef ngx_http_libsession_is

    return 1;
}


static ngx_int_t
ngx_http_libsession_hex(u_char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


/* A top-level value for a variable: a JSON string unquoted (as UTF-8, its
 * control characters, which would split a header, as spaces), anything else
 * as its JSON text. */
static ngx_int_t
ngx_http_libsession_json_value(ngx_pool_t *pool, ngx_str_t *dst,
    libsession_str *json)
{
    u_char          *p, *end, *d;
    uint32_t         cp, lo;
    ngx_int_t        i, h;

    if (json->len < 2 || json->data[0] != '"') {
        return ngx_http_libsession_copy(pool, dst, json);
    }

    /* unescaping never makes the text longer */
    dst->data = ngx_pnalloc(pool, json->len);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    d = dst->data;
    p = (u_char *) json->data + 1;
    end = (u_char *) json->data + json->len - 1;

    while (p < end) {

        if (*p != '\\') {
            *d++ = (*p < 0x20 || *p == 0x7f) ? ' ' : *p;
            p++;
            continue;
        }

        if (++p >= end) {
            break;
        }

        switch (*p++) {
        case 'b': case 'f': case 'n': case 'r': case 't':
            *d++ = ' ';
            continue;
        case 'u':
            break;
        default:    /* '"', '\\', '/' */
            *d++ = p[-1];
            continue;
        }

        cp = 0;
        for (i = 0; i < 4; i++) {
            if (p >= end || (h = ngx_http_libsession_hex(*p)) < 0) {
                return ngx_http_libsession_copy(pool, dst, json);
            }
            cp = cp * 16 + h;
            p++;
        }

        if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 6
            && p[0] == '\\' && p[1] == 'u')
        {
            lo = 0;
            for (i = 2; i < 6; i++) {
                if ((h = ngx_http_libsession_hex(p[i])) < 0) {
                    break;
                }
                lo = lo * 16 + h;
            }

            if (i == 6 && lo >= 0xdc00 && lo <= 0xdfff) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            }
        }

        if (cp >= 0xd800 && cp <= 0xdfff) {
            cp = 0xfffd;     /* a lone surrogate */
        }

        /* a \uXXXX escape is 6 bytes, its UTF-8 at most 3 (4 for a pair of
         * 12) */
        if (cp < 0x20 || cp == 0x7f) {
            *d++ = ' ';
        } else if (cp < 0x80) {
            *d++ = (u_char) cp;
        } else if (cp < 0x800) {
            *d++ = (u_char) (0xc0 | (cp >> 6));
            *d++ = (u_char) (0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            *d++ = (u_char) (0xe0 | (cp >> 12));
            *d++ = (u_char) (0x80 | ((cp >> 6) & 0x3f));
            *d++ = (u_char) (0x80 | (cp & 0x3f));
        } else {
            *d++ = (u_char) (0xf0 | (cp >> 18));
            *d++ = (u_char) (0x80 | ((cp >> 12) & 0x3f));
            *d++ = (u_char) (0x80 | ((cp >> 6) & 0x3f));
            *d++ = (u_char) (0x80 | (cp & 0x3f));
        }
    }

    dst->len = d - dst->data;

    return NGX_OK;
}


/* ----- Set-Cookie on every response ----- */

static ngx_int_t
ngx_http_libsession_header_filter(ngx_http_request_t *r)
{
    ngx_uint_t                  i;
    ngx_str_t                  *cookies;
    ngx_table_elt_t            *h;
    ngx_http_libsession_ctx_t  *ctx;

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_libsession_get_ctx(r);

    if (ctx == NULL || ctx->cookies_sent
        || (ctx->cookies.nelts == 0 && ctx->header_value.data == NULL))
    {
        return ngx_http_next_header_filter(r);
    }

    ctx->cookies_sent = 1;
    cookies = ctx->cookies.elts;

    if (ctx->header_value.data != NULL) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        h->hash = 1;
        h->key = ctx->header_name;
        h->value = ctx->header_value;
        h->lowcase_key = ngx_pnalloc(r->pool, h->key.len);
        if (h->lowcase_key == NULL) {
            return NGX_ERROR;
        }
        ngx_strlow(h->lowcase_key, h->key.data, h->key.len);
#if (nginx_version >= 1023000)
        h->next = NULL;
#endif
    }

    for (i = 0; i < ctx->cookies.nelts; i++) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Set-Cookie");
        h->value = cookies[i];
        h->lowcase_key = (u_char *) "set-cookie";
#if (nginx_version >= 1023000)
        h->next = NULL;
#endif
    }

    return ngx_http_next_header_filter(r);
}


/* ----- variables ----- */

static ngx_int_t
ngx_http_libsession_id_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_libsession_ctx_t  *ctx;

    ctx = ngx_http_libsession_get_ctx(r->main);

    if (ctx == NULL || ctx->id.data == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = ctx->id.data;
    v->len = ctx->id.len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_libsession_key_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                        *name = (ngx_str_t *) data;
    ngx_str_t                         key, *keys;
    ngx_uint_t                        i;
    ngx_http_libsession_ctx_t        *ctx;
    ngx_http_libsession_main_conf_t  *mcf;

    v->not_found = 1;

    ctx = ngx_http_libsession_get_ctx(r->main);
    if (ctx == NULL || ctx->values == NULL) {
        return NGX_OK;
    }

    key.data = name->data + ngx_http_libsession_prefix.len;
    key.len = name->len - ngx_http_libsession_prefix.len;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_libsession_module);
    keys = mcf->var_keys.elts;

    for (i = 0; i < mcf->var_keys.nelts; i++) {
        if (keys[i].len == key.len
            && ngx_strncmp(keys[i].data, key.data, key.len) == 0)
        {
            if (ctx->values[i].data == NULL) {
                return NGX_OK;
            }

            v->data = ctx->values[i].data;
            v->len = ctx->values[i].len;
            v->valid = 1;
            v->no_cacheable = 0;
            v->not_found = 0;
            return NGX_OK;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_libsession_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var;

    var = ngx_http_add_variable(cf, &ngx_http_libsession_id_name, 0);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_libsession_id_variable;

    var = ngx_http_add_variable(cf, &ngx_http_libsession_prefix,
                                NGX_HTTP_VAR_PREFIX);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_libsession_key_variable;

    return NGX_OK;
}


/* ----- configuration ----- */

ngx_int_t
ngx_http_libsession_read_file(ngx_conf_t *cf, ngx_str_t *name, ngx_str_t *out)
{
    ssize_t          n;
    ngx_file_t       file;
    ngx_file_info_t  fi;

    if (ngx_conf_full_name(cf->cycle, name, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.name = *name;
    file.log = cf->log;

    file.fd = ngx_open_file(name->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", name);
        return NGX_ERROR;
    }

    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " \"%V\" failed", name);
        goto failed;
    }

    out->len = (size_t) ngx_file_size(&fi);
    out->data = ngx_pnalloc(cf->pool, out->len ? out->len : 1);
    if (out->data == NULL) {
        goto failed;
    }

    n = ngx_read_file(&file, out->data, out->len, 0);
    if (n == NGX_ERROR) {
        goto failed;
    }

    if ((size_t) n != out->len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           ngx_read_file_n " \"%V\" returned only %z bytes",
                           name, n);
        goto failed;
    }

    ngx_close_file(file.fd);

    return NGX_OK;

failed:

    ngx_close_file(file.fd);

    return NGX_ERROR;
}


static char *
ngx_http_libsession_options(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_libsession_main_conf_t *mcf = conf;

    ngx_str_t                  *value;
    libsession_result           lrc;
    libsession_config_builder  *builder;

    if (mcf->options_file.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;
    mcf->options_file = value[1];

    if (ngx_http_libsession_read_file(cf, &mcf->options_file, &mcf->options)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    /* validated now, for a message with the file and line; built with the
     * secrets once the http block is read */
    lrc = libsession_config_builder_new_from_express_options(
              mcf->options.data, mcf->options.len, &builder);

    if (lrc != LIBSESSION_RESULT_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid express-session options in \"%V\": "
                           "%s (%s)", &mcf->options_file,
                           libsession_result_name(lrc)
                           ? libsession_result_name(lrc) : "?",
                           libsession_result_str(lrc));
        return NGX_CONF_ERROR;
    }

    libsession_config_builder_free(builder);

    return NGX_CONF_OK;
}


static char *
ngx_http_libsession_secrets(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_libsession_main_conf_t *mcf = conf;

    u_char      *p, *end, *eol;
    ngx_str_t   *value, text, *secret;
    ngx_uint_t   line;

    if (mcf->secrets != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;
    mcf->secrets_file = value[1];

    if (ngx_http_libsession_read_file(cf, &mcf->secrets_file, &text)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    mcf->secrets = ngx_array_create(cf->pool, 2, sizeof(ngx_str_t));
    if (mcf->secrets == NULL) {
        return NGX_CONF_ERROR;
    }

    p = text.data;
    end = text.data + text.len;

    for (line = 1; p < end; line++) {
        eol = ngx_strlchr(p, end, '\n');
        if (eol == NULL) {
            eol = end;
        }

        text.data = p;
        text.len = eol - p;
        if (text.len && text.data[text.len - 1] == '\r') {
            text.len--;
        }

        p = eol + 1;

        if (text.len == 0) {
            continue;
        }

        if (text.len < NGX_HTTP_LIBSESSION_MIN_SECRET) {
            /* the secret itself is never logged */
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "the secret on line %ui of \"%V\" is shorter "
                               "than %d bytes", line, &mcf->secrets_file,
                               NGX_HTTP_LIBSESSION_MIN_SECRET);
            return NGX_CONF_ERROR;
        }

        if (mcf->secrets->nelts == NGX_HTTP_LIBSESSION_MAX_SECRETS) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" has more than %d secrets",
                               &mcf->secrets_file,
                               NGX_HTTP_LIBSESSION_MAX_SECRETS);
            return NGX_CONF_ERROR;
        }

        secret = ngx_array_push(mcf->secrets);
        if (secret == NULL) {
            return NGX_CONF_ERROR;
        }

        *secret = text;
    }

    if (mcf->secrets->nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" holds no secret",
                           &mcf->secrets_file);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_libsession_store(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_libsession_loc_conf_t *lcf = conf;

    char                             *rv;
    ngx_str_t                        *value;
    ngx_http_libsession_store_t      *store, **sp;
    ngx_http_libsession_main_conf_t  *mcf;

    if (lcf->store != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    store = ngx_pcalloc(cf->pool, sizeof(ngx_http_libsession_store_t));
    if (store == NULL) {
        return NGX_CONF_ERROR;
    }

    store->spec = value[1];

    if (value[1].len == 3 && ngx_strncmp(value[1].data, "shm", 3) == 0) {
        store->kind = NGX_HTTP_LIBSESSION_STORE_SHM;
        rv = ngx_http_libsession_shm_conf(cf, store, &value[2],
                                          cf->args->nelts - 2);

    } else if (value[1].len > 8
               && ngx_strncmp(value[1].data, "redis://", 8) == 0)
    {
        store->kind = NGX_HTTP_LIBSESSION_STORE_REDIS;
        rv = ngx_http_libsession_redis_conf(cf, store, &value[1], &value[2],
                                            cf->args->nelts - 2);

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown session store \"%V\": expected "
                           "\"shm zone=NAME:SIZE\" or "
                           "\"redis://HOST:PORT/DB\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (rv != NGX_CONF_OK) {
        return rv;
    }

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_libsession_module);

    sp = ngx_array_push(&mcf->stores);
    if (sp == NULL) {
        return NGX_CONF_ERROR;
    }

    *sp = store;
    lcf->store = store;

    return NGX_CONF_OK;
}


static char *
ngx_http_libsession_require(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_libsession_loc_conf_t *lcf = conf;

    ngx_str_t  *value;

    if (lcf->require != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 3 && ngx_strncmp(value[1].data, "off", 3) == 0) {
        lcf->require = NGX_HTTP_LIBSESSION_REQUIRE_NONE;

    } else if (value[1].len == 7
               && ngx_strncmp(value[1].data, "session", 7) == 0)
    {
        lcf->require = NGX_HTTP_LIBSESSION_REQUIRE_SESSION;

    } else {
        lcf->require = NGX_HTTP_LIBSESSION_REQUIRE_KEY;
        lcf->require_key = value[1];
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_libsession_increment(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_libsession_loc_conf_t *lcf = conf;

    ngx_str_t  *value, *key;

    value = cf->args->elts;

    if (lcf->increments == NGX_CONF_UNSET_PTR) {
        lcf->increments = ngx_array_create(cf->pool, 1, sizeof(ngx_str_t));
        if (lcf->increments == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    key = ngx_array_push(lcf->increments);
    if (key == NULL) {
        return NGX_CONF_ERROR;
    }

    *key = value[1];

    return NGX_CONF_OK;
}


static void *
ngx_http_libsession_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_libsession_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_libsession_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&mcf->var_keys, cf->pool, 4, sizeof(ngx_str_t))
        != NGX_OK
        || ngx_array_init(&mcf->stores, cf->pool, 2,
                          sizeof(ngx_http_libsession_store_t *))
           != NGX_OK)
    {
        return NULL;
    }

    return mcf;
}


static void
ngx_http_libsession_config_cleanup(void *data)
{
    libsession_config_free(data);
}


/* Builds the config from the options and the secrets. */
static char *
ngx_http_libsession_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_libsession_main_conf_t *mcf = conf;

    ngx_str_t                  *secrets;
    ngx_uint_t                  i;
    libsession_str              msg;
    libsession_result           lrc;
    ngx_pool_cleanup_t         *cln;
    libsession_config_builder  *builder;

    if (mcf->options_file.data == NULL && mcf->secrets == NULL) {
        return NGX_CONF_OK;
    }

    if (mcf->options_file.data != NULL) {
        lrc = libsession_config_builder_new_from_express_options(
                  mcf->options.data, mcf->options.len, &builder);
    } else {
        lrc = libsession_config_builder_new_express(&builder);
    }

    if (lrc != LIBSESSION_RESULT_OK) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "libsession: making the config failed: %s",
                      libsession_result_str(lrc));
        return NGX_CONF_ERROR;
    }

    if (mcf->secrets != NULL) {
        secrets = mcf->secrets->elts;
        for (i = 0; i < mcf->secrets->nelts; i++) {
            lrc = libsession_config_builder_add_secret(builder,
                                                       secrets[i].data,
                                                       secrets[i].len);
            if (lrc != LIBSESSION_RESULT_OK) {
                if (libsession_config_builder_last_error(builder, &msg)
                    != LIBSESSION_RESULT_OK)
                {
                    msg.len = 0;
                    msg.data = (const uint8_t *) "";
                }

                ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                              "libsession: adding the secrets of \"%V\" "
                              "failed: %s %*s", &mcf->secrets_file,
                              libsession_result_str(lrc),
                              (size_t) msg.len, msg.data);
                libsession_config_builder_free(builder);
                return NGX_CONF_ERROR;
            }
        }
    }

    lrc = libsession_config_builder_build(builder, &mcf->config);
    if (lrc != LIBSESSION_RESULT_OK) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "libsession: the session config (options \"%V\", "
                      "secrets \"%V\") is invalid: %s (%s)",
                      &mcf->options_file, &mcf->secrets_file,
                      libsession_result_name(lrc)
                      ? libsession_result_name(lrc) : "?",
                      libsession_result_str(lrc));
        mcf->config = NULL;
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        libsession_config_free(mcf->config);
        mcf->config = NULL;
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_libsession_config_cleanup;
    cln->data = (void *) mcf->config;

    return NGX_CONF_OK;
}


static void *
ngx_http_libsession_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_libsession_loc_conf_t  *lcf;

    lcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_libsession_loc_conf_t));
    if (lcf == NULL) {
        return NULL;
    }

    lcf->enable = NGX_CONF_UNSET;
    lcf->store = NGX_CONF_UNSET_PTR;
    lcf->store_error = NGX_CONF_UNSET_UINT;
    lcf->require = NGX_CONF_UNSET_UINT;
    lcf->increments = NGX_CONF_UNSET_PTR;

    return lcf;
}


static char *
ngx_http_libsession_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_libsession_loc_conf_t *prev = parent;
    ngx_http_libsession_loc_conf_t *conf = child;

    ngx_http_libsession_main_conf_t  *mcf;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_ptr_value(conf->store, prev->store, NULL);
    ngx_conf_merge_uint_value(conf->store_error, prev->store_error,
                              NGX_HTTP_LIBSESSION_ERROR_FAIL);

    if (conf->require == NGX_CONF_UNSET_UINT) {
        conf->require = (prev->require == NGX_CONF_UNSET_UINT)
                        ? NGX_HTTP_LIBSESSION_REQUIRE_NONE : prev->require;
        conf->require_key = prev->require_key;
    }

    ngx_conf_merge_ptr_value(conf->increments, prev->increments, NULL);

    if (!conf->enable) {
        return NGX_CONF_OK;
    }

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_libsession_module);

    if (mcf->config == NULL || mcf->secrets == NULL) {
        return "needs \"libsession_secrets\" in the http block";
    }

    if (conf->store == NULL) {
        return "needs a \"libsession_store\"";
    }

    return NGX_CONF_OK;
}


/* Registers the handler and the filter, and lists the $libsession_<key>
 * variables the configuration uses (their values are read while the
 * session is at hand). */
static ngx_int_t
ngx_http_libsession_init(ngx_conf_t *cf)
{
    ngx_uint_t                        i;
    ngx_str_t                        *key;
    ngx_http_handler_pt              *h;
    ngx_http_variable_t              *v;
    ngx_http_core_main_conf_t        *cmcf;
    ngx_http_libsession_main_conf_t  *mcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_libsession_module);

    v = cmcf->variables.elts;
    for (i = 0; i < cmcf->variables.nelts; i++) {
        if (v[i].name.len > ngx_http_libsession_prefix.len
            && ngx_strncmp(v[i].name.data, ngx_http_libsession_prefix.data,
                           ngx_http_libsession_prefix.len) == 0
            && !(v[i].name.len == ngx_http_libsession_id_name.len
                 && ngx_strncmp(v[i].name.data,
                                ngx_http_libsession_id_name.data,
                                ngx_http_libsession_id_name.len) == 0))
        {
            key = ngx_array_push(&mcf->var_keys);
            if (key == NULL) {
                return NGX_ERROR;
            }

            key->data = v[i].name.data + ngx_http_libsession_prefix.len;
            key->len = v[i].name.len - ngx_http_libsession_prefix.len;
        }
    }

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_libsession_handler;

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_libsession_header_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_libsession_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                        i;
    ngx_http_libsession_store_t     **stores;
    ngx_http_libsession_main_conf_t  *mcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    mcf = ngx_http_cycle_get_module_main_conf(cycle,
                                              ngx_http_libsession_module);
    if (mcf == NULL) {
        return NGX_OK;
    }

    stores = mcf->stores.elts;
    for (i = 0; i < mcf->stores.nelts; i++) {
        if (stores[i]->kind == NGX_HTTP_LIBSESSION_STORE_SHM) {
            ngx_http_libsession_shm_start_reaper(stores[i], cycle->log);
        }
    }

    return NGX_OK;
}


static void
ngx_http_libsession_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_libsession_main_conf_t  *mcf;

    mcf = ngx_http_cycle_get_module_main_conf(cycle,
                                              ngx_http_libsession_module);
    if (mcf != NULL) {
        ngx_http_libsession_redis_exit(cycle, mcf);
    }
}
