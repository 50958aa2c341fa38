#include "okta_sim_util.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "core/oks_time.h"
#include "oks_test.h"

/* The ready file holds KEY=HOST:PORT lines; the API address is under "http" (or "api"). */
static bool read_ready(okta_sim *s)
{
    FILE *f = fopen(s->ready_file, "r");
    if (!f)
        return false;
    char line[256];
    bool ok = false;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = '\0';
        if (strcmp(line, "http") == 0 || strcmp(line, "api") == 0 || strcmp(line, "listen") == 0) {
            const char *v = eq + 1;
            if (strncmp(v, "http://", 7) == 0)
                v += 7;
            snprintf(s->base, sizeof s->base, "http://%s", v);
            ok = true;
        }
    }
    fclose(f);
    return ok;
}

/* Simulators still running; a failed assertion leaves a test early, so they are reaped at
 * exit (and die with us anyway through PR_SET_PDEATHSIG). */
static pid_t live[32];

static void reap_all(void)
{
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
        if (live[i] > 0) {
            kill(live[i], SIGKILL);
            waitpid(live[i], NULL, 0);
            live[i] = 0;
        }
}

static void track(pid_t pid, bool add)
{
    static bool registered;
    if (!registered)
        registered = atexit(reap_all) == 0;
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
        if (add ? live[i] == 0 : live[i] == pid) {
            live[i] = add ? pid : 0;
            return;
        }
}

/* In the child: die with the test, and keep the test's stdout/stderr pipes free (ctest waits
 * for them to close) by logging to a file. */
static void child_setup(const okta_sim *s)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    char log[300];
    snprintf(log, sizeof log, "%s.log", s->ready_file);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        fd = open("/dev/null", O_WRONLY);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
}

void okta_sim_start(okta_sim *s, const char *const *extra)
{
    memset(s, 0, sizeof *s);
    const char *bin_dir = getenv("OKS_BIN_DIR");
    char bin[512];
    snprintf(bin, sizeof bin, "%s/oktasync-okta-sim", bin_dir ? bin_dir : "build/bin");
    if (access(bin, X_OK) != 0)
        oks_test_fail(__FILE__, __LINE__, "simulator binary %s not built", bin);
    snprintf(s->ready_file, sizeof s->ready_file, "%s", oks_test_tmp_path("okta-sim.ready"));
    const char *argv[64] = {bin,       "--listen",     "127.0.0.1:0", "--ready-file", s->ready_file,
                            "--token", OKTA_SIM_TOKEN, "--log-level", "warn"};
    int n = 9;
    for (int i = 0; extra && extra[i] && n < 62; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    s->pid = fork();
    if (s->pid == 0) {
        child_setup(s);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    track(s->pid, true);
    int64_t deadline = oks_now_mono_ms() + oks_test_timeout_ms(10000);
    while (!read_ready(s)) {
        int st;
        if (waitpid(s->pid, &st, WNOHANG) == s->pid)
            oks_test_fail(__FILE__, __LINE__, "simulator exited during start-up");
        if (oks_now_mono_ms() > deadline)
            oks_test_fail(__FILE__, __LINE__, "simulator not ready in time");
        oks_sleep_ms(20);
    }
}

void okta_sim_stop(okta_sim *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        int st;
        int64_t deadline = oks_now_mono_ms() + 5000;
        while (waitpid(s->pid, &st, WNOHANG) == 0) {
            if (oks_now_mono_ms() > deadline) {
                kill(s->pid, SIGKILL);
                waitpid(s->pid, &st, 0);
                break;
            }
            oks_sleep_ms(10);
        }
    }
    track(s->pid, false);
    unlink(s->ready_file);
    char log[300];
    snprintf(log, sizeof log, "%s.log", s->ready_file);
    unlink(log);
    s->pid = 0;
}

typedef struct body {
    char buf[1 << 20];
    size_t len;
} body;

static size_t on_data(char *d, size_t sz, size_t n, void *ud)
{
    body *b = ud;
    size_t k = sz * n;
    if (b->len + k >= sizeof b->buf)
        return 0;
    memcpy(b->buf + b->len, d, k);
    b->len += k;
    b->buf[b->len] = '\0';
    return k;
}

static long request(const okta_sim *s, const char *path, const char *json, body *out)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", s->base, path);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    if (json)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    long status = 0;
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK)
        oks_test_fail(__FILE__, __LINE__, "sim admin %s: %s", path, curl_easy_strerror(rc));
    return status;
}

long okta_sim_post(const okta_sim *s, const char *path, const char *json)
{
    static body b;
    b.len = 0;
    long st = request(s, path, json, &b);
    if (st != 200 && st != 204)
        fprintf(stderr, "sim POST %s -> %ld %.300s\n", path, st, b.buf);
    return st;
}

json_t *okta_sim_get_json(const okta_sim *s, const char *path)
{
    static body b;
    b.len = 0;
    long st = request(s, path, NULL, &b);
    json_error_t e;
    json_t *j = json_loadb(b.buf, b.len, 0, &e);
    if (st != 200 || !j)
        oks_test_fail(__FILE__, __LINE__, "sim GET %s -> %ld %.200s", path, st, b.buf);
    return j;
}

long long okta_sim_stat(const okta_sim *s, const char *dotted)
{
    json_t *root = okta_sim_get_json(s, "/__sim/stats");
    json_t *cur = root;
    char key[256];
    snprintf(key, sizeof key, "%s", dotted);
    for (char *save = NULL, *tok = strtok_r(key, ".", &save); tok && cur;
         tok = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, tok);
    if (!json_is_integer(cur)) {
        char *dump = json_dumps(root, JSON_COMPACT);
        fprintf(stderr, "stats: %.2000s\n", dump ? dump : "");
        free(dump);
        json_decref(root);
        oks_test_fail(__FILE__, __LINE__, "sim stat %s missing", dotted);
    }
    long long v = (long long)json_integer_value(cur);
    json_decref(root);
    return v;
}

long long okta_sim_api_requests(const okta_sim *s)
{
    json_t *root = okta_sim_get_json(s, "/__sim/stats");
    json_t *per = json_object_get(root, "per_endpoint");
    long long n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(per, k, v) n += (long long)json_integer_value(v);
    json_decref(root);
    return n;
}
