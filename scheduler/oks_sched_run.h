/*
 * One scheduling pass. For each tenant: compute the latest due slot; in ONE transaction insert
 * its sync_runs row (ON CONFLICT DO NOTHING), produce the job (acks=all) and commit only after
 * Kafka acknowledged it. A concurrent replica's insert of the same slot waits on our row and
 * then finds the conflict, so exactly one replica publishes; if our produce fails we roll back,
 * the slot stays without a row, and the next tick (of any replica) tries again.
 */
#ifndef OKS_SCHED_RUN_H
#define OKS_SCHED_RUN_H

#include "core/oks_metrics.h"
#include "db/oks_db.h"
#include "oks_sched_config.h"

#include <librdkafka/rdkafka.h>

typedef struct oks_sched {
    const oks_sched_cfg *cfg;
    int default_tod_s;
    oks_db *db; /* connected lazily; NULL while the database is unreachable */
    rd_kafka_t *producer;
    oks_counter *published;
    oks_counter *failures;
    oks_gauge *tenants;
    oks_counter *gap_events;   /* events the gap fill republished */
    oks_counter *gap_failures; /* tenants whose gap fill failed (retried next pass) */
} oks_sched;

int oks_sched_init(oks_sched *s, const oks_sched_cfg *cfg, oks_err *err);
void oks_sched_free(oks_sched *s);

/* The database connection (connected lazily; NULL with err while unreachable). */
oks_db *oks_sched_db(oks_sched *s, oks_err *err);

/* One pass at now_ms. Returns 0 when every due job is published (or already was), -1 with err
 * when at least one could not be (it is retried next pass). *n_published may be NULL. */
int oks_sched_pass(oks_sched *s, int64_t now_ms, int *n_published, oks_err *err);

#endif
