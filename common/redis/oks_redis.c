/* hiredis 0.14 connection handling: timeouts on connect and on every command, AUTH/SELECT,
 * drop-and-reconnect after I/O errors, error replies mapped to oks_err classes. */
#include "redis/oks_redis.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

struct oks_redis {
    oks_redis_url url;
    int connect_ms;
    int command_ms;
    redisContext *c;
    unsigned pending;  /* deferred commands whose reply is not read yet */
    unsigned failed;   /* deferred commands failed since oks_redis_deferred_failures */
    oks_err last_fail; /* the latest of them */
};

static struct timeval ms_to_tv(int ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    return tv;
}

oks_redis *oks_redis_new(const char *url, int connect_timeout_ms, int command_timeout_ms,
                         oks_err *err)
{
    oks_redis *r = calloc(1, sizeof(*r));
    if (!r) {
        oks_err_set(err, OKS_E_NOMEM, "out of memory");
        return NULL;
    }
    if (oks_redis_url_parse(url, &r->url, err) != 0) {
        free(r);
        return NULL;
    }
    r->connect_ms = connect_timeout_ms > 0 ? connect_timeout_ms : 2000;
    r->command_ms = command_timeout_ms > 0 ? command_timeout_ms : 1000;
    return r;
}

static void deferred_failed(oks_redis *r, unsigned n, oks_errcode code, const char *why)
{
    if (n == 0)
        return;
    r->failed += n;
    oks_err_set(&r->last_fail, code, "redis %s:%d: %u deferred command(s): %.200s", r->url.host,
                r->url.port, n, why);
}

static void redis_drop(oks_redis *r)
{
    /* a deferred command's reply is lost with the connection: it may or may not have run */
    deferred_failed(r, r->pending, OKS_E_UNAVAILABLE,
                    r->c && r->c->errstr[0] ? r->c->errstr : "connection closed before the reply");
    r->pending = 0;
    if (r->c)
        redisFree(r->c);
    r->c = NULL;
}

void oks_redis_free(oks_redis *r)
{
    if (!r)
        return;
    redis_drop(r);
    /* The password lived here; do not leave it in freed memory. */
    memset(&r->url, 0, sizeof(r->url));
    free(r);
}

bool oks_redis_connected(const oks_redis *r)
{
    return r && r->c;
}

oks_errcode oks_redis_reply_errcode(const char *text)
{
    static const struct {
        const char *prefix;
        oks_errcode code;
    } map[] = {
        {"NOAUTH", OKS_E_AUTH},        {"WRONGPASS", OKS_E_AUTH},
        {"NOPERM", OKS_E_FORBIDDEN},   {"NOSCRIPT", OKS_E_NOTFOUND},
        {"LOADING", OKS_E_TRANSIENT},  {"BUSY", OKS_E_TRANSIENT},
        {"TRYAGAIN", OKS_E_TRANSIENT}, {"MASTERDOWN", OKS_E_TRANSIENT},
        {"READONLY", OKS_E_TRANSIENT}, {"CLUSTERDOWN", OKS_E_TRANSIENT},
        {"OOM", OKS_E_TRANSIENT},
    };
    if (!text)
        return OKS_E_PERMANENT;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        size_t n = strlen(map[i].prefix);
        if (strncmp(text, map[i].prefix, n) == 0 && (text[n] == ' ' || text[n] == '\0'))
            return map[i].code;
    }
    return OKS_E_PERMANENT;
}

/* The connection is unusable after an I/O error: drop it so the next call reconnects. A read
 * or connect that ran out of time is OKS_E_TIMEOUT; everything else is OKS_E_UNAVAILABLE. */
static int redis_io_error(oks_redis *r, int saved_errno, const char *what, oks_err *err)
{
    bool timed_out = r->c && r->c->err == REDIS_ERR_IO &&
                     (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK ||
                      saved_errno == ETIMEDOUT || saved_errno == EINPROGRESS);
    oks_err_set(err, timed_out ? OKS_E_TIMEOUT : OKS_E_UNAVAILABLE, "redis %s:%d: %s: %s",
                r->url.host, r->url.port, what,
                r->c && r->c->errstr[0] ? r->c->errstr : "connection failed");
    redis_drop(r);
    return -1;
}

/* Run a handshake command (AUTH/SELECT) on a fresh connection; error replies map to
 * reply_code (AUTH: any refusal is OKS_E_AUTH, also "no password configured"). */
static int redis_handshake(oks_redis *r, oks_errcode reply_code, const char *what, oks_err *err,
                           int argc, const char **argv)
{
    errno = 0;
    redisReply *rep = redisCommandArgv(r->c, argc, argv, NULL);
    if (!rep)
        return redis_io_error(r, errno, what, err);
    int rc = 0;
    if (rep->type == REDIS_REPLY_ERROR) {
        rc = oks_err_set(err, reply_code, "redis %s:%d: %s refused: %.160s", r->url.host,
                         r->url.port, what, rep->str);
        redis_drop(r);
    }
    freeReplyObject(rep);
    return rc;
}

static int redis_auth_select(oks_redis *r, oks_err *err)
{
    if (r->url.has_password) {
        const char *with_user[] = {"AUTH", r->url.user, r->url.password};
        const char *pw_only[] = {"AUTH", r->url.password};
        bool user = r->url.user[0] != '\0';
        if (redis_handshake(r, OKS_E_AUTH, "AUTH", err, user ? 3 : 2, user ? with_user : pw_only) !=
            0)
            return -1;
    }
    if (r->url.db != 0) {
        char db[16];
        snprintf(db, sizeof(db), "%d", r->url.db);
        const char *argv[] = {"SELECT", db};
        if (redis_handshake(r, OKS_E_INVALID, "SELECT", err, 2, argv) != 0)
            return -1;
    }
    return 0;
}

int oks_redis_connect(oks_redis *r, oks_err *err)
{
    if (r->c)
        return 0;
    errno = 0;
    r->c = redisConnectWithTimeout(r->url.host, r->url.port, ms_to_tv(r->connect_ms));
    int saved = errno;
    if (!r->c)
        return oks_err_set(err, OKS_E_NOMEM, "redis: cannot allocate a connection");
    if (r->c->err)
        return redis_io_error(r, saved, "connect", err);
    if (redisSetTimeout(r->c, ms_to_tv(r->command_ms)) != REDIS_OK)
        return redis_io_error(r, errno, "setting the command timeout", err);
    return redis_auth_select(r, err);
}

int oks_redis_reconnect(oks_redis *r, oks_err *err)
{
    redis_drop(r);
    return oks_redis_connect(r, err);
}

/* Turn hiredis's answer into reply-or-error. */
static redisReply *redis_finish(oks_redis *r, redisReply *rep, int saved_errno, oks_err *err)
{
    if (!rep) {
        redis_io_error(r, saved_errno, "command", err);
        return NULL;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        oks_err_set(err, oks_redis_reply_errcode(rep->str), "redis: %.200s", rep->str);
        freeReplyObject(rep);
        return NULL;
    }
    return rep;
}

/* Read the deferred commands' replies; 0, or -1 with err when the connection failed. */
static int read_deferred(oks_redis *r, oks_err *err)
{
    while (r->pending > 0) {
        void *rep = NULL;
        errno = 0;
        if (redisGetReply(r->c, &rep) != REDIS_OK)
            return redis_io_error(r, errno, "deferred reply", err);
        r->pending--;
        redisReply *one = rep;
        if (one && one->type == REDIS_REPLY_ERROR)
            deferred_failed(r, 1, oks_redis_reply_errcode(one->str), one->str);
        freeReplyObject(one);
    }
    return 0;
}

/* The reply of the command just appended, after the deferred commands' replies (one round trip
 * for all). */
static redisReply *appended_reply(oks_redis *r, oks_err *err)
{
    if (read_deferred(r, err) != 0)
        return NULL;
    void *rep = NULL;
    errno = 0;
    int rc = redisGetReply(r->c, &rep);
    return redis_finish(r, rc == REDIS_OK ? rep : NULL, errno, err);
}

redisReply *oks_redis_command(oks_redis *r, oks_err *err, const char *fmt, ...)
{
    if (oks_redis_connect(r, err) != 0)
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    int rc = redisvAppendCommand(r->c, fmt, ap);
    va_end(ap);
    if (rc != REDIS_OK) { /* hiredis marks the context failed */
        redis_io_error(r, errno, "command", err);
        return NULL;
    }
    return appended_reply(r, err);
}

redisReply *oks_redis_command_argv(oks_redis *r, oks_err *err, int argc, const char **argv,
                                   const size_t *argvlen)
{
    if (oks_redis_connect(r, err) != 0)
        return NULL;
    if (redisAppendCommandArgv(r->c, argc, argv, argvlen) != REDIS_OK) {
        redis_io_error(r, errno, "command", err);
        return NULL;
    }
    return appended_reply(r, err);
}

int oks_redis_send_argv(oks_redis *r, oks_err *err, int argc, const char **argv,
                        const size_t *argvlen)
{
    if (oks_redis_connect(r, err) != 0)
        return -1;
    if (redisAppendCommandArgv(r->c, argc, argv, argvlen) != REDIS_OK)
        return redis_io_error(r, errno, "send", err);
    int done = 0;
    while (!done) { /* blocking socket: each write bounded by the command timeout */
        errno = 0;
        if (redisBufferWrite(r->c, &done) != REDIS_OK)
            return redis_io_error(r, errno, "send", err);
    }
    r->pending++;
    return 0;
}

int oks_redis_settle(oks_redis *r, oks_err *err)
{
    return r->c ? read_deferred(r, err) : 0;
}

unsigned oks_redis_deferred_failures(oks_redis *r, oks_err *last)
{
    unsigned n = r->failed;
    if (last && n > 0)
        *last = r->last_fail;
    r->failed = 0;
    return n;
}
