/*
 * A connect-redis compatible session store on hiredis (blocking: this
 * example server handles one connection at a time). Every command comes
 * from the library's plan (libsession_request_redis_command): the keys,
 * values and TTLs connect-redis uses are not written here.
 *
 * Failures are never silent: a command that fails (connection refused or
 * broken, a timeout, an error reply) answers the action with the engine's
 * store failure and its message. A broken connection is re-established and
 * the command sent once more (GET, SET, EXPIRE and DEL are idempotent for a
 * session record), so a Redis restart while the server is idle costs no
 * request; a timeout is not retried.
 */
#ifndef VIEW_COUNTER_REDIS_STORE_H
#define VIEW_COUNTER_REDIS_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "libsession.h"

typedef struct {
    char host[256];
    int port;
    int db;
    struct timeval timeout; /* for connecting and for each command */
    redisContext *ctx;      /* NULL until connected, and after a failure */
    libsession_redis_options *options;
} redis_store;

/* Parses `url` (redis://host[:port][/db]) and connect-redis's options (JSON
 * text, NULL for the defaults), and connects (a failure to connect is only
 * reported on stderr: the store connects again at its first command).
 * Returns 0, or -1 with a message in `err`. */
int redis_store_open(redis_store *s, const char *url, const char *options_json, size_t options_len, char *err,
                     size_t err_size);

void redis_store_close(redis_store *s);

/* Answers the request's current LOAD, SAVE, TOUCH or DESTROY through the
 * plan. Returns the result of the handle_* call (or of the plan). */
libsession_result redis_store_answer(redis_store *s, libsession_request *req, libsession_action kind);

#endif
