/*
 * oktasyncctl sync now [--tenant S] [--wait] [--dry-run]: queue a full sync at once (trigger
 * 'operator', scheduled_for = now) exactly as the scheduler queues one, and optionally follow it
 * from sync_runs to the end: a progress bar on a terminal, plain lines otherwise.
 */
#include "oks_ctl.h"

#include "core/oks_config.h"
#include "core/oks_time.h"
#include "sync/oks_sync_job.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char HELP[] =
    "Usage: oktasyncctl sync now [--tenant SUBDOMAIN] [--wait] [--dry-run] [--timeout 1h]\n"
    "                            [--json]\n\n"
    "Queue a full sync now for one tenant, or for every connected tenant. --dry-run computes\n"
    "the diff without writing (sync diff RUN shows it). --wait follows the runs until they end\n"
    "(at most --timeout): on a terminal a progress bar (pages, users, rate, ETA from the last\n"
    "run's size), otherwise a plain line every 5 s; --json prints the final runs.\n"
    "Exit status: 0 queued (with --wait: every run succeeded); 1 failed to queue, tenant not\n"
    "found or not connected; 2 bad usage; 4 (--wait) a run is held for approval; 5 (--wait) a\n"
    "run failed or --timeout passed.\n";

typedef struct target {
    char sub[128], id[40];
    int64_t run_id;
    int64_t expect_users; /* the last finished run's users_seen; 0 unknown */
    json_t *run;          /* latest state while waiting */
} target;

enum { MAX_TARGETS = 10000 };

static int select_targets(oks_ctl *ctl, const char *tenant, target **out, int *n)
{
    oks_err err = {0};
    const char *p[] = {tenant};
    PGresult *r = oks_db_exec_params(
        ctl->db,
        "SELECT t.subdomain, t.id::text, " OKS_SYNC_TENANT_CONNECTED
        ", coalesce((SELECT users_seen "
        " FROM sync_runs r WHERE r.tenant_id = t.id AND r.status = 'succeeded' AND NOT r.dry_run "
        " ORDER BY r.finished_at DESC NULLS LAST LIMIT 1), 0) "
        "FROM tenants t WHERE ($1::text IS NULL OR t.subdomain = $1) ORDER BY t.subdomain "
        "LIMIT 10001",
        1, p, &err);
    if (!r)
        return oks_ctl_fail_err(&err, "sync now");
    int rows = PQntuples(r), rc = OKS_CTL_OK;
    *n = 0;
    *out = calloc((size_t)(rows ? rows : 1), sizeof **out);
    if (!*out)
        rc = oks_ctl_fail(OKS_CTL_FAILED, "out of memory");
    else if (tenant && rows == 0)
        rc = oks_ctl_fail(OKS_CTL_FAILED, "tenant '%s' not found", tenant);
    else if (tenant && strcmp(PQgetvalue(r, 0, 2), "t") != 0)
        rc = oks_ctl_fail(OKS_CTL_FAILED,
                          "tenant '%s' is not connected: run `oktasyncctl tenant connect %s`",
                          tenant, tenant);
    else if (rows > MAX_TARGETS)
        rc = oks_ctl_fail(OKS_CTL_FAILED, "more than %d tenants: use --tenant", MAX_TARGETS);
    for (int i = 0; rc == OKS_CTL_OK && i < rows; i++) {
        if (strcmp(PQgetvalue(r, i, 2), "t") != 0)
            continue;
        target *t = &(*out)[(*n)++];
        snprintf(t->sub, sizeof t->sub, "%s", PQgetvalue(r, i, 0));
        snprintf(t->id, sizeof t->id, "%s", PQgetvalue(r, i, 1));
        t->expect_users = strtoll(PQgetvalue(r, i, 3), NULL, 10);
    }
    PQclear(r);
    if (rc == OKS_CTL_OK && *n == 0)
        rc = oks_ctl_fail(OKS_CTL_FAILED, "no connected tenant (tenant connect S)");
    return rc;
}

static bool finished(const char *status)
{
    return status && (strcmp(status, "succeeded") == 0 || strcmp(status, "failed") == 0 ||
                      strcmp(status, "held") == 0 || strcmp(status, "rejected") == 0);
}

static int64_t num(json_t *run, const char *k)
{
    return (int64_t)json_integer_value(json_object_get(run, k));
}

/* One progress line for a run. elapsed_s > 0. */
static void describe(const target *t, double elapsed_s, char *out, size_t cap, bool bar)
{
    const char *st = json_string_value(json_object_get(t->run, "status"));
    int64_t users = num(t->run, "users_seen"), pages = num(t->run, "pages");
    double rate = users / elapsed_s;
    char eta[32] = "?";
    int pct = -1;
    if (t->expect_users > 0) {
        pct = users >= t->expect_users ? 99 : (int)(100 * users / t->expect_users);
        if (rate > 0 && users < t->expect_users)
            snprintf(eta, sizeof eta, "%.0fs", (double)(t->expect_users - users) / rate);
        else if (users >= t->expect_users)
            snprintf(eta, sizeof eta, "0s");
    }
    if (finished(st))
        pct = 100;
    char graph[32] = "";
    if (bar) {
        int fill = pct < 0 ? 0 : pct / 5;
        graph[0] = '[';
        for (int i = 0; i < 20; i++)
            graph[1 + i] = i < fill ? '#' : '.';
        graph[21] = ']';
        graph[22] = ' ';
        graph[23] = '\0';
    }
    snprintf(out, cap,
             "%s%s run %" PRId64 " %s: pages %" PRId64 ", users %" PRId64 ", %.0f users/s, ETA %s",
             graph, t->sub, t->run_id, st ? st : "?", pages, users, rate, eta);
}

static int wait_runs(oks_ctl *ctl, target *ts, int n, int64_t timeout_ms)
{
    bool tty = !ctl->json && isatty(STDOUT_FILENO);
    int64_t start = oks_now_mono_ms(), last_line = 0;
    for (;;) {
        int open = 0;
        for (int i = 0; i < n; i++) {
            oks_err err = {0};
            json_t *run = oks_ctl_fetch_run(ctl, ts[i].run_id, &err);
            if (!run)
                return oks_ctl_fail_err(&err, "following the run");
            json_decref(ts[i].run);
            ts[i].run = run;
            open += !finished(json_string_value(json_object_get(run, "status")));
        }
        int64_t now = oks_now_mono_ms();
        double el = (now - start) / 1000.0 > 0.001 ? (now - start) / 1000.0 : 0.001;
        char line[512];
        if (tty && n == 1) {
            describe(&ts[0], el, line, sizeof line, true);
            printf("\r\033[K%s", line);
            if (!open)
                putchar('\n');
            fflush(stdout);
        } else if (!ctl->json && (!open || now - last_line >= 5000)) {
            last_line = now;
            for (int i = 0; i < n; i++) {
                describe(&ts[i], el, line, sizeof line, false);
                puts(line);
            }
            fflush(stdout);
        }
        if (!open)
            return OKS_CTL_OK;
        if (now - start > timeout_ms)
            return oks_ctl_fail(OKS_CTL_RUN_FAILED,
                                "%d run(s) still not finished after --timeout; still queued "
                                "(sync status)",
                                open);
        struct timespec ts_sleep = {0, 500 * 1000000L};
        nanosleep(&ts_sleep, NULL);
    }
}

int oks_ctl_sync_now(oks_ctl *ctl, int argc, char **argv)
{
    oks_ctl_opt opts[] = {{"tenant", false, NULL},
                          {"wait", true, NULL},
                          {"dry-run", true, NULL},
                          {"timeout", false, NULL}};
    bool done;
    int64_t timeout_ms = 3600000;
    int n_pos, rc = oks_ctl_parse(ctl, "oktasyncctl sync now", HELP, argc, argv, opts, 4, NULL, 0,
                                  &n_pos, &done);
    if (rc != OKS_CTL_OK || done)
        return rc;
    if (opts[3].value && (!oks_parse_duration_ms(opts[3].value, &timeout_ms) || timeout_ms < 1))
        return oks_ctl_fail(OKS_CTL_USAGE,
                            "invalid value for --timeout: \"%s\": expected a duration like 90s",
                            opts[3].value);
    if ((rc = oks_ctl_connect(ctl)) != OKS_CTL_OK)
        return rc;
    target *ts = NULL;
    int n = 0;
    rc = select_targets(ctl, opts[0].value, &ts, &n);
    for (int i = 0; rc == OKS_CTL_OK && i < n; i++) {
        rc = oks_ctl_queue_sync(ctl, ts[i].id, "operator", opts[2].value != NULL, &ts[i].run_id);
        if (rc == OKS_CTL_OK && !ctl->json)
            printf("queued full sync run %" PRId64 " for %s%s\n", ts[i].run_id, ts[i].sub,
                   opts[2].value ? " (dry run)" : "");
    }
    if (rc == OKS_CTL_OK && opts[1].value)
        rc = wait_runs(ctl, ts, n, timeout_ms);
    if (rc == OKS_CTL_OK) {
        json_t *out = json_array();
        for (int i = 0; i < n; i++) {
            json_t *r = ts[i].run
                            ? json_incref(ts[i].run)
                            : json_pack("{s:I, s:s, s:s, s:s, s:b}", "id", (json_int_t)ts[i].run_id,
                                        "subdomain", ts[i].sub, "tenant_id", ts[i].id, "status",
                                        "queued", "dry_run", opts[2].value != NULL);
            const char *st = json_string_value(json_object_get(r, "status"));
            if (strcmp(st, "failed") == 0 || strcmp(st, "rejected") == 0)
                rc = OKS_CTL_RUN_FAILED;
            else if (strcmp(st, "held") == 0 && rc == OKS_CTL_OK)
                rc = OKS_CTL_HELD;
            json_array_append_new(out, r);
        }
        if (ctl->json)
            oks_ctl_print_json(out);
        json_decref(out);
    }
    for (int i = 0; i < n; i++)
        json_decref(ts[i].run);
    free(ts);
    return rc;
}
