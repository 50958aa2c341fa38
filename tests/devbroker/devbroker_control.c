/* The devbroker's HTTP control API (libmicrohttpd, its own polling thread). The mock cluster's
 * set_down/set_up/set_rtt/topic_create calls are safe from another thread: they post an op to
 * the mock cluster's thread and wait for it. */
#include "devbroker.h"

#include "core/oks_config.h"
#include "core/oks_json_escape.h"
#include "core/oks_log.h"
#include "core/oks_net.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct devbroker_control {
    struct MHD_Daemon *mhd;
    rd_kafka_mock_cluster_t *mcluster;
    int broker_cnt;
    char address[96];
};

typedef struct control_reply {
    unsigned status;
    char body[512];
} control_reply;

static void reply_ok(control_reply *r, const char *text)
{
    r->status = MHD_HTTP_OK;
    snprintf(r->body, sizeof(r->body), "%s", text ? text : "{\"ok\":true}\n");
}

static void reply_err(control_reply *r, unsigned status, const char *why)
{
    char esc[400];
    if (oks_json_escape(esc, sizeof(esc), why) == 0)
        snprintf(esc, sizeof(esc), "error text too long");
    r->status = status;
    snprintf(r->body, sizeof(r->body), "{\"ok\":false,\"error\":\"%s\"}\n", esc);
}

/* Optional integer query argument in [min,max]; *out untouched when absent. */
static int query_int(struct MHD_Connection *conn, const char *name, int64_t min, int64_t max,
                     int64_t *out, control_reply *r)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
    if (!v)
        return 0;
    int64_t n;
    if (!oks_parse_int64(v, &n) || n < min || n > max) {
        char why[160];
        snprintf(why, sizeof(why), "%.32s must be an integer in %lld..%lld", name, (long long)min,
                 (long long)max);
        reply_err(r, MHD_HTTP_BAD_REQUEST, why);
        return -1;
    }
    *out = n;
    return 0;
}

/* Apply fn to broker `id` (or to every broker when id is 0). */
static void brokers_apply(devbroker_control *c, int64_t id, int rtt_ms, int what, control_reply *r)
{
    int first = id ? (int)id : 1, last = id ? (int)id : c->broker_cnt;
    for (int b = first; b <= last; b++) {
        rd_kafka_resp_err_t e = what == 0   ? rd_kafka_mock_broker_set_down(c->mcluster, b)
                                : what == 1 ? rd_kafka_mock_broker_set_up(c->mcluster, b)
                                            : rd_kafka_mock_broker_set_rtt(c->mcluster, b, rtt_ms);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            reply_err(r, MHD_HTTP_INTERNAL_SERVER_ERROR, rd_kafka_err2str(e));
            return;
        }
    }
    static const char *const names[] = {"down", "up", "rtt"};
    oks_log_fields(OKS_LOG_INFO, "fault injection", "action", names[what], NULL);
    reply_ok(r, NULL);
}

static void handle_brokers(devbroker_control *c, struct MHD_Connection *conn, int what,
                           control_reply *r)
{
    int64_t id = 0, ms = 0;
    if (query_int(conn, "id", 1, c->broker_cnt, &id, r) != 0)
        return;
    if (what == 2) {
        if (!MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "ms")) {
            reply_err(r, MHD_HTTP_BAD_REQUEST, "ms is required");
            return;
        }
        if (query_int(conn, "ms", 0, 600000, &ms, r) != 0)
            return;
    }
    brokers_apply(c, id, (int)ms, what, r);
}

static void handle_topics(devbroker_control *c, struct MHD_Connection *conn, control_reply *r)
{
    const char *name = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "name");
    int64_t partitions = 0;
    if (!name || !*name || strlen(name) > 200 ||
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
            strlen(name)) {
        reply_err(r, MHD_HTTP_BAD_REQUEST, "name is required: 1..200 of [A-Za-z0-9._-]");
        return;
    }
    if (query_int(conn, "partitions", 1, 1000, &partitions, r) != 0)
        return;
    if (partitions == 0) {
        reply_err(r, MHD_HTTP_BAD_REQUEST, "partitions is required");
        return;
    }
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(c->mcluster, name, (int)partitions, 1);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        reply_err(r,
                  e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS ? MHD_HTTP_CONFLICT
                                                              : MHD_HTTP_INTERNAL_SERVER_ERROR,
                  rd_kafka_err2str(e));
        return;
    }
    oks_log_fields(OKS_LOG_INFO, "topic created", "topic", name, NULL);
    reply_ok(r, NULL);
}

/* POST /errors/produce?code=N[&count=K]: the next K Produce requests fail with Kafka error
 * code N (e.g. 45 OUT_OF_ORDER_SEQUENCE_NUMBER, which is fatal for an idempotent producer). */
static void handle_produce_errors(devbroker_control *c, struct MHD_Connection *conn,
                                  control_reply *r)
{
    int64_t code = 0, count = 1;
    if (query_int(conn, "code", 1, 1000, &code, r) != 0 ||
        query_int(conn, "count", 1, 1000, &count, r) != 0)
        return;
    if (code == 0) {
        reply_err(r, MHD_HTTP_BAD_REQUEST, "code is required (a Kafka error code, 1..1000)");
        return;
    }
    rd_kafka_resp_err_t errs[1000];
    for (int64_t i = 0; i < count; i++)
        errs[i] = (rd_kafka_resp_err_t)code;
    rd_kafka_mock_push_request_errors_array(c->mcluster, 0 /* Produce */, (size_t)count, errs);
    oks_log_fields(OKS_LOG_INFO, "fault injection", "action", "produce errors", "code",
                   rd_kafka_err2name((rd_kafka_resp_err_t)code), NULL);
    reply_ok(r, NULL);
}

static void control_route(devbroker_control *c, struct MHD_Connection *conn, const char *method,
                          const char *url, control_reply *r)
{
    bool post = strcmp(method, "POST") == 0, get = strcmp(method, "GET") == 0;
    static const char *const known[] = {"/healthz", "/brokers/down", "/brokers/up",
                                        "/rtt",     "/topics",       "/errors/produce"};
    int route = -1;
    for (int i = 0; i < 6; i++) {
        if (strcmp(url, known[i]) == 0)
            route = i;
    }
    if (route < 0) {
        reply_err(r, MHD_HTTP_NOT_FOUND, "no such path");
        return;
    }
    if ((route == 0 && !get) || (route > 0 && !post)) {
        reply_err(r, MHD_HTTP_METHOD_NOT_ALLOWED, route == 0 ? "use GET" : "use POST");
        return;
    }
    if (route == 0)
        reply_ok(r, "ok\n");
    else if (route == 4)
        handle_topics(c, conn, r);
    else if (route == 5)
        handle_produce_errors(c, conn, r);
    else
        handle_brokers(c, conn, route == 1 ? 0 : route == 2 ? 1 : 2, r);
}

static enum MHD_Result control_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                       const char *method, const char *version,
                                       const char *upload_data, size_t *upload_data_size,
                                       void **req_cls)
{
    static int seen;
    (void)version;
    (void)upload_data;
    if (!*req_cls) { /* headers only: come back once the (ignored) body is read */
        *req_cls = &seen;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    control_reply r;
    control_route(cls, conn, method, url, &r);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(r.body), r.body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type",
                            r.body[0] == '{' ? "application/json" : "text/plain");
    enum MHD_Result ret = MHD_queue_response(conn, r.status, resp);
    MHD_destroy_response(resp);
    return ret;
}

devbroker_control *devbroker_control_start(const char *listen, rd_kafka_mock_cluster_t *mcluster,
                                           int broker_cnt, oks_err *err)
{
    struct sockaddr_storage addr;
    socklen_t addr_len;
    if (oks_parse_listen(listen, &addr, &addr_len, err) != 0)
        return NULL;
    devbroker_control *c = calloc(1, sizeof(*c));
    if (!c) {
        oks_err_set(err, OKS_E_NOMEM, "out of memory");
        return NULL;
    }
    c->mcluster = mcluster;
    c->broker_cnt = broker_cnt;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    c->mhd = MHD_start_daemon(flags, 0, NULL, NULL, control_handler, c, MHD_OPTION_SOCK_ADDR,
                              (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                              MHD_OPTION_END);
    if (!c->mhd) {
        free(c);
        oks_err_set(err, OKS_E_UNAVAILABLE, "control API cannot listen on %s", listen);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(c->mhd, MHD_DAEMON_INFO_BIND_PORT);
    const char *colon = strrchr(listen, ':');
    snprintf(c->address, sizeof(c->address), "%.*s:%u", (int)(colon - listen), listen,
             info ? info->port : 0u);
    return c;
}

const char *devbroker_control_address(const devbroker_control *c)
{
    return c->address;
}

void devbroker_control_stop(devbroker_control *c)
{
    if (!c)
        return;
    MHD_stop_daemon(c->mhd);
    free(c);
}
