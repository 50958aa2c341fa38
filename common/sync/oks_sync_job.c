#include "oks_sync_job.h"

#include "core/oks_time.h"
#include "kafka/oks_kafka_produce.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *oks_sync_job_json(const char *tenant, int64_t run_id, int64_t scheduled_for_ms)
{
    char when[32];
    oks_time_format_iso8601(scheduled_for_ms, when, sizeof when);
    json_t *j = json_pack("{s:i, s:s, s:s, s:I, s:s}", "v", 1, "kind", "full_sync", "tenant",
                          tenant, "run_id", (json_int_t)run_id, "scheduled_for", when);
    if (!j)
        return NULL;
    char *out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return out;
}

static int produce_job(const oks_sync_queue_req *q, int64_t run_id, oks_err *err)
{
    char *value = oks_sync_job_json(q->tenant, run_id, q->scheduled_for_ms);
    if (!value)
        return oks_err_set(err, OKS_E_NOMEM, "building job");
    const oks_kafka_header headers[] = {{"tenant", q->tenant}, {"type", "full_sync"}};
    int rc = oks_kafka_produce_wait(q->producer, q->jobs_topic, q->tenant, strlen(q->tenant), value,
                                    strlen(value), headers, 2, err);
    free(value);
    return rc == 0 ? 0 : oks_err_wrap(err, "job");
}

int oks_sync_queue_run(oks_db *db, const oks_sync_queue_req *q, int64_t *run_id, oks_err *err)
{
    char when[32];
    oks_time_format_iso8601(q->scheduled_for_ms, when, sizeof when);
    if (oks_db_begin(db, err) != 0)
        return -1;
    const char *p[] = {q->tenant, when, q->trigger, q->dry_run ? "true" : "false"};
    PGresult *r = oks_db_exec_params(
        db,
        "INSERT INTO sync_runs (tenant_id, kind, scheduled_for, status, trigger, dry_run) "
        "VALUES ($1::uuid, 'full_sync', $2::timestamptz, 'queued', $3, $4::boolean) "
        "ON CONFLICT (tenant_id, kind, scheduled_for) DO NOTHING RETURNING id",
        4, p, err);
    if (!r)
        goto fail;
    if (PQntuples(r) == 0) {
        PQclear(r);
        oks_db_rollback(db);
        return 0;
    }
    int64_t id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (produce_job(q, id, err) != 0)
        goto fail;
    if (oks_db_commit(db, err) != 0)
        goto fail; /* the job went out without its row: the scheduler publishes again next pass
                      (at-least-once; the worker keys full syncs by tenant and slot) */
    if (run_id)
        *run_id = id;
    return 1;
fail:
    oks_db_rollback(db);
    return -1;
}
