/* oktasyncctl migrate */
#include "oks_ctl.h"

#include <stdio.h>

static const char HELP[] =
    "Usage: oktasyncctl migrate [--json]\n\n"
    "Apply every database migration not yet applied, in order, each in its own transaction,\n"
    "recorded in schema_migrations with its checksum. Safe to run again and from several\n"
    "hosts at once (an advisory lock serializes runners). Uses the migrations built into the\n"
    "binary unless --migrations-dir (OKTASYNC_MIGRATIONS_DIR) names a directory.\n"
    "Fails with a clear message when an applied migration file was edited afterwards.\n";

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
    if (ctl->json)
        printf("{\"applied\":%d,\"total\":%d}\n", applied, total);
    else
        printf("migrations: %d applied now, %d known, database is up to date\n", applied, total);
    return OKS_CTL_OK;
}
