/* Start/stop the Okta simulator as a child process and talk to its /__sim/ admin API. */
#ifndef OKTA_SIM_UTIL_H
#define OKTA_SIM_UTIL_H

#include <jansson.h>
#include <sys/types.h>

#define OKTA_SIM_TOKEN "test-token-123"

typedef struct okta_sim {
    pid_t pid;
    char base[128]; /* http://127.0.0.1:PORT */
    char ready_file[256];
} okta_sim;

/* extra: NULL-terminated list of additional flags. Fails the test when it does not start. */
void okta_sim_start(okta_sim *s, const char *const *extra);
void okta_sim_stop(okta_sim *s);
/* POST JSON text to base + path; returns the HTTP status. */
long okta_sim_post(const okta_sim *s, const char *path, const char *json);
/* GET base + path as JSON (new reference); fails the test on errors. */
json_t *okta_sim_get_json(const okta_sim *s, const char *path);
/* Integer at a dotted path in GET /__sim/stats ("n_requests", "buckets.apps.limited"). */
long long okta_sim_stat(const okta_sim *s, const char *dotted);

/* API requests served (sum of per_endpoint; admin calls are not counted). */
long long okta_sim_api_requests(const okta_sim *s);

#endif
