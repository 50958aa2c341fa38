/* oktasyncctl migrate */
#include "oks_ctl.h"

#include <stdio.h>

static const char HELP[] =
    "Usage: oktasyncctl migrate [--json]\n\n"
    "Apply every database migration not yet applied, in order, each in its own transaction,\n"
    "recorded in schema_migrations with its checksum. Safe to run again and from several\n"
    "hosts at once (an advisory lock serializes runners). Uses the migrations built into the\n"
    "binary unless --migrations-dir (OKTASYNC_MIGRATIONS_DIR) names a directory.\n"
    "Fails with a clear message when an applied migration file was edited afterwards.\n\n"
    "Then re-seals Okta API tokens and client secrets stored in the old format (not bound to\n"
    "their tenant) so each opens only for its own tenant; one transaction per tenant, audited.\n"
    "Needs --secret-key (OKTASYNC_SECRET_KEY) only when there is such a value; running it\n"
    "again re-seals nothing. Exit 1 when a value does not open under the key (named on\n"
    "stderr; the other tenants are still re-sealed).\n";

int oks_ctl_cmd_migrate(oks_ctl *ctl, int argc, char **argv)
{
    bool done;
    int n_pos, rc;
    rc = oks_ctl_parse(ctl, "oktasyncctl migrate", HELP, argc, argv, NULL, 0, NULL, 0, &n_pos,
                       &done);
    if (rc != OKS_CTL_OK || done)
        return rc;
    if ((rc = oks_ctl_connect(ctl)) != OKS_CTL_OK)
        return rc;
    oks_err err = {0};
    int applied = 0, total = 0;
    if (oks_db_migrate_ex(ctl->db, ctl->cfg.migrations_dir, &applied, &total, &err) != 0)
        return oks_ctl_fail(OKS_CTL_FAILED, "migrate: %s", err.msg);
    oks_ctl_reseal_counts c;
    rc = oks_ctl_reseal(ctl, &c);
    if (ctl->json) {
        printf("{\"applied\":%d,\"total\":%d,\"resealed_tenants\":%ld,\"resealed_values\":%ld,"
               "\"reseal_failed\":%ld}\n",
               applied, total, c.tenants, c.values, c.failed);
    } else {
        printf("migrations: %d applied now, %d known, database is up to date\n", applied, total);
        printf("credentials: %ld re-sealed for their tenant (%ld tenants), %ld tenants failed\n",
               c.values, c.tenants, c.failed);
    }
    return rc;
}
