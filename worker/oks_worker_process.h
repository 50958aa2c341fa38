/*
 * Handling of one event message, independent of Kafka: envelope → dedupe → tenant → Okta →
 * one PostgreSQL transaction → dedupe mark. The verdict tells the consumer loop what to do with
 * the offset.
 */
#ifndef OKS_WORKER_PROCESS_H
#define OKS_WORKER_PROCESS_H

#include "crypto/oks_crypto.h"
#include "oks_worker_config.h"
#include "oks_worker_dedupe.h"
#include "oks_worker_metrics.h"
#include "oks_worker_okta.h"
#include "oks_worker_pg.h"

typedef enum oks_worker_verdict {
    OKS_WORKER_DONE,  /* handled (applied, duplicate, ignored): store the offset */
    OKS_WORKER_RETRY, /* transient failure: do not store; re-read the message after a backoff */
    OKS_WORKER_DEAD,  /* can never succeed: dead-letter it with the reason, then store */
} oks_worker_verdict;

typedef struct oks_worker_ctx {
    const oks_worker_cfg *cfg;
    uint8_t key[OKS_CRYPTO_KEY_LEN];
    oks_worker_pg pg;
    oks_worker_dedupe dedupe;
    oks_worker_okta_cache okta;
    oks_worker_metrics m;
    bool retry_from_okta; /* naive mode: the last RETRY came from Okta, not PG/Redis */
} oks_worker_ctx;

/* Set up connections (lazily connected) from cfg; metrics are registered here. */
int oks_worker_ctx_init(oks_worker_ctx *ctx, const oks_worker_cfg *cfg, oks_err *err);
void oks_worker_ctx_free(oks_worker_ctx *ctx);

/* Handle one message value. On RETRY/DEAD, why says what went wrong. */
oks_worker_verdict oks_worker_process(oks_worker_ctx *ctx, const void *value, size_t len,
                                      oks_err *why);

/* Handle one message of the jobs topic. */
oks_worker_verdict oks_worker_process_job(oks_worker_ctx *ctx, const void *value, size_t len,
                                          oks_err *why);

#endif
