/*
 * oktasync-okta-sim-bench: measures simulator throughput as pages/s of
 * GET /api/v1/apps/{appId}/users?limit=500&expand=user, following Link rel="next" and starting
 * over at the end, on N keep-alive connections for a fixed time.
 */
#define _GNU_SOURCE /* memmem */
#include "core/oks_config.h"
#include "core/oks_time.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct bench_cfg {
    char *url, *token, *app_id;
    int64_t threads, duration_ms, limit;
} bench_cfg;

static const oks_cfg_entry entries[] = {
    OKS_CFG_STR("url", bench_cfg, url, "", OKS_CFG_REQUIRED, "simulator base URL http://HOST:PORT"),
    OKS_CFG_STR("token", bench_cfg, token, "sim-token", OKS_CFG_SECRET, "SSWS token"),
    OKS_CFG_STR("app-id", bench_cfg, app_id, "", OKS_CFG_REQUIRED, "app id (GET /__sim/info)"),
    OKS_CFG_INT("threads", bench_cfg, threads, "2", 1, 64, "parallel keep-alive connections"),
    OKS_CFG_DURATION("duration", bench_cfg, duration_ms, "5s", 100, 600000, "how long to run"),
    OKS_CFG_INT("limit", bench_cfg, limit, "500", 1, 500, "page size"),
};
static const oks_cfg_program program =
    OKS_CFG_PROGRAM("oktasync-okta-sim-bench",
                    "pages/s of app users (expand=user) from the Okta simulator", NULL, entries);

static bench_cfg cfg;
static atomic_ullong pages, users_bytes, errors;

typedef struct page {
    char next[2048];
    size_t bytes;
} page;

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
    page *p = ud;
    size_t len = size * n;
    if (len > 6 && strncasecmp(buf, "link:", 5) == 0 && memmem(buf, len, "rel=\"next\"", 10)) {
        const char *lt = memchr(buf, '<', len),
                   *gt = lt ? memchr(lt, '>', len - (size_t)(lt - buf)) : NULL;
        if (lt && gt && (size_t)(gt - lt - 1) < sizeof p->next) {
            memcpy(p->next, lt + 1, (size_t)(gt - lt - 1));
            p->next[gt - lt - 1] = '\0';
        }
    }
    return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *ud)
{
    ((page *)ud)->bytes += size * n;
    (void)buf;
    return size * n;
}

static void *worker(void *arg)
{
    int64_t end = *(int64_t *)arg;
    char first[1024], auth[512];
    snprintf(first, sizeof first, "%s/api/v1/apps/%s/users?limit=%lld&expand=user", cfg.url,
             cfg.app_id, (long long)cfg.limit);
    snprintf(auth, sizeof auth, "Authorization: SSWS %s", cfg.token);
    CURL *c = curl_easy_init();
    struct curl_slist *hdr = curl_slist_append(NULL, auth);
    page p = {0};
    snprintf(p.next, sizeof p.next, "%s", first);
    while (c && hdr && oks_now_mono_ms() < end) {
        char url[2048];
        snprintf(url, sizeof url, "%s", p.next[0] ? p.next : first);
        p.next[0] = '\0';
        p.bytes = 0;
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &p);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &p);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
        long status = 0;
        if (curl_easy_perform(c) == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (status == 200) {
            atomic_fetch_add(&pages, 1);
            atomic_fetch_add(&users_bytes, p.bytes);
        } else {
            atomic_fetch_add(&errors, 1);
        }
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    return NULL;
}

int main(int argc, char **argv)
{
    oks_err err = {0};
    oks_cfg_result r = oks_cfg_load(&program, &cfg, argc, argv, NULL, NULL, &err);
    if (r == OKS_CFG_EXIT)
        return 0;
    if (r == OKS_CFG_ERROR) {
        fprintf(stderr, "oktasync-okta-sim-bench: %s\n", err.msg);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_t th[64];
    int64_t start = oks_now_mono_ms(), end = start + cfg.duration_ms;
    for (int i = 0; i < cfg.threads; i++)
        pthread_create(&th[i], NULL, worker, &end);
    for (int i = 0; i < cfg.threads; i++)
        pthread_join(th[i], NULL);
    double secs = (double)(oks_now_mono_ms() - start) / 1000.0;
    unsigned long long np = atomic_load(&pages);
    printf("{\"pages\":%llu,\"seconds\":%.2f,\"pages_per_s\":%.1f,\"users_per_s\":%.0f,"
           "\"mb_per_s\":%.1f,\"errors\":%llu,\"threads\":%lld,\"limit\":%lld}\n",
           np, secs, (double)np / secs, (double)np * (double)cfg.limit / secs,
           (double)atomic_load(&users_bytes) / secs / 1e6, atomic_load(&errors),
           (long long)cfg.threads, (long long)cfg.limit);
    curl_global_cleanup();
    oks_cfg_free(&program, &cfg);
    return atomic_load(&errors) > 0 && np == 0;
}
