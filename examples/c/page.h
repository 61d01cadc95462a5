/*
 * The demo's page and event counters, byte for byte those of the Rust demo
 * (examples/demo.rs) and the Python one (bindings/python/src/libsession/demo.py):
 * tests/demos/ checks that the three serve the same HTML and the same
 * /stats JSON.
 */
#ifndef LIBSESSION_DEMO_PAGE_H
#define LIBSESSION_DEMO_PAGE_H

#include <stddef.h>

#include "libsession.h"

/* What a page says happened. */
typedef struct {
    const char *title;
    const char *what;
} demo_page;

extern const demo_page PAGE_VIEWS, PAGE_LOGIN, PAGE_LOGOUT, PAGE_NOT_FOUND, PAGE_BAD_USER, PAGE_METHOD,
    PAGE_STORE_ERROR;

/* Renders `page` with the state of `req`'s session (views, user, a
 * shortened ID, the cookie's attributes), or with no session when `req` is
 * NULL or has none, into `out` (NUL-terminated). Returns 0, or -1 when it
 * does not fit. */
int page_render(const demo_page *page, const libsession_request *req, char *out, size_t size);

/* Drains `req`'s events into the counters and counts the request; every
 * 100 requests prints the counters on stderr. */
void stats_count(libsession_request *req);

/* {"requests":N,"events":{"no_cookie":N,...}} into `out`. Returns 0 or -1. */
int stats_json(char *out, size_t size);

/* `?user=NAME` of a query (NULL: none) into `out`: "demo" when absent or
 * empty. Returns 0, or -1 when NAME is not 1 to 64 letters, digits or ._- */
int user_param(const char *query, char *out, size_t size);

#endif
