/*
 * ngx_http_libsession_module: express-session sessions in nginx, through
 * libsession's C ABI. Types shared by the module and its two stores.
 */

#ifndef NGX_HTTP_LIBSESSION_H_INCLUDED
#define NGX_HTTP_LIBSESSION_H_INCLUDED

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "libsession.h"


/* Only nginx's entry points (ngx_modules, ngx_module_names,
 * ngx_module_order, in the generated *_modules.c) are exported: nginx loads
 * modules RTLD_GLOBAL, so the module's own functions stay hidden, and the
 * Rust symbols of libsession.a are hidden by --exclude-libs at link time. */
#pragma GCC visibility push(hidden)


#define NGX_HTTP_LIBSESSION_STORE_SHM    1
#define NGX_HTTP_LIBSESSION_STORE_REDIS  2

#define NGX_HTTP_LIBSESSION_ERROR_FAIL   0
#define NGX_HTTP_LIBSESSION_ERROR_FRESH  1

#define NGX_HTTP_LIBSESSION_REQUIRE_NONE     0
#define NGX_HTTP_LIBSESSION_REQUIRE_SESSION  1
#define NGX_HTTP_LIBSESSION_REQUIRE_KEY      2


typedef struct ngx_http_libsession_shm_s    ngx_http_libsession_shm_t;
typedef struct ngx_http_libsession_redis_s  ngx_http_libsession_redis_t;
typedef struct ngx_http_libsession_ctx_s    ngx_http_libsession_ctx_t;


/* One store, as a libsession_store directive declared it. */
typedef struct {
    ngx_uint_t                      kind;
    ngx_str_t                       spec;       /* for messages */
    ngx_http_libsession_shm_t      *shm;
    ngx_http_libsession_redis_t    *redis;
} ngx_http_libsession_store_t;


typedef struct {
    ngx_str_t                       options_file;
    ngx_str_t                       options;    /* JSON text */
    ngx_str_t                       secrets_file;
    ngx_array_t                    *secrets;    /* ngx_str_t */
    const libsession_config        *config;
    ngx_array_t                     var_keys;   /* ngx_str_t: $libsession_<key> */
    ngx_array_t                     stores;     /* ngx_http_libsession_store_t * */
} ngx_http_libsession_main_conf_t;


typedef struct {
    ngx_flag_t                      enable;
    ngx_http_libsession_store_t    *store;
    ngx_uint_t                      store_error;
    ngx_uint_t                      require;
    ngx_str_t                       require_key;
    ngx_array_t                    *increments; /* ngx_str_t */
} ngx_http_libsession_loc_conf_t;


/* One request's session: lives in r->pool, the libsession request is freed
 * by the pool cleanup. */
struct ngx_http_libsession_ctx_s {
    ngx_http_request_t             *request;
    libsession_request             *req;
    ngx_http_libsession_loc_conf_t *lcf;
    ngx_http_libsession_store_t    *store;

    ngx_array_t                     cookies;    /* ngx_str_t Set-Cookie values */
    ngx_str_t                       header_name;  /* SET_HEADER (the `header` */
    ngx_str_t                       header_value; /* option); data NULL: none */
    ngx_str_t                       id;         /* $libsession_id */
    ngx_str_t                      *values;     /* per main conf var_keys */
    ngx_str_t                       loaded;     /* the shm record loaded */

    ngx_int_t                       rc;         /* NGX_DECLINED or a status */

    ngx_event_t                     timeout_ev;
    ngx_event_t                     resume_ev;
    void                           *op;         /* the Redis command owed */

    unsigned                        waiting:1;
    unsigned                        done:1;
    unsigned                        valid:1;    /* a stored session loaded */
    unsigned                        has_required:1;
    unsigned                        load_failed:1;
    unsigned                        cookies_sent:1;
};


extern ngx_module_t  ngx_http_libsession_module;


int64_t ngx_http_libsession_now(void);

/* Answers the LOAD owed by ctx: FOUND with (data, len) when data != NULL,
 * NOT_FOUND when data == NULL; a store failure goes through _load_failed. */
ngx_int_t ngx_http_libsession_answer_load(ngx_http_libsession_ctx_t *ctx,
    u_char *data, size_t len);
ngx_int_t ngx_http_libsession_answer_load_failed(
    ngx_http_libsession_ctx_t *ctx, const char *msg);
ngx_int_t ngx_http_libsession_answer_store(ngx_http_libsession_ctx_t *ctx,
    const char *error);
/* Runs the poll loop again after an asynchronous answer, and resumes the
 * request's phases once its session work is done. */
void ngx_http_libsession_resume(ngx_http_libsession_ctx_t *ctx);
void ngx_http_libsession_log_result(ngx_log_t *log, ngx_uint_t level,
    libsession_request *req, const char *what, libsession_result rc);


/* Reads a file named in the configuration (relative to the prefix). */
ngx_int_t ngx_http_libsession_read_file(ngx_conf_t *cf, ngx_str_t *name,
    ngx_str_t *out);


/* The shared-memory store (ngx_http_libsession_shm.c). */
char *ngx_http_libsession_shm_conf(ngx_conf_t *cf,
    ngx_http_libsession_store_t *store, ngx_str_t *args, ngx_uint_t n);
/* Performs the action `kind` for ctx's request; answers it (NGX_OK), or
 * NGX_ERROR when libsession refused the answer. */
ngx_int_t ngx_http_libsession_shm_action(ngx_http_libsession_ctx_t *ctx,
    libsession_action kind, libsession_str *id);
/* Starts this worker's periodic reaping of the store's zone. */
void ngx_http_libsession_shm_start_reaper(ngx_http_libsession_store_t *store,
    ngx_log_t *log);


/* The Redis store (ngx_http_libsession_redis.c). */
char *ngx_http_libsession_redis_conf(ngx_conf_t *cf,
    ngx_http_libsession_store_t *store, ngx_str_t *url, ngx_str_t *args,
    ngx_uint_t n);
/* Sends the command of action `kind`: NGX_AGAIN while the answer is owed
 * (the reply or the timeout answers it and resumes), NGX_OK when it was
 * answered at once (a failure), NGX_ERROR when libsession refused it. */
ngx_int_t ngx_http_libsession_redis_action(ngx_http_libsession_ctx_t *ctx,
    libsession_action kind, libsession_str *id);
/* The request went away: its command's reply is to be ignored. */
void ngx_http_libsession_redis_detach(ngx_http_libsession_ctx_t *ctx);
void ngx_http_libsession_redis_exit(ngx_cycle_t *cycle,
    ngx_http_libsession_main_conf_t *mcf);


#pragma GCC visibility pop

#endif /* NGX_HTTP_LIBSESSION_H_INCLUDED */
