/*
 * Test harness for ingest: run build/bin/oktasync-ingest (and a private dev broker) as real
 * processes, talk HTTP with libcurl, seed tenants with SQL, count and read Kafka messages.
 * Failures abort the current test via oks_test_fail.
 */
#ifndef OKS_INGEST_HARNESS_H
#define OKS_INGEST_HARNESS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct ih_proc {
    pid_t pid;
    char http[64];       /* host:port */
    char admin[64];      /* host:port */
    char control[64];    /* devbroker control host:port */
    char bootstrap[128]; /* devbroker bootstrap */
    char dir[256];       /* temp dir for ready files and logs */
} ih_proc;

/* Start ingest; args is a NULL-terminated list of extra "--k=v" flags. Waits for the ready
 * file (10 s). The log goes to <dir>/ingest.log. */
void ih_ingest_start(ih_proc *p, const char *db_url, const char *brokers, const char *topic,
                     const char *const *args);
/* Run ingest with exactly these arguments (no defaults added) and wait up to 10 s for it to
 * exit; returns the exit status and its stderr (first line) in err_out. */
int ih_ingest_run(const char *const *args, char *err_out, size_t cap);

/* SIGTERM and wait (timeout_ms); returns the exit status (or -1 on a signal/timeout). */
int ih_proc_stop(ih_proc *p, int timeout_ms);
/* Wait (without signalling) for the process to exit; exit status or -1. */
int ih_proc_wait(ih_proc *p, int timeout_ms);

/* Start a private oktasync-devbroker (one broker, topics given) and wait for its files. */
void ih_devbroker_start(ih_proc *p, const char *topics);
/* POST to the devbroker control API (path like "/brokers/down"); fails the test unless 200. */
void ih_devbroker_control(const ih_proc *p, const char *path);

typedef struct ih_resp {
    long status; /* 0 when the request itself failed (connection refused, timeout) */
    char body[2048];
    char content_type[128];
    double secs;
} ih_resp;

typedef struct ih_req {
    const char *method;         /* default GET, or POST when body set */
    const char *url;            /* full URL */
    const char *const *headers; /* NULL-terminated "Name: value" */
    const char *body;
    size_t body_len;    /* 0 → strlen(body) */
    long timeout_ms;    /* default 10000 */
    const char *cainfo; /* https: CA file */
    bool chunked;       /* send the body with Transfer-Encoding: chunked (no length) */
} ih_req;

void ih_http(const ih_req *rq, ih_resp *out);

/* Open a plain TCP connection to host:port (idle; caller closes). */
int ih_tcp_connect(const char *hostport);

/* Convenience: POST body to http://<p->http>/webhooks/okta/<sub> with Authorization. */
void ih_post_hook(const ih_proc *p, const char *sub, const char *auth, const char *body,
                  ih_resp *out);
/* GET http://<p->admin><path>; returns status, body in out. */
void ih_admin_get(const ih_proc *p, const char *path, ih_resp *out);
/* Value of a metric line "<name_with_labels> <value>" in /metrics, -1 when absent. */
double ih_metric(const ih_proc *p, const char *series);
/* Poll a metric until it equals want (or timeout_ms passes); returns the last value seen.
 * For gauges updated after the answer is on the wire (request completion). */
double ih_metric_settle(const ih_proc *p, const char *series, double want, int timeout_ms);

/* ---- PostgreSQL ---- */
/* Fresh database with the project's migrations applied; *conn_out is an open connection. */
char *ih_db_fresh(PGconn **conn_out);
/* Insert a tenant (secret hashed with SQL sha256()); returns the tenant id (static per call). */
void ih_db_add_tenant(PGconn *c, const char *subdomain, const char *secret, char id_out[64]);
void ih_db_exec(PGconn *c, const char *sql);

/* ---- Kafka ---- */
/* Create topic with 3 partitions on the shared dev broker (control API) */
void ih_topic_create_shared(const char *topic);
/* Sum of high watermarks of every partition (messages ever written). */
int64_t ih_topic_count(const char *brokers, const char *topic);

typedef struct ih_msg {
    char *key;
    char *value;
    size_t len;
    char hdr_tenant[64];
    char hdr_type[160];
    /* the routing headers (event/oks_event.h); "" when absent */
    char hdr_uuid[160];
    char hdr_user[160];
    char hdr_published[64];
    char hdr_received_at[64];
} ih_msg;

/* Read every message of the topic from the beginning (unique consumer group) until `expect`
 * have arrived or 10 s pass; returns how many were read into *out (caller frees). */
size_t ih_topic_read(const char *brokers, const char *topic, size_t expect, ih_msg **out);
void ih_msgs_free(ih_msg *m, size_t n);

/* A delivery body with n events; event i has uuid "<prefix>-<i>", user "00u<i>" and type
 * types[i % n_types]. Caller frees. */
char *ih_body(const char *prefix, size_t n, const char *const *types, size_t n_types);

/* A unique DNS-label-safe subdomain. */
const char *ih_subdomain(const char *prefix);

#endif
