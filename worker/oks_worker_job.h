/*
 * Scheduler jobs (topic `jobs`, contract in the fleet brief):
 *   {"v":1,"kind":"full_sync","tenant":"<uuid>","run_id":<int>,"scheduled_for":"<iso>"}
 * Parsing is here so the worker can route jobs; running a full sync is a later stage.
 */
#ifndef OKS_WORKER_JOB_H
#define OKS_WORKER_JOB_H

#include "core/oks_err.h"
#include "oks_worker_envelope.h"

#include <stddef.h>
#include <stdint.h>

typedef struct oks_worker_job {
    char kind[32];
    char tenant[OKS_WORKER_UUID_MAX];
    int64_t run_id;
    int64_t scheduled_for_ms;
} oks_worker_job;

/* OKS_E_INVALID (permanent) when the value is not a v1 job. */
int oks_worker_job_parse(const void *data, size_t len, oks_worker_job *out, oks_err *err);

#endif
