/* Internals shared by the files of common/db (not for other modules). */
#ifndef OKS_DB_INTERNAL_H
#define OKS_DB_INTERNAL_H

#include "db/oks_db.h"

#define OKS_DB_MAX_CHANNELS 8
#define OKS_DB_MAX_PREPARED 16

/* A statement prepared on the connection of generation `gen` (reconnects + 1; 0: free). */
typedef struct oks_db_prepared {
    const char *name;
    uint64_t gen;
    int64_t uses;
    int64_t at_ms;
} oks_db_prepared;

struct oks_db {
    PGconn *pg;
    char *url;
    char *app_name;
    int connect_timeout_s;
    int64_t statement_timeout_ms;
    bool in_tx;
    uint64_t reconnects;
    char sqlstate[6];
    char *channels[OKS_DB_MAX_CHANNELS]; /* LISTENed channels, re-issued after reconnect */
    int n_channels;
    oks_db_prepared prepared[OKS_DB_MAX_PREPARED];
};

/* Copy a libpq message onto one line (newlines → spaces, trailing blanks cut). */
void oks_db__one_line(const char *in, char *out, size_t cap);

/* Turn a failed result (or NULL) into err and db->sqlstate. */
void oks_db__result_error(oks_db *db, const PGresult *res, oks_err *err);

/* Re-issue every remembered LISTEN on a fresh connection. */
int oks_db__relisten(oks_db *db, oks_err *err);

#endif
