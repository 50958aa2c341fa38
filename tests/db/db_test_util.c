#include "db_test_util.h"

#include "oks_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

oks_db *dbt_connect(const char *url)
{
    oks_err err = {0};
    oks_db_opts o = {.url = url,
                     .connect_timeout_s = 5,
                     .statement_timeout_ms = 15000,
                     .application_name = "oks-db-test"};
    oks_db *db = oks_db_connect(&o, &err);
    if (!db)
        oks_test_fail(__FILE__, __LINE__, "connect: %s", err.msg);
    return db;
}

oks_db *dbt_fresh_migrated(char **url_out)
{
    char *url = oks_test_fresh_database();
    oks_db *db = dbt_connect(url);
    oks_err err = {0};
    if (oks_db_migrate(db, NULL, &err) != 0)
        oks_test_fail(__FILE__, __LINE__, "migrate: %s", err.msg);
    if (url_out)
        *url_out = url;
    else
        free(url);
    return db;
}

char *dbt_scalar(oks_db *db, const char *sql)
{
    oks_err err = {0};
    PGresult *r = oks_db_exec_params(db, sql, 0, NULL, &err);
    if (!r)
        oks_test_fail(__FILE__, __LINE__, "%s: %s", sql, err.msg);
    char *v = PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? strdup(PQgetvalue(r, 0, 0)) : NULL;
    PQclear(r);
    return v;
}

void dbt_terminate(oks_db *killer, oks_db *victim)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", PQbackendPID(oks_db_pg(victim)));
    char *ok = dbt_scalar(killer, sql);
    OKS_ASSERT_EQ_STR(ok, "t");
    free(ok);
}

oks_errcode dbt_fails(oks_db *db, const char *sql, char state[6])
{
    oks_err err = {0};
    PGresult *r = oks_db_exec_params(db, sql, 0, NULL, &err);
    if (r) {
        PQclear(r);
        oks_test_fail(__FILE__, __LINE__, "expected failure: %s", sql);
    }
    snprintf(state, 6, "%s", oks_db_last_sqlstate(db));
    return err.code;
}

char *dbt_tenant(oks_db *db, const char *subdomain)
{
    oks_err err = {0};
    const char *p[] = {subdomain};
    PGresult *r = oks_db_exec_params(db,
                                     "INSERT INTO tenants (subdomain, webhook_secret_hash) "
                                     "VALUES ($1, sha256(convert_to($1, 'UTF8'))) RETURNING id",
                                     1, p, &err);
    if (!r)
        oks_test_fail(__FILE__, __LINE__, "insert tenant: %s", err.msg);
    char *id = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return id;
}

int dbt_closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        oks_test_fail(__FILE__, __LINE__, "cannot find a free port");
    close(fd); /* bound but never listened: connecting is refused */
    return ntohs(a.sin_port);
}
