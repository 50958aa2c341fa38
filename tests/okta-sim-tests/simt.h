/* Helpers for the simulator tests: start the real oktasync-okta-sim binary, make HTTP calls
 * with libcurl, and run a tiny event-hook receiver (libmicrohttpd). */
#ifndef SIMT_H
#define SIMT_H

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#define SIMT_TOKEN "test-token"

typedef struct simt {
    pid_t pid;
    char base[64];
    char app_id[64];
    char dir[256];
} simt;

/* Start with the given extra flags (NULL-terminated); --token and --ready-file are added.
 * Fails the test when it does not become ready. */
void simt_start(simt *s, const char *const *args);
void simt_stop(simt *s);
/* Start, expecting start-up to fail: returns the exit status and the first stderr line. */
int simt_run_expect_exit(const char *const *args, char *first_line, size_t cap);

typedef struct simt_resp {
    CURLcode rc;
    long status;
    char *body;
    size_t body_len;
    char *headers; /* raw header block */
    json_t *json;  /* parsed body or NULL */
    double ms;
} simt_resp;

void simt_request(simt_resp *r, const char *method, const char *url, const char *auth,
                  const char *body, long timeout_ms);
void simt_resp_free(simt_resp *r);
/* Value of the first header `name` (case-insensitive), or NULL. */
const char *simt_header(const simt_resp *r, const char *name, char *out, size_t cap);
/* Number of Link headers; copies the rel="next" URL into next (empty if none). */
int simt_links(const simt_resp *r, char *self, char *next, size_t cap);

/* GET base + path with the right token. */
void simt_api(simt_resp *r, const simt *s, const char *path);
/* Admin call (method, path under base, JSON body or NULL); returns status. */
long simt_admin(simt_resp *r, const simt *s, const char *method, const char *path,
                const char *body);
/* Walk a listing from path following rel="next"; returns number of items, ids appended to
 * ids (json array) when non-NULL. */
int simt_walk(const simt *s, const char *path, json_t *ids, int *pages);

/* Event-hook receiver. */
typedef struct simt_rx simt_rx;
/* statuses: response status of request i (the last repeats); delay_ms before answering. */
simt_rx *simt_rx_start(const int *statuses, int n_statuses, int delay_ms);
int simt_rx_port(simt_rx *rx);
int simt_rx_count(simt_rx *rx);
/* Copies of request i (caller frees); NULL when absent. */
char *simt_rx_body(simt_rx *rx, int i);
char *simt_rx_auth(simt_rx *rx, int i);
char *simt_rx_ctype(simt_rx *rx, int i);
bool simt_rx_wait(simt_rx *rx, int n, int timeout_ms);
void simt_rx_stop(simt_rx *rx);

#endif
