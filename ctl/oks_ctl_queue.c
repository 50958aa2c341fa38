/* Queueing a full sync from the CLI: the scheduler's own code (common/sync/oks_sync_job.h). */
#include "oks_ctl.h"

#include "core/oks_time.h"
#include "kafka/oks_kafka_produce.h"
#include "sync/oks_sync_job.h"

int oks_ctl_queue_sync(oks_ctl *ctl, const char *tenant_id, const char *trigger, bool dry_run,
                       int64_t *run_id)
{
    oks_err err = {0};
    rd_kafka_t *p =
        oks_kafka_wait_producer_new(ctl->cfg.kafka_brokers, ctl->cfg.kafka_config,
                                    (int)ctl->cfg.produce_timeout_ms, "job producer", &err);
    if (!p)
        return oks_ctl_fail_err(&err, "queueing the full sync");
    oks_sync_queue_req q = {.tenant = tenant_id,
                            .scheduled_for_ms = oks_now_wall_ms(),
                            .trigger = trigger,
                            .dry_run = dry_run,
                            .producer = p,
                            .jobs_topic = ctl->cfg.jobs_topic};
    int rc = oks_sync_queue_run(ctl->db, &q, run_id, &err);
    rd_kafka_flush(p, (int)ctl->cfg.produce_timeout_ms);
    rd_kafka_destroy(p);
    if (rc < 0)
        return oks_ctl_fail_err(&err, "queueing the full sync");
    if (rc == 0)
        return oks_ctl_fail(OKS_CTL_FAILED,
                            "queueing the full sync: a run for this instant exists; try again");
    return OKS_CTL_OK;
}
