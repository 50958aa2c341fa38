#define _GNU_SOURCE /* strcasestr */
#include "simt.h"

#include "oks_test.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_SIMS 16
static pid_t live[MAX_SIMS];

static void kill_all(void)
{
    for (int i = 0; i < MAX_SIMS; i++)
        if (live[i] > 0) {
            kill(live[i], SIGKILL);
            waitpid(live[i], NULL, 0);
        }
}

static void track(pid_t pid, bool add)
{
    static bool registered;
    if (!registered) {
        atexit(kill_all);
        registered = true;
    }
    for (int i = 0; i < MAX_SIMS; i++)
        if (add ? live[i] == 0 : live[i] == pid) {
            live[i] = add ? pid : 0;
            return;
        }
}

static const char *sim_bin(char *buf, size_t cap)
{
    const char *dir = getenv("OKS_BIN_DIR");
    snprintf(buf, cap, "%s/oktasync-okta-sim", dir ? dir : "build/bin");
    return buf;
}

static pid_t spawn(const char *const *args, const char *ready, const char *errfile)
{
    char bin[512];
    const char *argv[64];
    int n = 0;
    argv[n++] = sim_bin(bin, sizeof bin);
    argv[n++] = "--token";
    argv[n++] = SIMT_TOKEN;
    argv[n++] = "--ready-file";
    argv[n++] = ready;
    argv[n++] = "--log-level";
    argv[n++] = "warn";
    for (int i = 0; args && args[i] && n < 62; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0)
            dup2(fd, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static void make_dir(simt *s)
{
    snprintf(s->dir, sizeof s->dir, "/tmp/okta-sim-test-XXXXXX");
    OKS_ASSERT(mkdtemp(s->dir) != NULL);
}

void simt_start(simt *s, const char *const *args)
{
    char ready[300], errf[300], line[256];
    memset(s, 0, sizeof *s);
    make_dir(s);
    snprintf(ready, sizeof ready, "%s/ready", s->dir);
    snprintf(errf, sizeof errf, "%s/stderr", s->dir);
    s->pid = spawn(args, ready, errf);
    OKS_ASSERT(s->pid > 0);
    track(s->pid, true);
    for (int i = 0; i < oks_test_timeout_ms(10000) / 20; i++) {
        FILE *f = fopen(ready, "r");
        while (f && fgets(line, sizeof line, f))
            if (strncmp(line, "http=", 5) == 0) {
                line[strcspn(line, "\n")] = '\0';
                snprintf(s->base, sizeof s->base, "http://%.50s", line + 5);
            }
        if (f)
            fclose(f);
        if (s->base[0])
            break;
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid)
            oks_test_fail(__FILE__, __LINE__, "simulator exited during start-up (see %s)", errf);
        usleep(20000);
    }
    OKS_ASSERT(s->base[0]);
    simt_resp r;
    OKS_ASSERT_EQ_INT(simt_admin(&r, s, "GET", "/__sim/info", NULL), 200);
    snprintf(s->app_id, sizeof s->app_id, "%s",
             json_string_value(json_object_get(r.json, "app_id")));
    simt_resp_free(&r);
}

void simt_stop(simt *s)
{
    int status = 0;
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGTERM);
    for (int i = 0; i < 250 && waitpid(s->pid, &status, WNOHANG) == 0; i++)
        usleep(20000);
    track(s->pid, false);
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, WNOHANG);
    s->pid = 0;
    /* Passed this far: the start-up files are not needed for diagnosis. */
    char p[300];
    snprintf(p, sizeof p, "%s/ready", s->dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/stderr", s->dir);
    unlink(p);
    rmdir(s->dir);
}

int simt_run_expect_exit(const char *const *args, char *first_line, size_t cap)
{
    simt s;
    char ready[300], errf[300];
    int status = 0;
    make_dir(&s);
    snprintf(ready, sizeof ready, "%s/ready", s.dir);
    snprintf(errf, sizeof errf, "%s/stderr", s.dir);
    pid_t pid = spawn(args, ready, errf);
    track(pid, true);
    for (int i = 0; i < 250 && waitpid(pid, &status, WNOHANG) == 0; i++)
        usleep(20000);
    track(pid, false);
    FILE *f = fopen(errf, "r");
    first_line[0] = '\0';
    if (f) {
        if (!fgets(first_line, (int)cap, f))
            first_line[0] = '\0';
        fclose(f);
    }
    unlink(errf);
    rmdir(s.dir);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static size_t collect(char *buf, size_t size, size_t n, void *ud)
{
    char **pp = ud;
    size_t old = *pp ? strlen(*pp) : 0, len = size * n;
    char *p = realloc(*pp, old + len + 1);
    if (!p)
        return 0;
    memcpy(p + old, buf, len);
    p[old + len] = '\0';
    *pp = p;
    return len;
}

void simt_request(simt_resp *r, const char *method, const char *url, const char *auth,
                  const char *body, long timeout_ms)
{
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char a[600];
    OKS_ASSERT(c != NULL);
    if (auth) {
        snprintf(a, sizeof a, "Authorization: %s", auth);
        h = curl_slist_append(h, a);
    }
    h = curl_slist_append(h, "Accept: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (body || strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r->rc = curl_easy_perform(c);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r->ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    r->body_len = r->body ? strlen(r->body) : 0;
    if (r->body)
        r->json = json_loads(r->body, JSON_DECODE_ANY, NULL);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

void simt_resp_free(simt_resp *r)
{
    free(r->body);
    free(r->headers);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

const char *simt_header(const simt_resp *r, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    for (const char *p = r->headers; p && *p;) {
        const char *eol = strstr(p, "\r\n");
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            snprintf(out, cap, "%.*s", (int)(len - (size_t)(v - p)), v);
            return out;
        }
        p = eol ? eol + 2 : p + len;
    }
    return NULL;
}

int simt_links(const simt_resp *r, char *self, char *next, size_t cap)
{
    int n = 0;
    self[0] = next[0] = '\0';
    for (const char *p = r->headers; p && (p = strcasestr(p, "\r\nlink: <")); p += 9) {
        n++;
        const char *u = p + 9, *gt = strchr(u, '>');
        if (!gt)
            break;
        char *dst = strncmp(gt, ">; rel=\"next\"\r\n", 15) == 0   ? next
                    : strncmp(gt, ">; rel=\"self\"\r\n", 15) == 0 ? self
                                                                  : NULL;
        if (dst)
            snprintf(dst, cap, "%.*s", (int)(gt - u), u);
    }
    return n;
}

void simt_api(simt_resp *r, const simt *s, const char *path)
{
    char url[2048];
    snprintf(url, sizeof url, "%s%s", s->base, path);
    simt_request(r, "GET", url, "SSWS " SIMT_TOKEN, NULL, 10000);
}

long simt_admin(simt_resp *r, const simt *s, const char *method, const char *path, const char *body)
{
    char url[2048];
    snprintf(url, sizeof url, "%s%s", s->base, path);
    simt_request(r, method, url, NULL, body, 20000);
    return r->status;
}

int simt_walk(const simt *s, const char *path, json_t *ids, int *pages)
{
    char url[4096], self[4096], next[4096];
    int n = 0;
    snprintf(url, sizeof url, "%s%s", s->base, path);
    *pages = 0;
    while (url[0]) {
        simt_resp r;
        simt_request(&r, "GET", url, "SSWS " SIMT_TOKEN, NULL, 10000);
        OKS_ASSERT_EQ_INT(r.status, 200);
        OKS_ASSERT(json_is_array(r.json));
        (*pages)++;
        size_t i;
        json_t *it;
        json_array_foreach(r.json, i, it)
        {
            n++;
            if (ids)
                json_array_append(ids, json_object_get(it, "id"));
        }
        simt_links(&r, self, next, sizeof next);
        snprintf(url, sizeof url, "%s", next);
        simt_resp_free(&r);
        OKS_ASSERT(*pages < 100000);
    }
    return n;
}
