#include "oks_worker_consumer.h"

#include "core/oks_log.h"
#include "core/oks_signal.h"
#include "core/oks_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SEEK_TIMEOUT_MS = 5000, COMMITTED_TIMEOUT_MS = 2000 };

int64_t oks_worker_next_backoff(int64_t current, int64_t min_ms, int64_t max_ms)
{
    if (current <= 0)
        return min_ms < max_ms ? min_ms : max_ms;
    return current >= max_ms / 2 ? max_ms : current * 2;
}

int64_t oks_worker_lag_base(int64_t position, int64_t committed, int64_t low)
{
    if (position >= 0)
        return position;
    /* Nothing read since the assignment (a quiet partition after a restart): the group resumes
     * from the committed offset, so that is how far behind it is, not the retained range. */
    if (committed >= 0)
        return committed > low ? committed : low;
    return low;
}

void oks_worker_loop_init(oks_worker_loop *l)
{
    oks_worker_intake_init(&l->intake, l->ctx);
    memset(&l->prune, 0, sizeof l->prune);
    memset(l->parts, 0, sizeof l->parts);
    pthread_mutex_init(&l->mu, NULL);
    l->exit_code = 0;
}

void oks_worker_loop_free(oks_worker_loop *l)
{
    oks_worker_intake_free(&l->intake);
    pthread_mutex_destroy(&l->mu);
}

/* ---- per-partition state (caller holds mu) ---- */

static oks_worker_part *part_find(oks_worker_loop *l, const char *topic, int32_t partition,
                                  bool create)
{
    oks_worker_part *free_slot = NULL;
    for (int i = 0; i < OKS_WORKER_PARTS_MAX; i++) {
        oks_worker_part *p = &l->parts[i];
        if (!p->used) {
            if (!free_slot)
                free_slot = p;
            continue;
        }
        if (p->partition == partition && strcmp(p->topic, topic) == 0)
            return p;
    }
    if (!create || !free_slot || strlen(topic) >= sizeof free_slot->topic)
        return NULL;
    memset(free_slot, 0, sizeof *free_slot);
    free_slot->used = true;
    snprintf(free_slot->topic, sizeof free_slot->topic, "%s", topic);
    free_slot->partition = partition;
    free_slot->seek_to = -1;
    free_slot->fail_offset = -1;
    free_slot->committed = RD_KAFKA_OFFSET_INVALID;
    return free_slot;
}

/* After any change of a partition's failure state: the gauge and /readyz's snapshot. Only the
 * consumer thread touches parts; the snapshot is what other threads read (under mu), so no
 * lock is held across a Kafka call. */
static void update_failing_gauge(oks_worker_loop *l)
{
    char why[sizeof l->ready_why];
    size_t len = 0;
    int failing = 0;
    why[0] = '\0';
    for (int i = 0; i < OKS_WORKER_PARTS_MAX; i++) {
        const oks_worker_part *p = &l->parts[i];
        if (!p->used || !p->error[0])
            continue;
        if (failing++ < 3 && len < sizeof why)
            len += (size_t)snprintf(why + len, sizeof why - len, "%s%s[%d]: %s", len ? "; " : "",
                                    p->topic, (int)p->partition, p->error);
    }
    if (failing > 3 && len < sizeof why)
        snprintf(why + len, sizeof why - len, "; %d partitions failing", failing);
    oks_gauge_set(l->ctx->m.partitions_failing, failing);
    pthread_mutex_lock(&l->mu);
    l->ready_failing = failing;
    memcpy(l->ready_why, why, sizeof why);
    pthread_mutex_unlock(&l->mu);
}

bool oks_worker_loop_ready(oks_worker_loop *l, char *why, size_t cap)
{
    pthread_mutex_lock(&l->mu);
    bool ok = l->ready_failing == 0;
    if (!ok && cap > 0)
        snprintf(why, cap, "%s", l->ready_why);
    pthread_mutex_unlock(&l->mu);
    return ok;
}

/* One-partition list for the seek/pause/resume calls. */
static rd_kafka_topic_partition_list_t *one(const oks_worker_part *p, int64_t offset)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = offset;
    return l;
}

/* Seek p to p->seek_to. Both the call's error and the partition's own error are checked:
 * without the seek the next fetch would hand out the following message. */
static bool do_seek(oks_worker_loop *l, oks_worker_part *p)
{
    rd_kafka_topic_partition_list_t *parts = one(p, p->seek_to);
    rd_kafka_error_t *e = rd_kafka_seek_partitions(l->consumer, parts, SEEK_TIMEOUT_MS);
    char why[256] = "";
    if (e) {
        snprintf(why, sizeof why, "%s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    } else if (parts->elems[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(why, sizeof why, "%s", rd_kafka_err2str(parts->elems[0].err));
    }
    rd_kafka_topic_partition_list_destroy(parts);
    if (why[0]) {
        OKS_LOG_WARN("seek %s[%d] to %lld failed (%s); the partition stays paused and the seek "
                     "is retried",
                     p->topic, (int)p->partition, (long long)p->seek_to, why);
        return false;
    }
    p->seek_to = -1;
    return true;
}

static void set_paused(oks_worker_loop *l, oks_worker_part *p, bool pause)
{
    rd_kafka_topic_partition_list_t *parts = one(p, RD_KAFKA_OFFSET_INVALID);
    rd_kafka_resp_err_t e = pause ? rd_kafka_pause_partitions(l->consumer, parts)
                                  : rd_kafka_resume_partitions(l->consumer, parts);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
        e = parts->elems[0].err;
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        OKS_LOG_WARN("%s %s[%d]: %s", pause ? "pause" : "resume", p->topic, (int)p->partition,
                     rd_kafka_err2str(e));
    rd_kafka_topic_partition_list_destroy(parts);
    p->paused = pause;
}

/* A transient failure at `offset`: pause, seek back, wait (doubling per partition). */
static void fail_partition(oks_worker_loop *l, const char *topic, int32_t partition, int64_t offset,
                           const oks_err *why)
{
    const oks_worker_cfg *cfg = l->ctx->cfg;
    oks_worker_part *p = part_find(l, topic, partition, true);
    if (!p) {
        /* no state to keep it paused: leaving the group makes it restart from the commit */
        OKS_LOG_ERROR("no room for partition state of %s[%d]; stopping", topic, (int)partition);
        oks_shutdown_request();
        return;
    }
    p->backoff_ms = oks_worker_next_backoff(p->backoff_ms, cfg->retry_backoff_min_ms,
                                            cfg->retry_backoff_max_ms);
    p->resume_at_ms = oks_now_mono_ms() + p->backoff_ms;
    p->seek_to = offset;
    snprintf(p->error, sizeof p->error, "%s", why->msg);
    set_paused(l, p, true);
    do_seek(l, p);
    update_failing_gauge(l);
    oks_counter_add(l->ctx->m.retries, 1);
    char part[16], off[24], wait[24];
    snprintf(part, sizeof part, "%d", (int)partition);
    snprintf(off, sizeof off, "%lld", (long long)offset);
    snprintf(wait, sizeof wait, "%lld", (long long)p->backoff_ms);
    oks_log_fields(OKS_LOG_WARN, "transient failure, partition will be retried", "topic", topic,
                   "partition", part, "offset", off, "backoff_ms", wait, "error_class",
                   oks_errcode_name(why->code), "error", why->msg, NULL);
}

static void partition_ok(oks_worker_loop *l, const char *topic, int32_t partition)
{
    oks_worker_part *p = part_find(l, topic, partition, false);
    if (p && (p->error[0] || p->backoff_ms || p->fail_offset >= 0)) {
        p->error[0] = '\0';
        p->backoff_ms = 0;
        p->fail_offset = -1;
        p->fail_attempts = 0;
        update_failing_gauge(l);
    }
}

/* Partitions whose wait is over: seek (if the earlier seek failed) and resume. */
static void resume_due(oks_worker_loop *l)
{
    const oks_worker_cfg *cfg = l->ctx->cfg;
    int64_t now = oks_now_mono_ms();
    for (int i = 0; i < OKS_WORKER_PARTS_MAX; i++) {
        oks_worker_part *p = &l->parts[i];
        if (!p->used || !p->paused || now < p->resume_at_ms)
            continue;
        if (p->seek_to >= 0 && !do_seek(l, p)) {
            p->backoff_ms = oks_worker_next_backoff(p->backoff_ms, cfg->retry_backoff_min_ms,
                                                    cfg->retry_backoff_max_ms);
            p->resume_at_ms = now + p->backoff_ms;
            continue;
        }
        set_paused(l, p, false);
    }
}

/* ---- dead letters ---- */

/* 0 sent; -1 not sent (partition failed transiently, or fatal: loop stops). "message
 * dead-lettered" is said only once the dead-letter topic has acknowledged it: said before the
 * send, it named messages that a failing broker never took (the partition's retry line says
 * those). */
static int dead_letter(oks_worker_loop *l, const rd_kafka_message_t *m, const oks_err *why)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    oks_err derr = {0};
    if (oks_worker_dlq_send(l->dlq, m, why, &derr) == 0) {
        oks_counter_add(l->ctx->m.dead_letter, 1);
        char reason[OKS_DEAD_LETTER_REASON_MAX], part[16], off[24];
        oks_dead_letter_reason(why->msg, reason, sizeof reason);
        snprintf(part, sizeof part, "%d", (int)m->partition);
        snprintf(off, sizeof off, "%lld", (long long)m->offset);
        oks_log_fields(OKS_LOG_WARN, "message dead-lettered", "topic", topic, "partition", part,
                       "offset", off, "reason", reason, "error_class", oks_errcode_name(why->code),
                       NULL);
        return 0;
    }
    oks_counter_add(l->ctx->m.dead_letter_fail, 1);
    char fatal[256];
    if (oks_worker_dlq_fatal(l->dlq, fatal, sizeof fatal)) {
        oks_log_fields(OKS_LOG_ERROR,
                       "fatal dead-letter producer error: exiting so the process is restarted "
                       "(the message's offset is not stored)",
                       "error", fatal, NULL);
        l->exit_code = 1;
        oks_shutdown_request();
        return -1;
    }
    fail_partition(l, topic, m->partition, m->offset, &derr);
    return -1;
}

/* ---- offsets ---- */

static void store_offsets(oks_worker_loop *l, rd_kafka_topic_partition_list_t *offs)
{
    if (offs->cnt == 0)
        return;
    rd_kafka_resp_err_t e = rd_kafka_offsets_store(l->consumer, offs);
    for (int i = 0; i < offs->cnt; i++) {
        rd_kafka_topic_partition_t *p = &offs->elems[i];
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR || p->err != RD_KAFKA_RESP_ERR_NO_ERROR)
            OKS_LOG_WARN("offset store %s[%d]@%lld: %s (partition revoked? it will be re-read)",
                         p->topic, (int)p->partition, (long long)p->offset,
                         rd_kafka_err2str(p->err ? p->err : e));
    }
}

/* Record next = offset + 1 for m's partition (messages come in offset order per partition). */
static void note_done(rd_kafka_topic_partition_list_t *offs, const rd_kafka_message_t *m)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(offs, topic, m->partition);
    if (!p)
        p = rd_kafka_topic_partition_list_add(offs, topic, m->partition);
    if (m->offset + 1 > p->offset)
        p->offset = m->offset + 1;
}

/* ---- coalesce mode ---- */

static bool in_list(rd_kafka_topic_partition_list_t *l, const rd_kafka_message_t *m)
{
    return rd_kafka_topic_partition_list_find(l, rd_kafka_topic_name(m->rkt), m->partition) != NULL;
}

/* The end of a batch whose statement was sent (begin_rc 0) or could not be (begin_rc -1, err):
 * its result, dead letters, offsets, dedupe marks. Partitions whose later messages must not be
 * taken (failed, or behind a message not dead-lettered) are added to `stop`. */
static void finish_batch(oks_worker_loop *l, oks_worker_intake_batch *b, int begin_rc, oks_err *err,
                         rd_kafka_topic_partition_list_t *stop)
{
    oks_worker_intake_msg *msgs = b->msgs;
    size_t n = b->n;
    rd_kafka_topic_partition_list_t *blocked = rd_kafka_topic_partition_list_new(4);
    rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(4);
    if (begin_rc != 0 || oks_worker_intake_end(&l->intake, b, err) != 0) {
        /* nothing of this batch may be passed over: each partition back to its first message */
        for (size_t i = 0; i < n; i++) {
            if (in_list(blocked, msgs[i].m))
                continue;
            rd_kafka_topic_partition_list_add(blocked, rd_kafka_topic_name(msgs[i].m->rkt),
                                              msgs[i].m->partition);
            fail_partition(l, rd_kafka_topic_name(msgs[i].m->rkt), msgs[i].m->partition,
                           msgs[i].m->offset, err);
        }
        goto out;
    }
    int not_sent = 0;
    for (size_t i = 0; i < n; i++) {
        const rd_kafka_message_t *m = msgs[i].m;
        if (in_list(blocked, m))
            continue; /* behind a message that could not be dead-lettered */
        /* After SIGTERM no new dead letter is tried: with Kafka gone each would wait
         * dead-letter-timeout, partition after partition. Not stored, the message comes back
         * after the restart (its partition's later messages too; they are deduplicated). */
        if (msgs[i].verdict == OKS_WORKER_DEAD) {
            bool sent = false;
            if (oks_shutdown_requested())
                not_sent++;
            else
                sent = dead_letter(l, m, &msgs[i].why) == 0;
            if (!sent) {
                rd_kafka_topic_partition_list_add(blocked, rd_kafka_topic_name(m->rkt),
                                                  m->partition);
                continue;
            }
        }
        note_done(offs, m);
    }
    if (not_sent > 0)
        OKS_LOG_WARN("shutting down: %d messages not dead-lettered (their partitions' offsets stop "
                     "before them; they are read again after the restart)",
                     not_sent);
    store_offsets(l, offs);
    for (int i = 0; i < offs->cnt; i++)
        if (!rd_kafka_topic_partition_list_find(blocked, offs->elems[i].topic,
                                                offs->elems[i].partition))
            partition_ok(l, offs->elems[i].topic, offs->elems[i].partition);
    oks_worker_intake_mark_seen(&l->intake, b);
    if (b->st.marks > 0 && l->wake)
        l->wake(l->wake_arg);
out:
    for (int i = 0; i < blocked->cnt; i++)
        rd_kafka_topic_partition_list_add(stop, blocked->elems[i].topic,
                                          blocked->elems[i].partition);
    rd_kafka_topic_partition_list_destroy(blocked);
    rd_kafka_topic_partition_list_destroy(offs);
}

/* Drop b's messages of the partitions in stop: a failed partition is sought back to its
 * first unfinished message, so Kafka hands these out again after the backoff. */
static void drop_stopped(oks_worker_intake_batch *b, rd_kafka_message_t **ms,
                         rd_kafka_topic_partition_list_t *stop)
{
    size_t w = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (in_list(stop, ms[i])) {
            rd_kafka_message_destroy(ms[i]);
            continue;
        }
        ms[w++] = ms[i];
    }
    if (w != b->n) {
        b->n = w;
        oks_worker_intake_batch_reset(b);
    }
}

/* Poll until cap messages or intake-linger after the first one (*first_ms: when it came; the
 * batch may hold n already). ready_only: only what Kafka already holds for us, without waiting
 * (read while a statement runs). */
static size_t collect(oks_worker_loop *l, rd_kafka_message_t **ms, size_t n, size_t cap,
                      int64_t *first_ms, bool ready_only)
{
    while (n < cap && !oks_shutdown_requested()) {
        int wait = ready_only ? 0 : 200;
        if (n > 0 && !ready_only) {
            int64_t left = *first_ms + l->ctx->cfg->intake_linger_ms - oks_now_mono_ms();
            if (left <= 0)
                break;
            wait = (int)left;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(l->consumer, wait);
        if (!m) {
            if (n == 0 || ready_only)
                break; /* idle: let the loop do its housekeeping */
            continue;
        }
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                OKS_LOG_WARN("consumer: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        if (n == 0)
            *first_ms = oks_now_mono_ms();
        ms[n++] = m;
    }
    return n;
}

/* ---- naive mode ---- */

static void handle_naive(oks_worker_loop *l, const rd_kafka_message_t *m)
{
    const oks_worker_cfg *cfg = l->ctx->cfg;
    oks_err why = {0};
    int64_t t0 = oks_now_mono_ms();
    const char *topic = rd_kafka_topic_name(m->rkt);
    bool is_job = cfg->jobs_topic && cfg->jobs_topic[0] && strcmp(topic, cfg->jobs_topic) == 0;
    l->ctx->retry_from_okta = false;
    oks_worker_verdict v = is_job ? oks_worker_process_job(l->ctx, m->payload, m->len, &why)
                                  : oks_worker_process(l->ctx, m->payload, m->len, &why);
    if (v == OKS_WORKER_RETRY && l->ctx->retry_from_okta) {
        /* bounded per message: Okta failing for this event's tenant must not hold the
         * partition forever (database or Redis down is not bounded: nothing could succeed) */
        oks_worker_part *p = part_find(l, topic, m->partition, true);
        bool give_up = false;
        if (p) {
            if (p->fail_offset != m->offset) {
                p->fail_offset = m->offset;
                p->fail_attempts = 0;
                p->fail_since_ms = oks_now_mono_ms();
            }
            p->fail_attempts++;
            give_up = p->fail_attempts >= cfg->message_max_attempts ||
                      oks_now_mono_ms() - p->fail_since_ms >= cfg->message_max_age_ms;
        }
        if (give_up) {
            char msg[sizeof why.msg];
            snprintf(msg, sizeof msg, "gave up after %lld attempts: %.200s",
                     (long long)p->fail_attempts, why.msg);
            oks_err_set(&why, why.code, "%s", msg);
            v = OKS_WORKER_DEAD;
        }
    }
    if (v == OKS_WORKER_DEAD && dead_letter(l, m, &why) != 0)
        return;
    if (v == OKS_WORKER_RETRY) {
        fail_partition(l, topic, m->partition, m->offset, &why);
        return;
    }
    rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(1);
    note_done(offs, m);
    store_offsets(l, offs);
    rd_kafka_topic_partition_list_destroy(offs);
    partition_ok(l, topic, m->partition);
    oks_histogram_observe(l->ctx->m.process_seconds, (double)(oks_now_mono_ms() - t0) / 1000.0);
}

/* ---- lag ---- */

/* Committed offsets of the partitions whose position is unknown, re-read each lag interval. */
static void refresh_committed(oks_worker_loop *l, rd_kafka_topic_partition_list_t *parts)
{
    int64_t now = oks_now_mono_ms();
    rd_kafka_topic_partition_list_t *ask = rd_kafka_topic_partition_list_new(parts->cnt);
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *p = &parts->elems[i];
        oks_worker_part *s = part_find(l, p->topic, p->partition, true);
        if (p->offset < 0 && s && now - s->committed_at_ms >= l->ctx->cfg->lag_interval_ms)
            rd_kafka_topic_partition_list_add(ask, p->topic, p->partition);
    }
    if (ask->cnt > 0) {
        int timeout = l->ctx->cfg->lag_interval_ms < COMMITTED_TIMEOUT_MS
                          ? (int)l->ctx->cfg->lag_interval_ms
                          : COMMITTED_TIMEOUT_MS;
        rd_kafka_resp_err_t e = rd_kafka_committed(l->consumer, ask, timeout);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
            OKS_LOG_DEBUG("committed offsets for lag: %s", rd_kafka_err2str(e));
        for (int i = 0; e == RD_KAFKA_RESP_ERR_NO_ERROR && i < ask->cnt; i++) {
            rd_kafka_topic_partition_t *p = &ask->elems[i];
            oks_worker_part *s = part_find(l, p->topic, p->partition, false);
            if (s && p->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                s->committed = p->offset;
                s->committed_at_ms = now;
            }
        }
    }
    rd_kafka_topic_partition_list_destroy(ask);
}

/* State of partitions no longer assigned goes (the new owner starts at the committed offset).
 * A pause of ours is lifted first: librdkafka keeps an application pause across a revoke, and
 * a re-assigned partition must not stay paused with nobody to resume it. (Only partitions that
 * are not assigned are resumed here: resuming an active one restarts its fetch.) If the
 * partition came back before this refresh, its entry stays and resume_due seeks and resumes. */
static void forget_unassigned(oks_worker_loop *l, rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; i < OKS_WORKER_PARTS_MAX; i++) {
        oks_worker_part *s = &l->parts[i];
        if (!s->used || rd_kafka_topic_partition_list_find(parts, s->topic, s->partition))
            continue;
        if (s->paused)
            set_paused(l, s, false);
        s->used = false;
    }
    update_failing_gauge(l);
}

/* The partition's high (and low) watermark from the last fetch response, no request; -1 when
 * unknown. */
static int64_t high_watermark(oks_worker_loop *l, const rd_kafka_topic_partition_t *p, int64_t *lo)
{
    int64_t hi = -1;
    if (rd_kafka_get_watermark_offsets(l->consumer, p->topic, p->partition, lo, &hi) !=
        RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;
    return hi;
}

/* Lag = high watermark - (position, or the committed offset while nothing was read). */
static void update_lag(oks_worker_loop *l)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(l->consumer, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    forget_unassigned(l, parts);
    oks_worker_metrics_lag_begin();
    if (rd_kafka_position(l->consumer, parts) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        refresh_committed(l, parts);
        for (int i = 0; i < parts->cnt; i++) {
            rd_kafka_topic_partition_t *p = &parts->elems[i];
            int64_t lo = 0, hi = high_watermark(l, p, &lo);
            if (hi < 0)
                continue;
            oks_worker_part *s = part_find(l, p->topic, p->partition, false);
            int64_t base =
                oks_worker_lag_base(p->offset, s ? s->committed : RD_KAFKA_OFFSET_INVALID, lo);
            oks_worker_metrics_set_lag(p->topic, p->partition, (double)(hi > base ? hi - base : 0));
        }
    }
    oks_worker_metrics_lag_end();
    rd_kafka_topic_partition_list_destroy(parts);
}

/* Is another full intake batch already waiting in Kafka? From the positions and the high
 * watermarks (as the lag): a partition not read since its assignment counts nothing. */
static bool intake_behind(oks_worker_loop *l, size_t cap)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (cap < 2 || rd_kafka_assignment(l->consumer, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return false;
    int64_t waiting = 0;
    if (rd_kafka_position(l->consumer, parts) == RD_KAFKA_RESP_ERR_NO_ERROR)
        for (int i = 0; i < parts->cnt && waiting < (int64_t)cap; i++) {
            rd_kafka_topic_partition_t *p = &parts->elems[i];
            int64_t lo = 0, hi = high_watermark(l, p, &lo);
            if (p->offset >= 0 && hi > p->offset)
                waiting += hi - p->offset;
        }
    rd_kafka_topic_partition_list_destroy(parts);
    return waiting >= (int64_t)cap;
}

/* ---- the loop ---- */

/* Between batches, with no statement running: paused partitions due, lag, pruning. */
static void housekeeping(oks_worker_loop *l)
{
    resume_due(l);
    if (oks_now_mono_ms() >= l->next_lag_ms) {
        update_lag(l);
        l->next_lag_ms = oks_now_mono_ms() + l->ctx->cfg->lag_interval_ms;
    }
    oks_worker_prune_step(&l->prune, l->ctx);
}

static void signal_backlog(oks_worker_loop *l, size_t cap)
{
    if (l->backlog) /* another full batch waits: the reconcilers may wait for it */
        l->backlog(l->wake_arg, intake_behind(l, cap));
}

static void run_naive(oks_worker_loop *l)
{
    rd_kafka_message_t *m = NULL;
    int64_t first_ms = 0;
    while (!oks_shutdown_requested()) {
        housekeeping(l);
        size_t n = collect(l, &m, 0, 1, &first_ms, false);
        signal_backlog(l, 1);
        if (n == 0)
            continue;
        handle_naive(l, m);
        rd_kafka_message_destroy(m);
    }
}

/* A batch and the Kafka messages it borrows. */
typedef struct slot {
    rd_kafka_message_t **ms;
    oks_worker_intake_batch b;
    int64_t first_ms;
} slot;

/* The batch's messages are ms[0..b.n). */
static void slot_bind(slot *s)
{
    for (size_t i = 0; i < s->b.n; i++)
        s->b.msgs[i].m = s->ms[i];
}

static void slot_release(slot *s)
{
    for (size_t i = 0; i < s->b.n; i++)
        rd_kafka_message_destroy(s->ms[i]);
    s->b.n = 0;
    oks_worker_intake_batch_reset(&s->b);
}

/* Finish s's batch (begin_rc: oks_worker_intake_begin's answer) and release it. Messages of a
 * partition it leaves stopped are dropped from the batch read ahead (next, may be NULL): the
 * partition is sought back, they come again. */
static void finish_slot(oks_worker_loop *l, slot *s, int begin_rc, oks_err *err, slot *next)
{
    rd_kafka_topic_partition_list_t *stop = rd_kafka_topic_partition_list_new(4);
    finish_batch(l, &s->b, begin_rc, err, stop);
    slot_release(s);
    if (next && stop->cnt > 0)
        drop_stopped(&next->b, next->ms, stop);
    rd_kafka_topic_partition_list_destroy(stop);
}

/* The next batch is read and prepared while this one's statement runs (docs/worker.md "While
 * the statement runs, the next batch is read"); its offsets are stored only after the
 * statement's commit, as before. */
static void run_coalesce(oks_worker_loop *l, slot slots[2], size_t cap)
{
    slot *run = NULL; /* the batch whose statement runs */
    int turn = 0;
    while (!oks_shutdown_requested()) {
        slot *next = &slots[turn];
        bool signalled = run != NULL;
        turn ^= 1;
        if (run) {
            oks_err err = {0};
            next->b.n = collect(l, next->ms, 0, cap, &next->first_ms, true);
            slot_bind(next);
            if (next->b.n == cap)
                oks_worker_intake_ahead(&l->intake, &next->b);
            signal_backlog(l, cap);
            finish_slot(l, run, 0, &err, next);
            run = NULL;
        }
        housekeeping(l);
        size_t had = next->b.n;
        next->b.n = collect(l, next->ms, had, cap, &next->first_ms, false);
        if (!signalled)
            signal_backlog(l, cap);
        if (next->b.n == 0)
            continue;
        if (next->b.n != had)
            oks_worker_intake_batch_reset(&next->b); /* topped up: what was learned is partial */
        slot_bind(next);
        oks_err err = {0};
        int rc = oks_worker_intake_begin(&l->intake, &next->b, &err);
        if (rc == 0 && next->b.sent)
            run = next;
        else /* nothing to wait for (all duplicates, ignored, dead), or it failed at once */
            finish_slot(l, next, rc, &err, NULL);
    }
    if (run) { /* SIGTERM: this batch's statement runs; its offsets are stored after it */
        oks_err err = {0};
        finish_slot(l, run, 0, &err, NULL);
    }
}

void oks_worker_loop_run(oks_worker_loop *l)
{
    const oks_worker_cfg *cfg = l->ctx->cfg;
    size_t cap = (size_t)cfg->intake_batch;
    slot slots[2];
    memset(slots, 0, sizeof slots);
    l->prune.next_ms = oks_now_mono_ms() + cfg->prune_interval_ms;
    if (cfg->reconcile_mode == OKS_WORKER_MODE_NAIVE) {
        run_naive(l);
        return;
    }
    for (int i = 0; i < 2; i++) {
        slots[i].ms = calloc(cap, sizeof *slots[i].ms);
        slots[i].b.msgs = calloc(cap, sizeof *slots[i].b.msgs);
        if (!slots[i].ms || !slots[i].b.msgs) {
            OKS_LOG_ERROR("out of memory for the intake batch");
            l->exit_code = 1;
            goto out;
        }
    }
    run_coalesce(l, slots, cap);
out:
    for (int i = 0; i < 2; i++) {
        slot_release(&slots[i]);
        oks_worker_intake_batch_free(&slots[i].b);
        free(slots[i].ms);
        free(slots[i].b.msgs);
    }
}
