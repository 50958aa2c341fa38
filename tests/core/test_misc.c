/* Time parsing, error classes, JSON escaping, listen addresses, the admin listener. */
#include "oks_test.h"
#include "core/oks_admin_http.h"
#include "core/oks_err.h"
#include "core/oks_json_escape.h"
#include "core/oks_metrics.h"
#include "core/oks_net.h"
#include "core/oks_time.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <unistd.h>

OKS_TEST(iso8601_round_trip)
{
    int64_t ms;
    OKS_ASSERT(oks_time_parse_iso8601("2025-03-04T10:15:29.877Z", &ms));
    OKS_ASSERT_EQ_INT(ms, 1741083329877LL);
    char buf[32];
    oks_time_format_iso8601(ms, buf, sizeof buf);
    OKS_ASSERT_EQ_STR(buf, "2025-03-04T10:15:29.877Z");
    OKS_ASSERT(oks_time_parse_iso8601("2025-03-04T12:15:29+02:00", &ms));
    OKS_ASSERT_EQ_INT(ms, 1741083329000LL);
    OKS_ASSERT(oks_time_parse_iso8601("2025-03-04T10:15:29.1Z", &ms));
    OKS_ASSERT_EQ_INT(ms % 1000, 100);
    OKS_ASSERT(!oks_time_parse_iso8601("2025-03-04 10:15", &ms));
    OKS_ASSERT(!oks_time_parse_iso8601("2025-13-04T10:15:29Z", &ms));
    OKS_ASSERT(!oks_time_parse_iso8601("2025-03-04T10:15:29.Z", &ms));
    OKS_ASSERT(!oks_time_parse_iso8601("2025-03-04T10:15:29Zjunk", &ms));
    OKS_ASSERT(!oks_time_parse_iso8601(NULL, &ms));
}

OKS_TEST(parses_time_of_day)
{
    int s = -1;
    OKS_ASSERT(oks_time_of_day_parse("03:00", &s));
    OKS_ASSERT_EQ_INT(s, 3 * 3600);
    OKS_ASSERT(oks_time_of_day_parse("23:59:58", &s));
    OKS_ASSERT_EQ_INT(s, 86398);
    OKS_ASSERT(oks_time_of_day_parse("00:00", &s));
    OKS_ASSERT_EQ_INT(s, 0);
    const char *bad[] = {"24:00",  "3:00",  "03:60", "03:00:60", "0300",
                         "03:00:", "aa:bb", "",      "03:00:00Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        OKS_ASSERT(!oks_time_of_day_parse(bad[i], &s));
    OKS_ASSERT(!oks_time_of_day_parse(NULL, &s));
}

OKS_TEST(error_classes)
{
    OKS_ASSERT(oks_errcode_is_retriable(OKS_E_RATELIMIT));
    OKS_ASSERT(oks_errcode_is_retriable(OKS_E_UNAVAILABLE));
    OKS_ASSERT(oks_errcode_is_retriable(OKS_E_TIMEOUT));
    OKS_ASSERT(!oks_errcode_is_retriable(OKS_E_INVALID));
    OKS_ASSERT(!oks_errcode_is_retriable(OKS_E_AUTH));
    OKS_ASSERT(!oks_errcode_is_retriable(OKS_OK));
    oks_err e = {0};
    OKS_ASSERT_EQ_INT(oks_err_set(&e, OKS_E_NOTFOUND, "user %s", "00u1"), -1);
    oks_err_wrap(&e, "fetching");
    OKS_ASSERT_EQ_STR(e.msg, "fetching: user 00u1");
    OKS_ASSERT_EQ_STR(oks_errcode_name(e.code), "not_found");
}

OKS_TEST(json_escape)
{
    char buf[64];
    OKS_ASSERT(oks_json_escape(buf, sizeof buf, "a\"b\\c\n\x01") > 0);
    OKS_ASSERT_EQ_STR(buf, "a\\\"b\\\\c\\n\\u0001");
    OKS_ASSERT_EQ_INT(oks_json_escape(buf, 4, "abcdef"), 0);
    OKS_ASSERT(oks_json_escape_field(buf, sizeof buf, "k", "v") > 0);
    OKS_ASSERT_EQ_STR(buf, ",\"k\":\"v\"");
}

OKS_TEST(listen_addresses)
{
    struct sockaddr_storage a;
    socklen_t len;
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(oks_parse_listen("127.0.0.1:8080", &a, &len, &err), 0);
    OKS_ASSERT_EQ_INT(a.ss_family, AF_INET);
    OKS_ASSERT_EQ_INT(oks_parse_listen("[::1]:0", &a, &len, &err), 0);
    OKS_ASSERT_EQ_INT(a.ss_family, AF_INET6);
    OKS_ASSERT_EQ_INT(oks_parse_listen(":9100", &a, &len, &err), 0);
    OKS_ASSERT_EQ_INT(oks_parse_listen("localhost:1", &a, &len, &err), 0);
    OKS_ASSERT_EQ_INT(oks_parse_listen("127.0.0.1", &a, &len, &err), -1);
    OKS_ASSERT_EQ_INT(oks_parse_listen("127.0.0.1:70000", &a, &len, &err), -1);
    OKS_ASSERT_EQ_INT(oks_parse_listen("example.com:80", &a, &len, &err), -1);
    OKS_ASSERT_CONTAINS(err.msg, "numeric IP only");
}

typedef struct body {
    char data[8192];
    size_t len;
} body;

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    body *b = ud;
    size_t take = size * n;
    if (b->len + take >= sizeof b->data)
        take = sizeof b->data - 1 - b->len;
    memcpy(b->data + b->len, p, take);
    b->len += take;
    b->data[b->len] = '\0';
    return size * n;
}

static long get(int port, const char *path, body *b)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *c = curl_easy_init();
    memset(b, 0, sizeof *b);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return status;
}

static bool ready_flag;
static bool is_ready(void *ctx, char *why, size_t cap)
{
    (void)ctx;
    snprintf(why, cap, "kafka unreachable");
    return ready_flag;
}

OKS_TEST(admin_listener_serves_metrics_health_ready)
{
    oks_err err = {0};
    oks_counter *c = oks_metrics_counter("oks_admin_test_total", "Test", NULL);
    oks_counter_add(c, 7);
    oks_admin_http *a = oks_admin_http_start("127.0.0.1:0", is_ready, NULL, &err);
    OKS_ASSERT(a != NULL);
    int port = oks_admin_http_port(a);
    OKS_ASSERT(port > 0);
    body b;
    OKS_ASSERT_EQ_INT(get(port, "/healthz", &b), 200);
    ready_flag = false;
    OKS_ASSERT_EQ_INT(get(port, "/readyz", &b), 503);
    OKS_ASSERT_CONTAINS(b.data, "kafka unreachable");
    ready_flag = true;
    OKS_ASSERT_EQ_INT(get(port, "/readyz", &b), 200);
    OKS_ASSERT_EQ_INT(get(port, "/metrics", &b), 200);
    OKS_ASSERT_CONTAINS(b.data, "oks_admin_test_total 7");
    OKS_ASSERT_EQ_INT(get(port, "/nope", &b), 404);
    /* A second listener on the same port fails with a clear error. */
    char listen[32];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    OKS_ASSERT(oks_admin_http_start(listen, NULL, NULL, &err) == NULL);
    OKS_ASSERT_CONTAINS(err.msg, "cannot listen");
    oks_admin_http_stop(a);
    oks_metrics_reset();
}

OKS_TEST(ready_file_written_then_removed_at_stop)
{
    oks_err err = {0};
    oks_admin_http *a = oks_admin_http_start("127.0.0.1:0", NULL, NULL, &err);
    OKS_ASSERT(a != NULL);
    char path[768];
    snprintf(path, sizeof path, "%s", oks_test_tmp_path("ready"));
    OKS_ASSERT_EQ_INT(oks_admin_http_write_ready_file(a, path, "http=127.0.0.1:1\n", &err), 0);
    FILE *f = fopen(path, "r");
    OKS_ASSERT(f != NULL);
    char line[128], want[64];
    snprintf(want, sizeof want, "admin=127.0.0.1:%d\n", oks_admin_http_port(a));
    OKS_ASSERT(fgets(line, sizeof line, f) != NULL);
    OKS_ASSERT_EQ_STR(line, want);
    OKS_ASSERT(fgets(line, sizeof line, f) != NULL);
    OKS_ASSERT_EQ_STR(line, "http=127.0.0.1:1\n");
    fclose(f);
    oks_admin_http_stop_unready(a, path);
    OKS_ASSERT(access(path, F_OK) != 0);
    oks_admin_http_stop_unready(NULL, ""); /* nothing to stop or remove */
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
