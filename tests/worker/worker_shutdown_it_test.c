/* A SIGTERM'd oktasync-worker exits within shutdown-timeout even when Kafka is gone (it used to
 * wait in the synchronous final commit with no time limit), and with Kafka up it still commits
 * the stored offsets at shutdown. Each binary test runs its own private dev broker: the first
 * one kills it. The reconciler, in process, does not try a round's remaining dead letters one
 * after the other once it is stopping. */
#include "core/oks_time.h"
#include "oks_test.h"
#include "rfixture.h"
#include "wfixture.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Auto-commit effectively off (stored offsets wait for the final commit) and the default
 * session timeout (45 s), which is how long librdkafka's group handler waits for a coordinator
 * that never answers. */
#define KAFKA_CONFIG                                                                               \
    "session.timeout.ms=45000;heartbeat.interval.ms=500;partition.assignment.strategy=range;"      \
    "auto.commit.interval.ms=600000"

enum { SHUTDOWN_TIMEOUT_MS = 3000, DESTROY_GRACE_MS = 2000, MARGIN_MS = 3000, EVENTS = 3 };

/* A worker with stored offsets not yet committed: EVENTS events taken in. */
static void start_worker_with_stored_offsets(wfx *f)
{
    wfx_setup(f, 2);
    wfx_args(f, "--shutdown-timeout", "3s", "--kafka-config", KAFKA_CONFIG, NULL);
    wfx_start_worker(f, NULL);
    for (int i = 0; i < EVENTS; i++) {
        char uuid[32], user[32];
        snprintf(uuid, sizeof uuid, "ev-shutdown-%d", i);
        snprintf(user, sizeof user, "00u-shutdown-%d", i);
        wfx_send(f, uuid, "user.account.update_profile", user);
    }
    OKS_ASSERT(wfx_wait_count(f,
                              "SELECT count(*) FROM processed_events WHERE tenant_id = $1::uuid "
                              "AND event_uuid LIKE 'ev-shutdown-%'",
                              EVENTS, 30000));
}

OKS_TEST(sigterm_with_kafka_gone_exits_within_shutdown_timeout)
{
    pid_t broker = wt_private_broker();
    wfx f;
    start_worker_with_stored_offsets(&f);
    /* Kafka vanishes: no coordinator will ever answer the final commit or the group leave */
    OKS_ASSERT(kill(broker, SIGKILL) == 0);
    OKS_ASSERT(wt_wait_exit(broker, 5000) == -1); /* reaped; killed by a signal */
    int64_t t0 = oks_now_mono_ms();
    OKS_ASSERT(kill(f.worker, SIGTERM) == 0);
    int limit = oks_test_timeout_ms(SHUTDOWN_TIMEOUT_MS + DESTROY_GRACE_MS + MARGIN_MS);
    int rc = wt_wait_exit(f.worker, limit);
    int64_t took = oks_now_mono_ms() - t0;
    printf("# worker exit %d after SIGTERM: %lld ms (limit %d ms)\n", rc, (long long)took, limit);
    OKS_ASSERT_EQ_INT(rc, 0);
    f.worker = 0;
    char *log = oks_test_read_file(f.log);
    OKS_ASSERT(log != NULL);
    OKS_ASSERT_CONTAINS(log, "final commit skipped");
    OKS_ASSERT_CONTAINS(log, "no answer from Kafka within 3000 ms");
    free(log);
    wfx_teardown(&f);
}

OKS_TEST(sigterm_with_kafka_up_commits_the_stored_offsets)
{
    wt_private_broker();
    wfx f;
    start_worker_with_stored_offsets(&f);
    int64_t before = 0;
    for (int p = 0; p < 2; p++) {
        int64_t c = wt_committed(f.group, f.events, p);
        before += c > 0 ? c : 0;
    }
    OKS_ASSERT_EQ_INT(before, 0); /* nothing committed yet: the final commit has work to do */
    int64_t t0 = oks_now_mono_ms();
    OKS_ASSERT_EQ_INT(wt_stop(f.worker, oks_test_timeout_ms(SHUTDOWN_TIMEOUT_MS + MARGIN_MS)), 0);
    printf("# worker stopped in %lld ms\n", (long long)(oks_now_mono_ms() - t0));
    f.worker = 0;
    OKS_ASSERT_EQ_INT(wfx_committed_sum(&f, 2), EVENTS);
    char *log = oks_test_read_file(f.log);
    OKS_ASSERT(log != NULL);
    OKS_ASSERT(strstr(log, "cut short") == NULL);
    free(log);
    wfx_teardown(&f);
}

/* One message to an explicit partition (the worker's topics are keyed by tenant otherwise). */
static void produce_to(const char *topic, int partition, const char *value)
{
    char e[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    OKS_ASSERT(rd_kafka_conf_set(c, "bootstrap.servers", wt_brokers(), e, sizeof e) == 0);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, e, sizeof e);
    OKS_ASSERT(rk != NULL);
    OKS_ASSERT_EQ_INT(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
                                        RD_KAFKA_V_PARTITION(partition),
                                        RD_KAFKA_V_VALUE((void *)value, strlen(value)),
                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                      0);
    OKS_ASSERT_EQ_INT(rd_kafka_flush(rk, oks_test_timeout_ms(10000)), 0);
    rd_kafka_destroy(rk);
}

/* A batch with a message to dead-letter on each of 6 partitions while every dead letter waits
 * dead-letter-timeout (the broker answers each Produce with a retriable error, as one that
 * cannot be reached leaves it unanswered): after SIGTERM the loop does not try the rest. */
OKS_TEST(sigterm_does_not_wait_for_each_partitions_dead_letter)
{
    enum { PARTS = 6, DLQ_TIMEOUT_MS = 2000 };
    wt_private_broker();
    wfx f;
    wfx_setup(&f, PARTS);
    for (int p = 0; p < PARTS; p++)
        produce_to(f.events, p, "not an envelope");
    /* NOT_ENOUGH_REPLICAS: librdkafka retries it until the message times out */
    wt_broker_control("/errors/produce?code=19&count=1000");
    /* one batch of the six messages: it is full when the last partition's message has come (a
     * 1 s linger once closed it after two, on a loaded machine, and nothing was left to skip) */
    wfx_args(&f, "--dead-letter-timeout", "2s", "--shutdown-timeout", "3s", "--intake-batch", "6",
             "--intake-linger", "5s", NULL);
    wfx_start_worker(&f, NULL);
    OKS_ASSERT(wfx_wait_metric(&f, "oktasync_worker_dead_letter_failures_total", NULL, 1, 30000));
    int64_t t0 = oks_now_mono_ms();
    OKS_ASSERT(kill(f.worker, SIGTERM) == 0);
    /* the dead letter in flight (its timeout + librdkafka's 1 s timeout scan), then a quick
     * consumer stop (Kafka answers), not PARTS - 1 more dead-letter timeouts */
    int limit = oks_test_timeout_ms(DLQ_TIMEOUT_MS + 1000 + MARGIN_MS);
    int rc = wt_wait_exit(f.worker, limit);
    int64_t took = oks_now_mono_ms() - t0;
    printf("# worker exit %d after SIGTERM: %lld ms (limit %d ms)\n", rc, (long long)took, limit);
    OKS_ASSERT_EQ_INT(rc, 0);
    f.worker = 0;
    char *log = oks_test_read_file(f.log);
    OKS_ASSERT(log != NULL);
    OKS_ASSERT_CONTAINS(log, "messages not dead-lettered");
    /* every Produce failed: no line may say a message was dead-lettered (it once said so
     * before the send, for each attempt) */
    OKS_ASSERT_EQ_INT(oks_test_count(log, "message dead-lettered"), 0);
    free(log);
    /* nothing passed over: no partition's offset moved past its undelivered dead letter */
    OKS_ASSERT_EQ_INT(wfx_committed_sum(&f, PARTS), 0);
    wfx_teardown(&f);
}

static void exec_sql(rfx *f, const char *sql)
{
    oks_err err = {0};
    PGresult *r = oks_db_exec_params(f->db, sql, 0, NULL, &err);
    if (!r)
        oks_test_fail(__FILE__, __LINE__, "%s: %s", sql, err.msg);
    PQclear(r);
}

typedef struct calls_wait {
    rsim *s;
    long want;
} calls_wait;

static bool users_read(void *arg)
{
    calls_wait *w = arg;
    return rsim_requests(w->s) >= w->want;
}

OKS_TEST(reconciler_stopping_with_kafka_gone_skips_the_rounds_remaining_dead_letters)
{
    enum { POISON = 8, DLQ_TIMEOUT_MS = 2000 };
    rsim s;
    rsim_start(&s, 20, NULL);
    size_t n;
    char **ids = rsim_user_ids(&s, &n);
    OKS_ASSERT(n >= POISON);
    rfx f;
    rfx_setup(&f);
    f.cfg.kafka_brokers = "127.0.0.1:1"; /* Kafka gone: nothing will acknowledge a dead letter */
    f.cfg.dead_letter_timeout_ms = DLQ_TIMEOUT_MS;
    f.cfg.reconcile_threads = 1;
    char *t = rfx_tenant(&f, &s, false);
    /* the database refuses every user row: each mark is a user failure, on its last attempt */
    exec_sql(&f, "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                 "RAISE EXCEPTION 'poison row' USING ERRCODE = '23514'; END $$");
    exec_sql(&f, "CREATE TRIGGER poison BEFORE INSERT OR UPDATE ON users FOR EACH ROW EXECUTE "
                 "FUNCTION poison()");
    for (int i = 0; i < POISON; i++)
        rfx_mark(&f, t, ids[i], 1, false, NULL);
    exec_sql(&f, "UPDATE dirty_users SET attempts = 2"); /* user-max-attempts is 3 */
    long before = rsim_requests(&s);
    rfx_start(&f);
    /* the round read its users from Okta: it is isolating the rows or at its dead letters */
    calls_wait w = {&s, before + 1};
    OKS_ASSERT(oks_test_wait_until(users_read, &w, 15000));
    int64_t t0 = oks_now_mono_ms();
    rfx_stop(&f);
    int64_t took = oks_now_mono_ms() - t0;
    printf("# reconciler stopped in %lld ms (%d dead letters of %d ms each were due)\n",
           (long long)took, POISON, DLQ_TIMEOUT_MS);
    /* at most the dead letter in flight (its timeout + librdkafka's 1 s timeout scan), not
     * POISON of them */
    OKS_ASSERT(took < oks_test_timeout_ms(DLQ_TIMEOUT_MS + 1000 + 2500));
    /* nothing was dropped: every mark stays for a later round */
    OKS_ASSERT_EQ_INT(
        rfx_count(&f, "SELECT count(*) FROM dirty_users WHERE tenant_id = $1::uuid", t, NULL),
        POISON);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    rfx_close(&s, &f, t);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
