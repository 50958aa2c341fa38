/*
 * Gap fill from the System Log (docs/scheduler.md "Gap fill"). Okta retries an event hook once
 * at most, so a delivery lost at the edge would otherwise wait for the nightly full sync. Every
 * `gap-fill-interval`, per connected tenant, under a per-tenant advisory lock (one replica at a
 * time): read GET /api/v1/logs?since=<watermark>&until=<now - margin>&filter=<subscribed types>
 * (one request when nothing happened), skip the events already processed, and publish the rest
 * to the events topic in the envelope ingest builds (common/event), keyed by tenant; the worker
 * drops any it already has by uuid. The watermark (tenant_log_watermarks) moves only after
 * every event of the window was acknowledged by Kafka.
 */
#ifndef OKS_SCHED_GAPFILL_H
#define OKS_SCHED_GAPFILL_H

#include "oks_sched_run.h"

/* One gap-fill pass at now_ms over the tenants that are due. 0 when every due tenant was read
 * (or skipped: locked by another replica), -1 with err when at least one failed (retried next
 * pass, watermark unchanged). *n_published (may be NULL): events republished. */
int oks_sched_gapfill_pass(oks_sched *s, int64_t now_ms, int *n_published, oks_err *err);

#endif
