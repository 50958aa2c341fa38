/*
 * Which tenants exist, as the intake needs to know before it records an event: a bounded cache
 * in front of the tenants table. Known tenants are remembered for a minute (a tenant deleted
 * meanwhile makes the intake's insert fail its foreign key; the intake then forgets everything
 * and asks again), unknown ones for a few seconds (a tenant added just now is seen soon).
 */
#ifndef OKS_WORKER_INTAKE_TENANTS_H
#define OKS_WORKER_INTAKE_TENANTS_H

#include "db/oks_db.h"
#include "oks_worker_envelope.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    OKS_WORKER_TENANTS_MAX = 4096,   /* cache entries; when full it is emptied */
    OKS_WORKER_TENANTS_SLOTS = 8192, /* hash slots (a power of two, twice the entries) */
    OKS_WORKER_TENANT_KNOWN_MS = 60000,
    OKS_WORKER_TENANT_UNKNOWN_MS = 3000,
};

typedef struct oks_worker_tenant_entry {
    char id[OKS_WORKER_UUID_MAX]; /* "" = free slot */
    bool exists;
    int64_t expires_ms; /* monotonic */
} oks_worker_tenant_entry;

/* Open addressing over the id's lowercase form: a batch of 500 events costs 500 probes however
 * many tenants the worker serves (a list scanned per event cost up to 4,096 compares each). */
typedef struct oks_worker_intake_tenants {
    oks_worker_tenant_entry *e; /* OKS_WORKER_TENANTS_SLOTS */
    size_t n;                   /* entries in use */
} oks_worker_intake_tenants;

void oks_worker_intake_tenants_free(oks_worker_intake_tenants *c);
void oks_worker_intake_tenants_forget(oks_worker_intake_tenants *c);

/* exists[i] for ids[i] (canonical uuids). Unknown or expired ids are looked up in ONE query.
 * -1 with a retriable err when the database cannot answer. With db NULL, from the cache only:
 * 1 when it cannot answer for every id (nothing is asked). */
int oks_worker_intake_tenants_check(oks_worker_intake_tenants *c, oks_db *db, size_t n,
                                    const char *const *ids, bool *exists, oks_err *err);

#endif
