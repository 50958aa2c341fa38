/*
 * ingest when Kafka misbehaves, against a PRIVATE dev broker whose brokers the test takes down
 * and up through its control API: 503 within the deadline (never 200), overload 503, graceful
 * shutdown with requests in flight.
 */
#include "ingest_harness.h"
#include "oks_test.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static const char *SECRET = "fault-secret";
static const char *const DEACT[] = {"user.lifecycle.deactivate"};

static struct {
    bool up;
    PGconn *db;
    char *db_url;
    ih_proc broker;
    char sub[64];
    char tenant[64];
} F;

static void fixture(void)
{
    if (F.up)
        return;
    F.db_url = ih_db_fresh(&F.db);
    snprintf(F.sub, sizeof(F.sub), "%s", ih_subdomain("fault"));
    ih_db_add_tenant(F.db, F.sub, SECRET, F.tenant);
    ih_devbroker_start(&F.broker, "events,dead-letter");
    F.up = true;
}

static void start_ingest(ih_proc *ing, const char *max_in_flight, const char *deadline)
{
    char mif[64], dl[64];
    snprintf(mif, sizeof(mif), "--max-in-flight=%s", max_in_flight);
    snprintf(dl, sizeof(dl), "--ack-deadline=%s", deadline);
    /* Short deadline keeps the test fast; the shutdown flush must not wait on a dead broker. */
    const char *args[] = {dl, mif, "--shutdown-flush-timeout=500ms",
                          "--kafka-config=socket.connection.setup.timeout.ms=1000", NULL};
    ih_ingest_start(ing, F.db_url, F.broker.bootstrap, "events", args);
}

typedef struct bg {
    pthread_t th;
    const ih_proc *ing;
    char *body;
    ih_resp resp;
} bg;

static void *bg_main(void *arg)
{
    bg *b = arg;
    ih_post_hook(b->ing, F.sub, SECRET, b->body, &b->resp);
    return NULL;
}

static void bg_start(bg *b, const ih_proc *ing)
{
    memset(b, 0, sizeof(*b));
    b->ing = ing;
    b->body = ih_body(oks_test_unique("bg"), 2, DEACT, 1);
    OKS_ASSERT_EQ_INT(pthread_create(&b->th, NULL, bg_main, b), 0);
}

static void bg_join(bg *b)
{
    pthread_join(b->th, NULL);
    free(b->body);
}

static bool in_flight_is_one(void *ctx)
{
    return ih_metric(ctx, "oktasync_ingest_requests_in_flight") == 1;
}

OKS_TEST(kafka_down_gives_503_within_deadline_never_200)
{
    ih_proc ing;
    ih_resp r;

    fixture();
    start_ingest(&ing, "64", "1s");
    char *body = ih_body(oks_test_unique("down"), 3, DEACT, 1);
    ih_post_hook(&ing, F.sub, SECRET, body, &r);
    OKS_ASSERT_EQ_INT(r.status, 200); /* healthy first */
    int64_t before = ih_topic_count(F.broker.bootstrap, "events");

    ih_devbroker_control(&F.broker, "/brokers/down");
    for (int i = 0; i < 3; i++) {
        ih_post_hook(&ing, F.sub, SECRET, body, &r);
        OKS_ASSERT_EQ_INT(r.status, 503);
        OKS_ASSERT_CONTAINS(r.body, "kafka");
        OKS_ASSERT(r.secs >= 0.9 && r.secs < 2.5); /* 1 s deadline, inside Okta's 3 s */
    }
    OKS_ASSERT(ih_metric(&ing, "oktasync_ingest_ack_timeouts_total") >= 3);
    ih_admin_get(&ing, "/readyz", &r);
    OKS_ASSERT_EQ_INT(r.status, 503);

    ih_devbroker_control(&F.broker, "/brokers/up");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do { /* recovers without a restart */
        ih_post_hook(&ing, F.sub, SECRET, body, &r);
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while (r.status != 200 && t1.tv_sec - t0.tv_sec < 10);
    OKS_ASSERT_EQ_INT(r.status, 200);
    /* Messages that missed the deadline may still land later (at least once), never fewer. */
    OKS_ASSERT(ih_topic_count(F.broker.bootstrap, "events") >= before + 3);
    free(body);
    OKS_ASSERT_EQ_INT(ih_proc_stop(&ing, 10000), 0);
}

/* A dead letter is part of the request's ack tracking: a delivery whose only produced message
 * is a dead letter gets 503 (Okta retries it) while Kafka cannot store it, never a 200 that
 * would drop it, and 200 once the broker is back. */
OKS_TEST(dead_letter_not_acknowledged_gives_503)
{
    ih_proc ing;
    ih_resp r;
    char body[512];

    fixture();
    start_ingest(&ing, "64", "1s");
    snprintf(body, sizeof(body),
             "{\"data\":{\"events\":[{\"uuid\":\"%s\",\"eventType\":\"group.user_membership."
             "add\",\"target\":[{\"id\":\"00g1\",\"type\":\"UserGroup\"}]}]}}",
             oks_test_unique("dlq"));
    ih_post_hook(&ing, F.sub, SECRET, body, &r);
    OKS_ASSERT_EQ_INT(r.status, 200); /* healthy: the dead letter is stored */
    OKS_ASSERT_EQ_INT(ih_metric(&ing, "oktasync_ingest_events_dead_lettered_total"), 1);
    ih_devbroker_control(&F.broker, "/brokers/down");
    ih_post_hook(&ing, F.sub, SECRET, body, &r);
    OKS_ASSERT_EQ_INT(r.status, 503);
    OKS_ASSERT_CONTAINS(r.body, "kafka");
    ih_devbroker_control(&F.broker, "/brokers/up");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        ih_post_hook(&ing, F.sub, SECRET, body, &r);
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while (r.status != 200 && t1.tv_sec - t0.tv_sec < 10);
    OKS_ASSERT_EQ_INT(r.status, 200);
    OKS_ASSERT(ih_topic_count(F.broker.bootstrap, "dead-letter") >= 2);
    OKS_ASSERT_EQ_INT(ih_proc_stop(&ing, 10000), 0);
}

OKS_TEST(overload_gives_503_not_4xx)
{
    ih_proc ing;
    ih_resp r;
    bg b;

    fixture();
    start_ingest(&ing, "1", "1s");
    ih_devbroker_control(&F.broker, "/brokers/down");
    bg_start(&b, &ing); /* occupies the only in-flight slot until its deadline */
    OKS_ASSERT(oks_test_wait_until(in_flight_is_one, &ing, 3000));
    char *body = ih_body(oks_test_unique("over"), 1, DEACT, 1);
    ih_post_hook(&ing, F.sub, SECRET, body, &r);
    OKS_ASSERT_EQ_INT(r.status, 503);
    OKS_ASSERT_CONTAINS(r.body, "overloaded");
    OKS_ASSERT(r.secs < 0.9); /* refused at once, not after the 1 s ack deadline */
    bg_join(&b);
    OKS_ASSERT_EQ_INT(b.resp.status, 503);
    ih_devbroker_control(&F.broker, "/brokers/up");
    free(body);
    OKS_ASSERT_EQ_INT(ih_proc_stop(&ing, 10000), 0);
}

typedef struct refused_ctx {
    const char *url;
} refused_ctx;

static bool new_connection_refused(void *ctx)
{
    refused_ctx *c = ctx;
    ih_resp r;
    ih_req rq = {.url = c->url, .timeout_ms = 1000};
    ih_http(&rq, &r);
    return r.status == 0;
}

OKS_TEST(shutdown_answers_in_flight_with_503)
{
    ih_proc ing;
    bg b;
    char url[256];

    fixture();
    start_ingest(&ing, "64", "3s");
    ih_devbroker_control(&F.broker, "/brokers/down");
    bg_start(&b, &ing);
    OKS_ASSERT(oks_test_wait_until(in_flight_is_one, &ing, 3000));
    kill(ing.pid, SIGTERM);
    /* New connections are refused while the process is still draining... */
    snprintf(url, sizeof(url), "http://%s/webhooks/okta/%s", ing.http, F.sub);
    refused_ctx rc = {url};
    OKS_ASSERT(oks_test_wait_until(new_connection_refused, &rc, 2000));
    OKS_ASSERT_EQ_INT(kill(ing.pid, 0), 0); /* not exited: the request below still waits */
    /* ...and the request already in flight gets an answer at its deadline, not 200. */
    bg_join(&b);
    OKS_ASSERT_EQ_INT(b.resp.status, 503);
    OKS_ASSERT_CONTAINS(b.resp.body, "deadline");
    OKS_ASSERT_EQ_INT(ih_proc_wait(&ing, 10000), 0);
    ih_devbroker_control(&F.broker, "/brokers/up");
}

OKS_TEST(shutdown_finishes_in_flight_when_kafka_returns)
{
    ih_proc ing;
    bg b;

    fixture();
    start_ingest(&ing, "64", "5s"); /* long enough for the producer to reconnect */
    ih_devbroker_control(&F.broker, "/brokers/down");
    bg_start(&b, &ing);
    OKS_ASSERT(oks_test_wait_until(in_flight_is_one, &ing, 3000));
    kill(ing.pid, SIGTERM);
    ih_devbroker_control(&F.broker, "/brokers/up"); /* acks arrive during the drain */
    bg_join(&b);
    OKS_ASSERT_EQ_INT(b.resp.status, 200); /* finished, not cut off by the shutdown */
    OKS_ASSERT_EQ_INT(ih_proc_wait(&ing, 10000), 0);
}

static size_t ka_sink(char *ptr, size_t size, size_t nmemb, void *ud)
{
    (void)ptr;
    (void)ud;
    return size * nmemb;
}

/* POST a hook on a kept-alive connection (one easy handle = one reused connection). Returns
 * the status (0 when the connection broke) and counts new connections in *opened. */
static long ka_post(CURL *c, const ih_proc *ing, const char *body, long *opened)
{
    char url[256], ah[128];
    long status = 0, conns = 0;
    snprintf(url, sizeof(url), "http://%s/webhooks/okta/%s", ing->http, F.sub);
    snprintf(ah, sizeof(ah), "Authorization: %s", SECRET);
    struct curl_slist *hl = curl_slist_append(NULL, "Content-Type: application/json");
    hl = curl_slist_append(hl, ah);
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ka_sink);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &conns);
    *opened = conns;
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hl);
    return status;
}

/* A client that keeps its connection open can send a new request after SIGTERM (quiesce only
 * closes the listener). Its ack deadline then ends after the drain window; stopping
 * libmicrohttpd with that connection still suspended is an API violation (MHD_PANIC: abort,
 * no answer). It must get a 503 and the process must exit 0. */
OKS_TEST(shutdown_answers_keepalive_request_sent_while_draining)
{
    ih_proc ing;
    bg b;
    long opened = 0;
    CURL *c = curl_easy_init();

    fixture();
    OKS_ASSERT(c != NULL);
    start_ingest(&ing, "64", "2s");
    char *body = ih_body(oks_test_unique("ka"), 1, DEACT, 1);
    OKS_ASSERT_EQ_INT(ka_post(c, &ing, body, &opened), 200); /* connection now kept alive */
    ih_devbroker_control(&F.broker, "/brokers/down");
    bg_start(&b, &ing); /* keeps the drain going until its own deadline */
    OKS_ASSERT(oks_test_wait_until(in_flight_is_one, &ing, 3000));
    kill(ing.pid, SIGTERM);
    usleep(1500 * 1000); /* past the drain start + 1 s, so this deadline ends after the drain */
    long st = ka_post(c, &ing, body, &opened);
    OKS_ASSERT_EQ_INT(opened, 0); /* the same connection was reused */
    OKS_ASSERT_EQ_INT(st, 503);
    bg_join(&b);
    OKS_ASSERT_EQ_INT(b.resp.status, 503);
    OKS_ASSERT_EQ_INT(ih_proc_wait(&ing, 10000), 0);
    ih_devbroker_control(&F.broker, "/brokers/up");
    curl_easy_cleanup(c);
    free(body);
}

/* The client gives up while its request is suspended (libmicrohttpd cannot see that): the
 * deadline still resumes it, the completion releases the tracker, and the acks that arrive
 * later find it alive (run under ASan to see a use-after-free). */
OKS_TEST(client_gone_while_suspended_is_cleaned_up)
{
    ih_proc ing;
    ih_resp r;
    char url[256], ah[128];

    fixture();
    start_ingest(&ing, "64", "1s");
    ih_devbroker_control(&F.broker, "/brokers/down");
    char *body = ih_body(oks_test_unique("gone"), 3, DEACT, 1);
    snprintf(url, sizeof(url), "http://%s/webhooks/okta/%s", ing.http, F.sub);
    snprintf(ah, sizeof(ah), "Authorization: %s", SECRET);
    const char *hdrs[] = {"Content-Type: application/json", ah, NULL};
    ih_req rq = {.url = url, .headers = hdrs, .body = body, .timeout_ms = 300};
    ih_http(&rq, &r);
    OKS_ASSERT_EQ_INT(r.status, 0); /* gave up before the 1 s deadline */
    OKS_ASSERT_EQ_INT(ih_metric_settle(&ing, "oktasync_ingest_requests_in_flight", 0, 3000), 0);
    ih_devbroker_control(&F.broker, "/brokers/up"); /* its messages are acked now */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        ih_post_hook(&ing, F.sub, SECRET, body, &r);
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while (r.status != 200 && t1.tv_sec - t0.tv_sec < 10);
    OKS_ASSERT_EQ_INT(r.status, 200);
    free(body);
    OKS_ASSERT_EQ_INT(ih_proc_stop(&ing, 10000), 0);
}

/* librdkafka refuses a message mid-batch (local queue full): the request fails at once with
 * 503, the messages already queued still deliver later, and the process exits cleanly (its
 * ack tracker accounts for produced and never-produced messages alike). */
OKS_TEST(produce_refused_mid_batch_gives_503_at_once)
{
    ih_proc ing;
    ih_resp r;

    fixture();
    const char *args[] = {"--ack-deadline=2s", "--shutdown-flush-timeout=3s",
                          "--kafka-config=socket.connection.setup.timeout.ms=1000;"
                          "queue.buffering.max.messages=5",
                          NULL};
    ih_ingest_start(&ing, F.db_url, F.broker.bootstrap, "events", args);
    ih_devbroker_control(&F.broker, "/brokers/down"); /* keep the first 5 in the queue */
    char *body = ih_body(oks_test_unique("full"), 20, DEACT, 1);
    ih_post_hook(&ing, F.sub, SECRET, body, &r);
    OKS_ASSERT_EQ_INT(r.status, 503);
    OKS_ASSERT_CONTAINS(r.body, "kafka delivery failed");
    OKS_ASSERT(r.secs < 1.5); /* refused, not left to the 2 s deadline */
    OKS_ASSERT(ih_metric(&ing, "oktasync_ingest_delivery_failures_total") >= 1);
    /* The gauge drops when the request completes, just after the answer is on the wire. */
    OKS_ASSERT_EQ_INT(ih_metric_settle(&ing, "oktasync_ingest_requests_in_flight", 0, 2000), 0);
    ih_devbroker_control(&F.broker, "/brokers/up");
    char *small = ih_body(oks_test_unique("after"), 3, DEACT, 1);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do { /* the queue drains once the broker is back; then small batches go through */
        ih_post_hook(&ing, F.sub, SECRET, small, &r);
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while (r.status != 200 && t1.tv_sec - t0.tv_sec < 10);
    OKS_ASSERT_EQ_INT(r.status, 200);
    free(body);
    free(small);
    OKS_ASSERT_EQ_INT(ih_proc_stop(&ing, 10000), 0);
}

/* A fatal idempotent-producer error (Kafka answers OUT_OF_ORDER_SEQUENCE_NUMBER): the request
 * gets 503, and the process drains and exits with status 1 so the orchestrator replaces it
 * (staying up unready forever would pass a liveness probe and take no more events). */
OKS_TEST(fatal_producer_error_exits_nonzero)
{
    ih_proc ing;
    ih_resp r;

    fixture();
    start_ingest(&ing, "64", "2s");
    char *ok_body = ih_body(oks_test_unique("pre"), 1, DEACT, 1);
    ih_post_hook(&ing, F.sub, SECRET, ok_body, &r);
    OKS_ASSERT_EQ_INT(r.status, 200); /* the producer has its id and sequence now */
    ih_devbroker_control(&F.broker, "/errors/produce?code=45&count=1");
    char *body = ih_body(oks_test_unique("fatal"), 2, DEACT, 1);
    ih_post_hook(&ing, F.sub, SECRET, body, &r);
    OKS_ASSERT_EQ_INT(r.status, 503);
    OKS_ASSERT_EQ_INT(ih_proc_wait(&ing, 10000), 1);
    free(ok_body);
    free(body);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
