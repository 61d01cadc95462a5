/*
 * An in-memory session store: a chained hash table of records with expiry,
 * with the semantics of express-session's MemoryStore (an expired record is
 * deleted when looked up; a touch refreshes a live record), and Connect's
 * reaping when asked for (store_set_reaping): a store maxAge (a record not
 * written or touched for longer is expired) and a reapInterval (the store
 * says when its next reap is due; the host reaps on its clock). Like the
 * library, it reads no clock: every call takes `now` (Unix ms).
 */
#ifndef VIEW_COUNTER_STORE_H
#define VIEW_COUNTER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store_entry {
    char *id;
    size_t id_len;
    char *record;
    size_t record_len;
    bool has_expiry;
    int64_t expires_at; /* Unix ms; the record is expired when expires_at <= now (the
                           earlier of the cookie's expiry and, with a store maxAge,
                           the last write or touch + maxAge + 1) */
    struct store_entry *next;
} store_entry;

typedef struct {
    store_entry **buckets;
    size_t bucket_count; /* a power of two */
    size_t len;
    size_t max_entries;
    int64_t reap_interval; /* ms between reaps; 0: no scheduled reaps */
    int64_t max_age;       /* ms a record lives after its last write or touch; 0: no limit */
    int64_t next_reap;     /* Unix ms; INT64_MIN until the first `now` starts the schedule */
} mem_store;

/* Returns 0, or -1 if out of memory. */
int store_init(mem_store *s, size_t max_entries);
void store_free(mem_store *s);

/* The live record under id, or NULL (an expired one is deleted). */
const store_entry *store_get(mem_store *s, const uint8_t *id, size_t id_len, int64_t now);

/* Inserts or replaces a record. Returns 0, or -1 when out of memory or full. */
int store_set(mem_store *s, const uint8_t *id, size_t id_len, const uint8_t *record, size_t record_len,
              bool has_expiry, int64_t expires_at, int64_t now);

/* Refreshes a live record: its text and expiry become the given ones (the
 * engine sends the full record; it differs from the stored one only in its
 * cookie when the session is unmodified). Absent or expired: nothing
 * (an expired one is deleted). Returns 0, or -1 when out of memory. */
int store_touch(mem_store *s, const uint8_t *id, size_t id_len, const uint8_t *record, size_t record_len,
                bool has_expiry, int64_t expires_at, int64_t now);

/* Deletes the record under id (absent is fine). */
void store_destroy(mem_store *s, const uint8_t *id, size_t id_len);

/* Deletes every expired record; returns how many (the reap schedule stays). */
size_t store_sweep(mem_store *s, int64_t now);

/* Connect's reaping: reap_interval and max_age in ms (0: off). Call before
 * storing records. */
void store_set_reaping(mem_store *s, int64_t reap_interval, int64_t max_age);

/* When the next reap is due (in *at; the first call starts the schedule
 * reap_interval after `now`); false without a reap_interval. */
bool store_next_reap_at(mem_store *s, int64_t now, int64_t *at);

/* Reaps (store_sweep) if the next reap is due at `now`, and schedules the
 * following one reap_interval after `now`; returns how many records went. */
size_t store_reap_if_due(mem_store *s, int64_t now);

#endif
