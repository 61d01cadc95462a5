#include "store.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash(const uint8_t *p, size_t n) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    size_t i;
    for (i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static bool expired(const store_entry *e, int64_t now) {
    return e->has_expiry && e->expires_at <= now;
}

int store_init(mem_store *s, size_t max_entries) {
    s->bucket_count = 64;
    s->len = 0;
    s->max_entries = max_entries;
    s->reap_interval = 0;
    s->max_age = 0;
    s->next_reap = INT64_MIN;
    s->buckets = calloc(s->bucket_count, sizeof *s->buckets);
    return s->buckets == NULL ? -1 : 0;
}

static void entry_free(store_entry *e) {
    free(e->id);
    free(e->record);
    free(e);
}

void store_free(mem_store *s) {
    size_t i;
    for (i = 0; i < s->bucket_count; i++) {
        store_entry *e = s->buckets[i];
        while (e != NULL) {
            store_entry *next = e->next;
            entry_free(e);
            e = next;
        }
    }
    free(s->buckets);
    s->buckets = NULL;
    s->bucket_count = 0;
    s->len = 0;
}

/* The link that points at the entry for id (or at the NULL ending its chain). */
static store_entry **slot(mem_store *s, const uint8_t *id, size_t id_len) {
    store_entry **link = &s->buckets[hash(id, id_len) & (s->bucket_count - 1)];
    while (*link != NULL && !((*link)->id_len == id_len && memcmp((*link)->id, id, id_len) == 0)) {
        link = &(*link)->next;
    }
    return link;
}

static void unlink_entry(mem_store *s, store_entry **link) {
    store_entry *e = *link;
    *link = e->next;
    entry_free(e);
    s->len--;
}

static void grow(mem_store *s) {
    size_t count = s->bucket_count * 2, i;
    store_entry **buckets = calloc(count, sizeof *buckets);
    if (buckets == NULL) {
        return; /* keep the longer chains */
    }
    for (i = 0; i < s->bucket_count; i++) {
        store_entry *e = s->buckets[i];
        while (e != NULL) {
            store_entry *next = e->next;
            size_t b = hash((const uint8_t *)e->id, e->id_len) & (count - 1);
            e->next = buckets[b];
            buckets[b] = e;
            e = next;
        }
    }
    free(s->buckets);
    s->buckets = buckets;
    s->bucket_count = count;
}

static char *copy(const uint8_t *p, size_t n) {
    char *c = malloc(n + 1);
    if (c != NULL) {
        if (n > 0) {
            memcpy(c, p, n);
        }
        c[n] = '\0';
    }
    return c;
}

const store_entry *store_get(mem_store *s, const uint8_t *id, size_t id_len, int64_t now) {
    store_entry **link = slot(s, id, id_len);
    if (*link != NULL && expired(*link, now)) {
        unlink_entry(s, link);
        return NULL;
    }
    return *link;
}

/* The record's expiry with the store's maxAge counted from `now`. */
static void with_max_age(const mem_store *s, int64_t now, bool *has_expiry, int64_t *expires_at) {
    int64_t stale;
    if (s->max_age <= 0) {
        return;
    }
    stale = now > INT64_MAX - s->max_age - 1 ? INT64_MAX : now + s->max_age + 1;
    if (!*has_expiry || stale < *expires_at) {
        *expires_at = stale;
    }
    *has_expiry = true;
}

static int replace(store_entry *e, const uint8_t *record, size_t record_len, bool has_expiry, int64_t expires_at) {
    char *text = copy(record, record_len);
    if (text == NULL) {
        return -1;
    }
    free(e->record);
    e->record = text;
    e->record_len = record_len;
    e->has_expiry = has_expiry;
    e->expires_at = expires_at;
    return 0;
}

int store_set(mem_store *s, const uint8_t *id, size_t id_len, const uint8_t *record, size_t record_len,
              bool has_expiry, int64_t expires_at, int64_t now) {
    store_entry **link = slot(s, id, id_len);
    store_entry *e;
    with_max_age(s, now, &has_expiry, &expires_at);
    if (*link != NULL) {
        return replace(*link, record, record_len, has_expiry, expires_at);
    }
    if (s->len >= s->max_entries && store_sweep(s, now) == 0) {
        return -1;
    }
    e = calloc(1, sizeof *e);
    if (e == NULL) {
        return -1;
    }
    e->id = copy(id, id_len);
    e->id_len = id_len;
    if (e->id == NULL || replace(e, record, record_len, has_expiry, expires_at) != 0) {
        entry_free(e);
        return -1;
    }
    link = slot(s, id, id_len); /* a sweep may have changed the chain */
    e->next = *link;
    *link = e;
    s->len++;
    if (s->len > s->bucket_count * 3 / 4) {
        grow(s);
    }
    return 0;
}

int store_touch(mem_store *s, const uint8_t *id, size_t id_len, const uint8_t *record, size_t record_len,
                bool has_expiry, int64_t expires_at, int64_t now) {
    store_entry **link = slot(s, id, id_len);
    if (*link == NULL) {
        return 0;
    }
    if (expired(*link, now)) {
        unlink_entry(s, link);
        return 0;
    }
    with_max_age(s, now, &has_expiry, &expires_at);
    return replace(*link, record, record_len, has_expiry, expires_at);
}

void store_destroy(mem_store *s, const uint8_t *id, size_t id_len) {
    store_entry **link = slot(s, id, id_len);
    if (*link != NULL) {
        unlink_entry(s, link);
    }
}

size_t store_sweep(mem_store *s, int64_t now) {
    size_t removed = 0, i;
    for (i = 0; i < s->bucket_count; i++) {
        store_entry **link = &s->buckets[i];
        while (*link != NULL) {
            if (expired(*link, now)) {
                unlink_entry(s, link);
                removed++;
            } else {
                link = &(*link)->next;
            }
        }
    }
    return removed;
}

void store_set_reaping(mem_store *s, int64_t reap_interval, int64_t max_age) {
    s->reap_interval = reap_interval > 0 ? reap_interval : 0;
    s->max_age = max_age > 0 ? max_age : 0;
    s->next_reap = INT64_MIN;
}

static int64_t add_ms(int64_t now, int64_t ms) {
    return now > INT64_MAX - ms ? INT64_MAX : now + ms;
}

bool store_next_reap_at(mem_store *s, int64_t now, int64_t *at) {
    if (s->reap_interval <= 0) {
        return false;
    }
    if (s->next_reap == INT64_MIN) {
        s->next_reap = add_ms(now, s->reap_interval);
    }
    *at = s->next_reap;
    return true;
}

size_t store_reap_if_due(mem_store *s, int64_t now) {
    int64_t due;
    if (!store_next_reap_at(s, now, &due) || now < due) {
        return 0;
    }
    s->next_reap = add_ms(now, s->reap_interval);
    return store_sweep(s, now);
}
