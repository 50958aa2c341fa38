/*
 * Queueing a full sync: the sync_runs row and the job message, one implementation shared by the
 * scheduler (trigger 'schedule') and oktasyncctl (`sync now`: 'operator', `tenant connect`:
 * 'connect').
 *
 * The row is inserted (ON CONFLICT on (tenant, kind, scheduled_for) DO NOTHING) and the job is
 * produced (acks=all) inside ONE transaction that commits only after Kafka acknowledged: a
 * concurrent insert of the same slot waits on ours and then finds the conflict, so exactly one
 * caller publishes; a failed produce rolls the row back. The worker keys the run by
 * (tenant, kind, scheduled_for), never by run_id alone (a job may go out twice if COMMIT fails
 * after the acknowledgement).
 */
#ifndef OKS_SYNC_JOB_H
#define OKS_SYNC_JOB_H

#include "core/oks_err.h"
#include "db/oks_db.h"

#include <librdkafka/rdkafka.h>

#include <stdbool.h>
#include <stdint.h>

/*
 * "Connected to Okta" — the one rule, as SQL over `tenants` aliased `t`. `oktasyncctl tenant
 * connect` sets connected_at after Okta accepted every credential (a refused connect changes
 * nothing); nothing clears it. A tenant whose credentials later fail stays connected: the
 * worker parks it (`credentials_invalid` in tenant_okta_state) and `tenant connect` after a
 * new token clears the fault. Only connected tenants get scheduled full syncs (from their
 * first slot after connected_at: connecting queues the first sync itself), `sync now` and the
 * System Log gap fill. A tenant added but never connected gets none of them.
 */
#define OKS_SYNC_TENANT_CONNECTED "t.connected_at IS NOT NULL"

/* Job message value (contract shape: v, kind, tenant, run_id, scheduled_for), malloc'd JSON;
 * NULL on OOM. */
char *oks_sync_job_json(const char *tenant, int64_t run_id, int64_t scheduled_for_ms);

typedef struct oks_sync_queue_req {
    const char *tenant;       /* tenant id (uuid text) */
    int64_t scheduled_for_ms; /* the slot */
    const char *trigger;      /* 'schedule' | 'connect' | 'operator' */
    bool dry_run;
    rd_kafka_t *producer; /* from oks_kafka_wait_producer_new */
    const char *jobs_topic;
} oks_sync_queue_req;

/* 1 = row inserted and job acknowledged (*run_id set), 0 = the slot already had its row
 * (nothing produced), -1 = failed with err (nothing committed). Must be called outside a
 * transaction. */
int oks_sync_queue_run(oks_db *db, const oks_sync_queue_req *q, int64_t *run_id, oks_err *err);

#endif
