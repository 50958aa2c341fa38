/* Load driver of bench/worker: makes profile changes in simulated Okta orgs and delivers the
 * matching event hooks to oktasync-ingest, as Okta does, recording when each delivery was
 * answered 200.
 *
 * Event i goes to tenant i % T and user (i / T) % U. Its change is a new title in the tenant's
 * simulated org; the event's `published` is the `lastUpdated` the simulator answered, so the
 * event agrees with the org it describes. A delivery's changes go in one request
 * (POST /__sim/profiles, applied in order), and a tenant's requests one after the other, so the
 * changes of one user are made in event order (the last one is the user's end state). One
 * request per delivery rather than per event: at 2,000 events/s a request per change cost the
 * driver and the simulators a sixth of the two cores the measured programs run on.
 *
 *   --rate 0 (burst): every change first, then every delivery (batches of --batch events per
 *                     tenant), --concurrency requests in flight.
 *   --rate R:         R events/s; every --window ms each tenant gets one delivery with its events
 *                     of that window, POSTed as soon as their changes are done.
 *   --no-change:      no simulator calls; `published` is now (warm-up: make the worker store
 *                     every user once).
 *
 * Output: --out FILE gets one line per event,
 *   tenant_id \t okta_id \t uuid \t published \t title \t seq \t t200_epoch_ms \t delivered
 * and stdout one JSON summary line. Paced, the summary says how far behind its schedule the
 * load was delivered (behind_schedule_p99_ms / _max_ms: an event's 200 minus its window's start):
 * a driver that falls behind and then catches up offers bursts, not the steady rate asked for. Exit
 * 0 when every event was delivered, 1 otherwise, 2 on bad usage. */
#include "core/oks_config.h"
#include "core/oks_time.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_TENANTS 1000
#define MAX_RESP (256 * 1024)

typedef struct drive_cfg {
    char *ingest, *tenants_file, *users_file, *label, *out;
    int64_t events, users_per_tenant, rate, window_ms, batch, concurrency, max_duration_ms,
        request_timeout_ms;
    bool no_change;
} drive_cfg;

static const oks_cfg_entry entries[] = {
    OKS_CFG_STR(
        "ingest", drive_cfg, ingest, "", OKS_CFG_REQUIRED,
        "oktasync-ingest base URL http://HOST:PORT (deliveries go to /webhooks/okta/<sub>)"),
    OKS_CFG_STR("tenants-file", drive_cfg, tenants_file, "", OKS_CFG_REQUIRED,
                "lines 'subdomain webhook_secret simulator_base_url tenant_id'"),
    OKS_CFG_STR("users-file", drive_cfg, users_file, "", OKS_CFG_REQUIRED,
                "Okta user ids, one a line (the first users-per-tenant are used in every tenant)"),
    OKS_CFG_INT("events", drive_cfg, events, "1000", 1, 10000000,
                "events in all: event i goes to tenant i % T and user (i / T) % U"),
    OKS_CFG_INT("users-per-tenant", drive_cfg, users_per_tenant, "0", 0, 10000000,
                "users used per tenant (0 = every line of users-file)"),
    OKS_CFG_INT("rate", drive_cfg, rate, "0", 0, 1000000,
                "events/s, paced per window; 0 = burst: every change first, then every delivery"),
    OKS_CFG_DURATION("window", drive_cfg, window_ms, "100ms", 1, 60000,
                     "paced mode: each tenant gets one delivery per window"),
    OKS_CFG_INT("batch", drive_cfg, batch, "100", 1, 1000,
                "most events in one delivery (and so in one change request)"),
    OKS_CFG_INT("concurrency", drive_cfg, concurrency, "16", 1, 1024, "HTTP requests in flight"),
    OKS_CFG_BOOL("no-change", drive_cfg, no_change, "false",
                 "deliver without changing Okta (published = now): warm-up"),
    OKS_CFG_STR("label", drive_cfg, label, "bench", 0,
                "part of every title set ('bw <label> <seq>')"),
    OKS_CFG_STR("out", drive_cfg, out, "", 0, "file for one line per event (empty = none)"),
    OKS_CFG_DURATION("max-duration", drive_cfg, max_duration_ms, "600s", 1000, 86400000,
                     "stop after this long (events not delivered by then count as failed)"),
    OKS_CFG_DURATION("request-timeout", drive_cfg, request_timeout_ms, "30s", 100, 600000,
                     "total time of one HTTP request"),
};
static const oks_cfg_program program = OKS_CFG_PROGRAM(
    "oktasync-bench-worker-drive",
    "bench/worker's load driver: real changes in simulated Okta orgs, delivered as event hooks to "
    "oktasync-ingest",
    NULL, entries);
static drive_cfg cfg;

typedef struct {
    char sub[64], secret[256], sim[160], id[40];
} tenant;

typedef struct {
    int tenant, user, delivery;
    bool changed, delivered;
    char uuid[37], published[40];
    double t200;
} event;

typedef struct {
    int tenant, n, *ev;
    int next_same_tenant; /* the tenant's next delivery waiting for its changes, -1 none */
    double due_ms;        /* monotonic ms after start */
} delivery;

enum { JOB_CHANGES, JOB_POST };

typedef struct {
    int kind, idx;
    CURL *h;
    struct curl_slist *hdrs;
    char *body, *resp;
    size_t resp_len;
} xfer;

typedef struct {
    int *kind, *idx;
    size_t head, len, cap;
} jobq;

static tenant tenants[MAX_TENANTS];
static int n_tenants;
static char **users;
static int n_users;
static event *evs;
static delivery *dels;
static int n_events, n_dels;
static int *tenant_tail; /* per tenant: last delivery queued for its changes, -1 none */
static bool *tenant_busy;
static CURLM *multi;
static int inflight;
static jobq ready;
static long changes_failed, posts_failed, posts, change_requests;
static char first_error[512];

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *msg)
{
    fprintf(stderr, "oktasync-bench-worker-drive: %s\n", msg);
    exit(2);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        die("out of memory");
    return p;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* How late the delivered events were against the schedule: the delivery's 200 (wall clock)
 * minus the start of its window (t0_wall + due_ms). p99 and max over delivered events. */
static void behind_schedule(double t0_wall, double *p99, double *max)
{
    double *lag = xcalloc((size_t)n_events + 1, sizeof *lag);
    size_t n = 0;
    for (int i = 0; i < n_events; i++)
        if (evs[i].delivered)
            lag[n++] = evs[i].t200 - t0_wall - dels[evs[i].delivery].due_ms;
    *p99 = *max = 0;
    if (n) {
        qsort(lag, n, sizeof *lag, cmp_double);
        size_t k = (size_t)((double)n * 0.99);
        *p99 = lag[k < n ? k : n - 1];
        *max = lag[n - 1];
    }
    free(lag);
}

static void note_error(const char *what, long code, const char *body)
{
    if (first_error[0])
        return;
    snprintf(first_error, sizeof first_error, "%s: HTTP %ld %.200s", what, code, body ? body : "");
}

static void iso_now(char *out, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, cap - n, ".%03dZ", (int)(ts.tv_nsec / 1000000) % 1000);
}

static void uuid4(char out[37])
{
    unsigned char b[16];
    for (int i = 0; i < 16; i++)
        b[i] = (unsigned char)(rand() & 0xff);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

static void q_push(jobq *q, int kind, int idx)
{
    if (q->len == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 1024;
        int *k = xcalloc(cap, sizeof *k), *x = xcalloc(cap, sizeof *x);
        for (size_t i = 0; i < q->len; i++) {
            k[i] = q->kind[(q->head + i) % q->cap];
            x[i] = q->idx[(q->head + i) % q->cap];
        }
        free(q->kind);
        free(q->idx);
        q->kind = k;
        q->idx = x;
        q->cap = cap;
        q->head = 0;
    }
    size_t at = (q->head + q->len) % q->cap;
    q->kind[at] = kind;
    q->idx[at] = idx;
    q->len++;
}

static bool q_pop(jobq *q, int *kind, int *idx)
{
    if (!q->len)
        return false;
    *kind = q->kind[q->head];
    *idx = q->idx[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    return true;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    size_t len = size * n;
    if (x->resp_len + len > MAX_RESP)
        return 0; /* a bounded answer: anything bigger fails the transfer */
    char *r = realloc(x->resp, x->resp_len + len + 1);
    if (!r)
        return 0;
    memcpy(r + x->resp_len, p, len);
    x->resp = r;
    x->resp_len += len;
    r[x->resp_len] = '\0';
    return len;
}

static void title_of(int i, char *out, size_t cap)
{
    snprintf(out, cap, "bw %s %d", cfg.label, i);
}

/* {"changes":[{"id":…,"profile":{"title":…}}, …]}: the delivery's events in order. */
static char *changes_body(const delivery *d)
{
    json_t *changes = json_array();
    for (int k = 0; k < d->n; k++) {
        char title[160];
        title_of(d->ev[k], title, sizeof title);
        json_array_append_new(changes, json_pack("{s:s,s:{s:s}}", "id", users[evs[d->ev[k]].user],
                                                 "profile", "title", title));
    }
    json_t *body = json_pack("{s:o}", "changes", changes);
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!s)
        die("out of memory");
    return s;
}

/* One LogEvent as Okta sends it for a profile update (the fields ingest and the worker read,
 * plus the usual context). */
static int event_json(char *out, size_t cap, const event *e, const char *now)
{
    return snprintf(
        out, cap,
        "{\"uuid\":\"%s\",\"published\":\"%s\",\"eventType\":\"user.account.update_profile\","
        "\"version\":\"0\",\"displayMessage\":\"Update user profile for Okta\","
        "\"severity\":\"INFO\",\"legacyEventType\":\"core.user.config.profile_update.success\","
        "\"actor\":{\"id\":\"00uadmin000000000001\",\"type\":\"User\","
        "\"alternateId\":\"admin@okta-sim.example\",\"displayName\":\"Sim Admin\","
        "\"detailEntry\":null},\"client\":{\"userAgent\":{\"rawUserAgent\":\"okta-bench/1.0\","
        "\"os\":\"Unknown\",\"browser\":\"UNKNOWN\"},\"zone\":\"null\",\"device\":\"Computer\","
        "\"id\":null,\"ipAddress\":\"127.0.0.1\",\"geographicalContext\":null},"
        "\"outcome\":{\"result\":\"SUCCESS\",\"reason\":null},"
        "\"target\":[{\"id\":\"%s\",\"type\":\"User\",\"alternateId\":\"user%d\","
        "\"displayName\":\"Bench User\",\"detailEntry\":null}],"
        "\"transaction\":{\"type\":\"WEB\",\"id\":\"bench%s\",\"detail\":{}},"
        "\"debugContext\":{\"debugData\":{\"requestId\":\"bench\",\"requestUri\":"
        "\"/api/v1/users/%s\",\"published\":\"%s\"}}}",
        e->uuid, e->published[0] ? e->published : now, users[e->user], e->user, now, users[e->user],
        now);
}

static char *post_body(const delivery *d)
{
    char now[40], id[37];
    iso_now(now, sizeof now);
    uuid4(id);
    size_t cap = 1024 + (size_t)d->n * 2048, len = 0;
    char *b = xcalloc(cap, 1);
    len += (size_t)snprintf(b, cap,
                            "{\"eventType\":\"com.okta.event_hook\",\"eventTypeVersion\":\"1.0\","
                            "\"cloudEventsVersion\":\"0.1\",\"source\":\"https://%s.okta-sim."
                            "example/api/v1/eventHooks/whoBENCHhook00000001\",\"eventId\":\"%s\","
                            "\"eventTime\":\"%s\",\"contentType\":\"application/json\","
                            "\"data\":{\"events\":[",
                            tenants[d->tenant].sub, id, now);
    bool first = true;
    for (int k = 0; k < d->n; k++) {
        const event *e = &evs[d->ev[k]];
        if (!e->changed)
            continue;
        if (!first)
            b[len++] = ',';
        first = false;
        len += (size_t)event_json(b + len, cap - len, e, now);
    }
    snprintf(b + len, cap - len, "]}}");
    return b;
}

static bool delivery_has_events(int di)
{
    for (int k = 0; k < dels[di].n; k++)
        if (evs[dels[di].ev[k]].changed)
            return true;
    return false;
}

static void start(int kind, int idx)
{
    xfer *x = xcalloc(1, sizeof *x);
    x->kind = kind;
    x->idx = idx;
    x->h = curl_easy_init();
    if (!x->h)
        die("curl_easy_init failed");
    char url[512];
    x->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    if (kind == JOB_CHANGES) {
        const delivery *d = &dels[idx];
        snprintf(url, sizeof url, "%s/__sim/profiles", tenants[d->tenant].sim);
        x->body = changes_body(d);
        change_requests++;
    } else {
        const delivery *d = &dels[idx];
        snprintf(url, sizeof url, "%s/webhooks/okta/%s", cfg.ingest, tenants[d->tenant].sub);
        char auth[300];
        snprintf(auth, sizeof auth, "Authorization: %s", tenants[d->tenant].secret);
        x->hdrs = curl_slist_append(x->hdrs, auth);
        x->body = post_body(d);
        posts++;
    }
    curl_easy_setopt(x->h, CURLOPT_URL, url);
    curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->hdrs);
    curl_easy_setopt(x->h, CURLOPT_POSTFIELDS, x->body);
    curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
    curl_easy_setopt(x->h, CURLOPT_TIMEOUT_MS, (long)cfg.request_timeout_ms);
    curl_easy_setopt(x->h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(x->h, CURLOPT_NOSIGNAL, 1L);
    curl_multi_add_handle(multi, x->h);
    inflight++;
}

/* A delivery's changes may start once its tenant's previous request is done. */
static void queue_changes(int di)
{
    delivery *d = &dels[di];
    if (tenant_busy[d->tenant]) {
        dels[tenant_tail[d->tenant]].next_same_tenant = di;
        tenant_tail[d->tenant] = di;
        return;
    }
    tenant_busy[d->tenant] = true;
    tenant_tail[d->tenant] = di;
    q_push(&ready, JOB_CHANGES, di);
}

/* A delivery is due: its changes are queued (paced, its POST follows them); --no-change
 * delivers at once. */
static void release(int di)
{
    delivery *d = &dels[di];
    if (!cfg.no_change) {
        queue_changes(di);
        return;
    }
    for (int k = 0; k < d->n; k++)
        evs[d->ev[k]].changed = true;
    if (cfg.rate > 0)
        q_push(&ready, JOB_POST, di);
}

/* The simulator's answer: one {"id","lastUpdated"} per change, in order. */
static bool changes_answered(const delivery *d, const char *resp)
{
    json_t *j = resp ? json_loads(resp, 0, NULL) : NULL;
    json_t *got = json_object_get(j, "users");
    bool ok = json_array_size(got) == (size_t)d->n;
    for (int k = 0; ok && k < d->n; k++) {
        event *e = &evs[d->ev[k]];
        json_t *u = json_array_get(got, (size_t)k);
        const char *id = json_string_value(json_object_get(u, "id"));
        const char *lu = json_string_value(json_object_get(u, "lastUpdated"));
        ok = id && lu && strcmp(id, users[e->user]) == 0 && strlen(lu) < sizeof e->published;
        if (ok)
            strcpy(e->published, lu);
    }
    for (int k = 0; k < d->n; k++)
        evs[d->ev[k]].changed = ok;
    json_decref(j);
    return ok;
}

static void finish(xfer *x, CURLcode rc)
{
    long code = 0;
    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
    double now = wall_ms();
    if (x->kind == JOB_CHANGES) {
        delivery *d = &dels[x->idx];
        if (!changes_answered(d, rc == CURLE_OK && code == 200 ? x->resp : NULL)) {
            changes_failed += d->n;
            note_error("simulator change", code, rc == CURLE_OK ? x->resp : curl_easy_strerror(rc));
        }
        if (d->next_same_tenant >= 0) {
            q_push(&ready, JOB_CHANGES, d->next_same_tenant);
        } else {
            tenant_busy[d->tenant] = false;
            tenant_tail[d->tenant] = -1;
        }
        if (cfg.rate > 0) /* burst: every delivery waits for every change */
            q_push(&ready, JOB_POST, x->idx);
    } else {
        delivery *d = &dels[x->idx];
        if (rc == CURLE_OK && code == 200) {
            for (int k = 0; k < d->n; k++) {
                event *e = &evs[d->ev[k]];
                if (e->changed) {
                    e->delivered = true;
                    e->t200 = now;
                }
            }
        } else {
            posts_failed++;
            note_error("ingest POST", code, rc == CURLE_OK ? x->resp : curl_easy_strerror(rc));
        }
    }
    curl_multi_remove_handle(multi, x->h);
    curl_easy_cleanup(x->h);
    curl_slist_free_all(x->hdrs);
    free(x->body);
    free(x->resp);
    free(x);
    inflight--;
}

static void read_lines(const char *path, char ***out, int *n, int max)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "oktasync-bench-worker-drive: %s: %s\n", path, strerror(errno));
        exit(2);
    }
    int cap = 1024;
    char **v = xcalloc((size_t)cap, sizeof *v);
    char line[1024];
    *n = 0;
    while (fgets(line, sizeof line, f) && (max <= 0 || *n < max)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
            continue;
        if (*n == cap) {
            cap *= 2;
            char **w = realloc(v, (size_t)cap * sizeof *v);
            if (!w)
                die("out of memory");
            v = w;
        }
        v[(*n)++] = strdup(line);
    }
    fclose(f);
    *out = v;
}

static void read_tenants(const char *path)
{
    char **lines;
    int n;
    read_lines(path, &lines, &n, MAX_TENANTS);
    for (int i = 0; i < n; i++) {
        tenant *t = &tenants[i];
        if (sscanf(lines[i], "%63s %255s %159s %39s", t->sub, t->secret, t->sim, t->id) != 4)
            die("tenants file: each line is 'subdomain secret sim_url tenant_id'");
        free(lines[i]);
    }
    free(lines);
    n_tenants = n;
    if (!n)
        die("tenants file is empty");
}

int main(int argc, char **argv)
{
    oks_err err = {0};
    oks_cfg_result r = oks_cfg_load(&program, &cfg, argc, argv, NULL, NULL, &err);
    if (r == OKS_CFG_EXIT)
        return 0;
    if (r == OKS_CFG_ERROR) {
        fprintf(stderr, "oktasync-bench-worker-drive: %s\n", err.msg);
        return 2;
    }
    double rate = (double)cfg.rate, window = (double)cfg.window_ms,
           max_seconds = (double)cfg.max_duration_ms / 1000.0;
    long batch = (long)cfg.batch, concurrency = (long)cfg.concurrency;
    bool no_change = cfg.no_change;
    const char *out_path = cfg.out[0] ? cfg.out : NULL;
    long n_ev = (long)cfg.events;
    read_tenants(cfg.tenants_file);
    read_lines(cfg.users_file, &users, &n_users, (int)cfg.users_per_tenant);
    if (!n_users)
        die("users file is empty");
    unsigned seed = (unsigned)getpid() ^ (unsigned)oks_now_wall_ms();
    FILE *ur = fopen("/dev/urandom", "rb"); /* event uuids must differ between runs */
    if (ur) {
        if (fread(&seed, sizeof seed, 1, ur) != 1)
            seed ^= (unsigned)clock();
        fclose(ur);
    }
    srand(seed);
    n_events = (int)n_ev;
    evs = xcalloc((size_t)n_events, sizeof *evs);
    tenant_tail = xcalloc((size_t)n_tenants, sizeof *tenant_tail);
    tenant_busy = xcalloc((size_t)n_tenants, sizeof *tenant_busy);
    for (int t = 0; t < n_tenants; t++)
        tenant_tail[t] = -1;
    for (int i = 0; i < n_events; i++) {
        event *e = &evs[i];
        e->tenant = i % n_tenants;
        e->user = (i / n_tenants) % n_users;
        uuid4(e->uuid);
    }

    /* Deliveries: per tenant, consecutive events in batches (burst) or per window (paced). */
    dels = xcalloc((size_t)n_events, sizeof *dels);
    int *open = xcalloc((size_t)n_tenants, sizeof *open);
    long *open_slot = xcalloc((size_t)n_tenants, sizeof *open_slot);
    for (int t = 0; t < n_tenants; t++)
        open[t] = -1;
    for (int i = 0; i < n_events; i++) {
        event *e = &evs[i];
        long slot = rate > 0 ? (long)((double)i * 1000.0 / rate / window) : 0;
        int d = open[e->tenant];
        if (d < 0 || dels[d].n >= batch || open_slot[e->tenant] != slot) {
            d = n_dels++;
            dels[d].tenant = e->tenant;
            dels[d].ev = xcalloc((size_t)batch, sizeof(int));
            dels[d].due_ms = rate > 0 ? (double)slot * window : 0;
            dels[d].next_same_tenant = -1;
            open[e->tenant] = d;
            open_slot[e->tenant] = slot;
        }
        dels[d].ev[dels[d].n++] = i;
        e->delivery = d;
    }
    free(open);
    free(open_slot);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    multi = curl_multi_init();
    /* The loop keeps at most --concurrency requests in flight. The connections stay open, one
     * or more per host (ingest and every tenant's simulator): capped at --concurrency in total,
     * most requests went to a host without one, so closed another and opened a new one, each a
     * new thread in the simulator — harness work on the cores the measured programs share. */
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)(n_tenants + 1) * concurrency);

    double t0 = mono_ms(), t0_wall = wall_ms(), changes_done_ms = -1, first_post_wall = 0;
    int next_release = 0;
    bool burst_posts_released = false, timed_out = false;
    if (rate <= 0) { /* burst: every change now, the deliveries after the last */
        while (next_release < n_dels)
            release(next_release++);
    }
    long done_posts = 0;
    for (;;) {
        double now = mono_ms() - t0;
        if (now > max_seconds * 1000) {
            timed_out = true;
            break;
        }
        while (next_release < n_dels && dels[next_release].due_ms <= now)
            release(next_release++);
        if (rate <= 0 && !burst_posts_released) {
            bool all = no_change || ready.len + (size_t)inflight == 0;
            if (all) {
                changes_done_ms = now;
                burst_posts_released = true;
                for (int d = 0; d < n_dels; d++)
                    q_push(&ready, JOB_POST, d);
            }
        }
        int kind, idx;
        while (inflight < concurrency && q_pop(&ready, &kind, &idx)) {
            if (kind == JOB_POST && !delivery_has_events(idx))
                continue;
            if (kind == JOB_POST && first_post_wall == 0)
                first_post_wall = wall_ms();
            start(kind, idx);
        }
        if (inflight == 0 && ready.len == 0 && next_release >= n_dels &&
            (rate > 0 || burst_posts_released))
            break;
        int running;
        curl_multi_perform(multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(multi, &left))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            xfer *x;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            if (x->kind == JOB_POST)
                done_posts++;
            finish(x, m->data.result);
        }
        if (ready.len == 0 || inflight >= concurrency) {
            int wait = 10;
            if (next_release < n_dels) {
                double until = dels[next_release].due_ms - (mono_ms() - t0);
                wait = until < 0 ? 0 : until < 10 ? (int)until : 10;
            }
            curl_multi_poll(multi, NULL, 0, wait, NULL);
        }
    }
    double elapsed = mono_ms() - t0;
    if (rate > 0)
        changes_done_ms = elapsed;

    long delivered = 0, changed = 0;
    double last_200 = 0;
    FILE *out = out_path ? fopen(out_path, "w") : NULL;
    if (out_path && !out) {
        fprintf(stderr, "oktasync-bench-worker-drive: %s: %s\n", out_path, strerror(errno));
        return 2;
    }
    for (int i = 0; i < n_events; i++) {
        const event *e = &evs[i];
        changed += e->changed;
        delivered += e->delivered;
        if (e->t200 > last_200)
            last_200 = e->t200;
        if (out)
            fprintf(out, "%s\t%s\t%s\t%s\tbw %s %d\t%d\t%.3f\t%s\n", tenants[e->tenant].id,
                    users[e->user], e->uuid, e->published[0] ? e->published : "\\N", cfg.label, i,
                    i, e->t200, e->delivered ? "t" : "f");
    }
    if (out)
        fclose(out);
    double lag_p99 = 0, lag_max = 0;
    if (rate > 0)
        behind_schedule(t0_wall, &lag_p99, &lag_max);
    json_t *sum =
        json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:f,s:f,s:f,s:f,s:b,s:s}", "events", n_events,
                  "changed", (json_int_t)changed, "changes_failed", (json_int_t)changes_failed,
                  "change_requests", (json_int_t)change_requests, "posts", (json_int_t)posts,
                  "posts_failed", (json_int_t)posts_failed, "delivered", (json_int_t)delivered,
                  "tenants", n_tenants, "changes_s", changes_done_ms / 1e3, "elapsed_s",
                  elapsed / 1e3, "first_post_epoch_ms", first_post_wall, "last_200_epoch_ms",
                  last_200, "timed_out", timed_out, "first_error", first_error);
    if (rate > 0) {
        json_object_set_new(sum, "behind_schedule_p99_ms", json_real(lag_p99));
        json_object_set_new(sum, "behind_schedule_max_ms", json_real(lag_max));
    }
    char *s = json_dumps(sum, JSON_COMPACT);
    puts(s);
    free(s);
    json_decref(sum);
    (void)done_posts;
    return delivered == n_events ? 0 : 1;
}
