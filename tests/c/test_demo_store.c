/*
 * The C demo server's in-memory store (examples/c/store.c) reaping as
 * Connect's MemoryStore (issue 14, item 4): with a reapInterval of 100 ms
 * and a fake clock, expired records (past their cookie's expiry, or older
 * than the store's maxAge since their last write or touch) are gone after
 * the next reap, and live ones stay. Built on its own (the store has no
 * libsession dependency), under the sanitizers and valgrind by
 * scripts/test-c.sh.
 */
#include <stdio.h>
#include <string.h>

#include "../../examples/c/store.h"

static int failed = 0, passed = 0;

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (cond) {                                                        \
            passed++;                                                      \
        } else {                                                           \
            failed++;                                                      \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
        }                                                                  \
    } while (0)

#define ID(lit) (const uint8_t *)(lit), (sizeof(lit) - 1)
static const uint8_t REC[] = "{\"cookie\":{},\"n\":1}";

static int put(mem_store *s, const char *id, bool has_expiry, int64_t expires_at, int64_t now) {
    return store_set(s, (const uint8_t *)id, strlen(id), REC, sizeof REC - 1, has_expiry, expires_at, now);
}

static bool has(mem_store *s, const char *id, int64_t now) {
    return store_get(s, (const uint8_t *)id, strlen(id), now) != NULL;
}

static void reaps_on_its_interval(void) {
    mem_store s;
    int64_t at = 0;
    CHECK(store_init(&s, 100) == 0);
    CHECK(!store_next_reap_at(&s, 0, &at)); /* off by default */
    CHECK(store_reap_if_due(&s, 1000000) == 0);
    store_set_reaping(&s, 100, 0);
    CHECK(store_next_reap_at(&s, 1000, &at) && at == 1100); /* the first now starts the schedule */
    CHECK(put(&s, "gone", true, 1040, 1000) == 0);
    CHECK(put(&s, "kept", true, 5000, 1000) == 0);
    CHECK(put(&s, "forever", false, 0, 1000) == 0);
    CHECK(store_reap_if_due(&s, 1099) == 0 && s.len == 3);
    CHECK(store_reap_if_due(&s, 1100) == 1 && s.len == 2);
    CHECK(has(&s, "kept", 1100) && has(&s, "forever", 1100));
    CHECK(store_next_reap_at(&s, 1100, &at) && at == 1200);
    CHECK(store_reap_if_due(&s, 5000) == 1); /* late: the next is an interval after it */
    CHECK(store_next_reap_at(&s, 5000, &at) && at == 5100);
    store_free(&s);
}

static void store_max_age_counts_from_the_last_write_or_touch(void) {
    mem_store s;
    int64_t at = 0;
    CHECK(store_init(&s, 100) == 0);
    store_set_reaping(&s, 100, 1000);
    CHECK(store_next_reap_at(&s, 0, &at) && at == 100);
    CHECK(put(&s, "a", false, 0, 0) == 0);
    CHECK(put(&s, "b", true, 500, 0) == 0);
    CHECK(put(&s, "c", false, 0, 0) == 0);
    CHECK(has(&s, "a", 1000)); /* Connect's rule: gone once last access < now - maxAge */
    CHECK(store_touch(&s, ID("a"), REC, sizeof REC - 1, false, 0, 900) == 0);
    CHECK(!has(&s, "b", 600)); /* the cookie's expiry counts when earlier */
    CHECK(store_reap_if_due(&s, 1001) == 1); /* c is stale */
    CHECK(has(&s, "a", 1900));
    CHECK(!has(&s, "a", 1901));
    CHECK(s.len == 0);
    store_free(&s);
}

/* A pseudo-random model check: at every step the host reaps if due; after a
 * reap exactly the live records remain, before it none goes. */
static void no_live_record_is_reaped(void) {
    uint64_t rng = 88172645463325252ULL;
    int round;
    for (round = 0; round < 200; round++) {
        mem_store s;
        int64_t now = 1000000, due = 0, deadline[8];
        bool present[8];
        int step, i;
        int64_t max_age;
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        max_age = (rng % 2) ? 0 : (int64_t)(rng % 800) + 1;
        CHECK(store_init(&s, 100) == 0);
        store_set_reaping(&s, 100, max_age);
        CHECK(store_next_reap_at(&s, now, &due) && due == now + 100);
        memset(present, 0, sizeof present);
        for (step = 0; step < 100; step++) {
            char id[2] = {0, 0};
            size_t before = s.len, reaped;
            int k;
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            now += (int64_t)(rng % 250);
            reaped = store_reap_if_due(&s, now);
            if (now >= due) {
                due = now + 100;
                for (i = 0; i < 8; i++) {
                    if (present[i] && deadline[i] <= now) {
                        present[i] = false;
                    }
                }
            } else {
                CHECK(reaped == 0 && s.len == before);
            }
            for (i = 0, k = 0; i < 8; i++) {
                k += present[i];
            }
            CHECK(s.len == (size_t)k); /* live ones all kept; after a reap, only they */
            k = (int)((rng >> 8) % 8);
            id[0] = (char)('a' + k);
            if ((rng >> 16) % 3 != 0) {
                int64_t ttl = (int64_t)((rng >> 20) % 600);
                int64_t d = now + ttl;
                if (max_age > 0 && now + max_age + 1 < d) {
                    d = now + max_age + 1;
                }
                CHECK(put(&s, id, true, now + ttl, now) == 0);
                present[k] = true;
                deadline[k] = d;
            } else {
                store_destroy(&s, (const uint8_t *)id, 1);
                present[k] = false;
            }
        }
        store_free(&s);
    }
}

int main(void) {
    reaps_on_its_interval();
    store_max_age_counts_from_the_last_write_or_touch();
    no_live_record_is_reaped();
    printf("demo_store: %d checks, %d failed\n", passed + failed, failed);
    return failed == 0 ? 0 : 1;
}
