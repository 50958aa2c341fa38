/* Tiny event-hook receiver for the tests: records every POST, answers with scripted statuses. */
#include "simt.h"

#include "oks_test.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RX_MAX 256

struct simt_rx {
    struct MHD_Daemon *d;
    pthread_mutex_t mu;
    int n, statuses[16], n_statuses, delay_ms;
    char *body[RX_MAX], *auth[RX_MAX], *ctype[RX_MAX];
};

typedef struct rx_conn {
    char *buf;
    size_t len;
} rx_conn;

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static enum MHD_Result on_req(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *size, void **con_cls)
{
    (void)url;
    (void)version;
    (void)method;
    simt_rx *rx = cls;
    rx_conn *c = *con_cls;
    if (!c) {
        *con_cls = calloc(1, sizeof(rx_conn));
        return *con_cls ? MHD_YES : MHD_NO;
    }
    if (*size) {
        char *p = realloc(c->buf, c->len + *size + 1);
        if (!p)
            return MHD_NO;
        memcpy(p + c->len, data, *size);
        c->len += *size;
        p[c->len] = '\0';
        c->buf = p;
        *size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&rx->mu);
    int i = rx->n;
    int st = rx->statuses[i < rx->n_statuses ? i : rx->n_statuses - 1];
    if (i < RX_MAX) {
        rx->body[i] = dup_or_null(c->buf ? c->buf : "");
        rx->auth[i] =
            dup_or_null(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"));
        rx->ctype[i] =
            dup_or_null(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type"));
        rx->n++;
    }
    pthread_mutex_unlock(&rx->mu);
    if (rx->delay_ms)
        usleep((useconds_t)rx->delay_ms * 1000);
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)st, r);
    MHD_destroy_response(r);
    return ret;
}

static void on_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    rx_conn *c = *con_cls;
    if (c) {
        free(c->buf);
        free(c);
        *con_cls = NULL;
    }
}

simt_rx *simt_rx_start(const int *statuses, int n_statuses, int delay_ms)
{
    simt_rx *rx = calloc(1, sizeof *rx);
    OKS_ASSERT(rx != NULL && n_statuses > 0 && n_statuses <= 16);
    pthread_mutex_init(&rx->mu, NULL);
    memcpy(rx->statuses, statuses, (size_t)n_statuses * sizeof *statuses);
    rx->n_statuses = n_statuses;
    rx->delay_ms = delay_ms;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    rx->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
                             NULL, NULL, on_req, rx, MHD_OPTION_SOCK_ADDR, &sa,
                             MHD_OPTION_NOTIFY_COMPLETED, on_done, rx, MHD_OPTION_END);
    OKS_ASSERT(rx->d != NULL);
    return rx;
}

int simt_rx_port(simt_rx *rx)
{
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(rx->d, MHD_DAEMON_INFO_BIND_PORT);
    return i ? i->port : 0;
}

int simt_rx_count(simt_rx *rx)
{
    pthread_mutex_lock(&rx->mu);
    int n = rx->n;
    pthread_mutex_unlock(&rx->mu);
    return n;
}

static char *get(simt_rx *rx, char **arr, int i)
{
    pthread_mutex_lock(&rx->mu);
    char *s = i < rx->n && arr[i] ? strdup(arr[i]) : NULL;
    pthread_mutex_unlock(&rx->mu);
    return s;
}

char *simt_rx_body(simt_rx *rx, int i)
{
    return get(rx, rx->body, i);
}
char *simt_rx_auth(simt_rx *rx, int i)
{
    return get(rx, rx->auth, i);
}
char *simt_rx_ctype(simt_rx *rx, int i)
{
    return get(rx, rx->ctype, i);
}

bool simt_rx_wait(simt_rx *rx, int n, int timeout_ms)
{
    for (int t = 0; t < timeout_ms; t += 10) {
        if (simt_rx_count(rx) >= n)
            return true;
        usleep(10000);
    }
    return simt_rx_count(rx) >= n;
}

void simt_rx_stop(simt_rx *rx)
{
    if (!rx)
        return;
    MHD_stop_daemon(rx->d);
    for (int i = 0; i < rx->n && i < RX_MAX; i++) {
        free(rx->body[i]);
        free(rx->auth[i]);
        free(rx->ctype[i]);
    }
    pthread_mutex_destroy(&rx->mu);
    free(rx);
}
