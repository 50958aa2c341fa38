/*
 * oktasyncctl internals: the shared context, argument parsing for subcommands, validation
 * and output helpers. One file per command group (oks_ctl_migrate.c, oks_ctl_tenant_*.c).
 *
 * Exit status: 0 success; 1 the operation failed (database unreachable, tenant not found,
 * already exists); 2 bad usage or a bad value (one line on stderr naming what is wrong);
 * 3 an Okta credential was refused (tenant connect: the line names which one); 4 sync now --wait:
 * a run was held for approval; 5 sync now --wait: a run failed or did not finish in time;
 * 6 lag: something is WARN; 7 lag: something is STALLED (docs/operator-cli.md).
 */
#ifndef OKS_CTL_H
#define OKS_CTL_H

#include "core/oks_err.h"
#include "crypto/oks_crypto.h"
#include "db/oks_db.h"

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    OKS_CTL_OK = 0,
    OKS_CTL_FAILED = 1,
    OKS_CTL_USAGE = 2,
    OKS_CTL_CREDENTIALS = 3, /* tenant connect: Okta refused a credential */
    OKS_CTL_HELD = 4,        /* sync now --wait: a run ended held, waiting for approval */
    OKS_CTL_RUN_FAILED = 5,  /* sync now --wait: a run failed (or timed out waiting) */
    OKS_CTL_LAG_WARN = 6,    /* lag: something is WARN */
    OKS_CTL_LAG_STALLED = 7, /* lag: something is STALLED */
};

typedef struct oks_ctl_cfg {
    char *database_url;
    char *secret_key;
    int log_level;
    char *migrations_dir;
    int64_t connect_timeout_ms;
    int64_t statement_timeout_ms;
    char *webhook_base_url;
    bool json;
    char *kafka_brokers;
    char *kafka_config;
    char *jobs_topic;
    int64_t produce_timeout_ms;
    int64_t okta_timeout_ms;
    char *events_topic;
    char *dead_letter_topic;
    char *group_id;
    int64_t kafka_timeout_ms;
} oks_ctl_cfg;

typedef struct oks_ctl {
    oks_ctl_cfg cfg;
    bool json; /* --json anywhere */
    oks_db *db;
} oks_ctl;

/* ---- oks_ctl_args.c: subcommand options ---- */

typedef struct oks_ctl_opt {
    const char *name;  /* "subdomain" for --subdomain */
    bool is_flag;      /* takes no value */
    const char *value; /* set by the parser (points into argv), "" for a flag */
} oks_ctl_opt;

/* Parse argv (after the command words) into opts and up to max_pos positional arguments.
 * --json is accepted everywhere and sets ctl->json; --help prints help_text and returns
 * OKS_CTL_OK with *done = true. Errors print one line and return OKS_CTL_USAGE. */
int oks_ctl_parse(oks_ctl *ctl, const char *cmd, const char *help_text, int argc, char **argv,
                  oks_ctl_opt *opts, size_t n_opts, const char **pos, int max_pos, int *n_pos,
                  bool *done);
/* Value of an option after parsing, NULL when not given. */
const char *oks_ctl_opt_get(const oks_ctl_opt *opts, size_t n_opts, const char *name);

/* Print "oktasyncctl: <msg>" on stderr; returns code. */
int oks_ctl_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "what: err->msg" for a runtime failure; returns OKS_CTL_FAILED. */
int oks_ctl_fail_err(const oks_err *err, const char *what);

/* ---- oks_ctl_validate.c ---- */

bool oks_ctl_valid_subdomain(const char *s, char *why, size_t cap);
/* Accepts "dev-1.okta.com", "dev-1.okta.com:8443", "https://dev-1.okta.com" and (for the
 * simulator) "http://127.0.0.1:port"; writes the value to store (trailing '/' removed). */
bool oks_ctl_valid_okta_domain(const char *s, char *out, size_t cap, char *why, size_t why_cap);
bool oks_ctl_valid_okta_id(const char *s, char *why, size_t cap);
/* "HH:MM" 00:00..23:59 */
bool oks_ctl_valid_hhmm(const char *s, char *why, size_t cap);
/* on|off|true|false|yes|no|1|0 */
bool oks_ctl_parse_onoff(const char *s, bool *out);
bool oks_ctl_valid_manager_mode(const char *s);
/* Read one secret: "-" reads a line from stdin; otherwise the value itself. malloc'd. */
char *oks_ctl_read_secret(const char *value, oks_err *err);

/* ---- oks_ctl_common.c ---- */

/* Connect to cfg.database_url (sets ctl->db); prints the error and returns OKS_CTL_FAILED. */
int oks_ctl_connect(oks_ctl *ctl);
/* Parse cfg.secret_key; on error prints a one-line message naming the setting, returns 2. */
int oks_ctl_load_key(const oks_ctl *ctl, uint8_t key[OKS_CRYPTO_KEY_LEN], const char *why);
/* Seal plaintext for tenant_id into a malloc'd bytea (bound to the tenant: AES-GCM associated
 * data, see common/crypto); returns 0, or -1 with err set. */
int oks_ctl_seal(const uint8_t key[OKS_CRYPTO_KEY_LEN], const char *tenant_id,
                 const char *plaintext, uint8_t **out, size_t *out_len, oks_err *err);
/* Who runs the command, for the audit log ("operator:<user>"). */
const char *oks_ctl_actor(void);
/* Insert an audit_log row for a tenant (entity 'tenant', source 'operator'); before/after are
 * JSON text or NULL. */
int oks_ctl_audit(oks_ctl *ctl, const char *tenant_id, const char *action, const char *before,
                  const char *after, oks_err *err);
/* The tenant as JSON text with secrets removed (for audit before/after); malloc'd, or NULL
 * when the tenant does not exist (err untouched) or on error (err set). */
char *oks_ctl_tenant_redacted(oks_ctl *ctl, const char *subdomain, bool lock, char *id_out,
                              size_t id_cap, oks_err *err);

/* ---- oks_ctl_out.c ---- */

/* Fetch tenants as a JSON array (subdomain NULL → all). NULL with err on failure. */
json_t *oks_ctl_fetch_tenants(oks_ctl *ctl, const char *subdomain, oks_err *err);
void oks_ctl_print_tenant(const oks_ctl *ctl, json_t *t);
void oks_ctl_print_tenant_list(const oks_ctl *ctl, json_t *list);
/* Print a JSON value on stdout (compact, one line). */
void oks_ctl_print_json(json_t *v);

/* ---- oks_ctl_tenant_state.c: tenant show's operational state ---- */

/* Add connected, last_full_sync, okta_fault/parked, dirty_users to tenant object t. */
int oks_ctl_tenant_add_state(oks_ctl *ctl, json_t *t, oks_err *err);
/* The human lines for those (after oks_ctl_print_tenant). */
void oks_ctl_print_tenant_state(json_t *t);

/* ---- oks_ctl_tenant_fields.c: the tenant settings shared by add and set ---- */

typedef struct oks_ctl_tenant_fields {
    char okta_domain[512]; /* "" when not given */
    const char *app_id, *client_id;
    char *api_token, *client_secret; /* plaintext (malloc'd, wiped on free); NULL: not given */
    const char *auto_invite;         /* "true" / "false" / NULL */
    const char *manager_mode, *full_sync_time, *threshold_pct, *threshold_min;
    bool full_sync_default; /* --full-sync-time default: NULL, the scheduler's default-time */
    json_t *changed;        /* array of the setting names given, for the audit log */
} oks_ctl_tenant_fields;

/* The options add and set accept (besides add's --subdomain). */
#define OKS_CTL_TENANT_OPTS                                                                        \
    {"okta-domain", false, NULL}, {"app-id", false, NULL}, {"client-id", false, NULL},             \
        {"api-token", false, NULL}, {"client-secret", false, NULL}, {"auto-invite", false, NULL},  \
        {"manager-mode", false, NULL}, {"full-sync-time", false, NULL},                            \
        {"deactivation-threshold-pct", false, NULL},                                               \
    {                                                                                              \
        "deactivation-threshold-min", false, NULL                                                  \
    }

/* Validate every given option into f; secrets_from_env: take a missing API token / client
 * secret from OKTASYNC_OKTA_API_TOKEN / OKTASYNC_OKTA_CLIENT_SECRET. Prints and returns 2 on a
 * bad value. */
int oks_ctl_tenant_fields_parse(const oks_ctl_opt *opts, size_t n_opts, bool secrets_from_env,
                                oks_ctl_tenant_fields *f);
void oks_ctl_tenant_fields_free(oks_ctl_tenant_fields *f);

/* Check the single SUBDOMAIN positional; prints and returns 2 when wrong. */
int oks_ctl_subdomain_arg(const char *cmd, int n_pos, const char **pos);

/* ---- oks_ctl_tenant_rules.c: attribute map, manager matching, Okta group -> team ---- */

#define OKS_CTL_RULES_MAX 64
typedef struct oks_ctl_tenant_rules {
    const char *maps[OKS_CTL_RULES_MAX]; /* --map FIELD=ATTR as given (argv) */
    int n_maps;
    const char *group_teams[OKS_CTL_RULES_MAX]; /* --group-team GROUP=TEAM as given (argv) */
    int n_group_teams;
    json_t *map_set;   /* field -> attribute ("" = not synced) */
    json_t *map_reset; /* fields given as FIELD=default */
    const char *manager_attribute, *manager_match;
} oks_ctl_tenant_rules;

/* tenant set's own options (besides OKS_CTL_TENANT_OPTS); --map and --group-team repeat, so
 * oks_ctl_tenant_rules_take removes them from argv before oks_ctl_parse. */
#define OKS_CTL_RULES_OPTS                                                                         \
    {"manager-attribute", false, NULL},                                                            \
    {                                                                                              \
        "manager-match", false, NULL                                                               \
    }
int oks_ctl_tenant_rules_take(int *argc, char **argv, oks_ctl_tenant_rules *r);
/* Validate everything given; appends "map" / "group-team" to changed. Prints, returns 2. */
int oks_ctl_tenant_rules_parse(const oks_ctl_opt *opts, size_t n, oks_ctl_tenant_rules *r,
                               json_t *changed);
/* Write them for tenant_id inside the caller's transaction (audited). */
int oks_ctl_tenant_rules_apply(oks_ctl *ctl, const char *tenant_id, const oks_ctl_tenant_rules *r,
                               oks_err *err);
void oks_ctl_tenant_rules_free(oks_ctl_tenant_rules *r);
/* Add attribute_map (in effect), attribute_overrides, manager_attribute, manager_match,
 * group_teams and pending_manager_refs to each tenant object of list. */
int oks_ctl_tenant_rules_fetch(oks_ctl *ctl, const char *subdomain, json_t *list, oks_err *err);
/* The human lines of those (tenant show). */
void oks_ctl_tenant_rules_print(json_t *t);

/* ---- oks_ctl_reseal.c: the re-seal step of migrate ---- */

typedef struct oks_ctl_reseal_counts {
    long tenants; /* tenants whose credentials were re-sealed */
    long values;  /* credentials re-sealed (token, client secret) */
    long failed;  /* tenants left as they were (error printed) */
} oks_ctl_reseal_counts;

/* Re-seal every version 1 credential for its tenant, a transaction per tenant. The secret key
 * is needed only when there is something to re-seal. Prints errors; returns an exit code. */
int oks_ctl_reseal(oks_ctl *ctl, oks_ctl_reseal_counts *counts);

/* ---- oks_ctl_queue.c: queue a full sync exactly as the scheduler does ---- */

/* Insert the sync_runs row (scheduled_for = now, trigger, dry_run) and produce its job
 * (common/sync/oks_sync_job.h). Prints a one-line error and returns OKS_CTL_FAILED on failure;
 * *run_id set on success. */
int oks_ctl_queue_sync(oks_ctl *ctl, const char *tenant_id, const char *trigger, bool dry_run,
                       int64_t *run_id);

/* ---- commands ---- */

int oks_ctl_cmd_migrate(oks_ctl *ctl, int argc, char **argv);
int oks_ctl_cmd_tenant(oks_ctl *ctl, int argc, char **argv);
int oks_ctl_cmd_field(oks_ctl *ctl, int argc, char **argv);
int oks_ctl_cmd_sync(oks_ctl *ctl, int argc, char **argv);
int oks_ctl_cmd_invitations(oks_ctl *ctl, int argc, char **argv);
int oks_ctl_cmd_dlq(oks_ctl *ctl, int argc, char **argv);
int oks_ctl_cmd_lag(oks_ctl *ctl, int argc, char **argv);
int oks_ctl_tenant_add(oks_ctl *ctl, int argc, char **argv);
int oks_ctl_tenant_list(oks_ctl *ctl, int argc, char **argv);
int oks_ctl_tenant_show(oks_ctl *ctl, int argc, char **argv);
int oks_ctl_tenant_set(oks_ctl *ctl, int argc, char **argv);
int oks_ctl_tenant_rotate(oks_ctl *ctl, int argc, char **argv);
int oks_ctl_tenant_remove(oks_ctl *ctl, int argc, char **argv);
int oks_ctl_tenant_connect(oks_ctl *ctl, int argc, char **argv);
int oks_ctl_sync_now(oks_ctl *ctl, int argc, char **argv);
int oks_ctl_sync_status(oks_ctl *ctl, int argc, char **argv);
int oks_ctl_sync_diff(oks_ctl *ctl, int argc, char **argv);
int oks_ctl_sync_approve(oks_ctl *ctl, int argc, char **argv);
int oks_ctl_sync_reject(oks_ctl *ctl, int argc, char **argv);
/* oks_ctl_sync_review.c: one run as JSON (NULL + err OKS_E_NOTFOUND when absent); the RUN
 * positional (prints and returns 2 when wrong). */
json_t *oks_ctl_fetch_run(oks_ctl *ctl, int64_t run_id, oks_err *err);
int oks_ctl_run_arg(const char *cmd, int n_pos, const char **pos, int64_t *run_id);
/* Check the tenant's credentials against Okta; on success mark it connected and queue its first
 * full sync. Returns OKS_CTL_OK, OKS_CTL_CREDENTIALS (a credential was refused: one line naming
 * it) or OKS_CTL_FAILED. */
int oks_ctl_connect_tenant(oks_ctl *ctl, const char *subdomain, json_t **result);

#endif
