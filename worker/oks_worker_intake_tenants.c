#include "oks_worker_intake_tenants.h"

#include "core/oks_time.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void oks_worker_intake_tenants_free(oks_worker_intake_tenants *c)
{
    free(c->e);
    memset(c, 0, sizeof *c);
}

void oks_worker_intake_tenants_forget(oks_worker_intake_tenants *c)
{
    if (c->e)
        memset(c->e, 0, OKS_WORKER_TENANTS_SLOTS * sizeof *c->e);
    c->n = 0;
}

/* FNV-1a over the id, case folded (ids compare case-insensitively). */
static size_t home(const char *id)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ (uint32_t)tolower(*p)) * 16777619u;
    return h & (OKS_WORKER_TENANTS_SLOTS - 1);
}

/* id's slot, or the free slot where it would go (the table is never full: at most half used). */
static oks_worker_tenant_entry *slot_of(oks_worker_intake_tenants *c, const char *id)
{
    size_t i = home(id);
    while (c->e[i].id[0] && strcasecmp(c->e[i].id, id) != 0)
        i = (i + 1) & (OKS_WORKER_TENANTS_SLOTS - 1);
    return &c->e[i];
}

static oks_worker_tenant_entry *find(oks_worker_intake_tenants *c, const char *id, int64_t now)
{
    oks_worker_tenant_entry *e = slot_of(c, id);
    return e->id[0] && e->expires_ms > now ? e : NULL;
}

static void put(oks_worker_intake_tenants *c, const char *id, bool exists, int64_t now)
{
    oks_worker_tenant_entry *slot = slot_of(c, id);
    if (!slot->id[0]) {
        if (c->n == OKS_WORKER_TENANTS_MAX) { /* bounded: start over rather than grow */
            oks_worker_intake_tenants_forget(c);
            slot = slot_of(c, id);
        }
        c->n++;
    }
    snprintf(slot->id, sizeof slot->id, "%s", id);
    slot->exists = exists;
    slot->expires_ms = now + (exists ? OKS_WORKER_TENANT_KNOWN_MS : OKS_WORKER_TENANT_UNKNOWN_MS);
}

/* '{id,id,...}': ids are canonical uuids (checked by the envelope parser), no quoting needed. */
static char *array_literal(size_t n, const char *const *ids, const bool *want)
{
    char *s = malloc(n * OKS_WORKER_UUID_MAX + 3), *p = s;
    if (!s)
        return NULL;
    *p++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (!want[i])
            continue;
        if (p[-1] != '{')
            *p++ = ',';
        size_t l = strlen(ids[i]);
        memcpy(p, ids[i], l);
        p += l;
    }
    *p++ = '}';
    *p = '\0';
    return s;
}

int oks_worker_intake_tenants_check(oks_worker_intake_tenants *c, oks_db *db, size_t n,
                                    const char *const *ids, bool *exists, oks_err *err)
{
    int64_t now = oks_now_mono_ms();
    if (!c->e) {
        c->e = calloc(OKS_WORKER_TENANTS_SLOTS, sizeof *c->e);
        if (!c->e)
            return oks_err_set(err, OKS_E_NOMEM, "out of memory");
    }
    bool *ask = calloc(n ? n : 1, sizeof *ask);
    if (!ask)
        return oks_err_set(err, OKS_E_NOMEM, "out of memory");
    size_t asking = 0;
    for (size_t i = 0; i < n; i++) {
        oks_worker_tenant_entry *e = find(c, ids[i], now);
        exists[i] = e && e->exists;
        ask[i] = !e;
        asking += ask[i];
    }
    int rc = 0;
    if (asking > 0 && !db)
        rc = 1;
    else if (asking > 0) {
        char *lit = array_literal(n, ids, ask);
        PGresult *r = NULL;
        if (!lit)
            rc = oks_err_set(err, OKS_E_NOMEM, "out of memory");
        else {
            const char *params[] = {lit};
            r = oks_db_exec_params(db, "SELECT id::text FROM tenants WHERE id = ANY($1::uuid[])", 1,
                                   params, err);
            rc = r ? 0 : -1;
        }
        if (rc == 0) {
            for (size_t i = 0; i < n; i++) {
                if (!ask[i])
                    continue;
                exists[i] = false;
                for (int row = 0; row < PQntuples(r) && !exists[i]; row++)
                    exists[i] = strcasecmp(PQgetvalue(r, row, 0), ids[i]) == 0;
                put(c, ids[i], exists[i], now);
            }
        }
        PQclear(r);
        free(lit);
    }
    free(ask);
    return rc;
}
