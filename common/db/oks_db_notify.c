/* LISTEN / NOTIFY: wait for notifications with poll() on the connection's socket. */
#include "db/oks_db_internal.h"

#include "core/oks_time.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int send_listen(oks_db *db, const char *channel, oks_err *err)
{
    char *ident = PQescapeIdentifier(db->pg, channel, strlen(channel));
    if (!ident)
        return oks_err_set(err, OKS_E_NOMEM, "cannot quote channel name");
    char sql[256];
    int n = snprintf(sql, sizeof sql, "LISTEN %s", ident);
    PQfreemem(ident);
    if (n < 0 || (size_t)n >= sizeof sql)
        return oks_err_set(err, OKS_E_INVALID, "channel name too long");
    return oks_db_exec(db, sql, err);
}

int oks_db_listen(oks_db *db, const char *channel, oks_err *err)
{
    if (!channel || !*channel || strlen(channel) > 63)
        return oks_err_set(err, OKS_E_INVALID, "channel name must be 1..63 characters");
    for (int i = 0; i < db->n_channels; i++)
        if (strcmp(db->channels[i], channel) == 0)
            return 0;
    if (db->n_channels >= OKS_DB_MAX_CHANNELS)
        return oks_err_set(err, OKS_E_INVALID, "too many LISTEN channels (max %d)",
                           OKS_DB_MAX_CHANNELS);
    if (oks_db_ensure(db, err) != 0 || send_listen(db, channel, err) != 0)
        return -1;
    char *copy = strdup(channel);
    if (!copy)
        return oks_err_set(err, OKS_E_NOMEM, "out of memory");
    db->channels[db->n_channels++] = copy;
    return 0;
}

int oks_db__relisten(oks_db *db, oks_err *err)
{
    for (int i = 0; i < db->n_channels; i++)
        if (send_listen(db, db->channels[i], err) != 0)
            return -1;
    return 0;
}

static int take_notify(oks_db *db, char *channel, size_t channel_cap, char *payload,
                       size_t payload_cap)
{
    PGnotify *n = PQnotifies(db->pg);
    if (!n)
        return 0;
    if (channel && channel_cap)
        snprintf(channel, channel_cap, "%s", n->relname);
    if (payload && payload_cap)
        snprintf(payload, payload_cap, "%s", n->extra ? n->extra : "");
    PQfreemem(n);
    return 1;
}

static int lost(oks_db *db, oks_err *err)
{
    char msg[200];
    oks_db__one_line(PQerrorMessage(db->pg), msg, sizeof msg);
    return oks_err_set(err, OKS_E_UNAVAILABLE, "PostgreSQL connection lost while listening: %s",
                       msg);
}

int oks_db_wait_notify(oks_db *db, int timeout_ms, char *channel, size_t channel_cap, char *payload,
                       size_t payload_cap, oks_err *err)
{
    if (oks_db_ensure(db, err) != 0)
        return -1;
    int64_t deadline = oks_now_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        /* Notifications may already be buffered from an earlier query's reply. */
        if (PQconsumeInput(db->pg) != 1)
            return lost(db, err);
        if (take_notify(db, channel, channel_cap, payload, payload_cap))
            return 1;
        int64_t left = deadline - oks_now_mono_ms();
        if (left <= 0)
            return 0;
        struct pollfd pfd = {.fd = PQsocket(db->pg), .events = POLLIN};
        if (pfd.fd < 0)
            return lost(db, err);
        int pr = poll(&pfd, 1, (int)left);
        if (pr < 0 && errno != EINTR)
            return oks_err_set(err, OKS_E_TRANSIENT, "poll failed: %s", strerror(errno));
        if (pr < 0)
            return 0; /* a signal: let the caller check its stop flag */
    }
}
