#include "oks_worker_metrics.h"

#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

void oks_worker_metrics_register(oks_worker_metrics *m)
{
    m->events_in = oks_metrics_counter("oktasync_worker_events_in_total",
                                       "Kafka messages received by the worker", NULL);
    m->applied = oks_metrics_counter("oktasync_worker_events_applied_total",
                                     "Events that changed a user row", NULL);
    m->unchanged = oks_metrics_counter("oktasync_worker_events_unchanged_total",
                                       "Events whose state was already stored", NULL);
    m->stale = oks_metrics_counter("oktasync_worker_events_stale_total",
                                   "Events whose Okta state was older than the stored row", NULL);
    m->ignored = oks_metrics_counter("oktasync_worker_events_ignored_total",
                                     "Events of a type the worker does not act on", NULL);
    m->dup_redis = oks_metrics_counter("oktasync_worker_duplicates_dropped_total",
                                       "Duplicate events dropped", "layer=\"redis\"");
    m->dup_db = oks_metrics_counter("oktasync_worker_duplicates_dropped_total",
                                    "Duplicate events dropped", "layer=\"db\"");
    m->dead_letter = oks_metrics_counter("oktasync_worker_dead_letter_total",
                                         "Messages sent to the dead-letter topic", NULL);
    m->retries = oks_metrics_counter("oktasync_worker_retries_total",
                                     "Transient failures: message re-read after a backoff", NULL);
    m->okta_ok = oks_metrics_counter("oktasync_worker_okta_calls_total", "Okta API lookups",
                                     "result=\"ok\"");
    m->okta_notfound = oks_metrics_counter("oktasync_worker_okta_calls_total", "Okta API lookups",
                                           "result=\"not_found\"");
    m->okta_error = oks_metrics_counter("oktasync_worker_okta_calls_total", "Okta API lookups",
                                        "result=\"error\"");
    m->recorded =
        oks_metrics_counter("oktasync_worker_events_recorded_total",
                            "New events taken in: uuid recorded, user marked dirty", NULL);
    m->covered = oks_metrics_counter("oktasync_worker_events_covered_total",
                                     "Of the events taken in, those a stored read of their user "
                                     "already covers: recorded, no mark, no Okta call",
                                     NULL);
    m->dead_letter_fail =
        oks_metrics_counter("oktasync_worker_dead_letter_failures_total",
                            "Dead-letter produce attempts that failed (retried)", NULL);
    m->pruned = oks_metrics_counter("oktasync_worker_processed_events_pruned_total",
                                    "processed_events rows deleted after dedupe-ttl", NULL);
    m->partitions_failing =
        oks_metrics_gauge("oktasync_worker_partitions_failing",
                          "Partitions waiting to retry after a transient failure", NULL);
    m->db_seconds =
        oks_metrics_histogram("oktasync_worker_db_seconds", "Time of one apply transaction", NULL,
                              oks_latency_buckets, oks_latency_buckets_n);
    m->process_seconds =
        oks_metrics_histogram("oktasync_worker_process_seconds", "Time to handle one message", NULL,
                              oks_latency_buckets, oks_latency_buckets_n);
}

enum { LAG_SLOTS = 512 };

typedef struct {
    char topic[128];
    int partition;
    oks_gauge *gauge;
    bool owned; /* set in this refresh */
} lag_slot;

/* Only the consumer thread sets lag, so the table needs no lock of its own. */
static lag_slot lag_slots[LAG_SLOTS];
static int lag_used;

void oks_worker_metrics_lag_begin(void)
{
    for (int i = 0; i < lag_used; i++)
        lag_slots[i].owned = false;
}

void oks_worker_metrics_lag_end(void)
{
    /* A partition another replica owns now: its lag is reported there, not here. */
    for (int i = 0; i < lag_used; i++)
        if (!lag_slots[i].owned)
            oks_gauge_set(lag_slots[i].gauge, 0);
}

void oks_worker_metrics_set_lag(const char *topic, int partition, double lag)
{
    for (int i = 0; i < lag_used; i++) {
        if (lag_slots[i].partition == partition && strcmp(lag_slots[i].topic, topic) == 0) {
            oks_gauge_set(lag_slots[i].gauge, lag);
            lag_slots[i].owned = true;
            return;
        }
    }
    if (lag_used == LAG_SLOTS || strlen(topic) >= sizeof lag_slots[0].topic)
        return; /* bounded: more partitions than any sane deployment */
    char labels[200];
    snprintf(labels, sizeof labels, "topic=\"%s\",partition=\"%d\"", topic, partition);
    oks_gauge *g = oks_metrics_gauge("oktasync_worker_consumer_lag",
                                     "Messages behind the high watermark, per partition", labels);
    if (!g)
        return;
    lag_slot *s = &lag_slots[lag_used++];
    snprintf(s->topic, sizeof s->topic, "%s", topic);
    s->partition = partition;
    s->gauge = g;
    s->owned = true;
    oks_gauge_set(g, lag);
}

enum { RL_SLOTS = 4096 };

typedef struct {
    char tenant[40];
    char bucket[32];
    oks_gauge *remaining, *limit;
} rl_slot;

static rl_slot rl_slots[RL_SLOTS];
static int rl_used;

static rl_slot *rl_slot_for(const char *tenant, const char *bucket)
{
    for (int i = 0; i < rl_used; i++) {
        if (strcmp(rl_slots[i].tenant, tenant) == 0 && strcmp(rl_slots[i].bucket, bucket) == 0)
            return &rl_slots[i];
    }
    if (rl_used == RL_SLOTS || strlen(tenant) >= sizeof rl_slots[0].tenant ||
        strlen(bucket) >= sizeof rl_slots[0].bucket)
        return NULL;
    char labels[128];
    snprintf(labels, sizeof labels, "tenant=\"%s\",bucket=\"%s\"", tenant, bucket);
    rl_slot *s = &rl_slots[rl_used];
    s->remaining =
        oks_metrics_gauge("oktasync_worker_okta_rate_limit_remaining",
                          "X-Rate-Limit-Remaining last seen, per tenant and bucket", labels);
    s->limit = oks_metrics_gauge("oktasync_worker_okta_rate_limit_limit",
                                 "X-Rate-Limit-Limit last seen, per tenant and bucket", labels);
    if (!s->remaining || !s->limit)
        return NULL;
    snprintf(s->tenant, sizeof s->tenant, "%s", tenant);
    snprintf(s->bucket, sizeof s->bucket, "%s", bucket);
    rl_used++;
    return s;
}

void oks_worker_metrics_rate_limits(const char *tenant, const oks_okta_stats *st)
{
    for (int i = 0; i < OKS_OKTA_BUCKETS; i++) {
        const oks_okta_bucket_stats *b = &st->buckets[i];
        if (!b->name || b->limit < 0 || b->remaining < 0)
            continue; /* never seen */
        rl_slot *s = rl_slot_for(tenant, b->name);
        if (!s)
            continue;
        oks_gauge_set(s->remaining, (double)b->remaining);
        oks_gauge_set(s->limit, (double)b->limit);
    }
}

static pthread_once_t cycles_once = PTHREAD_ONCE_INIT;
static oks_counter *cycles_refused;

static void cycles_init(void)
{
    cycles_refused =
        oks_metrics_counter("oktasync_worker_manager_cycles_refused_total",
                            "Manager edges refused because they would close a cycle", NULL);
}

void oks_worker_metrics_add_manager_cycles(long n)
{
    pthread_once(&cycles_once, cycles_init);
    if (cycles_refused && n > 0)
        oks_counter_add(cycles_refused, (uint64_t)n);
}
