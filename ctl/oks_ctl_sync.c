/* oktasyncctl sync list: the full-sync runs (scheduled, running, held for approval, done), and
 * the dispatch of the sync subcommands (now: oks_ctl_sync_now.c; status, diff, approve, reject:
 * oks_ctl_sync_review.c). */
#include "oks_ctl.h"

#include "core/oks_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SYNC_HELP[] =
    "Usage: oktasyncctl sync SUBCOMMAND ...\n\n"
    "  list [S] [--status STATUS]   runs, newest first\n"
    "  now [--tenant S] [--wait] [--dry-run]\n"
    "                               queue a full sync now (every connected tenant without\n"
    "                               --tenant); --wait follows it to the end\n"
    "  status [--tenant S]          each tenant's latest run\n"
    "  diff RUN                     the deactivations a run wants to make\n"
    "  approve RUN                  apply a held run's deactivations\n"
    "  reject RUN                   reject a held run (nothing changes)\n\n"
    "'oktasyncctl sync SUBCOMMAND --help' explains each.\n";

static const char HELP[] =
    "Usage: oktasyncctl sync list [SUBDOMAIN] [--status STATUS] [--limit N] [--json]\n\n"
    "List sync runs, newest first (default limit 20, at most 1000), optionally for one tenant\n"
    "and one status (queued, running, held, succeeded, failed, rejected). A 'held' run would have\n"
    "deactivated more users than the tenant's threshold allows; its reason is shown.\n";

#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const char RUNS_SQL[] =
    "SELECT coalesce(jsonb_agg(j ORDER BY ord DESC, id DESC), '[]')::text FROM ("
    " SELECT r.scheduled_for AS ord, r.id, jsonb_build_object('id', r.id, "
    " 'subdomain', t.subdomain, 'tenant_id', r.tenant_id, 'kind', r.kind, "
    " 'scheduled_for', " ISO(
        "r.scheduled_for") ", 'status', r.status, "
                           " 'users_seen', r.users_seen, 'users_created', r.users_created, "
                           " 'users_updated', r.users_updated, 'users_deactivated', "
                           "r.users_deactivated, "
                           " 'users_deleted', r.users_deleted, 'error', r.error, 'held_reason', "
                           "r.held_reason, "
                           " 'started_at', " ISO("r.started_at") ", 'finished_at', " ISO(
                               "r.finished_at") ") AS j"
                                                " FROM sync_runs r JOIN tenants t ON t.id = "
                                                "r.tenant_id"
                                                " WHERE ($1::text IS NULL OR t.subdomain = $1) AND "
                                                "($2::text IS NULL OR r.status = $2)"
                                                " ORDER BY r.scheduled_for DESC, r.id DESC LIMIT "
                                                "$3::int) runs";

static void print_human(json_t *runs)
{
    if (json_array_size(runs) == 0) {
        puts("no sync runs");
        return;
    }
    printf("%-8s %-24s %-21s %-10s %7s %7s %s\n", "RUN", "SUBDOMAIN", "SCHEDULED FOR", "STATUS",
           "SEEN", "DEACT", "NOTE");
    size_t i;
    json_t *r;
    json_array_foreach(runs, i, r)
    {
        json_t *note = json_object_get(r, "held_reason");
        if (!json_is_string(note))
            note = json_object_get(r, "error");
        printf("%-8lld %-24s %-21s %-10s %7lld %7lld %s\n",
               (long long)json_integer_value(json_object_get(r, "id")),
               json_string_value(json_object_get(r, "subdomain")),
               json_string_value(json_object_get(r, "scheduled_for")),
               json_string_value(json_object_get(r, "status")),
               (long long)json_integer_value(json_object_get(r, "users_seen")),
               (long long)json_integer_value(json_object_get(r, "users_deactivated")),
               json_is_string(note) ? json_string_value(note) : "");
    }
}

static int check_args(const char *status, const char *limit, int n_pos, const char **pos)
{
    static const char *const statuses[] = {"queued",    "running", "held",
                                           "succeeded", "failed",  "rejected"};
    int64_t n;
    if (n_pos == 1 && oks_ctl_subdomain_arg("oktasyncctl sync list", 1, pos) != OKS_CTL_OK)
        return OKS_CTL_USAGE;
    if (limit && (!oks_parse_int64(limit, &n) || n < 1 || n > 1000))
        return oks_ctl_fail(OKS_CTL_USAGE,
                            "invalid value for --limit: \"%s\": expected a whole number 1..1000",
                            limit);
    if (!status)
        return OKS_CTL_OK;
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        if (strcmp(status, statuses[i]) == 0)
            return OKS_CTL_OK;
    return oks_ctl_fail(OKS_CTL_USAGE,
                        "invalid value for --status: \"%s\": expected queued, running, held, "
                        "succeeded, failed or rejected",
                        status);
}

static int list(oks_ctl *ctl, int argc, char **argv)
{
    oks_ctl_opt opts[] = {{"status", false, NULL}, {"limit", false, NULL}};
    const char *pos[1] = {NULL};
    bool done;
    int n_pos, rc = oks_ctl_parse(ctl, "oktasyncctl sync list", HELP, argc, argv, opts, 2, pos, 1,
                                  &n_pos, &done);
    if (rc != OKS_CTL_OK || done ||
        (rc = check_args(opts[0].value, opts[1].value, n_pos, pos)) != OKS_CTL_OK ||
        (rc = oks_ctl_connect(ctl)) != OKS_CTL_OK)
        return rc;
    oks_err err = {0};
    const char *p[] = {n_pos ? pos[0] : NULL, opts[0].value, opts[1].value ? opts[1].value : "20"};
    PGresult *r = oks_db_exec_params(ctl->db, RUNS_SQL, 3, p, &err);
    if (!r)
        return oks_ctl_fail_err(&err, "listing sync runs");
    json_t *runs = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    if (!runs)
        return oks_ctl_fail(OKS_CTL_FAILED, "unexpected sync run JSON from the database");
    if (ctl->json)
        oks_ctl_print_json(runs);
    else
        print_human(runs);
    json_decref(runs);
    return OKS_CTL_OK;
}

int oks_ctl_cmd_sync(oks_ctl *ctl, int argc, char **argv)
{
    if (argc < 1)
        return oks_ctl_fail(OKS_CTL_USAGE, "missing sync subcommand (see oktasyncctl sync --help)");
    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        fputs(SYNC_HELP, stdout);
        return OKS_CTL_OK;
    }
    static const struct {
        const char *name;
        int (*fn)(oks_ctl *, int, char **);
    } subs[] = {{"list", list},
                {"now", oks_ctl_sync_now},
                {"status", oks_ctl_sync_status},
                {"diff", oks_ctl_sync_diff},
                {"approve", oks_ctl_sync_approve},
                {"reject", oks_ctl_sync_reject}};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (strcmp(argv[0], subs[i].name) == 0)
            return subs[i].fn(ctl, argc - 1, argv + 1);
    return oks_ctl_fail(OKS_CTL_USAGE, "unknown sync subcommand '%s' (see oktasyncctl sync --help)",
                        argv[0]);
}
