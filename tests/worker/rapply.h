/* Test helpers for the rules' batch apply (tests/worker/worker_rules*_it_test.c). */
#ifndef RAPPLY_H
#define RAPPLY_H

#include "db/oks_db.h"
#include "oks_worker_apply_batch.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ra_row {
    const char *id;
    const char *status;  /* active | deactivated | deleted */
    const char *profile; /* JSON object; NULL = status-only */
    int64_t as_of;       /* 0 = next tick */
} ra_row;

/* The next Okta Date (ms), strictly increasing across the program. */
int64_t ra_tick(void);
const char *ra_db_url(void);
/* Closes the program's connection (call from main after the tests). */
void ra_close(void);
oks_db *ra_conn(void);
char *ra_tenant(void);
void ra_sql(const char *q, const char *t);
char *ra_val(const char *q, const char *t, const char *a);
long ra_num(const char *q, const char *t, const char *a);
/* One batch in one transaction on d; a failed apply fails the test. */
oks_worker_apply_result ra_apply_on(oks_db *d, const char *t, const ra_row *rows, size_t n,
                                    const char *source, int64_t run);
oks_worker_apply_result ra_apply(const char *t, const ra_row *rows, size_t n);
oks_worker_apply_result ra_one(const char *t, const char *id, const char *status,
                               const char *profile);
char *ra_col(const char *t, const char *id, const char *c);
void ra_assert_col(const char *t, const char *id, const char *c, const char *want);
/* "team:primary:source" of a user's memberships, sorted, comma-joined; "okta:override" of
 * its manager. NULL want = none. */
char *ra_teams_of(const char *t, const char *id);
void ra_assert_teams(const char *t, const char *id, const char *want);
char *ra_manager_of(const char *t, const char *id);
void ra_assert_manager(const char *t, const char *id, const char *want);

#endif
