/*
 * Wire-level behaviour of the Okta client against a scripted HTTP server (libmicrohttpd in
 * this process) that answers with canned responses and records each request's headers:
 * request headers sent, X-Okta-Retry-For/-Count after a 429, Link handling corner cases,
 * body cap, wrong shapes. Things the simulator cannot script exactly.
 */
#include "oks_test.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <curl/curl.h>
#include <microhttpd.h>

#include "core/oks_time.h"
#include "okta/oks_okta.h"

#define MAX_STEPS 8

typedef struct step {
    unsigned status;
    const char *headers[6]; /* "Name: value" */
    const char *body;
} step;

typedef struct seen {
    char url[512];
    char auth[128], accept[64], agent[64], retry_for[64], retry_count[16];
} seen;

static struct {
    pthread_mutex_t mu;
    step steps[MAX_STEPS];
    int n_steps, next;
    seen req[MAX_STEPS];
    int port;
    char base[64];
} S = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void copy_hdr(struct MHD_Connection *c, const char *name, char *dst, size_t cap)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    snprintf(dst, cap, "%s", v ? v : "");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    (void)cls, (void)method, (void)version, (void)upload, (void)upload_size;
    static int marker;
    if (*con_cls == NULL) {
        *con_cls = &marker;
        return MHD_YES;
    }
    pthread_mutex_lock(&S.mu);
    int i = S.next < S.n_steps ? S.next++ : S.n_steps - 1;
    seen *r = &S.req[i];
    const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "after");
    snprintf(r->url, sizeof r->url, "%s%s%s", url, q ? "?after=" : "", q ? q : "");
    copy_hdr(c, "Authorization", r->auth, sizeof r->auth);
    copy_hdr(c, "Accept", r->accept, sizeof r->accept);
    copy_hdr(c, "User-Agent", r->agent, sizeof r->agent);
    copy_hdr(c, "X-Okta-Retry-For", r->retry_for, sizeof r->retry_for);
    copy_hdr(c, "X-Okta-Retry-Count", r->retry_count, sizeof r->retry_count);
    step st = S.steps[i];
    pthread_mutex_unlock(&S.mu);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(st.body), (void *)st.body, MHD_RESPMEM_PERSISTENT);
    for (int h = 0; h < 6 && st.headers[h]; h++) {
        char name[64], value[1024];
        const char *colon = strchr(st.headers[h], ':');
        snprintf(name, sizeof name, "%.*s", (int)(colon - st.headers[h]), st.headers[h]);
        /* every "{base}" in a value becomes this server's base URL */
        const char *v = colon + 2;
        size_t n = 0;
        while (*v && n + 1 < sizeof value) {
            if (strncmp(v, "{base}", 6) == 0) {
                n += (size_t)snprintf(value + n, sizeof value - n, "%s", S.base);
                v += 6;
            } else {
                value[n++] = *v++;
            }
        }
        value[n < sizeof value ? n : sizeof value - 1] = '\0';
        MHD_add_response_header(resp, name, value);
    }
    enum MHD_Result ret = MHD_queue_response(c, st.status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static struct MHD_Daemon *serve(const step *steps, int n)
{
    pthread_mutex_lock(&S.mu);
    memset(S.req, 0, sizeof S.req);
    memcpy(S.steps, steps, sizeof(step) * (size_t)n);
    S.n_steps = n;
    S.next = 0;
    pthread_mutex_unlock(&S.mu);
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handle,
                                            NULL, MHD_OPTION_SOCK_ADDR, NULL, MHD_OPTION_END);
    OKS_ASSERT(d != NULL);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    S.port = info->port;
    snprintf(S.base, sizeof S.base, "http://127.0.0.1:%d", S.port);
    return d;
}

static oks_okta_client *client(oks_okta_client_opts o)
{
    o.base_url = S.base;
    o.token = "tok-1";
    oks_err err = {0};
    oks_okta_client *c = oks_okta_client_new(&o, &err);
    if (!c)
        oks_test_fail(__FILE__, __LINE__, "client: %s", err.msg);
    return c;
}

static const char USER[] =
    "{\"id\":\"00u1\",\"status\":\"ACTIVE\",\"profile\":{\"email\":\"a@b\"}}";

OKS_TEST(request_headers)
{
    step s[] = {{200, {"X-Okta-Request-Id: r1"}, USER}};
    struct MHD_Daemon *d = serve(s, 1);
    oks_okta_client *c = client((oks_okta_client_opts){0});
    oks_okta_user u;
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(oks_okta_get_user(c, "00u1", &u, &err), 0);
    oks_okta_user_free(&u);
    OKS_ASSERT_EQ_STR(S.req[0].url, "/api/v1/users/00u1");
    OKS_ASSERT_EQ_STR(S.req[0].auth, "SSWS tok-1");
    OKS_ASSERT_EQ_STR(S.req[0].accept, "application/json");
    OKS_ASSERT_CONTAINS(S.req[0].agent, "oktasync/");
    OKS_ASSERT_EQ_STR(S.req[0].retry_for, "");
    oks_okta_client_free(c);
    MHD_stop_daemon(d);
}

OKS_TEST(retry_after_429_names_the_throttled_request)
{
    char reset[64];
    snprintf(reset, sizeof reset, "X-Rate-Limit-Reset: %lld",
             (long long)(oks_now_wall_ms() / 1000));
    step s[] = {
        {429,
         {"X-Okta-Request-Id: req-429-a", reset, "X-Rate-Limit-Limit: 600",
          "X-Rate-Limit-Remaining: 0"},
         "{\"errorCode\":\"E0000047\",\"errorSummary\":\"x\"}"},
        {429,
         {"X-Okta-Request-Id: req-429-b", reset, "X-Rate-Limit-Limit: 600",
          "X-Rate-Limit-Remaining: 0"},
         "{\"errorCode\":\"E0000047\",\"errorSummary\":\"x\"}"},
        {200, {"X-Okta-Request-Id: ok"}, USER},
    };
    struct MHD_Daemon *d = serve(s, 3);
    oks_okta_client *c = client((oks_okta_client_opts){.pace_below_fraction = -1});
    oks_okta_user u;
    oks_err err = {0};
    int64_t t0 = oks_now_mono_ms();
    OKS_ASSERT_EQ_INT(oks_okta_get_user(c, "00u1", &u, &err), 0);
    oks_okta_user_free(&u);
    /* Reset = Date's second: each wait is Reset - Date + 1 s = 1..2 s */
    OKS_ASSERT(oks_now_mono_ms() - t0 >= 2000);
    OKS_ASSERT_EQ_STR(S.req[0].retry_for, "");
    OKS_ASSERT_EQ_STR(S.req[1].retry_for, "req-429-a");
    OKS_ASSERT_EQ_STR(S.req[1].retry_count, "1");
    OKS_ASSERT_EQ_STR(S.req[2].retry_for, "req-429-b");
    OKS_ASSERT_EQ_STR(S.req[2].retry_count, "2");
    oks_okta_client_free(c);
    MHD_stop_daemon(d);
}

OKS_TEST(follows_next_across_several_link_headers)
{
    step s[] = {
        {200,
         {"Link: <{base}/api/v1/users?limit=2>; rel=\"self\"",
          "Link: <{base}/api/v1/users?limit=2&after=00u2>; rel=\"next\""},
         "[{\"id\":\"00u1\"},{\"id\":\"00u2\"}]"},
        {200,
         {"Link: <{base}/api/v1/users?after=00u2>; rel=\"self\", "
          "<{base}/api/v1/users?limit=2&after=00u3>; rel=\"next\""},
         "[{\"id\":\"00u3\"}]"},
        {200, {"Link: <{base}/api/v1/users?limit=2&after=00u3>; rel=\"self\""}, "[]"},
    };
    struct MHD_Daemon *d = serve(s, 3);
    oks_okta_client *c = client((oks_okta_client_opts){0});
    oks_err err = {0};
    oks_okta_pager *p =
        oks_okta_list_users(c, NULL, "lastUpdated gt \"2025-01-01T00:00:00.000Z\"", 2, &err);
    json_t *items;
    int pages = 0;
    while (oks_okta_pager_next(p, &items, &err) == 1) {
        pages++;
        json_decref(items);
    }
    OKS_ASSERT_EQ_INT(err.code, OKS_OK);
    OKS_ASSERT_EQ_INT(pages, 3);
    OKS_ASSERT_EQ_STR(S.req[0].url, "/api/v1/users");
    OKS_ASSERT_EQ_STR(S.req[1].url, "/api/v1/users?after=00u2");
    OKS_ASSERT_EQ_STR(S.req[2].url, "/api/v1/users?after=00u3");
    OKS_ASSERT_EQ_INT(oks_okta_pager_next(p, &items, &err), 0);
    oks_okta_pager_free(p);
    oks_okta_client_free(c);
    MHD_stop_daemon(d);
}

static int first_page_error(const step *s, oks_okta_client_opts o, oks_err *err)
{
    struct MHD_Daemon *d = serve(s, 1);
    oks_okta_client *c = client(o);
    oks_okta_pager *p = oks_okta_list_app_users(c, "0oa1", 0, err);
    json_t *items = NULL;
    int rc = oks_okta_pager_next(p, &items, err);
    OKS_ASSERT(items == NULL || rc == 1);
    json_decref(items);
    oks_okta_pager_free(p);
    oks_okta_client_free(c);
    MHD_stop_daemon(d);
    return rc;
}

OKS_TEST(bad_pages_rejected)
{
    oks_err err = {0};
    oks_okta_client_opts o = {.max_retries = -1};
    step foreign[] = {
        {200, {"Link: <https://evil.example/api/v1/apps/0oa1/users>; rel=\"next\""}, "[]"}};
    OKS_ASSERT_EQ_INT(first_page_error(foreign, o, &err), -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    OKS_ASSERT_CONTAINS(err.msg, "leaves the org");
    step badlink[] = {{200, {"Link: <{base}/api/v1/apps/0oa1/users; rel=\"next\""}, "[]"}};
    OKS_ASSERT_EQ_INT(first_page_error(badlink, o, &err), -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    OKS_ASSERT_CONTAINS(err.msg, "Link");
    step object[] = {{200, {NULL}, "{\"id\":\"00u1\"}"}};
    OKS_ASSERT_EQ_INT(first_page_error(object, o, &err), -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    step empty[] = {{200, {NULL}, ""}};
    OKS_ASSERT_EQ_INT(first_page_error(empty, o, &err), -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_TRANSIENT);
    step html[] = {{502, {NULL}, "<html>bad gateway</html>"}};
    OKS_ASSERT_EQ_INT(first_page_error(html, o, &err), -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_TRANSIENT);
    OKS_ASSERT_CONTAINS(err.msg, "HTTP 502");
    static char big[5000];
    memset(big, ' ', sizeof big - 3);
    big[0] = '[';
    big[sizeof big - 2] = ']';
    step huge[] = {{200, {NULL}, big}};
    o.max_body_bytes = 1000;
    OKS_ASSERT_EQ_INT(first_page_error(huge, o, &err), -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    OKS_ASSERT_CONTAINS(err.msg, "body over");
}

OKS_TEST(rate_limit_headers_exposed_in_stats)
{
    step s[] = {{200,
                 {"X-Rate-Limit-Limit: 100", "X-Rate-Limit-Remaining: 97",
                  "X-Rate-Limit-Reset: 1900000000"},
                 "[]"}};
    struct MHD_Daemon *d = serve(s, 1);
    oks_okta_client *c = client((oks_okta_client_opts){0});
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(oks_okta_check_credentials(c, "0oa1", &err), 0);
    oks_okta_stats st;
    oks_okta_client_stats(c, &st);
    OKS_ASSERT_EQ_STR(st.buckets[3].name, "apps");
    OKS_ASSERT_EQ_INT(st.buckets[3].limit, 100);
    OKS_ASSERT_EQ_INT(st.buckets[3].remaining, 97);
    OKS_ASSERT_EQ_INT(st.buckets[3].reset_s, 1900000000);
    OKS_ASSERT_EQ_INT(st.buckets[3].calls, 1);
    OKS_ASSERT_EQ_INT(st.calls, 1);
    OKS_ASSERT_EQ_STR(S.req[0].url, "/api/v1/apps/0oa1/users");
    oks_okta_client_free(c);
    MHD_stop_daemon(d);
}

/* The reconciler's "as of" stamp and its 404 rule read the last response: Okta's Date, the
 * status and the errorCode (an HTML 404 has none), and whether the URL was too long. */
OKS_TEST(last_response_reports_date_status_and_error_code)
{
    step s[] = {
        {200, {"Date: Sun, 06 Nov 2022 08:49:37 GMT"}, USER},
        {404,
         {"Date: Sun, 06 Nov 2022 08:49:38 GMT"},
         "{\"errorCode\":\"E0000007\",\"errorSummary\":\"Not found\"}"},
        {404, {"Content-Type: text/html"}, "<html><body>Not Found</body></html>"},
        {414, {"Content-Type: text/html"}, "<html>URI Too Long</html>"},
        {400,
         {"Date: Sun, 06 Nov 2022 08:49:40 GMT"},
         "{\"errorCode\":\"E0000031\",\"errorSummary\":\"Invalid search\"}"},
    };
    struct MHD_Daemon *d = serve(s, 5);
    oks_okta_client *c = client((oks_okta_client_opts){.max_retries = -1});
    oks_okta_last last;
    oks_okta_last_response(c, &last);
    OKS_ASSERT_EQ_INT(last.status, -1); /* nothing sent yet */
    OKS_ASSERT_EQ_INT(last.date_ms, -1);
    oks_err err = {0};
    oks_okta_user u;
    OKS_ASSERT_EQ_INT(oks_okta_get_user(c, "00u1", &u, &err), 0);
    oks_okta_user_free(&u);
    oks_okta_last_response(c, &last);
    OKS_ASSERT_EQ_INT(last.status, 200);
    OKS_ASSERT_EQ_INT(last.date_ms, 1667724577000LL);
    OKS_ASSERT_EQ_STR(last.error_code, "");
    OKS_ASSERT_EQ_INT(oks_okta_get_user(c, "00u2", &u, &err), -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_NOTFOUND);
    oks_okta_last_response(c, &last);
    OKS_ASSERT_EQ_INT(last.status, 404);
    OKS_ASSERT_EQ_INT(last.date_ms, 1667724578000LL);
    OKS_ASSERT_EQ_STR(last.error_code, "E0000007");
    OKS_ASSERT(!last.too_long);
    OKS_ASSERT_EQ_INT(oks_okta_get_app(c, "0oa1", &err), -1);
    oks_okta_last_response(c, &last);
    OKS_ASSERT_EQ_INT(last.status, 404);
    OKS_ASSERT_EQ_STR(last.error_code, ""); /* not Okta's answer */
    OKS_ASSERT_EQ_STR(S.req[2].url, "/api/v1/apps/0oa1");
    json_t *items = NULL;
    oks_okta_pager *p = oks_okta_list_users(c, NULL, "id eq \"00u1\"", 200, &err);
    OKS_ASSERT(p != NULL);
    OKS_ASSERT_EQ_INT(oks_okta_pager_next(p, &items, &err), -1);
    oks_okta_last_response(c, &last);
    OKS_ASSERT_EQ_INT(last.status, 414);
    OKS_ASSERT(last.too_long);
    OKS_ASSERT_EQ_INT(oks_okta_pager_next(p, &items, &err), -1);
    oks_okta_last_response(c, &last);
    OKS_ASSERT_EQ_INT(last.status, 400);
    OKS_ASSERT(!last.too_long); /* Okta's own 400 (bad filter), not a proxy's length limit */
    OKS_ASSERT_EQ_STR(last.error_code, "E0000031");
    oks_okta_pager_free(p);
    OKS_ASSERT(oks_okta_base_url_len(c) == strlen(S.base));
    oks_okta_client_free(c);
    MHD_stop_daemon(d);
}

int main(int argc, char **argv)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = oks_test_main(argc, argv);
    curl_global_cleanup();
    return rc;
}
