#include "ingest_harness.h"

#include "db/oks_db.h"
#include "oks_test.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CHILDREN 16
static pid_t children[MAX_CHILDREN];
static int n_children;

/* At exit (also after a failed assertion longjmp'd out of a test): never leave daemons behind.
 * Their directories are in the test's scratch directory (oks_test_tmp_path), which goes when
 * every test passed and stays, with the logs, when one failed. */
static void kill_children(void)
{
    for (int i = 0; i < n_children; i++) {
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
        }
    }
}

static void track_child(pid_t pid)
{
    if (n_children == 0)
        atexit(kill_children);
    if (n_children < MAX_CHILDREN)
        children[n_children++] = pid;
}
static void untrack_child(pid_t pid)
{
    for (int i = 0; i < n_children; i++) {
        if (children[i] == pid)
            children[i] = 0;
    }
}

static const char *bin_dir(void)
{
    const char *d = getenv("OKS_BIN_DIR");
    return d ? d : "build/bin";
}

static pid_t spawn(char **argv, const char *log_path)
{
    pid_t pid = fork();
    if (pid < 0)
        oks_test_fail(__FILE__, __LINE__, "fork: %s", strerror(errno));
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    track_child(pid);
    return pid;
}

/* Read "key=value" from a KEY=VALUE lines file; false when the file or key is missing. */
static bool file_value(const char *path, const char *key, char *out, size_t cap)
{
    char line[512];
    size_t klen = strlen(key);
    bool found = false;
    FILE *f = fopen(path, "r");

    if (!f)
        return false;
    while (!found && fgets(line, sizeof(line), f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == '=') {
            line[strcspn(line, "\r\n")] = '\0';
            snprintf(out, cap, "%s", line + klen + 1);
            found = true;
        }
    }
    fclose(f);
    return found;
}

typedef struct wait_file {
    const char *path;
    const char *key;
    pid_t pid;
    bool died;
} wait_file;

static bool file_ready(void *ctx)
{
    wait_file *w = ctx;
    char v[256];
    if (waitpid(w->pid, NULL, WNOHANG) == w->pid) {
        w->died = true;
        return true;
    }
    return file_value(w->path, w->key, v, sizeof(v));
}

static void wait_for_file(pid_t pid, const char *path, const char *key, const char *log)
{
    wait_file w = {path, key, pid, false};
    if (!oks_test_wait_until(file_ready, &w, 10000) || w.died) {
        untrack_child(pid);
        oks_test_fail(__FILE__, __LINE__, "process did not become ready (%s); see %s",
                      w.died ? "exited" : "timeout", log);
    }
}

static void make_dir(ih_proc *p, const char *what)
{
    snprintf(p->dir, sizeof(p->dir), "%s", oks_test_tmp_path(what));
    if (mkdir(p->dir, 0700) != 0)
        oks_test_fail(__FILE__, __LINE__, "mkdir %s: %s", p->dir, strerror(errno));
}

void ih_ingest_start(ih_proc *p, const char *db_url, const char *brokers, const char *topic,
                     const char *const *args)
{
    char exe[512], ready[300], log[300], a_db[1024], a_k[256], a_t[256], a_r[320];
    char *argv[48];
    int n = 0;

    memset(p, 0, sizeof(*p));
    make_dir(p, "ingest");
    snprintf(exe, sizeof(exe), "%s/oktasync-ingest", bin_dir());
    snprintf(ready, sizeof(ready), "%s/ready", p->dir);
    snprintf(log, sizeof(log), "%s/ingest.log", p->dir);
    snprintf(a_db, sizeof(a_db), "--database-url=%s", db_url);
    snprintf(a_k, sizeof(a_k), "--kafka-brokers=%s", brokers);
    snprintf(a_t, sizeof(a_t), "--kafka-topic=%s", topic);
    snprintf(a_r, sizeof(a_r), "--ready-file=%s", ready);
    argv[n++] = exe;
    argv[n++] = a_db;
    argv[n++] = a_k;
    argv[n++] = a_t;
    argv[n++] = a_r;
    argv[n++] = "--http-listen=127.0.0.1:0";
    argv[n++] = "--admin-listen=127.0.0.1:0";
    argv[n++] = "--log-level=debug";
    for (int i = 0; args && args[i] && n < 46; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    p->pid = spawn(argv, log);
    wait_for_file(p->pid, ready, "http", log);
    if (!file_value(ready, "http", p->http, sizeof(p->http)) ||
        !file_value(ready, "admin", p->admin, sizeof(p->admin)))
        oks_test_fail(__FILE__, __LINE__, "ready file %s lacks http/admin", ready);
}

int ih_ingest_run(const char *const *args, char *err_out, size_t cap)
{
    ih_proc p = {0};
    char exe[512], log[300];
    char *argv[32];
    int n = 0;

    make_dir(&p, "ingest-run");
    snprintf(exe, sizeof(exe), "%s/oktasync-ingest", bin_dir());
    snprintf(log, sizeof(log), "%s/stderr", p.dir);
    argv[n++] = exe;
    for (int i = 0; args[i] && n < 31; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    p.pid = spawn(argv, log);
    int rc = ih_proc_wait(&p, 10000);
    err_out[0] = '\0';
    FILE *f = fopen(log, "r");
    if (f) {
        if (!fgets(err_out, (int)cap, f))
            err_out[0] = '\0';
        char extra[256];
        if (fgets(extra, sizeof(extra), f)) /* exactly one line expected */
            snprintf(err_out, cap, "MORE THAN ONE LINE");
        fclose(f);
    }
    return rc;
}

int ih_proc_stop(ih_proc *p, int timeout_ms)
{
    if (p->pid <= 0)
        return -1;
    kill(p->pid, SIGTERM);
    return ih_proc_wait(p, timeout_ms);
}

int ih_proc_wait(ih_proc *p, int timeout_ms)
{
    int status = 0;
    struct timespec ts = {0, 10 * 1000 * 1000};

    if (p->pid <= 0)
        return -1;
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            untrack_child(p->pid);
            p->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        nanosleep(&ts, NULL);
    }
    kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
    untrack_child(p->pid);
    p->pid = 0;
    return -1;
}

void ih_devbroker_start(ih_proc *p, const char *topics)
{
    char exe[512], boot[300], ctl[300], log[300], a_b[320], a_c[320], a_t[256];

    memset(p, 0, sizeof(*p));
    make_dir(p, "devbroker");
    snprintf(exe, sizeof(exe), "%s/oktasync-devbroker", bin_dir());
    snprintf(boot, sizeof(boot), "%s/bootstrap", p->dir);
    snprintf(ctl, sizeof(ctl), "%s/control", p->dir);
    snprintf(log, sizeof(log), "%s/devbroker.log", p->dir);
    snprintf(a_b, sizeof(a_b), "--bootstrap-file=%s", boot);
    snprintf(a_c, sizeof(a_c), "--control-file=%s", ctl);
    snprintf(a_t, sizeof(a_t), "--topics=%s", topics);
    char *argv[] = {exe, a_b, a_c, a_t, "--partitions=3", "--admin-listen=127.0.0.1:0", NULL};
    p->pid = spawn(argv, log);
    wait_for_file(p->pid, boot, "bootstrap", log);
    wait_for_file(p->pid, ctl, "control", log);
    if (!file_value(boot, "bootstrap", p->bootstrap, sizeof(p->bootstrap)) ||
        !file_value(ctl, "control", p->control, sizeof(p->control)))
        oks_test_fail(__FILE__, __LINE__, "devbroker files incomplete in %s", p->dir);
}

void ih_devbroker_control(const ih_proc *p, const char *path)
{
    char url[256];
    ih_resp r;
    snprintf(url, sizeof(url), "http://%s%s", p->control, path);
    ih_req rq = {.method = "POST", .url = url, .body = "", .timeout_ms = 5000};
    ih_http(&rq, &r);
    if (r.status != 200)
        oks_test_fail(__FILE__, __LINE__, "devbroker %s: %ld %s", path, r.status, r.body);
}

/* ---- HTTP ---- */

typedef struct sink {
    char *buf;
    size_t len, cap;
} sink;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    sink *s = ud;
    size_t n = size * nmemb;
    size_t room = s->cap - 1 - s->len;
    size_t take = n < room ? n : room;
    memcpy(s->buf + s->len, ptr, take);
    s->len += take;
    s->buf[s->len] = '\0';
    return n;
}

typedef struct source {
    const char *p;
    size_t left;
} source;

/* Hands the body out in small pieces so the server sees several chunks. */
static size_t on_read(char *buf, size_t size, size_t nmemb, void *ud)
{
    source *s = ud;
    size_t n = size * nmemb;
    if (n > 4096)
        n = 4096;
    if (n > s->left)
        n = s->left;
    memcpy(buf, s->p, n);
    s->p += n;
    s->left -= n;
    return n;
}

void ih_http(const ih_req *rq, ih_resp *out)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hl = NULL;
    sink s = {out->body, 0, sizeof(out->body)};

    memset(out, 0, sizeof(*out));
    if (!c)
        oks_test_fail(__FILE__, __LINE__, "curl_easy_init");
    for (int i = 0; rq->headers && rq->headers[i]; i++)
        hl = curl_slist_append(hl, rq->headers[i]);
    hl = curl_slist_append(hl, "Expect:"); /* no 100-continue round trip */
    curl_easy_setopt(c, CURLOPT_URL, rq->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, rq->timeout_ms ? rq->timeout_ms : 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    if (rq->cainfo)
        curl_easy_setopt(c, CURLOPT_CAINFO, rq->cainfo);
    source src = {rq->body, rq->body ? (rq->body_len ? rq->body_len : strlen(rq->body)) : 0};
    if (rq->body && rq->chunked) {
        hl = curl_slist_append(hl, "Transfer-Encoding: chunked");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &src);
    } else if (rq->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(rq->body_len ? rq->body_len : strlen(rq->body)));
    }
    if (rq->method)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
    if (curl_easy_perform(c) == CURLE_OK) {
        char *ct = NULL;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
        if (ct)
            snprintf(out->content_type, sizeof(out->content_type), "%s", ct);
    }
    curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &out->secs);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
}

int ih_tcp_connect(const char *hostport)
{
    char host[64];
    const char *colon = strrchr(hostport, ':');
    if (!colon || (size_t)(colon - hostport) >= sizeof(host))
        oks_test_fail(__FILE__, __LINE__, "bad address %s", hostport);
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        oks_test_fail(__FILE__, __LINE__, "connect %s: %s", hostport, strerror(errno));
    return fd;
}

void ih_post_hook(const ih_proc *p, const char *sub, const char *auth, const char *body,
                  ih_resp *out)
{
    char url[256], ah[512];
    snprintf(url, sizeof(url), "http://%s/webhooks/okta/%s", p->http, sub);
    snprintf(ah, sizeof(ah), "Authorization: %s", auth);
    const char *hdrs[] = {"Content-Type: application/json", ah, NULL};
    ih_req rq = {.method = "POST", .url = url, .headers = hdrs, .body = body};
    ih_http(&rq, out);
}

void ih_admin_get(const ih_proc *p, const char *path, ih_resp *out)
{
    char url[256];
    snprintf(url, sizeof(url), "http://%s%s", p->admin, path);
    ih_req rq = {.url = url, .timeout_ms = 5000};
    ih_http(&rq, out);
}

double ih_metric(const ih_proc *p, const char *series)
{
    char url[256];
    static char buf[65536];
    sink s = {buf, 0, sizeof(buf)};
    CURL *c = curl_easy_init();

    buf[0] = '\0';
    snprintf(url, sizeof(url), "http://%s/metrics", p->admin);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK)
        return -1;
    size_t n = strlen(series);
    for (char *line = buf; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, series, n) == 0 && line[n] == ' ')
            return strtod(line + n + 1, NULL);
    }
    return -1;
}

/* ---- PostgreSQL ---- */

char *ih_db_fresh(PGconn **conn_out)
{
    oks_err err = {0};
    char *url = oks_test_fresh_database();
    oks_db_opts o = {.url = url, .connect_timeout_s = 5, .application_name = "ingest-test"};
    oks_db *db = oks_db_connect(&o, &err);
    if (!db)
        oks_test_fail(__FILE__, __LINE__, "connect %s: %s", url, err.msg);
    if (oks_db_migrate(db, NULL, &err) != 0)
        oks_test_fail(__FILE__, __LINE__, "migrate: %s", err.msg);
    oks_db_close(db);
    *conn_out = PQconnectdb(url);
    if (PQstatus(*conn_out) != CONNECTION_OK)
        oks_test_fail(__FILE__, __LINE__, "connect: %s", PQerrorMessage(*conn_out));
    return url;
}

void ih_db_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    PQclear(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        oks_test_fail(__FILE__, __LINE__, "%s: %s", sql, PQerrorMessage(c));
}

void ih_db_add_tenant(PGconn *c, const char *subdomain, const char *secret, char id_out[64])
{
    const char *params[] = {subdomain, secret};
    PGresult *r = PQexecParams(c,
                               "INSERT INTO tenants (subdomain, webhook_secret_hash) "
                               "VALUES ($1, sha256(convert_to($2, 'UTF8'))) RETURNING id::text",
                               2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        oks_test_fail(__FILE__, __LINE__, "insert tenant: %s", PQerrorMessage(c));
    }
    snprintf(id_out, 64, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
}

/* ---- Kafka ---- */

void ih_topic_create_shared(const char *topic)
{
    char url[512];
    ih_resp r;
    const char *ctl = oks_test_service("OKTASYNC_DEVBROKER_CONTROL");
    snprintf(url, sizeof(url), "%s/topics?name=%s&partitions=3", ctl, topic);
    ih_req rq = {.method = "POST", .url = url, .body = "", .timeout_ms = 5000};
    ih_http(&rq, &r);
    if (r.status != 200)
        oks_test_fail(__FILE__, __LINE__, "create topic %s: %ld %s", topic, r.status, r.body);
}

static rd_kafka_t *kafka_client(rd_kafka_type_t type, const char *brokers, const char *group)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
    if (group) {
        rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr));
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr));
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
    if (!rk)
        oks_test_fail(__FILE__, __LINE__, "rd_kafka_new: %s", errstr);
    return rk;
}

static int partitions_of(rd_kafka_t *rk, const char *topic)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
    rd_kafka_topic_destroy(rkt);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1) {
        if (md)
            rd_kafka_metadata_destroy(md);
        oks_test_fail(__FILE__, __LINE__, "metadata %s: %s", topic, rd_kafka_err2str(e));
    }
    int n = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    return n;
}

int64_t ih_topic_count(const char *brokers, const char *topic)
{
    rd_kafka_t *rk = kafka_client(RD_KAFKA_PRODUCER, brokers, NULL);
    int64_t total = 0;
    int n = partitions_of(rk, topic);
    for (int p = 0; p < n; p++) {
        int64_t lo = 0, hi = 0;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 5000);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_destroy(rk);
            oks_test_fail(__FILE__, __LINE__, "watermarks: %s", rd_kafka_err2str(e));
        }
        total += hi;
    }
    rd_kafka_destroy(rk);
    return total;
}

static void copy_header(rd_kafka_headers_t *h, const char *name, char *out, size_t cap)
{
    const void *v = NULL;
    size_t n = 0;
    out[0] = '\0';
    if (h && rd_kafka_header_get_last(h, name, &v, &n) == RD_KAFKA_RESP_ERR_NO_ERROR && v)
        snprintf(out, cap, "%.*s", (int)n, (const char *)v);
}

/* Kafka keys and payloads are not NUL-terminated: copy exactly len bytes (strndup would be
 * legal, but ASan's strict_string_checks rightly reads it as a string). */
static char *dup_bytes(const void *p, size_t len)
{
    char *s = malloc(len + 1);
    if (s) {
        if (len)
            memcpy(s, p, len);
        s[len] = '\0';
    }
    return s;
}

size_t ih_topic_read(const char *brokers, const char *topic, size_t expect, ih_msg **out)
{
    rd_kafka_t *rk = kafka_client(RD_KAFKA_CONSUMER, brokers, oks_test_unique("ingest-reader"));
    int np = partitions_of(rk, topic);
    rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(np);
    for (int p = 0; p < np; p++)
        rd_kafka_topic_partition_list_add(tp, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, tp);
    rd_kafka_topic_partition_list_destroy(tp);
    ih_msg *msgs = calloc(expect + 1, sizeof(*msgs));
    size_t n = 0;
    time_t until = time(NULL) + 10;
    while (n < expect && time(NULL) < until) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        if (!m->err) {
            rd_kafka_headers_t *h = NULL;
            rd_kafka_message_headers(m, &h);
            msgs[n].key = dup_bytes(m->key, m->key ? m->key_len : 0);
            msgs[n].value = dup_bytes(m->payload, m->len);
            msgs[n].len = m->len;
            copy_header(h, "tenant", msgs[n].hdr_tenant, sizeof(msgs[n].hdr_tenant));
            copy_header(h, "type", msgs[n].hdr_type, sizeof(msgs[n].hdr_type));
            copy_header(h, "event_uuid", msgs[n].hdr_uuid, sizeof(msgs[n].hdr_uuid));
            copy_header(h, "okta_user_id", msgs[n].hdr_user, sizeof(msgs[n].hdr_user));
            copy_header(h, "published", msgs[n].hdr_published, sizeof(msgs[n].hdr_published));
            copy_header(h, "received_at", msgs[n].hdr_received_at, sizeof(msgs[n].hdr_received_at));
            n++;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    *out = msgs;
    return n;
}

void ih_msgs_free(ih_msg *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(m[i].key);
        free(m[i].value);
    }
    free(m);
}

char *ih_body(const char *prefix, size_t n, const char *const *types, size_t n_types)
{
    json_t *events = json_array();
    for (size_t i = 0; i < n; i++) {
        char uuid[128], user[32];
        snprintf(uuid, sizeof(uuid), "%s-%zu", prefix, i);
        snprintf(user, sizeof(user), "00u%zu", i);
        json_array_append_new(
            events,
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s}, {s:s, s:s, s:s}]}", "uuid", uuid,
                      "published", "2025-03-04T10:15:29.877Z", "eventType", types[i % n_types],
                      "version", "0", "severity", "INFO", "target", "id", "00g3sales", "type",
                      "UserGroup", "id", user, "type", "User", "alternateId", "jane@acme.example"));
    }
    json_t *root =
        json_pack("{s:s, s:s, s:s, s:{s:o}}", "eventType", "com.okta.event_hook",
                  "eventTypeVersion", "1.0", "eventId", prefix, "data", "events", events);
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return s;
}

const char *ih_subdomain(const char *prefix)
{
    static char buf[8][64];
    static int next;
    static int counter;
    char *b = buf[next++ % 8];
    snprintf(b, 64, "%s-%d-%d", prefix, (int)getpid(), counter++);
    return b;
}

double ih_metric_settle(const ih_proc *p, const char *series, double want, int timeout_ms)
{
    double v = ih_metric(p, series);
    for (int waited = 0; v != want && waited < oks_test_timeout_ms(timeout_ms); waited += 20) {
        nanosleep(&(struct timespec){0, 20 * 1000000L}, NULL);
        v = ih_metric(p, series);
    }
    return v;
}
