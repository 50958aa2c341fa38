/*
 * HTTP front: libmicrohttpd with one thread per connection (a latency or hang fault stalls only
 * its own connection), request body collection, the Okta request pipeline (concurrency limit,
 * faults, rate-limit buckets, SSWS auth) and response headers.
 */
#include "sim.h"

#include "core/oks_log.h"
#include "core/oks_net.h"
#include "core/oks_signal.h"
#include "core/oks_time.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_MAX_BODY (1024 * 1024)

typedef struct conn_ctx {
    sim_buf body;
    bool too_big;
} conn_ctx;

const char *sim_req_arg(const sim_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

void sim_resp_error(sim_resp *resp, unsigned status, const char *code, const char *summary,
                    const char *request_id)
{
    resp->status = status;
    resp->body.len = 0;
    sim_buf_printf(&resp->body, "{\"errorCode\":\"%s\",\"errorSummary\":", code);
    sim_buf_jstr(&resp->body, summary);
    sim_buf_printf(&resp->body, ",\"errorLink\":\"%s\",\"errorId\":\"oae%s\",\"errorCauses\":[]}",
                   code, request_id);
}

typedef struct link_ctx {
    sim_buf *b;
    bool first;
} link_ctx;

static enum MHD_Result link_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    (void)kind;
    link_ctx *lc = cls;
    if (strcmp(key, "after") == 0)
        return MHD_YES;
    char *k = curl_easy_escape(NULL, key, 0);
    char *v = value ? curl_easy_escape(NULL, value, 0) : NULL;
    sim_buf_printf(lc->b, "%s%s", lc->first ? "?" : "&", k ? k : "");
    if (v)
        sim_buf_printf(lc->b, "=%s", v);
    lc->first = false;
    curl_free(k);
    curl_free(v);
    return MHD_YES;
}

char *sim_link(const sim_req *r, const char *after)
{
    sim_buf b = {0};
    link_ctx lc = {&b, true};
    sim_buf_adds(&b, r->base);
    sim_buf_adds(&b, r->path);
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, link_arg, &lc);
    if (after) {
        char *a = curl_easy_escape(NULL, after, 0);
        sim_buf_printf(&b, "%safter=%s", lc.first ? "?" : "&", a ? a : "");
        curl_free(a);
    }
    return sim_buf_steal(&b);
}

bool sim_parse_limit(sim_req *r, sim_resp *resp, int64_t def, int64_t max, int64_t *out)
{
    const char *s = sim_req_arg(r, "limit");
    *out = def;
    if (!s)
        return true;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < 1) {
        sim_resp_error(resp, 400, "E0000054", "Invalid paging request.", r->request_id);
        return false;
    }
    *out = v > max ? max : v; /* Okta clamps an oversized limit to the maximum */
    return true;
}

/* Which rate-limit bucket a path falls in and its route template. Buckets follow Okta's last
 * published management table (okta-reference §5.1; docs/okta-simulator.md "Rate-limit
 * buckets"): /apps except /apps/{id} = apps, /apps/{id} only = app_get, /groups except
 * /groups/{id} = groups, /groups/{id} only = group_get, GET /users/{idOrLogin} = user_get. */
static int classify(const char *path, const char **route)
{
    const char *rest;
    if (strcmp(path, "/api/v1/users") == 0)
        return *route = "/api/v1/users", SIM_B_USERS_LIST;
    if (strncmp(path, "/api/v1/users/", 14) == 0) {
        rest = strchr(path + 14, '/');
        if (!rest)
            return *route = "/api/v1/users/{id}", SIM_B_USER_GET;
        return *route = "/api/v1/users/{id}/groups", SIM_B_OTHER;
    }
    if (strncmp(path, "/api/v1/apps/", 13) == 0) {
        rest = strchr(path + 13, '/');
        if (!rest)
            return *route = "/api/v1/apps/{id}", SIM_B_APP_GET;
        if (strchr(rest + 1, '/'))
            return *route = "/api/v1/apps/{id}/users/{userId}", SIM_B_APPS;
        return *route = "/api/v1/apps/{id}/users", SIM_B_APPS;
    }
    if (strcmp(path, "/api/v1/groups") == 0)
        return *route = "/api/v1/groups", SIM_B_GROUPS;
    if (strncmp(path, "/api/v1/groups/", 15) == 0) {
        if (!strchr(path + 15, '/'))
            return *route = "/api/v1/groups/{id}", SIM_B_GROUP_GET;
        return *route = "/api/v1/groups/{id}/users", SIM_B_GROUPS;
    }
    if (strcmp(path, "/api/v1/logs") == 0)
        return *route = "/api/v1/logs", SIM_B_LOGS;
    return *route = "other", SIM_B_OTHER;
}

static void dispatch(sim_req *r, sim_resp *resp)
{
    const char *p = r->path;
    if (strcmp(r->method, "GET") != 0) {
        sim_resp_error(resp, 405, "E0000022",
                       "The endpoint does not support the provided HTTP method", r->request_id);
    } else if (strcmp(p, "/api/v1/users") == 0 || strncmp(p, "/api/v1/users/", 14) == 0) {
        sim_api_users(r, resp, p + 13);
    } else if (strncmp(p, "/api/v1/apps/", 13) == 0) {
        sim_api_apps(r, resp, p + 13);
    } else if (strcmp(p, "/api/v1/groups") == 0) {
        sim_api_groups(r, resp, "");
    } else if (strncmp(p, "/api/v1/groups/", 15) == 0) {
        sim_api_groups(r, resp, p + 15);
    } else if (strcmp(p, "/api/v1/logs") == 0) {
        sim_api_logs(r, resp);
    } else {
        sim_resp_error(resp, 404, "E0000007", "Not found: Resource not found", r->request_id);
    }
}

static bool token_ok(const sim_req *r)
{
    const char *auth = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
    const char *tok = r->srv->cfg->token;
    return auth && strncmp(auth, "SSWS ", 5) == 0 && strcmp(auth + 5, tok) == 0;
}

static void sleep_interruptible(int64_t ms)
{
    int64_t end = oks_now_mono_ms() + ms;
    while (!oks_shutdown_requested()) {
        int64_t left = end - oks_now_mono_ms();
        if (left <= 0)
            break;
        oks_sleep_ms(left < 100 ? left : 100);
    }
}

typedef struct rl_hdr {
    int64_t limit, remaining, reset;
} rl_hdr;

/* The Okta pipeline; returns with resp filled. */
static void api_request(sim_req *r, sim_resp *resp, rl_hdr *h, sim_fault_plan *plan)
{
    sim_server *srv = r->srv;
    const char *route;
    int bucket = classify(r->path, &route);
    sim_stats_count(srv, r->method, route);
    int now_in = atomic_fetch_add(&srv->inflight, 1) + 1;
    for (int m = atomic_load(&srv->max_inflight); now_in > m;)
        if (atomic_compare_exchange_weak(&srv->max_inflight, &m, now_in))
            break;
    sim_faults_plan(&srv->faults, route, plan);
    if (now_in > srv->cfg->concurrency) {
        atomic_fetch_add(&srv->n_concurrency_429, 1);
        h->limit = h->remaining = 0;
        h->reset = oks_now_wall_ms() / 1000 + 1;
        sim_resp_error(resp, 429, "E0000047",
                       "API call exceeded rate limit due to too many requests.", r->request_id);
        goto out;
    }
    if (plan->delay_ms > 0)
        sleep_interruptible(plan->delay_ms);
    if (plan->hang)
        sleep_interruptible(plan->hang_ms);
    bool ok = sim_rl_take(&srv->rl, bucket, &h->limit, &h->remaining, &h->reset);
    if (!ok || plan->force_429) {
        atomic_fetch_add(&srv->n_429, 1);
        h->remaining = 0;
        sim_resp_error(resp, 429, "E0000047",
                       "API call exceeded rate limit due to too many requests.", r->request_id);
        goto out;
    }
    if (plan->bad_token || !token_ok(r)) {
        atomic_fetch_add(&srv->n_401, 1);
        sim_resp_error(resp, 401, "E0000011", "Invalid token provided", r->request_id);
        goto out;
    }
    if (plan->fail_status) {
        atomic_fetch_add(&srv->n_5xx_injected, 1);
        sim_resp_error(resp, (unsigned)plan->fail_status, "E0000009", "Internal Server Error",
                       r->request_id);
        goto out;
    }
    dispatch(r, resp);
out:
    atomic_fetch_sub(&srv->inflight, 1);
}

static void apply_body_faults(sim_resp *resp, const sim_fault_plan *plan)
{
    if (resp->status != 200)
        return;
    if (plan->truncate) {
        resp->body.len /= 2;
        if (resp->body.data)
            resp->body.data[resp->body.len] = '\0';
    } else if (plan->malformed) {
        resp->body.len = 0;
        sim_buf_adds(&resp->body, "{\"id\":\"00uMALFORMED\",\"status\":ACTIVE,,\"profile\":[}");
    }
}

static void base_url(sim_req *r)
{
    const char *host = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host");
    if (host && strlen(host) < sizeof r->base - 8 && !strpbrk(host, " <>\"\r\n"))
        snprintf(r->base, sizeof r->base, "http://%s", host);
    else
        snprintf(r->base, sizeof r->base, "http://127.0.0.1:%d", r->srv->port);
}

static enum MHD_Result send_resp(sim_req *r, sim_resp *resp, const rl_hdr *h)
{
    size_t len = resp->body.len;
    char *body = sim_buf_steal(&resp->body);
    struct MHD_Response *mr = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!mr) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(mr, "Content-Type",
                            resp->content_type ? resp->content_type : "application/json");
    MHD_add_response_header(mr, "X-Okta-Request-Id", r->request_id);
    if (h) {
        char v[32];
        snprintf(v, sizeof v, "%lld", (long long)h->limit);
        MHD_add_response_header(mr, "X-Rate-Limit-Limit", v);
        snprintf(v, sizeof v, "%lld", (long long)(h->remaining < 0 ? 0 : h->remaining));
        MHD_add_response_header(mr, "X-Rate-Limit-Remaining", v);
        snprintf(v, sizeof v, "%lld", (long long)h->reset);
        MHD_add_response_header(mr, "X-Rate-Limit-Reset", v);
    }
    if (resp->etag[0])
        MHD_add_response_header(mr, "ETag", resp->etag);
    char lk[4200];
    if (resp->link_self && strlen(resp->link_self) < 4096) {
        snprintf(lk, sizeof lk, "<%s>; rel=\"self\"", resp->link_self);
        MHD_add_response_header(mr, "Link", lk);
    }
    if (resp->link_next && strlen(resp->link_next) < 4096) {
        snprintf(lk, sizeof lk, "<%s>; rel=\"next\"", resp->link_next);
        MHD_add_response_header(mr, "Link", lk);
    }
    enum MHD_Result ret = MHD_queue_response(r->conn, resp->status, mr);
    MHD_destroy_response(mr);
    return ret;
}

static enum MHD_Result handle(sim_server *srv, struct MHD_Connection *conn, const char *url,
                              const char *method, conn_ctx *cc)
{
    sim_req r = {.srv = srv,
                 .conn = conn,
                 .method = method,
                 .path = url,
                 .body = cc->body.data,
                 .body_len = cc->body.len};
    sim_resp resp = {.status = 200};
    sim_fault_plan plan = {0};
    rl_hdr h = {0};
    bool api = strncmp(url, "/api/v1/", 8) == 0;
    sim_random_token(r.request_id, 28);
    base_url(&r);
    if (api) /* `requests` in /__sim/stats counts Okta API calls only */
        atomic_fetch_add(&srv->n_requests, 1);
    if (cc->too_big)
        sim_resp_error(&resp, 413, "E0000003", "The request body was too large.", r.request_id);
    else if (strncmp(url, "/__sim/", 7) == 0)
        sim_admin(&r, &resp, url + 7);
    else if (api)
        api_request(&r, &resp, &h, &plan);
    else if (!sim_oidc_route(&r, &resp)) /* OIDC: no rate limit, no SSWS (reference §6) */
        sim_resp_error(&resp, 404, "E0000007", "Not found: Resource not found", r.request_id);
    if (resp.body.oom)
        sim_resp_error(&resp, 500, "E0000009", "Internal Server Error", r.request_id);
    if (api)
        apply_body_faults(&resp, &plan);
    enum MHD_Result ret = send_resp(&r, &resp, api ? &h : NULL);
    free(resp.link_self);
    free(resp.link_next);
    sim_buf_free(&resp.body);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    conn_ctx *cc = *con_cls;
    if (!cc) {
        cc = calloc(1, sizeof *cc);
        if (!cc)
            return MHD_NO;
        *con_cls = cc;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (cc->body.len + *upload_data_size > SIM_MAX_BODY)
            cc->too_big = true;
        else
            sim_buf_add(&cc->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    return handle(cls, conn, url, method, cc);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    conn_ctx *cc = *con_cls;
    if (cc) {
        sim_buf_free(&cc->body);
        free(cc);
        *con_cls = NULL;
    }
}

int sim_http_start(sim_server *srv, oks_err *err)
{
    struct sockaddr_storage sa;
    socklen_t sa_len;
    if (oks_parse_listen(srv->cfg->listen, &sa, &sa_len, err) != 0)
        return -1;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (sa.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    srv->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)srv->cfg->max_connections, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
    if (!srv->mhd)
        return oks_err_set(err, OKS_E_UNAVAILABLE, "cannot listen on %s", srv->cfg->listen);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : 0;
    return 0;
}

void sim_http_stop(sim_server *srv)
{
    if (srv->mhd)
        MHD_stop_daemon(srv->mhd);
    srv->mhd = NULL;
}
