#include "oks_worker_pg.h"

#include "core/oks_log.h"

#include <stdlib.h>
#include <string.h>

int oks_worker_pg_init(oks_worker_pg *pg, const char *url, int64_t statement_timeout_ms,
                       oks_err *err)
{
    memset(pg, 0, sizeof *pg);
    pg->statement_timeout_ms = statement_timeout_ms;
    pg->url = strdup(url ? url : "");
    if (!pg->url)
        return oks_err_set(err, OKS_E_NOMEM, "out of memory");
    return 0;
}

void oks_worker_pg_close(oks_worker_pg *pg)
{
    if (pg->db)
        oks_db_close(pg->db);
    free(pg->url);
    memset(pg, 0, sizeof *pg);
}

oks_db *oks_worker_pg_get(oks_worker_pg *pg, oks_err *err)
{
    if (pg->db) {
        if (oks_db_ensure(pg->db, err) != 0)
            return NULL;
        return pg->db;
    }
    oks_db_opts o = {.url = pg->url,
                     .connect_timeout_s = 5,
                     .statement_timeout_ms = pg->statement_timeout_ms,
                     .application_name = "oktasync-worker"};
    pg->db = oks_db_connect(&o, err);
    if (!pg->db) {
        /* A bad URL or refused credentials can be fixed by the operator without a restart of
         * the message stream; treat every connect failure as "database unavailable". */
        err->code = OKS_E_UNAVAILABLE;
        return NULL;
    }
    OKS_LOG_INFO("database connected");
    return pg->db;
}
