#include "wtest.h"

#include "oks_test.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char wt_secret_hex[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

enum { MAX_CHILDREN = 32 };
static pid_t children[MAX_CHILDREN];
static int n_children;

static void kill_children(void)
{
    for (int i = 0; i < n_children; i++) {
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
        }
    }
}

static void forget_child(pid_t pid)
{
    for (int i = 0; i < n_children; i++)
        if (children[i] == pid)
            children[i] = 0;
}

pid_t wt_spawn(const char *prog, const char *const *args, const char *log_path)
{
    const char *bin = getenv("OKS_BIN_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", bin ? bin : "build/bin", prog);
    OKS_ASSERT(access(path, X_OK) == 0);
    if (n_children == 0)
        atexit(kill_children);
    OKS_ASSERT(n_children < MAX_CHILDREN);
    const char *argv[64] = {path};
    int argc = 1;
    for (; args && args[argc - 1] && argc < 63; argc++)
        argv[argc] = args[argc - 1];
    argv[argc] = NULL;
    pid_t pid = fork();
    OKS_ASSERT(pid >= 0);
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(path, (char *const *)argv);
        _exit(127);
    }
    children[n_children++] = pid;
    return pid;
}

int wt_wait_exit(pid_t pid, int timeout_ms)
{
    int64_t deadline = (int64_t)oks_test_timeout_ms(timeout_ms);
    for (int64_t waited = 0; waited <= deadline; waited += 20) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            forget_child(pid);
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        }
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return -1;
}

int wt_stop(pid_t pid, int timeout_ms)
{
    kill(pid, SIGTERM);
    return wt_wait_exit(pid, timeout_ms);
}

static bool file_ready(void *p)
{
    struct stat st;
    return stat((const char *)p, &st) == 0 && st.st_size > 0;
}

bool wt_wait_file(const char *path, int timeout_ms)
{
    return oks_test_wait_until(file_ready, (void *)path, timeout_ms);
}

const char *wt_ready_url(const char *path, const char *key)
{
    static char url[256];
    FILE *f = fopen(path, "r");
    OKS_ASSERT(f != NULL);
    char line[256];
    size_t kl = strlen(key);
    url[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, key, kl) == 0 && line[kl] == '=')
            snprintf(url, sizeof url, "http://%s", line + kl + 1);
    }
    fclose(f);
    OKS_ASSERT(url[0] != '\0');
    return url;
}

/* ---- database ---- */

oks_db *wt_fresh_db(char **url_out)
{
    char *url = oks_test_fresh_database();
    oks_err err = {0};
    oks_db_opts o = {.url = url, .connect_timeout_s = 5, .statement_timeout_ms = 20000};
    oks_db *db = oks_db_connect(&o, &err);
    if (!db)
        oks_test_fail(__FILE__, __LINE__, "connect: %s", err.msg);
    if (oks_db_migrate(db, NULL, &err) != 0)
        oks_test_fail(__FILE__, __LINE__, "migrate: %s", err.msg);
    if (url_out)
        *url_out = url;
    else
        free(url);
    return db;
}

char *wt_scalar(oks_db *db, const char *sql, int n, const char *const *params)
{
    oks_err err = {0};
    PGresult *r = oks_db_exec_params(db, sql, n, params, &err);
    if (!r)
        oks_test_fail(__FILE__, __LINE__, "%s: %s", sql, err.msg);
    char *out = NULL;
    if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        out = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return out;
}

char *wt_tenant(oks_db *db, const char *okta_domain, const char *token, long created_ago_s,
                const char *full_sync_time)
{
    uint8_t key[OKS_CRYPTO_KEY_LEN];
    oks_err err = {0};
    OKS_ASSERT(oks_crypto_key_parse(wt_secret_hex, key, &err) == 0);
    /* the token is sealed for the tenant's id (AAD), so the id is chosen first */
    char *id = wt_scalar(db, "SELECT gen_random_uuid()::text", 0, NULL);
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    OKS_ASSERT(oks_crypto_seal_tenant(key, id, token, &sealed, &sealed_len, &err) == 0);
    uint8_t hash[OKS_CRYPTO_HASH_LEN];
    oks_crypto_secret_hash("hook-secret", hash);
    char ago[32];
    snprintf(ago, sizeof ago, "%ld seconds", created_ago_s);
    static int n_tenants;
    char sub[64];
    snprintf(sub, sizeof sub, "t%ld-%d", (long)getpid(), n_tenants++);
    const char *vals[] = {
        sub, okta_domain, (const char *)sealed, (const char *)hash, ago, full_sync_time, id};
    int lens[] = {0, 0, (int)sealed_len, OKS_CRYPTO_HASH_LEN, 0, 0, 0};
    int fmts[] = {0, 0, 1, 1, 0, 0, 0};
    PGresult *r = oks_db_exec_params_ex(
        db,
        "INSERT INTO tenants (id, subdomain, okta_domain, api_token_enc, webhook_secret_hash, "
        "created_at, full_sync_time) VALUES ($7::uuid, $1, $2, $3, $4, now() - $5::interval, "
        "COALESCE($6::time, '03:00'))",
        7, vals, lens, fmts, 0, &err);
    free(sealed);
    if (!r)
        oks_test_fail(__FILE__, __LINE__, "insert tenant: %s", err.msg);
    PQclear(r);
    return id;
}

/* ---- kafka ---- */

static void admin_create_topic(const char *topic, int partitions);

static rd_kafka_conf_t *conf_base(void)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    char e[256];
    OKS_ASSERT(rd_kafka_conf_set(c, "bootstrap.servers", wt_brokers(), e, sizeof e) ==
               RD_KAFKA_CONF_OK);
    return c;
}

long wt_http(const char *method, const char *url, const char *json_body, char **body);

/* KEY from the stack's env file, NULL when absent (a real cluster has no control API). */
static const char *stack_env(const char *key, char *buf, size_t cap)
{
    const char *dir = getenv("OKTASYNC_STATE_DIR");
    const char *src = getenv("OKS_SOURCE_DIR");
    char path[1024];
    if (dir && *dir)
        snprintf(path, sizeof path, "%s/stack.env", dir);
    else
        snprintf(path, sizeof path, "%s/.state/stack.env", src && *src ? src : ".");
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    const char *found = NULL;
    char line[512];
    size_t kl = strlen(key);
    while (!found && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, key, kl) == 0 && line[kl] == '=') {
            snprintf(buf, cap, "%s", line + kl + 1);
            found = buf;
        }
    }
    fclose(f);
    return found;
}

static char private_bootstrap[256], private_control[256];

const char *wt_brokers(void)
{
    return private_bootstrap[0] ? private_bootstrap : oks_test_service("OKTASYNC_KAFKA_BROKERS");
}

/* "key=value" line of a file written by the devbroker. */
static bool file_line(const char *path, const char *key, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[512];
    bool found = false;
    size_t kl = strlen(key);
    while (!found && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, key, kl) == 0 && line[kl] == '=') {
            snprintf(out, cap, "%s", line + kl + 1);
            found = true;
        }
    }
    fclose(f);
    return found;
}

pid_t wt_private_broker(void)
{
    char boot[256], ctl[256], a_b[300], a_c[300];
    snprintf(boot, sizeof boot, "%s", oks_test_tmp_path("broker.bootstrap"));
    snprintf(ctl, sizeof ctl, "%s", oks_test_tmp_path("broker.control"));
    snprintf(a_b, sizeof a_b, "--bootstrap-file=%s", boot);
    snprintf(a_c, sizeof a_c, "--control-file=%s", ctl);
    const char *args[] = {
        a_b, a_c, "--topics=placeholder", "--admin-listen=127.0.0.1:0", "--log-level=warn", NULL};
    pid_t pid = wt_spawn("oktasync-devbroker", args, oks_test_tmp_path("broker.log"));
    OKS_ASSERT(wt_wait_file(boot, 15000));
    OKS_ASSERT(wt_wait_file(ctl, 15000));
    char c[200];
    OKS_ASSERT(file_line(boot, "bootstrap", private_bootstrap, sizeof private_bootstrap));
    OKS_ASSERT(file_line(ctl, "control", c, sizeof c));
    snprintf(private_control, sizeof private_control, "http://%s", c);
    return pid;
}

void wt_private_broker_gone(void)
{
    private_bootstrap[0] = private_control[0] = '\0';
}

void wt_broker_control(const char *path_and_query)
{
    OKS_ASSERT(private_control[0] != '\0');
    char url[600];
    snprintf(url, sizeof url, "%s%s", private_control, path_and_query);
    OKS_ASSERT_EQ_INT(wt_http("POST", url, "", NULL), 200);
}

/* The development broker (mock cluster) creates topics through its control API; a real
 * cluster through the Admin API. */
void wt_create_topic(const char *topic, int partitions)
{
    const char *control =
        private_control[0] ? private_control : getenv("OKTASYNC_DEVBROKER_CONTROL");
    char from_file[512];
    if (!control || !*control)
        control = stack_env("OKTASYNC_DEVBROKER_CONTROL", from_file, sizeof from_file);
    if (!control) {
        admin_create_topic(topic, partitions);
        return;
    }
    char url[1024];
    snprintf(url, sizeof url, "%s/topics?name=%s&partitions=%d", control, topic, partitions);
    long st = wt_http("POST", url, "", NULL);
    if (st != 200 && st != 409)
        oks_test_fail(__FILE__, __LINE__, "create topic %s: HTTP %ld", topic, st);
}

static void admin_create_topic(const char *topic, int partitions)
{
    char e[256];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf_base(), e, sizeof e);
    OKS_ASSERT(rk != NULL);
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, 1, e, sizeof e);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, oks_test_timeout_ms(10000));
    OKS_ASSERT(ev != NULL);
    const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
    size_t n = 0;
    const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &n);
    OKS_ASSERT(n == 1);
    rd_kafka_resp_err_t te = rd_kafka_topic_result_error(tr[0]);
    OKS_ASSERT(te == RD_KAFKA_RESP_ERR_NO_ERROR || te == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS);
    rd_kafka_event_destroy(ev);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
}

void wt_produce(const char *topic, const char *key, const char *value, size_t len)
{
    wt_produce_headers(topic, key, value, len, NULL);
}

/* One producer per process for wt_produce, made again when the brokers change (a private
 * broker): a client per message cost a connection and a metadata round trip each, ~40 ms under
 * the suite's load, and tests send up to 1,000 messages this way. */
static rd_kafka_t *one_producer;
static char one_producer_brokers[512];

static void drop_one_producer(void)
{
    if (one_producer)
        rd_kafka_destroy(one_producer);
    one_producer = NULL;
}

static rd_kafka_t *producer_for_current_brokers(void)
{
    const char *brokers = wt_brokers();
    if (one_producer && strcmp(one_producer_brokers, brokers) != 0)
        drop_one_producer();
    if (!one_producer) {
        static bool registered;
        char e[256];
        one_producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf_base(), e, sizeof e);
        OKS_ASSERT(one_producer != NULL);
        snprintf(one_producer_brokers, sizeof one_producer_brokers, "%s", brokers);
        if (!registered)
            registered = atexit(drop_one_producer) == 0;
    }
    return one_producer;
}

void wt_produce_headers(const char *topic, const char *key, const char *value, size_t len,
                        const char *const *headers)
{
    rd_kafka_t *rk = producer_for_current_brokers();
    rd_kafka_headers_t *h = rd_kafka_headers_new(8);
    for (size_t i = 0; headers && headers[i]; i += 2)
        rd_kafka_header_add(h, headers[i], -1, headers[i + 1], -1);
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
        RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
    if (err != 0)
        rd_kafka_headers_destroy(h);
    OKS_ASSERT_EQ_INT(err, 0);
    /* delivered before this returns, as with a client of its own; a client that failed to
     * deliver is not kept */
    rd_kafka_resp_err_t flushed = rd_kafka_flush(rk, oks_test_timeout_ms(10000));
    if (flushed != 0)
        drop_one_producer();
    OKS_ASSERT_EQ_INT(flushed, 0);
}

static void count_failed(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    if (m->err) {
        int *failed = opaque;
        if ((*failed)++ == 0)
            fprintf(stderr, "# produce failed: %s\n", rd_kafka_err2str(m->err));
    }
}

/* Flushed every 500 messages, every delivery report checked. (The dev broker's partitions keep
 * only a few MB: a burst much bigger than that, produced before a consumer reads it, is partly
 * deleted by "retention" before it is read.) */
void wt_produce_many(const char *topic, const char *key, char *const *values, size_t n)
{
    char e[256];
    int failed = 0;
    rd_kafka_conf_t *c = conf_base();
    rd_kafka_conf_set_dr_msg_cb(c, count_failed);
    rd_kafka_conf_set_opaque(c, &failed);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, e, sizeof e);
    OKS_ASSERT(rk != NULL);
    for (size_t i = 0; i < n; i++) {
        rd_kafka_resp_err_t err;
        while (
            (err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                                     RD_KAFKA_V_VALUE(values[i], strlen(values[i])),
                                     RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
            RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 50);
        OKS_ASSERT_EQ_INT(err, 0);
        if (i % 500 == 499)
            OKS_ASSERT_EQ_INT(rd_kafka_flush(rk, oks_test_timeout_ms(30000)), 0);
    }
    OKS_ASSERT_EQ_INT(rd_kafka_flush(rk, oks_test_timeout_ms(30000)), 0);
    rd_kafka_destroy(rk);
    OKS_ASSERT_EQ_INT(failed, 0);
}

static json_t *message_json(const rd_kafka_message_t *m)
{
    json_t *headers = json_object();
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char *name;
        const void *val;
        size_t size;
        for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == 0; i++)
            json_object_set_new(headers, name, json_stringn(val ? val : "", val ? size : 0));
    }
    return json_pack("{s:s%, s:s%, s:o, s:i, s:I}", "key", m->key ? (const char *)m->key : "",
                     m->key ? m->key_len : 0, "value", m->payload ? (const char *)m->payload : "",
                     m->payload ? m->len : 0, "headers", headers, "partition", (int)m->partition,
                     "offset", (json_int_t)m->offset);
}

/* Every message now in topic: assign all partitions from the beginning (no group join, so no
 * rebalance wait) and read up to each partition's high watermark. */
json_t *wt_consume_all(const char *topic, int max_ms)
{
    char e[256];
    rd_kafka_conf_t *c = conf_base();
    OKS_ASSERT(rd_kafka_conf_set(c, "group.id", oks_test_unique("reader"), e, sizeof e) == 0);
    OKS_ASSERT(rd_kafka_conf_set(c, "enable.auto.commit", "false", e, sizeof e) == 0);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, e, sizeof e);
    OKS_ASSERT(rk != NULL);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const rd_kafka_metadata_t *md = NULL;
    OKS_ASSERT_EQ_INT(rd_kafka_metadata(rk, 0, rkt, &md, oks_test_timeout_ms(10000)), 0);
    OKS_ASSERT(md->topic_cnt == 1 && md->topics[0].partition_cnt > 0);
    int n = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    int64_t *hi = calloc((size_t)n, sizeof *hi), *next = calloc((size_t)n, sizeof *next);
    OKS_ASSERT(hi && next);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(n);
    for (int p = 0; p < n; p++) {
        int64_t lo = 0;
        OKS_ASSERT_EQ_INT(
            rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi[p], oks_test_timeout_ms(10000)),
            0);
        next[p] = lo;
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    OKS_ASSERT_EQ_INT(rd_kafka_assign(rk, parts), 0);
    rd_kafka_topic_partition_list_destroy(parts);
    json_t *out = json_array();
    struct timespec s, now;
    clock_gettime(CLOCK_MONOTONIC, &s);
    long max = oks_test_timeout_ms(max_ms);
    for (;;) {
        bool done = true;
        for (int p = 0; p < n; p++)
            done = done && next[p] >= hi[p];
        clock_gettime(CLOCK_MONOTONIC, &now);
        long el = (now.tv_sec - s.tv_sec) * 1000 + (now.tv_nsec - s.tv_nsec) / 1000000;
        if (done || el > max)
            break;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        if (!m->err && m->partition >= 0 && m->partition < n) {
            json_array_append_new(out, message_json(m));
            next[m->partition] = m->offset + 1;
        }
        rd_kafka_message_destroy(m);
    }
    free(hi);
    free(next);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return out;
}

int64_t wt_committed(const char *group, const char *topic, int partition)
{
    char e[256];
    rd_kafka_conf_t *c = conf_base();
    OKS_ASSERT(rd_kafka_conf_set(c, "group.id", group, e, sizeof e) == 0);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, e, sizeof e);
    OKS_ASSERT(rk != NULL);
    rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(t, topic, partition);
    OKS_ASSERT_EQ_INT(rd_kafka_committed(rk, t, oks_test_timeout_ms(10000)), 0);
    int64_t off = t->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(t);
    rd_kafka_destroy(rk);
    return off;
}

/* ---- http ---- */

typedef struct {
    char *buf;
    size_t len;
} body_buf;

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    body_buf *b = ud;
    size_t add = sz * n;
    char *nb = realloc(b->buf, b->len + add + 1);
    if (!nb)
        return 0;
    memcpy(nb + b->len, p, add);
    b->buf = nb;
    b->len += add;
    b->buf[b->len] = '\0';
    return add;
}

long wt_http(const char *method, const char *url, const char *json_body, char **body)
{
    return wt_http_hdr(method, url, NULL, json_body, body);
}

long wt_http_hdr(const char *method, const char *url, const char *header, const char *json_body,
                 char **body)
{
    CURL *h = curl_easy_init();
    OKS_ASSERT(h != NULL);
    body_buf b = {0};
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    if (header)
        hdr = curl_slist_append(hdr, header);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)oks_test_timeout_ms(10000));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    if (json_body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, json_body);
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    if (body)
        *body = b.buf;
    else
        free(b.buf);
    return status;
}

double wt_metric(const char *admin_url, const char *name, const char *labels)
{
    char url[300], *text = NULL;
    snprintf(url, sizeof url, "%s/metrics", admin_url);
    if (wt_http("GET", url, NULL, &text) != 200 || !text) {
        free(text);
        return -1;
    }
    char want[300];
    if (labels)
        snprintf(want, sizeof want, "%s{%s} ", name, labels);
    else
        snprintf(want, sizeof want, "%s ", name);
    double v = -1;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, want, strlen(want)) == 0) {
            v = strtod(line + strlen(want), NULL);
            break;
        }
    }
    free(text);
    return v;
}
