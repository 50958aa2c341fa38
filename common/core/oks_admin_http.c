#include "oks_admin_http.h"
#include "oks_log.h"
#include "oks_metrics.h"
#include "oks_net.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct oks_admin_http {
    struct MHD_Daemon *daemon;
    oks_ready_fn ready;
    void *ctx;
    int port;
    char host[64];
};

/* libmicrohttpd's own messages go to the JSON log, not raw stderr. */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    OKS_LOG_WARN("admin http: %s", msg);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
                             void *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    return reply(conn, status, "text/plain; charset=utf-8", (void *)text, strlen(text),
                 MHD_RESPMEM_MUST_COPY);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)con_cls;
    oks_admin_http *a = cls;
    if (*upload_data_size != 0) {
        *upload_data_size = 0; /* admin endpoints take no body; discard it */
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
    if (strcmp(url, "/healthz") == 0)
        return reply_text(conn, MHD_HTTP_OK, "ok\n");
    if (strcmp(url, "/readyz") == 0) {
        char why[256] = "not ready";
        if (!a->ready || a->ready(a->ctx, why, sizeof why))
            return reply_text(conn, MHD_HTTP_OK, "ready\n");
        char body[300];
        snprintf(body, sizeof body, "not ready: %s\n", why);
        return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, body);
    }
    if (strcmp(url, "/metrics") == 0) {
        size_t len = 0;
        char *text = oks_metrics_render(&len);
        if (!text)
            return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
        return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len,
                     MHD_RESPMEM_MUST_FREE);
    }
    return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found (try /metrics, /healthz, /readyz)\n");
}

oks_admin_http *oks_admin_http_start(const char *listen, oks_ready_fn ready, void *ctx,
                                     oks_err *err)
{
    struct sockaddr_storage addr;
    socklen_t addr_len;
    if (oks_parse_listen(listen, &addr, &addr_len, err) != 0)
        return NULL;
    oks_admin_http *a = calloc(1, sizeof *a);
    if (!a) {
        oks_err_set(err, OKS_E_NOMEM, "out of memory");
        return NULL;
    }
    a->ready = ready;
    a->ctx = ctx;
    const char *colon = strrchr(listen, ':');
    snprintf(a->host, sizeof a->host, "%.*s", (int)(colon - listen), listen);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* The logger must be the first option, or MHD prints its early messages raw. */
    a->daemon =
        MHD_start_daemon(flags, 0, NULL, NULL, on_request, a, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
                         NULL, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_CONNECTION_LIMIT,
                         (unsigned)64, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
    if (!a->daemon) {
        free(a);
        oks_err_set(err, OKS_E_UNAVAILABLE, "cannot listen on %s for /metrics (address in use?)",
                    listen);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(a->daemon, MHD_DAEMON_INFO_BIND_PORT);
    a->port = info ? info->port : 0;
    return a;
}

int oks_admin_http_port(const oks_admin_http *a)
{
    return a ? a->port : 0;
}

int oks_admin_http_write_ready_file(const oks_admin_http *a, const char *path, const char *extra,
                                    oks_err *err)
{
    if (!path || !*path)
        return 0;
    char text[1024];
    size_t n = (size_t)snprintf(text, sizeof text, "admin=%s:%d\n%s", a->host, a->port,
                                extra ? extra : "");
    if (n >= sizeof text)
        return oks_err_set(err, OKS_E_INVALID, "ready file content too long");
    return oks_write_file_atomic(path, text, err);
}

void oks_admin_http_stop(oks_admin_http *a)
{
    if (!a)
        return;
    MHD_stop_daemon(a->daemon);
    free(a);
}

void oks_admin_http_stop_unready(oks_admin_http *a, const char *ready_file)
{
    oks_admin_http_stop(a);
    if (ready_file && *ready_file)
        unlink(ready_file);
}
