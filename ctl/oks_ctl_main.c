/*
 * oktasyncctl: the operator CLI. Global settings come from the configuration table (flags
 * anywhere on the line, OKTASYNC_* environment, config file); the command and its own options
 * follow.
 */
#include "oks_ctl.h"

#include "core/oks_config.h"
#include "core/oks_config_common.h"
#include "core/oks_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define C oks_ctl_cfg
static const oks_cfg_entry entries[] = {
    OKS_CFG_DATABASE_URL(C),
    OKS_CFG_STR("secret-key", C, secret_key, "", OKS_CFG_SECRET,
                "64 hex characters (32 bytes): AES-256-GCM key sealing Okta API tokens and "
                "client secrets; needed by tenant add/set"),
    OKS_CFG_LOG_LEVEL(C, "warn"),
    OKS_CFG_STR("migrations-dir", C, migrations_dir, "", 0,
                "Directory of NNNN_name.sql migrations; empty: the set built into the binary"),
    OKS_CFG_DURATION("connect-timeout", C, connect_timeout_ms, "5s", 1000, 300000,
                     "PostgreSQL connect timeout"),
    OKS_CFG_DURATION("statement-timeout", C, statement_timeout_ms, "5m", 100, 86400000,
                     "Server-side limit per statement (also bounds the wait for the migration "
                     "lock)"),
    OKS_CFG_STR("webhook-base-url", C, webhook_base_url, "http://127.0.0.1:8080", OKS_CFG_REQUIRED,
                "Public base URL of oktasync-ingest, for the webhook URL printed by tenant add"),
    OKS_CFG_BOOL("json", C, json, "false",
                 "Machine-readable JSON output (also --json after "
                 "the command)"),
    OKS_CFG_KAFKA(C),
    OKS_CFG_STR("jobs-topic", C, jobs_topic, "jobs", OKS_CFG_REQUIRED,
                "Topic full-sync jobs are produced to (sync now, tenant connect)."),
    OKS_CFG_DURATION("produce-timeout", C, produce_timeout_ms, "10s", 100, 300000,
                     "How long to wait for Kafka to acknowledge a job."),
    OKS_CFG_DURATION("okta-timeout", C, okta_timeout_ms, "15s", 100, 300000,
                     "Per-request timeout of the Okta checks of tenant connect."),
    OKS_CFG_STR("events-topic", C, events_topic, "events", OKS_CFG_REQUIRED,
                "The workers' events topic (lag)."),
    OKS_CFG_STR("dead-letter-topic", C, dead_letter_topic, "dead-letter", OKS_CFG_REQUIRED,
                "The fleet's dead-letter topic (dlq list, dlq replay)."),
    OKS_CFG_STR("group-id", C, group_id, "oktasync-workers", OKS_CFG_REQUIRED,
                "The workers' consumer group (lag reads its committed offsets; never joins)."),
    OKS_CFG_DURATION("kafka-timeout", C, kafka_timeout_ms, "10s", 100, 300000,
                     "Bound on each Kafka metadata, offset and read wait (lag, dlq)."),
};
#undef C

static const oks_cfg_program program = OKS_CFG_PROGRAM(
    "oktasyncctl", "Operator CLI for oktasync: database migrations and tenants.",
    "COMMAND [OPTIONS]\n\n"
    "Commands:\n"
    "  migrate                          apply pending database migrations\n"
    "  tenant add --subdomain S ...     connect a tenant (prints its webhook secret once)\n"
    "  tenant list                      list tenants\n"
    "  tenant show S                    show one tenant\n"
    "  tenant set S --option VALUE ...  change a tenant's settings\n"
    "  tenant rotate-secret S [--grace 24h]  new webhook secret; the old one works for --grace\n"
    "  tenant remove S                  remove a tenant and its synced data\n"
    "  field add|list|remove S [NAME]   a tenant's custom fields (Okta attributes to copy)\n"
    "  tenant connect S                 check S's Okta credentials, queue its first full sync\n"
    "  sync list [S] [--status held]    full-sync runs, newest first\n"
    "  sync now|status|diff|approve|reject  run and review full syncs\n"
    "  lag [--tenant S]                 backlog per events partition and per tenant\n"
    "  dlq list|replay ...              dead letters: list, send back to their topic\n"
    "  invitations list|mark-sent ...   the invitation outbox a sending system reads\n\n"
    "'oktasyncctl COMMAND --help' explains a command. Add --json for machine-readable output.\n"
    "Exit status: 0 ok, 1 operation failed, 2 bad usage or value, 3 Okta refused a credential,\n"
    "4 a run is held, 5 a run failed, 6 lag WARN, 7 lag STALLED (docs/operator-cli.md).",
    entries);

/* Is argv[i] ("--name" or "--name=value") one of the global settings (or --config)? */
static bool is_global(const char *a, bool *takes_value)
{
    if (strncmp(a, "--", 2) != 0)
        return false;
    const char *name = a + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    *takes_value = !eq;
    if (len == 6 && strncmp(name, "config", 6) == 0)
        return true;
    for (size_t i = 0; i < program.n_entries; i++) {
        const oks_cfg_entry *e = &entries[i];
        if (strlen(e->name) == len && strncmp(e->name, name, len) == 0) {
            if (e->type == OKS_CFG_T_BOOL)
                *takes_value = false;
            return true;
        }
    }
    return false;
}

/* Move global settings found after the command in front of it, so
 * `oktasyncctl tenant list --database-url X` works like `oktasyncctl --database-url X tenant
 * list`. out gets: prog, globals..., "--", command words and their options. */
static int reorder(int argc, char **argv, char **out)
{
    int n = 0, cmd_start = 1;
    out[n++] = argv[0];
    while (cmd_start < argc && strncmp(argv[cmd_start], "-", 1) == 0) {
        bool tv;
        bool global = is_global(argv[cmd_start], &tv);
        if (!global)
            return -1; /* --help, --version, unknown: let oks_cfg_load judge the original */
        out[n++] = argv[cmd_start++];
        if (tv && cmd_start < argc)
            out[n++] = argv[cmd_start++];
    }
    for (int i = cmd_start; i < argc; i++) {
        bool tv;
        if (strcmp(argv[i], "--json") == 0 || !is_global(argv[i], &tv))
            continue;
        out[n++] = argv[i];
        if (tv && i + 1 < argc)
            out[n++] = argv[++i];
    }
    out[n++] = "--";
    for (int i = cmd_start; i < argc; i++) {
        bool tv;
        if (strcmp(argv[i], "--json") != 0 && is_global(argv[i], &tv)) {
            if (tv && i + 1 < argc)
                i++;
            continue;
        }
        out[n++] = argv[i];
    }
    out[n] = NULL;
    return n;
}

static int dispatch(oks_ctl *ctl, int argc, char **argv)
{
    if (argc < 1)
        return oks_ctl_fail(OKS_CTL_USAGE, "missing command (see oktasyncctl --help)");
    if (strcmp(argv[0], "migrate") == 0)
        return oks_ctl_cmd_migrate(ctl, argc - 1, argv + 1);
    if (strcmp(argv[0], "tenant") == 0)
        return oks_ctl_cmd_tenant(ctl, argc - 1, argv + 1);
    if (strcmp(argv[0], "field") == 0)
        return oks_ctl_cmd_field(ctl, argc - 1, argv + 1);
    if (strcmp(argv[0], "sync") == 0)
        return oks_ctl_cmd_sync(ctl, argc - 1, argv + 1);
    if (strcmp(argv[0], "invitations") == 0)
        return oks_ctl_cmd_invitations(ctl, argc - 1, argv + 1);
    if (strcmp(argv[0], "lag") == 0)
        return oks_ctl_cmd_lag(ctl, argc - 1, argv + 1);
    if (strcmp(argv[0], "dlq") == 0)
        return oks_ctl_cmd_dlq(ctl, argc - 1, argv + 1);
    if (strcmp(argv[0], "help") == 0) {
        oks_cfg_print_help(&program, stdout);
        return OKS_CTL_OK;
    }
    return oks_ctl_fail(OKS_CTL_USAGE, "unknown command '%s' (see oktasyncctl --help)", argv[0]);
}

int main(int argc, char **argv)
{
    oks_ctl ctl = {0};
    oks_err err = {0};
    int first = 0, rc = OKS_CTL_USAGE;
    char **args = calloc((size_t)argc + 2, sizeof *args);
    if (!args)
        return oks_ctl_fail(OKS_CTL_FAILED, "out of memory");
    int n = reorder(argc, argv, args);
    if (n < 0) {
        memcpy(args, argv, (size_t)argc * sizeof *args);
        n = argc;
    }
    oks_cfg_result cr = oks_cfg_load(&program, &ctl.cfg, n, args, NULL, &first, &err);
    if (cr == OKS_CFG_EXIT) {
        rc = OKS_CTL_OK;
        goto out;
    }
    if (cr == OKS_CFG_ERROR) {
        rc = oks_ctl_fail(OKS_CTL_USAGE, "%s", err.msg);
        goto out;
    }
    oks_log_init("oktasyncctl", (oks_log_level)ctl.cfg.log_level);
    ctl.json = ctl.cfg.json;
    rc = dispatch(&ctl, n - first, args + first);
out:
    oks_db_close(ctl.db);
    oks_cfg_free(&program, &ctl.cfg);
    free(args);
    return rc;
}
