/*
 * SQL shared by the worker's batch statements.
 *
 * OKS_WORKER_SQL_TENANT is the tenant id ($1) hidden from the planner in an InitPlan. A
 * tenant's own statistics are stale exactly while it matters — a new tenant's first full sync,
 * or a tenant that grew since the last ANALYZE — and then every index that starts with
 * tenant_id is estimated at one row, the same as the unique key the lookup names; on that tie
 * PostgreSQL picked (tenant_id, status) over (tenant_id, okta_id) and read the whole tenant for
 * each user of a batch (10,000 × 10,000 rows, docs/benchmarks.md "Worker rules"). Hidden, the
 * tenant is estimated as an average one, and the lookup that names the whole unique key wins.
 * Use it where a tenant predicate sits next to a key; tenant-wide scans keep $1::uuid.
 */
#ifndef OKS_WORKER_SQL_H
#define OKS_WORKER_SQL_H

#define OKS_WORKER_SQL_TENANT "(SELECT $1::uuid)"

#endif
