/*
 * Helpers for the worker and scheduler integration tests: child processes (killed at exit even
 * when an assertion longjmps out), a migrated fresh database, tenants, topics, produce/consume,
 * committed offsets and HTTP. Everything fails the test on error rather than returning codes.
 */
#ifndef WTEST_H
#define WTEST_H

#include "crypto/oks_crypto.h"
#include "db/oks_db.h"

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The AES key every test tenant's token is sealed with (64 hex chars). */
extern const char wt_secret_hex[];

/* Fresh database with the migrations applied; *url_out gets its connection string. */
oks_db *wt_fresh_db(char **url_out);
/* First column of the first row (malloc'd) or NULL when there is no row / it is NULL. */
char *wt_scalar(oks_db *db, const char *sql, int n, const char *const *params);
/* Insert a connected tenant; created_at is set `created_ago_s` seconds back. Returns its id. */
char *wt_tenant(oks_db *db, const char *okta_domain, const char *token, long created_ago_s,
                const char *full_sync_time);

/* Start a private oktasync-devbroker (for fault injection: the stack's broker is shared) and
 * use it from now on for every helper below and for the fixture's workers. Returns its pid (a
 * child of the test: SIGKILL it to make Kafka vanish). */
pid_t wt_private_broker(void);
/* The private broker is gone (the test stopped it): the helpers use the stack's again. */
void wt_private_broker_gone(void);
/* The bootstrap servers in use (the stack's unless wt_private_broker ran). */
const char *wt_brokers(void);
/* POST to the private broker's control API ("/errors/produce?code=45"); fails unless 200. */
void wt_broker_control(const char *path_and_query);

/* Topic with n partitions on the stack's broker (Admin API). */
void wt_create_topic(const char *topic, int partitions);
void wt_produce(const char *topic, const char *key, const char *value, size_t len);
/* The same with Kafka headers: name, value, name, value, ..., NULL. */
void wt_produce_headers(const char *topic, const char *key, const char *value, size_t len,
                        const char *const *headers);
/* n messages with one producer (in order, one key). */
void wt_produce_many(const char *topic, const char *key, char *const *values, size_t n);
/* Every message in topic right now (up to the high watermarks, at most max_ms), in partition
 * order per partition: a JSON array of {"key","value","headers":{...},"partition","offset"}. */
json_t *wt_consume_all(const char *topic, int max_ms);
/* Committed offset of group on topic/partition (-1001 = none). */
int64_t wt_committed(const char *group, const char *topic, int partition);

/* Child processes: argv[0] is a program name under $OKS_BIN_DIR; output goes to log_path. */
pid_t wt_spawn(const char *prog, const char *const *args, const char *log_path);
/* SIGTERM and wait up to timeout_ms; returns the exit status (or -1 on timeout / signal). */
int wt_stop(pid_t pid, int timeout_ms);
/* Wait for a child to exit by itself; exit status or -1 on timeout. */
int wt_wait_exit(pid_t pid, int timeout_ms);
bool wt_wait_file(const char *path, int timeout_ms);
/* "admin=HOST:PORT" line of a ready file → "http://HOST:PORT" (static buffer). */
const char *wt_ready_url(const char *path, const char *key);

/* HTTP via libcurl; returns status, body malloc'd into *body (may be NULL). */
long wt_http(const char *method, const char *url, const char *json_body, char **body);
/* Same with one extra request header ("Authorization: SSWS x"); header may be NULL. */
long wt_http_hdr(const char *method, const char *url, const char *header, const char *json_body,
                 char **body);
/* Value of a Prometheus sample line "name{labels} value" (labels may be NULL); -1 when absent. */
double wt_metric(const char *admin_url, const char *name, const char *labels);

#endif
