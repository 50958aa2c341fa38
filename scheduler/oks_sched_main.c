/* oktasync-scheduler: daily full-sync jobs per tenant (see docs/scheduler.md). */
#include "core/oks_admin_http.h"
#include "core/oks_log.h"
#include "core/oks_signal.h"
#include "core/oks_time.h"
#include "kafka/oks_kafka_produce.h"
#include "oks_sched_config.h"
#include "oks_sched_gapfill.h"
#include "oks_sched_run.h"
#include "oks_sched_slot.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static atomic_bool last_pass_ok = true;

static bool sched_ready(void *arg, char *why, size_t cap)
{
    (void)arg;
    if (atomic_load(&last_pass_ok))
        return true;
    snprintf(why, cap, "last pass failed (database or Kafka); retrying");
    return false;
}

static void one_pass(oks_sched *s)
{
    oks_err err = {0};
    int n = 0;
    int rc = oks_sched_pass(s, oks_now_wall_ms(), &n, &err);
    atomic_store(&last_pass_ok, rc == 0);
    if (rc != 0)
        oks_log_fields(OKS_LOG_WARN, "scheduling pass incomplete", "error", err.msg, NULL);
    oks_err gerr = {0};
    if (oks_sched_gapfill_pass(s, oks_now_wall_ms(), NULL, &gerr) != 0)
        oks_log_fields(OKS_LOG_WARN, "gap fill pass incomplete", "error", gerr.msg, NULL);
}

static int run_daemon(const oks_sched_cfg *cfg, oks_sched *s, oks_err *err)
{
    oks_admin_http *admin = oks_admin_http_start(cfg->admin_listen, sched_ready, NULL, err);
    if (!admin)
        return -1;
    if (oks_admin_http_write_ready_file(admin, cfg->ready_file, NULL, err) != 0) {
        oks_admin_http_stop(admin);
        return -1;
    }
    OKS_LOG_INFO("scheduler started");
    int rc = 0;
    char why[256];
    while (!oks_shutdown_requested()) {
        one_pass(s);
        if (oks_kafka_producer_fatal(s->producer, why, sizeof why)) {
            /* the producer can never publish again: exit 1 so a fresh process replaces us */
            rc = oks_err_set(err, OKS_E_PERMANENT, "kafka producer fatal error: %s", why);
            break;
        }
        int64_t until = oks_now_mono_ms() + cfg->tick_interval_ms;
        while (!oks_shutdown_requested() && oks_now_mono_ms() < until)
            oks_sleep_ms(until - oks_now_mono_ms() < 100 ? until - oks_now_mono_ms() : 100);
    }
    OKS_LOG_INFO("scheduler stopping");
    oks_admin_http_stop_unready(admin, cfg->ready_file);
    return rc;
}

int main(int argc, char **argv)
{
    oks_sched_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    int exit_now = oks_cfg_load_main(&oks_sched_program, &cfg, argc, argv, NULL);
    if (exit_now >= 0)
        return exit_now;
    oks_err err = {0};
    oks_log_init("scheduler", (oks_log_level)cfg.log_level);
    oks_signal_install();
    oks_sched s;
    int rc = oks_sched_init(&s, &cfg, &err);
    if (rc == 0 && cfg.gap_fill_interval_ms > 0 && !cfg.secret_key[0])
        OKS_LOG_WARN("gap fill off: no --secret-key (OKTASYNC_SECRET_KEY) to open API tokens");
    if (rc == 0 && cfg.once) {
        int n = 0;
        int gap = 0;
        rc = oks_sched_pass(&s, oks_now_wall_ms(), &n, &err);
        if (rc == 0)
            rc = oks_sched_gapfill_pass(&s, oks_now_wall_ms(), &gap, &err);
        if (rc == 0) {
            char num[16], gnum[16];
            snprintf(num, sizeof num, "%d", n);
            snprintf(gnum, sizeof gnum, "%d", gap);
            oks_log_fields(OKS_LOG_INFO, "pass done", "published", num, "gap_fill_events", gnum,
                           NULL);
        }
    } else if (rc == 0) {
        rc = run_daemon(&cfg, &s, &err);
    }
    if (rc != 0)
        oks_log_fields(OKS_LOG_ERROR, "scheduler failed", "error", err.msg, NULL);
    oks_sched_free(&s);
    oks_cfg_free(&oks_sched_program, &cfg);
    return rc == 0 ? 0 : 1;
}
