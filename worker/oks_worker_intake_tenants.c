#include "oks_worker_intake_tenants.h"

#include "core/oks_time.h"

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
    c->n = 0;
}

static oks_worker_tenant_entry *find(oks_worker_intake_tenants *c, const char *id, int64_t now)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcasecmp(c->e[i].id, id) == 0)
            return c->e[i].expires_ms > now ? &c->e[i] : NULL;
    return NULL;
}

static void put(oks_worker_intake_tenants *c, const char *id, bool exists, int64_t now)
{
    oks_worker_tenant_entry *slot = NULL;
    for (size_t i = 0; i < c->n && !slot; i++)
        if (strcasecmp(c->e[i].id, id) == 0)
            slot = &c->e[i];
    if (!slot) {
        if (c->n == OKS_WORKER_TENANTS_MAX)
            c->n = 0; /* bounded: start over rather than grow */
        slot = &c->e[c->n++];
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
        c->e = calloc(OKS_WORKER_TENANTS_MAX, sizeof *c->e);
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
