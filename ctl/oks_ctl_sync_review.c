/*
 * oktasyncctl sync status | diff RUN | approve RUN | reject RUN: where each tenant's full sync
 * stands, and the review of a held run (one that would deactivate more users than the tenant's
 * guard allows). approve applies the run's removals through the same function the worker uses
 * (common/sync/oks_sync_removals.h); reject marks the run 'rejected' and changes nothing else.
 */
#include "oks_ctl.h"

#include "core/oks_config.h"
#include "sync/oks_sync_job.h"
#include "sync/oks_sync_removals.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* One run as JSON: the columns an operator reads. $1 = run id (or the WHERE of the caller). */
#define RUN_JSON                                                                                                                                        \
    "jsonb_build_object('id', r.id, 'subdomain', t.subdomain, 'tenant_id', r.tenant_id, "                                                               \
    "'trigger', r.trigger, 'dry_run', r.dry_run, 'status', r.status, "                                                                                  \
    "'scheduled_for', " ISO("r.scheduled_for") ", 'started_at', " ISO(                                                                                  \
        "r.started_at") ", 'finished_at', " ISO("r.finished_at") ", "                                                                                   \
                                                                 "'heartbeat_at', " ISO(                                                                \
                                                                     "r.heartbeat_at") ", "                                                             \
                                                                                       "'pages', "                                                      \
                                                                                       "r.pages, "                                                      \
                                                                                       "'users_"                                                        \
                                                                                       "seen', "                                                        \
                                                                                       "r.users_"                                                       \
                                                                                       "seen, "                                                         \
                                                                                       "'users_"                                                        \
                                                                                       "created',"                                                      \
                                                                                       " r.users_"                                                      \
                                                                                       "created, "                                                      \
                                                                                       "'users_"                                                        \
                                                                                       "updated',"                                                      \
                                                                                       " r.users_"                                                      \
                                                                                       "updated, "                                                      \
                                                                                       "'users_"                                                        \
                                                                                       "deactivat"                                                      \
                                                                                       "ed', "                                                          \
                                                                                       "r.users_"                                                       \
                                                                                       "deactivat"                                                      \
                                                                                       "ed, "                                                           \
                                                                                       "'errors',"                                                      \
                                                                                       " r."                                                            \
                                                                                       "errors, "                                                       \
                                                                                       "'okta_"                                                         \
                                                                                       "calls', "                                                       \
                                                                                       "r.okta_"                                                        \
                                                                                       "calls, "                                                        \
                                                                                       "'error', "                                                      \
                                                                                       "r.error, "                                                      \
                                                                                       "'held_"                                                         \
                                                                                       "reason', "                                                      \
                                                                                       "r.held_"                                                        \
                                                                                       "reason, "                                                       \
                                                                                       "'rejected"                                                      \
                                                                                       "_by', "                                                         \
                                                                                       "r."                                                             \
                                                                                       "rejected_"                                                      \
                                                                                       "by, "                                                           \
                                                                                       "'rejected"                                                      \
                                                                                       "_at',"                                                          \
                                                                                       " " ISO(                                                         \
                                                                                           "r."                                                         \
                                                                                           "rejec"                                                      \
                                                                                           "ted_"                                                       \
                                                                                           "at") ", "                                                   \
                                                                                                 "'removals', (SELECT count(*) FROM sync_run_removals " \
                                                                                                 "x WHERE x.run_id = r.id))"

json_t *oks_ctl_fetch_run(oks_ctl *ctl, int64_t run_id, oks_err *err)
{
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, run_id);
    const char *p[] = {id};
    PGresult *r = oks_db_exec_params(ctl->db,
                                     "SELECT " RUN_JSON "::text FROM sync_runs r JOIN tenants t "
                                     "ON t.id = r.tenant_id WHERE r.id = $1::bigint",
                                     1, p, err);
    if (!r)
        return NULL;
    json_t *j = PQntuples(r) ? json_loads(PQgetvalue(r, 0, 0), 0, NULL) : NULL;
    if (!j && PQntuples(r))
        oks_err_set(err, OKS_E_INVALID, "unexpected run JSON from the database");
    else if (!j)
        oks_err_set(err, OKS_E_NOTFOUND, "sync run %s not found", id);
    PQclear(r);
    return j;
}

int oks_ctl_run_arg(const char *cmd, int n_pos, const char **pos, int64_t *run_id)
{
    if (n_pos != 1)
        return oks_ctl_fail(OKS_CTL_USAGE, "'%s' takes one RUN id (see %s --help)", cmd, cmd);
    if (!oks_parse_int64(pos[0], run_id) || *run_id < 1)
        return oks_ctl_fail(OKS_CTL_USAGE, "invalid RUN \"%s\": expected a run id (sync list)",
                            pos[0]);
    return OKS_CTL_OK;
}

/* ---- status ---- */

static const char STATUS_HELP[] =
    "Usage: oktasyncctl sync status [--tenant SUBDOMAIN] [--json]\n\n"
    "The latest full-sync run of each tenant (or one): status, trigger, pages, users seen,\n"
    "created, updated, deactivated, errors, Okta calls, and why a run is held or failed.\n"
    "Exit status: 0 (also when a run is held or failed: see sync now --wait), 1, 2.\n";

int oks_ctl_sync_status(oks_ctl *ctl, int argc, char **argv)
{
    oks_ctl_opt opts[] = {{"tenant", false, NULL}};
    bool done;
    int n_pos, rc = oks_ctl_parse(ctl, "oktasyncctl sync status", STATUS_HELP, argc, argv, opts, 1,
                                  NULL, 0, &n_pos, &done);
    if (rc != OKS_CTL_OK || done || (rc = oks_ctl_connect(ctl)) != OKS_CTL_OK)
        return rc;
    oks_err err = {0};
    const char *p[] = {opts[0].value};
    PGresult *r = oks_db_exec_params(
        ctl->db,
        "SELECT coalesce(jsonb_agg(j ORDER BY sub), '[]')::text FROM ("
        " SELECT t.subdomain AS sub, coalesce((SELECT " RUN_JSON " FROM sync_runs r "
        "  WHERE r.tenant_id = t.id AND r.kind = 'full_sync' "
        "  ORDER BY r.scheduled_for DESC, r.id DESC LIMIT 1), "
        "  jsonb_build_object('subdomain', t.subdomain, 'tenant_id', t.id, 'status', NULL)) "
        "  || jsonb_build_object('connected', " OKS_SYNC_TENANT_CONNECTED ") AS j "
        " FROM tenants t WHERE ($1::text IS NULL OR t.subdomain = $1)) x",
        1, p, &err);
    if (!r)
        return oks_ctl_fail_err(&err, "reading sync status");
    json_t *list = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    if (!list)
        return oks_ctl_fail(OKS_CTL_FAILED, "unexpected sync status JSON from the database");
    if (opts[0].value && json_array_size(list) == 0) {
        json_decref(list);
        return oks_ctl_fail(OKS_CTL_FAILED, "tenant '%s' not found", opts[0].value);
    }
    if (ctl->json) {
        oks_ctl_print_json(list);
    } else {
        printf("%-24s %-8s %-10s %-9s %6s %8s %8s %6s %s\n", "SUBDOMAIN", "RUN", "STATUS",
               "TRIGGER", "PAGES", "SEEN", "DEACT", "ERRORS", "NOTE");
        size_t i;
        json_t *s;
        json_array_foreach(list, i, s)
        {
            const char *st = json_string_value(json_object_get(s, "status"));
            json_t *note = json_object_get(s, "held_reason");
            if (!json_is_string(note))
                note = json_object_get(s, "error");
            char run[24] = "-";
            if (st)
                snprintf(run, sizeof run, "%" JSON_INTEGER_FORMAT,
                         json_integer_value(json_object_get(s, "id")));
            printf("%-24s %-8s %-10s %-9s %6" JSON_INTEGER_FORMAT " %8" JSON_INTEGER_FORMAT
                   " %8" JSON_INTEGER_FORMAT " %6" JSON_INTEGER_FORMAT " %s\n",
                   json_string_value(json_object_get(s, "subdomain")), run, st ? st : "never",
                   st ? json_string_value(json_object_get(s, "trigger")) : "-",
                   json_integer_value(json_object_get(s, "pages")),
                   json_integer_value(json_object_get(s, "users_seen")),
                   json_integer_value(json_object_get(s, "users_deactivated")),
                   json_integer_value(json_object_get(s, "errors")),
                   json_is_string(note)                             ? json_string_value(note)
                   : json_is_false(json_object_get(s, "connected")) ? "not connected"
                                                                    : "");
        }
    }
    json_decref(list);
    return OKS_CTL_OK;
}

/* ---- diff ---- */

static const char DIFF_HELP[] =
    "Usage: oktasyncctl sync diff RUN [--json]\n\n"
    "The deactivations run RUN wants to make (users the platform has that Okta no longer\n"
    "assigns): Okta id, email, and when applied (empty: pending). A held run waits for\n"
    "`sync approve RUN` or `sync reject RUN`; a dry run only lists them.\n";

int oks_ctl_sync_diff(oks_ctl *ctl, int argc, char **argv)
{
    const char *pos[1] = {NULL};
    bool done;
    int64_t id;
    int n_pos, rc = oks_ctl_parse(ctl, "oktasyncctl sync diff", DIFF_HELP, argc, argv, NULL, 0, pos,
                                  1, &n_pos, &done);
    if (rc != OKS_CTL_OK || done ||
        (rc = oks_ctl_run_arg("oktasyncctl sync diff", n_pos, pos, &id)) != OKS_CTL_OK ||
        (rc = oks_ctl_connect(ctl)) != OKS_CTL_OK)
        return rc;
    oks_err err = {0};
    json_t *run = oks_ctl_fetch_run(ctl, id, &err);
    if (!run)
        return oks_ctl_fail_err(&err, "sync diff");
    PGresult *r = oks_db_exec_params(
        ctl->db,
        "SELECT coalesce(jsonb_agg(jsonb_build_object('okta_id', okta_id, 'email', email, "
        " 'applied_at', " ISO("applied_at") ") ORDER BY email, okta_id), '[]')::text "
                                            "FROM sync_run_removals WHERE run_id = $1::bigint",
        1, (const char *[]){pos[0]}, &err);
    if (!r) {
        json_decref(run);
        return oks_ctl_fail_err(&err, "sync diff");
    }
    json_t *rem = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    json_object_set_new(run, "removals", rem ? rem : json_array());
    if (ctl->json) {
        oks_ctl_print_json(run);
    } else {
        json_t *h = json_object_get(run, "held_reason");
        printf("run %" PRId64 " (%s, %s): %zu users to deactivate%s%s\n", id,
               json_string_value(json_object_get(run, "subdomain")),
               json_string_value(json_object_get(run, "status")), json_array_size(rem),
               json_is_string(h) ? " — " : "", json_is_string(h) ? json_string_value(h) : "");
        size_t i;
        json_t *x;
        if (json_array_size(rem))
            printf("%-24s %-40s %s\n", "OKTA ID", "EMAIL", "APPLIED");
        json_array_foreach(rem, i, x)
        {
            json_t *e = json_object_get(x, "email"), *a = json_object_get(x, "applied_at");
            printf("%-24s %-40s %s\n", json_string_value(json_object_get(x, "okta_id")),
                   json_is_string(e) ? json_string_value(e) : "-",
                   json_is_string(a) ? json_string_value(a) : "pending");
        }
    }
    json_decref(run);
    return OKS_CTL_OK;
}

/* ---- approve / reject ---- */

static const char APPROVE_HELP[] =
    "Usage: oktasyncctl sync approve RUN [--json]\n\n"
    "Apply held run RUN's deactivations (sync diff RUN lists them) in one transaction: users\n"
    "seen again or changed by an event since the run are skipped; the run becomes succeeded.\n"
    "Exit status: 0 applied; 1 the run is not held, not found, or the database failed; 2.\n";

static const char REJECT_HELP[] = "Usage: oktasyncctl sync reject RUN [--json]\n\n"
                                  "Reject held run RUN: it becomes 'rejected' (who and when are "
                                  "recorded) and nothing\nelse changes — no user is deactivated.\n"
                                  "Exit status: 0; 1 the run is not held or not found; 2.\n";

static int held_run(oks_ctl *ctl, const char *cmd, const char *help, int argc, char **argv,
                    int64_t *id, bool *done)
{
    const char *pos[1] = {NULL};
    int n_pos, rc = oks_ctl_parse(ctl, cmd, help, argc, argv, NULL, 0, pos, 1, &n_pos, done);
    if (rc != OKS_CTL_OK || *done || (rc = oks_ctl_run_arg(cmd, n_pos, pos, id)) != OKS_CTL_OK ||
        (rc = oks_ctl_connect(ctl)) != OKS_CTL_OK)
        return rc;
    oks_err err = {0};
    json_t *run = oks_ctl_fetch_run(ctl, *id, &err);
    if (!run)
        return oks_ctl_fail_err(&err, cmd + strlen("oktasyncctl "));
    const char *st = json_string_value(json_object_get(run, "status"));
    rc = strcmp(st, "held") == 0
             ? OKS_CTL_OK
             : oks_ctl_fail(OKS_CTL_FAILED, "run %" PRId64 " is %s, not held: nothing to %s", *id,
                            st, strstr(cmd, "approve") ? "approve" : "reject");
    json_decref(run);
    return rc;
}

int oks_ctl_sync_approve(oks_ctl *ctl, int argc, char **argv)
{
    int64_t id;
    bool done = false;
    int rc = held_run(ctl, "oktasyncctl sync approve", APPROVE_HELP, argc, argv, &id, &done);
    if (rc != OKS_CTL_OK || done)
        return rc;
    oks_err err = {0};
    long applied = 0;
    if (oks_sync_apply_removals(ctl->db, id, oks_ctl_actor(), &applied, &err) != 0)
        return oks_ctl_fail_err(&err, "sync approve");
    if (ctl->json) {
        json_t *j = json_pack("{s:I, s:s, s:I}", "id", (json_int_t)id, "status", "succeeded",
                              "deactivated", (json_int_t)applied);
        oks_ctl_print_json(j);
        json_decref(j);
    } else {
        printf("run %" PRId64 " approved: %ld users deactivated\n", id, applied);
    }
    return OKS_CTL_OK;
}

int oks_ctl_sync_reject(oks_ctl *ctl, int argc, char **argv)
{
    int64_t id;
    bool done = false;
    int rc = held_run(ctl, "oktasyncctl sync reject", REJECT_HELP, argc, argv, &id, &done);
    if (rc != OKS_CTL_OK || done)
        return rc;
    oks_err err = {0};
    char text[24];
    snprintf(text, sizeof text, "%" PRId64, id);
    const char *p[] = {text, oks_ctl_actor()};
    /* status re-checked in the UPDATE: a concurrent approve wins or we do, never both */
    PGresult *r = oks_db_exec_params(ctl->db,
                                     "UPDATE sync_runs SET status = 'rejected', rejected_by = $2, "
                                     "rejected_at = now() WHERE id = $1::bigint AND status = "
                                     "'held' RETURNING id",
                                     2, p, &err);
    if (!r)
        return oks_ctl_fail_err(&err, "sync reject");
    int n = PQntuples(r);
    PQclear(r);
    if (n == 0)
        return oks_ctl_fail(OKS_CTL_FAILED, "run %" PRId64 " is no longer held", id);
    if (ctl->json) {
        json_t *j = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "status", "rejected",
                              "rejected_by", oks_ctl_actor());
        oks_ctl_print_json(j);
        json_decref(j);
    } else {
        printf("run %" PRId64 " rejected: nothing deactivated\n", id);
    }
    return OKS_CTL_OK;
}
