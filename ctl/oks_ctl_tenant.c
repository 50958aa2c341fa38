/* oktasyncctl tenant {list,show,remove} and the dispatch of the tenant subcommands. */
#include "oks_ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char HELP[] =
    "Usage: oktasyncctl tenant SUBCOMMAND ...\n\n"
    "  add            connect a tenant to its Okta org\n"
    "  list           list tenants\n"
    "  show S         show tenant S\n"
    "  set S ...      change settings of tenant S\n"
    "  rotate-secret S [--grace 24h]\n"
    "                 new webhook secret, the previous one keeps working for the grace period\n"
    "  connect S      check S's Okta credentials, mark it connected, queue its first full sync\n"
    "  remove S       remove tenant S with its synced users, teams and runs (audit log kept)\n\n"
    "'oktasyncctl tenant SUBCOMMAND --help' explains each.\n";

int oks_ctl_cmd_tenant(oks_ctl *ctl, int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(oks_ctl *, int, char **);
    } subs[] = {{"add", oks_ctl_tenant_add},
                {"list", oks_ctl_tenant_list},
                {"show", oks_ctl_tenant_show},
                {"set", oks_ctl_tenant_set},
                {"rotate-secret", oks_ctl_tenant_rotate},
                {"remove", oks_ctl_tenant_remove},
                {"connect", oks_ctl_tenant_connect}};
    if (argc < 1)
        return oks_ctl_fail(OKS_CTL_USAGE,
                            "missing tenant subcommand (see oktasyncctl tenant --help)");
    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        fputs(HELP, stdout);
        return OKS_CTL_OK;
    }
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (strcmp(argv[0], subs[i].name) == 0)
            return subs[i].fn(ctl, argc - 1, argv + 1);
    return oks_ctl_fail(OKS_CTL_USAGE,
                        "unknown tenant subcommand '%s' (see oktasyncctl tenant --help)", argv[0]);
}

static const char LIST_HELP[] = "Usage: oktasyncctl tenant list [--json]\n\n"
                                "List every tenant with its main settings and last full sync.\n"
                                "--json prints an array of the objects 'tenant show --json' "
                                "prints.\n";

int oks_ctl_tenant_list(oks_ctl *ctl, int argc, char **argv)
{
    bool done;
    int n_pos, rc = oks_ctl_parse(ctl, "oktasyncctl tenant list", LIST_HELP, argc, argv, NULL, 0,
                                  NULL, 0, &n_pos, &done);
    if (rc != OKS_CTL_OK || done || (rc = oks_ctl_connect(ctl)) != OKS_CTL_OK)
        return rc;
    oks_err err = {0};
    json_t *list = oks_ctl_fetch_tenants(ctl, NULL, &err);
    if (!list)
        return oks_ctl_fail_err(&err, "listing tenants");
    oks_ctl_print_tenant_list(ctl, list);
    json_decref(list);
    return OKS_CTL_OK;
}

/* The one positional SUBDOMAIN most tenant commands take. */
int oks_ctl_subdomain_arg(const char *cmd, int n_pos, const char **pos)
{
    char why[128];
    if (n_pos != 1)
        return oks_ctl_fail(OKS_CTL_USAGE, "%s needs the tenant's subdomain (see %s --help)", cmd,
                            cmd);
    if (!oks_ctl_valid_subdomain(pos[0], why, sizeof why))
        return oks_ctl_fail(OKS_CTL_USAGE, "invalid subdomain \"%s\": %s", pos[0], why);
    return OKS_CTL_OK;
}

static const char SHOW_HELP[] =
    "Usage: oktasyncctl tenant show SUBDOMAIN [--json]\n\n"
    "Show a tenant's settings (never its secrets: only whether they are set), its webhook\n"
    "URL, the user count and the last full sync; whether it is connected, its last finished\n"
    "full sync and outcome, its standing with Okta (a parked credentials fault says to\n"
    "reconnect) and the dirty users waiting for the reconciler. Exit 1 when there is no such\n"
    "tenant.\n";

int oks_ctl_tenant_show(oks_ctl *ctl, int argc, char **argv)
{
    const char *pos[1];
    bool done;
    int n_pos, rc = oks_ctl_parse(ctl, "oktasyncctl tenant show", SHOW_HELP, argc, argv, NULL, 0,
                                  pos, 1, &n_pos, &done);
    if (rc != OKS_CTL_OK || done)
        return rc;
    if ((rc = oks_ctl_subdomain_arg("oktasyncctl tenant show", n_pos, pos)) != OKS_CTL_OK ||
        (rc = oks_ctl_connect(ctl)) != OKS_CTL_OK)
        return rc;
    oks_err err = {0};
    json_t *list = oks_ctl_fetch_tenants(ctl, pos[0], &err);
    if (!list)
        return oks_ctl_fail_err(&err, "reading the tenant");
    if (json_array_size(list) != 1) {
        json_decref(list);
        return oks_ctl_fail(OKS_CTL_FAILED, "no tenant with subdomain '%s'", pos[0]);
    }
    json_t *t = json_array_get(list, 0);
    if (oks_ctl_tenant_add_state(ctl, t, &err) != 0) {
        json_decref(list);
        return oks_ctl_fail_err(&err, "reading the tenant's state");
    }
    oks_ctl_print_tenant(ctl, t);
    if (!ctl->json)
        oks_ctl_print_tenant_state(t);
    json_decref(list);
    return OKS_CTL_OK;
}

static const char REMOVE_HELP[] =
    "Usage: oktasyncctl tenant remove SUBDOMAIN [--json]\n\n"
    "Remove the tenant and everything synced for it (users, teams, invitations outbox, sync\n"
    "runs). The audit log keeps its history, plus a 'remove' entry. Ingest stops accepting its\n"
    "webhooks within seconds (tenant changes are broadcast with NOTIFY oktasync_tenants).\n";

int oks_ctl_tenant_remove(oks_ctl *ctl, int argc, char **argv)
{
    const char *pos[1];
    bool done;
    int n_pos, rc = oks_ctl_parse(ctl, "oktasyncctl tenant remove", REMOVE_HELP, argc, argv, NULL,
                                  0, pos, 1, &n_pos, &done);
    if (rc != OKS_CTL_OK || done)
        return rc;
    if ((rc = oks_ctl_subdomain_arg("oktasyncctl tenant remove", n_pos, pos)) != OKS_CTL_OK ||
        (rc = oks_ctl_connect(ctl)) != OKS_CTL_OK)
        return rc;
    oks_err err = {0};
    char id[64] = "";
    char *before = NULL;
    PGresult *r = NULL;
    if (oks_db_begin(ctl->db, &err) != 0)
        goto fail;
    before = oks_ctl_tenant_redacted(ctl, pos[0], true, id, sizeof id, &err);
    if (!before) {
        oks_db_rollback(ctl->db);
        if (err.code != OKS_OK)
            goto fail;
        return oks_ctl_fail(OKS_CTL_FAILED, "no tenant with subdomain '%s'", pos[0]);
    }
    const char *p[] = {id};
    r = oks_db_exec_params(ctl->db, "DELETE FROM tenants WHERE id = $1::uuid", 1, p, &err);
    if (!r || oks_ctl_audit(ctl, id, "remove", before, NULL, &err) != 0 ||
        oks_db_commit(ctl->db, &err) != 0)
        goto fail;
    PQclear(r);
    free(before);
    if (ctl->json)
        printf("{\"removed\":\"%s\",\"id\":\"%s\"}\n", pos[0], id);
    else
        printf("tenant %s (%s) removed\n", pos[0], id);
    return OKS_CTL_OK;
fail:
    PQclear(r);
    free(before);
    oks_db_rollback(ctl->db);
    return oks_ctl_fail_err(&err, "removing the tenant");
}
