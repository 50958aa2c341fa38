#include "oks_worker_okta.h"

#include "core/oks_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void entry_free(oks_worker_okta_entry *e)
{
    if (e->client)
        oks_okta_client_free(e->client);
    free(e->base_url);
    if (e->token) {
        for (volatile char *p = e->token; *p; p++)
            *p = 0;
        free(e->token);
    }
    memset(e, 0, sizeof *e);
}

void oks_worker_okta_cache_free(oks_worker_okta_cache *cache)
{
    for (int i = 0; i < OKS_WORKER_OKTA_CACHE; i++)
        entry_free(&cache->e[i]);
}

/* The slot for tenant_id: its own, else a free one, else the least recently used. */
static oks_worker_okta_entry *slot_for(oks_worker_okta_cache *cache, const char *tenant_id)
{
    oks_worker_okta_entry *free_slot = NULL, *oldest = &cache->e[0];
    for (int i = 0; i < OKS_WORKER_OKTA_CACHE; i++) {
        oks_worker_okta_entry *e = &cache->e[i];
        if (e->client && strcmp(e->tenant, tenant_id) == 0)
            return e;
        if (!e->client && !free_slot)
            free_slot = e;
        if (e->used_ms < oldest->used_ms)
            oldest = e;
    }
    return free_slot ? free_slot : oldest;
}

oks_okta_client *oks_worker_okta_client(oks_worker_okta_cache *cache, const char *tenant_id,
                                        const oks_worker_tenant *t, oks_err *err)
{
    oks_worker_okta_entry *e = slot_for(cache, tenant_id);
    if (e->client && strcmp(e->tenant, tenant_id) == 0 &&
        strcmp(e->base_url, t->okta_base_url) == 0 && strcmp(e->token, t->api_token) == 0) {
        e->used_ms = oks_now_mono_ms();
        return e->client;
    }
    entry_free(e);
    oks_okta_client_opts o = cache->base;
    o.base_url = t->okta_base_url;
    o.token = t->api_token;
    e->client = oks_okta_client_new(&o, err);
    if (!e->client)
        return NULL;
    snprintf(e->tenant, sizeof e->tenant, "%s", tenant_id);
    e->base_url = strdup(t->okta_base_url);
    e->token = strdup(t->api_token);
    if (!e->base_url || !e->token) {
        entry_free(e);
        oks_err_set(err, OKS_E_NOMEM, "out of memory");
        return NULL;
    }
    e->used_ms = oks_now_mono_ms();
    return e->client;
}
