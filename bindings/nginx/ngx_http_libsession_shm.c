/*
 * The shared-memory store: records as JSON text in a slab zone shared by
 * all workers, following express-session's MemoryStore (the engine checks
 * the stored cookie.expires of what it loads; touch applies only the
 * touched cookie, by libsession_stored_record_apply_touch).
 *
 * Each record is in two red-black trees: by ID (hash and bytes), and, when
 * it expires, by expiry; expired records are reaped by every write and
 * found missing by reads. When the zone is full the least recently used
 * records make room. The zone is kept across `nginx -s reload`.
 */

#include "ngx_http_libsession.h"


#define NGX_HTTP_LIBSESSION_REAP         16
#define NGX_HTTP_LIBSESSION_REAP_TIMER   256
#define NGX_HTTP_LIBSESSION_REAP_PERIOD  5000


typedef struct {
    ngx_rbtree_t        rbtree;
    ngx_rbtree_node_t   sentinel;
    ngx_rbtree_t        expiry;
    ngx_rbtree_node_t   expiry_sentinel;
    ngx_queue_t         lru;
} ngx_http_libsession_shm_sh_t;


struct ngx_http_libsession_shm_s {
    ngx_http_libsession_shm_sh_t  *sh;
    ngx_slab_pool_t               *shpool;
    ngx_shm_zone_t                *zone;
    ngx_event_t                    reaper;   /* this worker's */
};


typedef struct {
    ngx_rbtree_node_t   node;         /* key: murmur2 of the ID */
    ngx_rbtree_node_t   expiry_node;  /* key: expiry, Unix ms */
    ngx_queue_t         queue;
    unsigned            expires:1;
    u_short             id_len;
    size_t              record_len;
    u_char              data[1];      /* the ID, then the record */
} ngx_http_libsession_shm_node_t;


static ngx_int_t ngx_http_libsession_shm_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_libsession_shm_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_http_libsession_shm_node_t *ngx_http_libsession_shm_lookup(
    ngx_http_libsession_shm_t *shm, libsession_str *id, uint32_t hash);
static void ngx_http_libsession_shm_delete(ngx_http_libsession_shm_t *shm,
    ngx_http_libsession_shm_node_t *sn);
static void ngx_http_libsession_shm_reap(ngx_http_libsession_shm_t *shm,
    int64_t now, ngx_uint_t max);
static void ngx_http_libsession_shm_reaper(ngx_event_t *ev);
static ngx_int_t ngx_http_libsession_shm_put(ngx_http_libsession_shm_t *shm,
    libsession_str *id, uint32_t hash, const u_char *record, size_t len,
    ngx_uint_t expires, int64_t at, ngx_log_t *log);


char *
ngx_http_libsession_shm_conf(ngx_conf_t *cf,
    ngx_http_libsession_store_t *store, ngx_str_t *args, ngx_uint_t n)
{
    u_char          *p;
    ssize_t          size;
    ngx_str_t        name, s;
    ngx_shm_zone_t  *zone;

    if (n != 1 || args[0].len <= 5
        || ngx_strncmp(args[0].data, "zone=", 5) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "expected \"libsession_store shm zone=NAME:SIZE\"");
        return NGX_CONF_ERROR;
    }

    name.data = args[0].data + 5;
    p = (u_char *) ngx_strchr(name.data, ':');

    if (p == NULL || p == name.data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone \"%V\": expected NAME:SIZE",
                           &args[0]);
        return NGX_CONF_ERROR;
    }

    name.len = p - name.data;
    s.data = p + 1;
    s.len = args[0].data + args[0].len - s.data;

    size = ngx_parse_size(&s);
    if (size == NGX_ERROR || size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\" (at least %uzk)",
                           &s, (size_t) (8 * ngx_pagesize / 1024));
        return NGX_CONF_ERROR;
    }

    zone = ngx_shared_memory_add(cf, &name, size,
                                 &ngx_http_libsession_module);
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (zone->data == NULL) {
        store->shm = ngx_pcalloc(cf->pool,
                                 sizeof(ngx_http_libsession_shm_t));
        if (store->shm == NULL) {
            return NGX_CONF_ERROR;
        }

        store->shm->zone = zone;
        zone->init = ngx_http_libsession_shm_init_zone;
        zone->data = store->shm;

    } else {
        /* the same zone named again */
        store->shm = zone->data;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_libsession_shm_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_libsession_shm_t  *oshm = data;

    size_t                      len;
    ngx_http_libsession_shm_t  *shm;

    shm = shm_zone->data;

    if (oshm) {
        /* a reload: the records stay */
        shm->sh = oshm->sh;
        shm->shpool = oshm->shpool;
        return NGX_OK;
    }

    shm->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        shm->sh = shm->shpool->data;
        return NGX_OK;
    }

    shm->sh = ngx_slab_alloc(shm->shpool,
                             sizeof(ngx_http_libsession_shm_sh_t));
    if (shm->sh == NULL) {
        return NGX_ERROR;
    }

    shm->shpool->data = shm->sh;

    ngx_rbtree_init(&shm->sh->rbtree, &shm->sh->sentinel,
                    ngx_http_libsession_shm_insert);
    ngx_rbtree_init(&shm->sh->expiry, &shm->sh->expiry_sentinel,
                    ngx_rbtree_insert_value);
    ngx_queue_init(&shm->sh->lru);

    len = sizeof(" in libsession zone \"\"") + shm_zone->shm.name.len;

    shm->shpool->log_ctx = ngx_slab_alloc(shm->shpool, len);
    if (shm->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(shm->shpool->log_ctx, " in libsession zone \"%V\"%Z",
                &shm_zone->shm.name);

    shm->shpool->log_nomem = 0;

    return NGX_OK;
}


static void
ngx_http_libsession_shm_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t               **p;
    ngx_http_libsession_shm_node_t   *sn, *snt;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else {
            sn = (ngx_http_libsession_shm_node_t *) node;
            snt = (ngx_http_libsession_shm_node_t *) temp;

            p = (ngx_memn2cmp(sn->data, snt->data, sn->id_len, snt->id_len)
                 < 0) ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static ngx_http_libsession_shm_node_t *
ngx_http_libsession_shm_lookup(ngx_http_libsession_shm_t *shm,
    libsession_str *id, uint32_t hash)
{
    ngx_int_t                        rc;
    ngx_rbtree_node_t               *node, *sentinel;
    ngx_http_libsession_shm_node_t  *sn;

    node = shm->sh->rbtree.root;
    sentinel = shm->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (hash < node->key) {
            node = node->left;
            continue;
        }

        if (hash > node->key) {
            node = node->right;
            continue;
        }

        sn = (ngx_http_libsession_shm_node_t *) node;

        rc = ngx_memn2cmp((u_char *) id->data, sn->data, id->len,
                          sn->id_len);
        if (rc == 0) {
            return sn;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


static void
ngx_http_libsession_shm_delete(ngx_http_libsession_shm_t *shm,
    ngx_http_libsession_shm_node_t *sn)
{
    ngx_rbtree_delete(&shm->sh->rbtree, &sn->node);

    if (sn->expires) {
        ngx_rbtree_delete(&shm->sh->expiry, &sn->expiry_node);
    }

    ngx_queue_remove(&sn->queue);
    ngx_slab_free_locked(shm->shpool, sn);
}


/* Deletes records whose expiry has passed, the earliest first. */
static void
ngx_http_libsession_shm_reap(ngx_http_libsession_shm_t *shm, int64_t now,
    ngx_uint_t max)
{
    ngx_uint_t                       n;
    ngx_rbtree_node_t               *node;
    ngx_http_libsession_shm_node_t  *sn;

    for (n = 0; n < max; n++) {
        if (shm->sh->expiry.root == shm->sh->expiry.sentinel) {
            return;
        }

        node = ngx_rbtree_min(shm->sh->expiry.root, shm->sh->expiry.sentinel);
        if ((int64_t) node->key > now) {
            return;
        }

        sn = (ngx_http_libsession_shm_node_t *)
                 ((u_char *) node
                  - offsetof(ngx_http_libsession_shm_node_t, expiry_node));
        ngx_http_libsession_shm_delete(shm, sn);
    }
}


/* Every worker reaps each zone now and then too, so that records nobody
 * reads or writes again go away; a cancelable timer, which does not keep a
 * worker from exiting. */
void
ngx_http_libsession_shm_start_reaper(ngx_http_libsession_store_t *store,
    ngx_log_t *log)
{
    ngx_http_libsession_shm_t  *shm = store->shm;

    if (shm->reaper.handler != NULL) {
        return;     /* one zone named by several directives */
    }

    shm->reaper.handler = ngx_http_libsession_shm_reaper;
    shm->reaper.data = shm;
    shm->reaper.log = log;
    shm->reaper.cancelable = 1;

    ngx_add_timer(&shm->reaper, NGX_HTTP_LIBSESSION_REAP_PERIOD);
}


static void
ngx_http_libsession_shm_reaper(ngx_event_t *ev)
{
    ngx_http_libsession_shm_t  *shm = ev->data;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    ngx_shmtx_lock(&shm->shpool->mutex);
    ngx_http_libsession_shm_reap(shm, ngx_http_libsession_now(),
                                 NGX_HTTP_LIBSESSION_REAP_TIMER);
    ngx_shmtx_unlock(&shm->shpool->mutex);

    ngx_add_timer(ev, NGX_HTTP_LIBSESSION_REAP_PERIOD);
}


/* Writes a record (the zone is locked), replacing the ID's. */
static ngx_int_t
ngx_http_libsession_shm_put(ngx_http_libsession_shm_t *shm,
    libsession_str *id, uint32_t hash, const u_char *record, size_t len,
    ngx_uint_t expires, int64_t at, ngx_log_t *log)
{
    size_t                           size;
    ngx_uint_t                       tries;
    ngx_queue_t                     *q;
    ngx_http_libsession_shm_node_t  *sn, *old;

    if (id->len > 0xffff) {
        return NGX_ERROR;
    }

    old = ngx_http_libsession_shm_lookup(shm, id, hash);
    if (old != NULL) {
        ngx_http_libsession_shm_delete(shm, old);
    }

    size = offsetof(ngx_http_libsession_shm_node_t, data) + id->len + len;

    for (tries = 0; /* void */; tries++) {
        sn = ngx_slab_alloc_locked(shm->shpool, size);
        if (sn != NULL) {
            break;
        }

        /* full: the least recently used records make room */
        if (ngx_queue_empty(&shm->sh->lru) || tries == 64) {
            ngx_log_error(NGX_LOG_ERR, log, 0,
                          "libsession: no room for a %uz-byte record in "
                          "zone \"%V\"", len, &shm->zone->shm.name);
            return NGX_ERROR;
        }

        q = ngx_queue_last(&shm->sh->lru);
        ngx_http_libsession_shm_delete(shm,
            ngx_queue_data(q, ngx_http_libsession_shm_node_t, queue));
    }

    sn->node.key = hash;
    sn->id_len = (u_short) id->len;
    sn->record_len = len;
    sn->expires = expires ? 1 : 0;
    ngx_memcpy(sn->data, id->data, id->len);
    ngx_memcpy(sn->data + id->len, record, len);

    ngx_rbtree_insert(&shm->sh->rbtree, &sn->node);

    if (expires) {
        sn->expiry_node.key = (ngx_rbtree_key_t) (at < 0 ? 0 : at);
        ngx_rbtree_insert(&shm->sh->expiry, &sn->expiry_node);
    }

    ngx_queue_insert_head(&shm->sh->lru, &sn->queue);

    return NGX_OK;
}


ngx_int_t
ngx_http_libsession_shm_action(ngx_http_libsession_ctx_t *ctx,
    libsession_action kind, libsession_str *id)
{
    bool                             has;
    u_char                          *copy;
    size_t                           len;
    int64_t                          now, at;
    uint32_t                         hash;
    ngx_int_t                        rc;
    ngx_log_t                       *log;
    const char                      *error;
    libsession_str                   record, text;
    libsession_result                lrc;
    libsession_stored_record        *held, *touched;
    ngx_http_libsession_shm_t       *shm;
    ngx_http_libsession_shm_node_t  *sn;

    shm = ctx->store->shm;
    log = ctx->request->connection->log;
    now = ngx_http_libsession_now();
    hash = ngx_murmur_hash2((u_char *) id->data, id->len);

    if (kind == LIBSESSION_ACTION_LOAD) {
        copy = NULL;
        len = 0;

        ngx_shmtx_lock(&shm->shpool->mutex);

        sn = ngx_http_libsession_shm_lookup(shm, id, hash);

        if (sn != NULL && sn->expires
            && (int64_t) sn->expiry_node.key <= now)
        {
            ngx_http_libsession_shm_delete(shm, sn);
            sn = NULL;
        }

        if (sn != NULL) {
            len = sn->record_len;
            copy = ngx_pnalloc(ctx->request->pool, len ? len : 1);
            if (copy != NULL) {
                ngx_memcpy(copy, sn->data + sn->id_len, len);
                ngx_queue_remove(&sn->queue);
                ngx_queue_insert_head(&shm->sh->lru, &sn->queue);
            }
        }

        ngx_shmtx_unlock(&shm->shpool->mutex);

        if (sn != NULL && copy == NULL) {
            return ngx_http_libsession_answer_load_failed(ctx,
                                                          "out of memory");
        }

        ctx->loaded.data = copy;
        ctx->loaded.len = len;

        return ngx_http_libsession_answer_load(ctx, copy, len);
    }

    if (kind == LIBSESSION_ACTION_DESTROY) {
        ngx_shmtx_lock(&shm->shpool->mutex);

        sn = ngx_http_libsession_shm_lookup(shm, id, hash);
        if (sn != NULL) {
            ngx_http_libsession_shm_delete(shm, sn);
        }

        ngx_shmtx_unlock(&shm->shpool->mutex);

        return ngx_http_libsession_answer_store(ctx, NULL);
    }

    /* SAVE or TOUCH: the record, and its expiry by the C ABI's rule */

    lrc = libsession_request_action_record(ctx->req, &record);
    if (lrc != LIBSESSION_RESULT_OK || record.data == NULL) {
        ngx_http_libsession_log_result(log, NGX_LOG_ERR, ctx->req,
                                       "reading the record", lrc);
        return NGX_ERROR;
    }

    lrc = libsession_request_action_expires_at(ctx->req, &at, &has);
    if (lrc != LIBSESSION_RESULT_OK) {
        ngx_http_libsession_log_result(log, NGX_LOG_ERR, ctx->req,
                                       "reading the expiry", lrc);
        return NGX_ERROR;
    }

    error = NULL;

    ngx_shmtx_lock(&shm->shpool->mutex);

    ngx_http_libsession_shm_reap(shm, now, NGX_HTTP_LIBSESSION_REAP);

    if (kind == LIBSESSION_ACTION_SAVE) {
        if (ngx_http_libsession_shm_put(shm, id, hash, record.data,
                                        record.len, has, at, log)
            != NGX_OK)
        {
            error = "the shared-memory zone is full";
        }

    } else {
        /* TOUCH: MemoryStore's touch of the record held, if any */
        sn = ngx_http_libsession_shm_lookup(shm, id, hash);

        if (sn != NULL && ctx->loaded.data != NULL
            && sn->record_len == ctx->loaded.len
            && ngx_memcmp(sn->data + sn->id_len, ctx->loaded.data,
                          ctx->loaded.len) == 0)
        {
            /* the record held is the one this request loaded, and a TOUCH
             * means the session was not modified: the two differ only in
             * their cookie, and apply_touch's rule makes the held record
             * the touched one */
            if (ngx_http_libsession_shm_put(shm, id, hash, record.data,
                                            record.len, has, at, log)
                != NGX_OK)
            {
                error = "touching the record failed";
            }

        } else if (sn != NULL) {
            held = NULL;
            touched = NULL;
            rc = NGX_ERROR;

            if (libsession_stored_record_from_text(sn->data + sn->id_len,
                                                   sn->record_len, &held)
                == LIBSESSION_RESULT_OK
                && libsession_stored_record_from_text(record.data,
                                                      record.len, &touched)
                   == LIBSESSION_RESULT_OK
                && libsession_stored_record_apply_touch(held, touched)
                   == LIBSESSION_RESULT_OK
                && libsession_stored_record_text(held, &text)
                   == LIBSESSION_RESULT_OK)
            {
                rc = ngx_http_libsession_shm_put(shm, id, hash, text.data,
                                                 text.len, has, at, log);
            }

            libsession_stored_record_free(touched);
            libsession_stored_record_free(held);

            if (rc != NGX_OK) {
                error = "touching the record failed";
            }
        }
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return ngx_http_libsession_answer_store(ctx, error);
}
