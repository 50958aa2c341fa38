/*
 * oktasync-okta-sim: an Okta org simulator for tests and benchmarks.
 *
 * Threads: libmicrohttpd runs one thread per connection (so latency/hang faults only stall the
 * connection they hit); the org is guarded by one rwlock (API reads share it, admin changes
 * take it exclusively); event-hook delivery runs on its own thread with libcurl.
 */
#ifndef SIM_H
#define SIM_H

#include "core/oks_err.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- growable byte buffer (sim_buf.c) ---- */
typedef struct sim_buf {
    char *data;
    size_t len, cap;
    bool oom;
} sim_buf;

void sim_buf_reserve(sim_buf *b, size_t extra);
/* Inline: responses are built from many short appends. */
static inline void sim_buf_add(sim_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap)
        sim_buf_reserve(b, n);
    if (b->oom)
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}
void sim_buf_adds(sim_buf *b, const char *s);
void sim_buf_printf(sim_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s as a quoted, escaped JSON string; NULL appends null. */
void sim_buf_jstr(sim_buf *b, const char *s);
/* Append an ISO-8601 timestamp in quotes, or null when ms < 0. */
void sim_buf_jtime(sim_buf *b, int64_t ms);
void sim_buf_free(sim_buf *b);
/* Append a string literal. */
#define SIM_BUF_LIT(b, lit) sim_buf_add((b), "" lit, sizeof(lit) - 1)
/* Hand the bytes to the caller (caller frees); buffer is reset. */
char *sim_buf_steal(sim_buf *b);

/* ISO-8601 UTC text of epoch ms into out (SIM_ISO8601_CAP bytes), as oks_time_format_iso8601
 * writes it; returns its length (sim_iso8601.c). */
#define SIM_ISO8601_CAP 48
size_t sim_iso8601(int64_t ms, char *out);

/* ---- deterministic randomness (sim_gen.c) ---- */
uint64_t sim_mix64(uint64_t x);
uint64_t sim_rand(uint64_t seed, uint64_t idx, uint64_t field);
/* prefix ("00u") + 17 base62 chars; out needs 21 bytes. */
void sim_make_id(char *out, const char *prefix, uint64_t seed, uint64_t idx, uint64_t salt);
/* Random id from the process entropy (request ids, uuids of deliveries). */
void sim_random_token(char *out, size_t len);
void sim_uuid(char *out); /* 37 bytes */

/* ---- the org (sim_org.c) ---- */
enum sim_status {
    SIM_ST_ACTIVE = 0,
    SIM_ST_PROVISIONED,
    SIM_ST_STAGED,
    SIM_ST_SUSPENDED,
    SIM_ST_DEPROVISIONED,
    SIM_ST_LOCKED_OUT,
    SIM_ST_RECOVERY,
    SIM_ST_PASSWORD_EXPIRED,
    SIM_ST__COUNT
};
const char *sim_status_name(int st);
int sim_status_parse(const char *s); /* -1 when unknown */

#define SIM_MAX_GROUPS 64
#define SIM_CHAIN_LEN 8
#define SIM_ID_LEN 21

typedef struct sim_user {
    char id[SIM_ID_LEN];
    uint8_t status;
    uint8_t direct;        /* assigned to the app directly (scope USER) */
    uint8_t deleted;       /* deleted in Okta: 404 everywhere */
    uint8_t ever_assigned; /* the app has seen it: it belongs in the state dump */
    uint8_t custom;        /* created by admin: profile is `override` alone */
    uint8_t apps_removed;  /* deactivation removed its app assignments (group grants ignored) */
    uint8_t saved_direct;  /* "restore" mode: direct assignment to bring back on reactivation */
    int32_t manager;       /* index of the manager, -1 = none */
    uint32_t version;      /* bumped by every admin change to the user (ETag) */
    uint64_t groups;       /* bit i = member of group i */
    int64_t created_ms, activated_ms, status_changed_ms, last_updated_ms, last_login_ms;
    int64_t assign_created_ms, assign_updated_ms;
    json_t *override; /* profile attributes set through the admin API (owned) */
} sim_user;

/* Group `type` values (spec GroupType). */
enum sim_group_type { SIM_GT_OKTA = 0, SIM_GT_APP, SIM_GT_BUILT_IN };
/* Index of the built-in Everyone group (not a bit in sim_user.groups: it holds every user). */
#define SIM_G_EVERYONE SIM_MAX_GROUPS

typedef struct sim_group {
    char id[SIM_ID_LEN];
    char name[64];
    bool app_assigned;
    uint8_t type; /* enum sim_group_type */
    int64_t created_ms, last_updated_ms, last_membership_updated_ms;
} sim_group;

/* What deactivating a user does to its app assignments (Okta's pages disagree):
 * REMOVE  - assignments are removed and stay removed after reactivation (the default);
 * RESTORE - assignments are removed and come back on reactivation;
 * KEEP    - assignments stay, listed with AppUser status INACTIVE. */
enum sim_deact_apps { SIM_DEACT_REMOVE = 0, SIM_DEACT_RESTORE, SIM_DEACT_KEEP };
const char *sim_deact_apps_name(int mode);
int sim_deact_apps_parse(const char *s); /* -1 when unknown */

typedef struct sim_org {
    pthread_rwlock_t lock;
    uint64_t seed;
    char domain[128];
    char app_id[64];
    char app_label[64];
    sim_user *users;
    uint32_t n_users, cap_users;
    uint32_t *id_map; /* open addressing: idx + 1, 0 = empty */
    uint32_t id_map_cap;
    sim_group groups[SIM_MAX_GROUPS];
    uint32_t n_groups;
    sim_group everyone;   /* BUILT_IN, every user is a member */
    int deact_apps;       /* enum sim_deact_apps; changed under the write lock */
    uint32_t *overridden; /* users with a profile override (login lookups scan these) */
    uint32_t n_overridden, cap_overridden;
    /* Org shape (sim_org_shape.c): "rich" adds photoUrl, a shuffled hierarchy (managers listed
     * after their reports), a fixed chain, and optionally a manager cycle. */
    bool rich;
    uint32_t chain[SIM_CHAIN_LEN]; /* chain[0] = top; chain[k] reports to chain[k-1] */
    uint32_t n_chain;
    uint32_t cycle[3]; /* cycle[k] reports to cycle[(k+1) % n_cycle] */
    uint32_t n_cycle;
} sim_org;

sim_org *sim_org_new(uint32_t n_users, uint32_t n_groups, uint64_t seed, const char *domain,
                     const char *app_id, const char *app_label, int deact_apps, oks_err *err);
void sim_org_free(sim_org *org);
/* Apply an org profile after generation: "default" (nothing), "rich" or "demo" (rich
 * hierarchy and attributes); cycle = 0, 2 or 3 closes a manager cycle of that length. */
int sim_org_shape(sim_org *org, const char *profile, int cycle, oks_err *err);
/* Org profile names: default | rich | demo; -1 when unknown. */
int sim_org_profile_parse(const char *s);
/* Lookups under the caller's lock; -1 when absent (deleted users are found: check ->deleted). */
int64_t sim_org_find_id(const sim_org *org, const char *id);
int64_t sim_org_find_login(const sim_org *org, const char *login);
int64_t sim_org_find_user(const sim_org *org, const char *id_or_login);
/* Group index (0..n_groups-1, or SIM_G_EVERYONE), -1 when unknown. */
int sim_org_find_group(const sim_org *org, const char *id);
const sim_group *sim_org_group(const sim_org *org, int g);
bool sim_user_in_group(const sim_user *u, int g);
bool sim_user_assigned(const sim_org *org, const sim_user *u);
/* Effective scope of an assignment ("USER" or "GROUP"). */
const char *sim_user_scope(const sim_org *org, const sim_user *u);
/* Append a user (admin create) with an empty profile; returns its index or -1. */
int64_t sim_org_add_user(sim_org *org, oks_err *err);
void sim_org_note_override(sim_org *org, uint32_t idx);

/* ---- profiles (sim_profile.c) ---- */
/* Value of profile attribute `name` ("login", "department", custom ...) as text; returns NULL
 * when absent or null. Numbers/booleans are rendered to buf. */
const char *sim_profile_get(const sim_org *org, uint32_t idx, const char *name, char *buf,
                            size_t cap);
/* Append the profile JSON object. */
void sim_profile_render(const sim_org *org, uint32_t idx, sim_buf *b);
/* Override marker: the attribute is left out of the profile (absent, not null). */
json_t *sim_profile_absent(void);
bool sim_profile_is_absent(const json_t *v);
/* New reference: the full profile as a jansson object (for state dump and overrides). */
json_t *sim_profile_json(const sim_org *org, uint32_t idx);

/* ---- JSON documents (sim_render.c) ---- */
void sim_render_user(const sim_org *org, uint32_t idx, const char *base, bool single, sim_buf *b);
void sim_render_app_user(const sim_org *org, uint32_t idx, const char *base, bool expand,
                         sim_buf *b);
void sim_render_group(const sim_org *org, int g, const char *base, sim_buf *b);
void sim_render_app(const sim_org *org, const char *base, sim_buf *b);
/* ETag header value (W/"...") for GET /users/{id}; cap >= 24. */
void sim_user_etag(const sim_org *org, uint32_t idx, char *out, size_t cap);

/* ---- filter / search expressions (sim_expr.c) ---- */
typedef struct sim_expr sim_expr;
/* Attribute getter: the nth text value of attr for the item (nth > 0 only for multi-valued
 * attributes such as a LogEvent's target.id), or NULL when there is none. */
typedef const char *(*sim_expr_get)(void *item, const char *attr, int nth, char *buf, size_t cap);
enum {
    SIM_OP_EQ = 1u << 0,
    SIM_OP_GT = 1u << 1,
    SIM_OP_GE = 1u << 2,
    SIM_OP_LT = 1u << 3,
    SIM_OP_LE = 1u << 4,
    SIM_OP_SW = 1u << 5,
    SIM_OP_CO = 1u << 6,
    SIM_OP_PR = 1u << 7,
    SIM_OP_RANGE = SIM_OP_GT | SIM_OP_GE | SIM_OP_LT | SIM_OP_LE,
};
/* What an expression may use. Lists are NULL-terminated; a NULL list allows every attribute. */
typedef struct sim_expr_rules {
    const char *const *attrs;    /* attributes allowed at all */
    unsigned ops;                /* operators allowed (SIM_OP_*) */
    const char *const *ranged;   /* attributes that accept gt/ge/lt/le */
    const char *const *contains; /* attributes that accept co */
    bool exact;                  /* values compare case-sensitively (filter), else not (search) */
} sim_expr_rules;
sim_expr *sim_expr_parse(const char *text, const sim_expr_rules *rules, oks_err *err);
bool sim_expr_eval(const sim_expr *e, sim_expr_get get, void *item);
/* When e is nothing but exact `attr eq "value"` comparisons joined by `or` (any grouping, a
 * single comparison included), its values in order (malloc'd array of pointers into e, caller
 * frees the array) and true: an item matches e exactly when attr equals one of them. */
bool sim_expr_eq_list(const sim_expr *e, const char *attr, const char ***values, size_t *n);
void sim_expr_free(sim_expr *e);

/* ---- System Log + hooks (sim_logs.c, sim_hooks.c) ---- */
typedef struct sim_logs sim_logs;
typedef struct sim_hooks sim_hooks;

typedef struct sim_target {
    const char *id, *type, *alternate_id, *display_name;
} sim_target;

sim_logs *sim_logs_new(size_t max_events);
void sim_logs_free(sim_logs *l);
/* Record one LogEvent (and hand it to hooks when set). Returns its uuid in uuid_out (37 B). */
void sim_logs_add(sim_logs *l, sim_hooks *hooks, const char *event_type, const char *message,
                  const sim_target *targets, size_t n_targets, const char *request_uri);

/* ---- server ---- */
typedef struct sim_cfg {
    char *listen, *ready_file, *log_level, *token, *domain, *app_id, *app_label;
    char *deactivate_apps;
    int64_t users, seed, groups;
    int64_t rl_users_list, rl_user_get, rl_apps, rl_app_get, rl_groups, rl_group_get, rl_logs,
        rl_other;
    int64_t rl_window_ms, concurrency, max_connections, log_max_events;
    int64_t latency_ms, jitter_ms, fail_next, fail_status, error_permille, hang_next, hang_ms;
    int64_t truncate_next, malformed_next, force_429_next;
    bool bad_token;
    char *hook_url, *hook_secret, *hook_id;
    int64_t hook_window_ms, hook_timeout_ms, hook_max_batch, hook_duplicate_permille;
    int64_t hook_drop_permille;
    bool hook_reorder;
    char *oidc_client_id, *oidc_client_secret, *oidc_grant_types;
    int64_t oidc_invalid_client_status;
    char *org_profile;
    int64_t manager_cycle;
} sim_cfg;

enum sim_bucket {
    SIM_B_USERS_LIST = 0,
    SIM_B_USER_GET,
    SIM_B_APPS,
    SIM_B_APP_GET,
    SIM_B_GROUPS,
    SIM_B_GROUP_GET,
    SIM_B_LOGS,
    SIM_B_OTHER,
    SIM_B__COUNT
};
const char *sim_bucket_name(int b);

typedef struct sim_rl_bucket {
    int64_t limit, count, window_start_ms;
    uint64_t served, limited;
} sim_rl_bucket;

typedef struct sim_ratelimit {
    pthread_mutex_t mu;
    int64_t window_ms;
    sim_rl_bucket b[SIM_B__COUNT];
} sim_ratelimit;

/* Check and count one request; fills limit/remaining/reset (epoch s); false = over quota. */
bool sim_rl_take(sim_ratelimit *rl, int bucket, int64_t *limit, int64_t *remaining,
                 int64_t *reset_s);
void sim_rl_reset(sim_ratelimit *rl);
json_t *sim_rl_stats(sim_ratelimit *rl);

typedef struct sim_faults {
    pthread_mutex_t mu;
    int64_t latency_ms, jitter_ms, fail_next, fail_status, error_permille, hang_next, hang_ms;
    int64_t truncate_next, malformed_next, force_429_next;
    bool bad_token;
    char route[64]; /* "" = every request; else only requests of this route template */
    uint64_t rng;
} sim_faults;

typedef struct sim_fault_plan {
    int64_t delay_ms, hang_ms;
    bool hang, bad_token, force_429, truncate, malformed;
    int fail_status; /* 0 = none */
} sim_fault_plan;

void sim_faults_init(sim_faults *f, const sim_cfg *cfg);
/* The faults of one request of `route` (its template, as in /__sim/stats per_endpoint). */
void sim_faults_plan(sim_faults *f, const char *route, sim_fault_plan *p);
/* Apply a JSON object of settings ({"fail_next":3,...}); 400 text in err on bad input. */
int sim_faults_set(sim_faults *f, json_t *obj, oks_err *err);
json_t *sim_faults_json(sim_faults *f);

/* OIDC client and org authorization server endpoints (sim_oidc.c). */
typedef struct sim_oidc sim_oidc;

typedef struct sim_server {
    sim_cfg *cfg;
    sim_oidc *oidc;
    sim_org *org;
    sim_logs *logs;
    sim_hooks *hooks;
    sim_ratelimit rl;
    sim_faults faults;
    atomic_int inflight;
    atomic_int max_inflight;
    atomic_ullong n_requests, n_429, n_concurrency_429, n_401, n_5xx_injected;
    pthread_mutex_t stats_mu;
    json_t *per_endpoint; /* "GET /api/v1/users" -> count */
    struct MHD_Daemon *mhd;
    int port;
} sim_server;

/* A response being built by a handler. */
typedef struct sim_resp {
    unsigned status;
    sim_buf body;
    char *link_self, *link_next; /* full URLs (malloc'd), NULL = absent */
    char etag[40];               /* ETag header value, "" = none */
    const char *content_type;
    bool stream_state; /* GET /__sim/state: body produced by sim_state_stream */
} sim_resp;

typedef struct sim_req {
    sim_server *srv;
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    const char *body;
    size_t body_len;
    char base[256]; /* "http://host:port" as the client addressed us */
    char request_id[32];
} sim_req;

const char *sim_req_arg(const sim_req *r, const char *name);
void sim_resp_error(sim_resp *resp, unsigned status, const char *code, const char *summary,
                    const char *request_id);
/* Build "base + path?query" keeping the request's query arguments except `after`, then
 * appending after=cursor when given; returns malloc'd URL. */
char *sim_link(const sim_req *r, const char *after);

/* Route handlers (return after filling resp). */
void sim_api_users(sim_req *r, sim_resp *resp, const char *rest);
void sim_api_groups(sim_req *r, sim_resp *resp, const char *rest);
void sim_api_apps(sim_req *r, sim_resp *resp, const char *rest);
void sim_api_logs(sim_req *r, sim_resp *resp);
void sim_admin(sim_req *r, sim_resp *resp, const char *rest);
/* Opaque `after` cursors (sim_cursor.c): a position in one listing (`kind`), bound to the org's
 * seed, so a cursor built by hand (a user id, say) or taken from another listing is refused. */
enum {
    SIM_CUR_USERS = 1,
    SIM_CUR_APP_USERS,
    SIM_CUR_GROUPS,
    SIM_CUR_GROUP_MEMBERS /* + group index */
};
#define SIM_CURSOR_LEN 12 /* 11 characters + NUL */
void sim_cursor_encode(const sim_org *org, int kind, uint32_t pos, char *out);
bool sim_cursor_decode(const sim_org *org, int kind, const char *s, uint32_t *pos);

/* Cursor pagination over users in index order. Writes the JSON array and self/next links;
 * takes the org read lock. An `after` that is not a cursor of this listing gets 400 E0000054. */
typedef bool (*sim_match_fn)(const sim_org *org, uint32_t idx, void *ctx);
typedef void (*sim_item_fn)(const sim_org *org, uint32_t idx, const char *base, void *ctx,
                            sim_buf *b);
void sim_paginate(sim_req *r, sim_resp *resp, int64_t limit, int cursor_kind, sim_match_fn match,
                  sim_item_fn item, void *ctx);
/* The same pagination over only the users whose id is one of ids (duplicates and unknown ids
 * allowed): looked up in the id index instead of testing every user, same pages. */
void sim_paginate_ids(sim_req *r, sim_resp *resp, int64_t limit, int cursor_kind,
                      const char *const *ids, size_t n_ids, sim_item_fn item, void *ctx);
/* Parse "limit" (default, max); false = 400 already written to resp. */
bool sim_parse_limit(sim_req *r, sim_resp *resp, int64_t def, int64_t max, int64_t *out);

int sim_http_start(sim_server *srv, oks_err *err);
void sim_http_stop(sim_server *srv);

/* State dump and stats (sim_state.c) */
void sim_state_render(sim_server *srv, sim_buf *b);
json_t *sim_stats_json(sim_server *srv);
void sim_stats_count(sim_server *srv, const char *method, const char *route);

/* OIDC (sim_oidc.c): discovery, JWKS and token endpoint; not rate-limited, no SSWS token. */
sim_oidc *sim_oidc_new(const sim_cfg *cfg, const char *app_id, oks_err *err);
void sim_oidc_free(sim_oidc *o);
/* Serves the request when its path is an OIDC endpoint; false otherwise. */
bool sim_oidc_route(sim_req *r, sim_resp *resp);
json_t *sim_oidc_json(sim_oidc *o);
/* {"client_id","client_secret","grant_types":[...],"reset_stats"}; 400 text in err. */
int sim_oidc_configure(sim_oidc *o, json_t *obj, oks_err *err);

/* Hooks (sim_hooks.c) */
sim_hooks *sim_hooks_new(const sim_cfg *cfg, const char *domain);
void sim_hooks_free(sim_hooks *h);
/* Queue one LogEvent JSON text (copied). No-op when no URL is configured. */
void sim_hooks_enqueue(sim_hooks *h, const char *event_json);
/* Deliver everything queued now and wait (bounded) until done; false on timeout. */
bool sim_hooks_flush(sim_hooks *h, int64_t timeout_ms);
json_t *sim_hooks_stats(sim_hooks *h);
int sim_hooks_configure(sim_hooks *h, json_t *obj, oks_err *err);

#endif
