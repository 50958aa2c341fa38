/*
 * Thin helpers over hiredis 0.14 (old API): parse the fleet's Redis URL, connect with a connect
 * timeout and a per-command timeout, AUTH + SELECT, and run commands with errors mapped to
 * oks_err. A broken connection is dropped and the next call reconnects, so a Redis restart
 * costs callers one retriable error, never a hang.
 *
 *     oks_err err = {0};
 *     oks_redis *r = oks_redis_new(cfg.redis_url, 2000, 1000, &err);
 *     redisReply *rep = r ? oks_redis_command(r, &err, "INCR %s", key) : NULL;
 *     if (!rep) { if (oks_errcode_is_retriable(err.code)) retry later; }
 *     freeReplyObject(rep);
 *
 * Not thread-safe: one handle per thread. hiredis writes with write(2): the process must ignore
 * SIGPIPE (oks_signal_install does) or a write to a dead server kills it.
 */
#ifndef OKS_REDIS_H
#define OKS_REDIS_H

#include "core/oks_err.h"

#include <hiredis/hiredis.h>
#include <stdbool.h>

typedef struct oks_redis_url {
    char host[256]; /* hostname, IPv4, or IPv6 without brackets */
    int port;       /* default 6379 */
    int db;         /* default 0 */
    char user[128]; /* Redis 6+ ACL user; empty = default user */
    char password[512];
    bool has_password;
} oks_redis_url;

/*
 * Parse redis://[[user]:password@]host[:port][/db]. user and password may be percent-encoded.
 * Rejected with OKS_E_INVALID and a message that says what is wrong: other schemes (rediss://
 * needs TLS, which this build lacks), empty host, bad port (1..65535), bad db (0..100000),
 * query strings, over-long parts.
 */
int oks_redis_url_parse(const char *url, oks_redis_url *out, oks_err *err);

typedef struct oks_redis oks_redis;

/* Parse url and keep the settings; no I/O yet (the first command connects). Timeouts in ms
 * (<= 0 picks 2000 for connect, 1000 for commands). NULL with OKS_E_INVALID on a bad URL. */
oks_redis *oks_redis_new(const char *url, int connect_timeout_ms, int command_timeout_ms,
                         oks_err *err);
void oks_redis_free(oks_redis *r);

/* Connect (TCP, AUTH, SELECT) unless already connected. Connection failures are
 * OKS_E_UNAVAILABLE / OKS_E_TIMEOUT (retriable); a refused password is OKS_E_AUTH. */
int oks_redis_connect(oks_redis *r, oks_err *err);
/* Drop the current connection (if any) and connect again. */
int oks_redis_reconnect(oks_redis *r, oks_err *err);
bool oks_redis_connected(const oks_redis *r);

/*
 * Run a command (hiredis format string: %s, %d, ... and %b = pointer + size_t for binary; no
 * printf format attribute, because %b would trip -Wformat). Returns the reply (caller frees with
 * freeReplyObject) or NULL with err set: connection lost / refused  OKS_E_UNAVAILABLE (the
 * connection is dropped; the next call reconnects; the command may or may not have run) command
 * timeout            OKS_E_TIMEOUT (same) error reply                NOAUTH/WRONGPASS ->
 * OKS_E_AUTH, NOSCRIPT -> OKS_E_NOTFOUND, LOADING/BUSY/TRYAGAIN/MASTERDOWN/READONLY/CLUSTERDOWN ->
 *                              OKS_E_TRANSIENT, anything else (WRONGTYPE, ERR ...) ->
 *                              OKS_E_PERMANENT; the message carries Redis's text.
 */
redisReply *oks_redis_command(oks_redis *r, oks_err *err, const char *fmt, ...);
/* Binary-safe variant (argvlen may be NULL for C strings). Same error mapping. */
redisReply *oks_redis_command_argv(oks_redis *r, oks_err *err, int argc, const char **argv,
                                   const size_t *argvlen);

/*
 * Send a command without waiting for its reply, for a command whose outcome the caller only logs
 * (the worker's dedupe marks): it costs no round trip of its own. Its reply is read and dropped
 * by the next command on this handle, before that command's own reply (one round trip for
 * both), or by oks_redis_settle. 0 when written to the socket; -1 with err (as above) when not
 * (the connection is dropped). A deferred command that gets an error reply, or whose connection
 * is lost before its reply is read, is counted: oks_redis_deferred_failures.
 */
int oks_redis_send_argv(oks_redis *r, oks_err *err, int argc, const char **argv,
                        const size_t *argvlen);
/* Read the replies of every deferred command (each read bounded by the command timeout). 0, or
 * -1 when the connection failed on the way (those commands are counted as failed). */
int oks_redis_settle(oks_redis *r, oks_err *err);
/* Deferred commands that failed since the last call, and the last such failure in *last (may be
 * NULL). */
unsigned oks_redis_deferred_failures(oks_redis *r, oks_err *last);

/* The class of a Redis error reply text ("WRONGTYPE ...", "NOSCRIPT ..."), as above. */
oks_errcode oks_redis_reply_errcode(const char *text);

#endif
