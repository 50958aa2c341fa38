/* Internals shared by the files of common/db (not for other modules). */
#ifndef OKS_DB_INTERNAL_H
#define OKS_DB_INTERNAL_H

#include "db/oks_db.h"

#define OKS_DB_MAX_CHANNELS 8

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
};

/* Copy a libpq message onto one line (newlines → spaces, trailing blanks cut). */
void oks_db__one_line(const char *in, char *out, size_t cap);

/* Re-issue every remembered LISTEN on a fresh connection. */
int oks_db__relisten(oks_db *db, oks_err *err);

#endif
