/* Helpers shared by the tests/db integration tests. */
#ifndef DB_TEST_UTIL_H
#define DB_TEST_UTIL_H

#include "db/oks_db.h"

/* Connect to url (fails the test on error). */
oks_db *dbt_connect(const char *url);
/* Fresh database, migrated with the built-in migrations. *url_out (may be NULL) gets its URL. */
oks_db *dbt_fresh_migrated(char **url_out);
/* Run SQL that must succeed; returns the first column of the first row as a malloc'd string
 * (or NULL when no rows). */
char *dbt_scalar(oks_db *db, const char *sql);
/* Run SQL that must fail; returns the error code and copies the SQLSTATE into state[6]. */
oks_errcode dbt_fails(oks_db *db, const char *sql, char state[6]);
/* Insert a tenant with a valid secret hash; returns its uuid (malloc'd). */
char *dbt_tenant(oks_db *db, const char *subdomain);
/* Another session kills victim's (pg_terminate_backend = admin shutdown 57P01 for the victim),
 * as a server restart or a network cut would. */
void dbt_terminate(oks_db *killer, oks_db *victim);
/* A TCP port on 127.0.0.1 that nothing listens on. */
int dbt_closed_port(void);

#endif
