/*
 * The worker's database handle: common/db's oks_db, connected lazily so the daemon starts and
 * stays up while PostgreSQL is down (it then reports not-ready and retries the message instead
 * of exiting). After the first connect, oks_db_ensure re-establishes a broken connection.
 */
#ifndef OKS_WORKER_PG_H
#define OKS_WORKER_PG_H

#include "db/oks_db.h"

typedef struct oks_worker_pg {
    char *url;
    int64_t statement_timeout_ms;
    oks_db *db; /* NULL until the first successful connect */
} oks_worker_pg;

int oks_worker_pg_init(oks_worker_pg *pg, const char *url, int64_t statement_timeout_ms,
                       oks_err *err);
void oks_worker_pg_close(oks_worker_pg *pg);

/* A usable handle (connecting or reconnecting when needed); NULL with a retriable err when the
 * database cannot be reached. */
oks_db *oks_worker_pg_get(oks_worker_pg *pg, oks_err *err);

#endif
