/*
 * The small HTTP listener every daemon runs for operators: GET /metrics (Prometheus text),
 * GET /healthz (process alive: 200 "ok"), GET /readyz (200 when the ready callback says so,
 * else 503 with the reason). Runs on libmicrohttpd's own thread; handlers never block on
 * the daemon's work.
 */
#ifndef OKS_ADMIN_HTTP_H
#define OKS_ADMIN_HTTP_H

#include "oks_err.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct oks_admin_http oks_admin_http;

/* Return true when ready; otherwise write a short reason into why. Called on the HTTP thread. */
typedef bool (*oks_ready_fn)(void *ctx, char *why, size_t why_cap);

/* listen: "host:port" (port 0 picks a free port; see oks_admin_http_port). ready may be NULL
 * (always ready). */
oks_admin_http *oks_admin_http_start(const char *listen, oks_ready_fn ready, void *ctx,
                                     oks_err *err);
int oks_admin_http_port(const oks_admin_http *a);

/* Write the daemon's ready file (atomically): "admin=HOST:PORT" with the port actually bound,
 * then `extra` (more "key=value" lines, may be NULL). Nothing happens for a NULL/empty path.
 * Tests and scripts poll for this file instead of sleeping. */
int oks_admin_http_write_ready_file(const oks_admin_http *a, const char *path, const char *extra,
                                    oks_err *err);
void oks_admin_http_stop(oks_admin_http *a);
/* At shutdown: stop serving (a may be NULL) and remove the ready file written by
 * oks_admin_http_write_ready_file (NULL/empty path: nothing to remove), so nothing waits on
 * a daemon that is gone. */
void oks_admin_http_stop_unready(oks_admin_http *a, const char *ready_file);

#endif
