#include "oks_metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { HIST_MAX_BOUNDS = 32 };

typedef enum { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM } metric_kind;

typedef struct metric {
    metric_kind kind;
    char *name, *help, *labels;
    struct metric *next;
    _Atomic uint64_t value; /* counter value, or gauge double bits */
    /* histogram */
    double bounds[HIST_MAX_BOUNDS];
    size_t n_bounds;
    _Atomic uint64_t buckets[HIST_MAX_BOUNDS + 1];
    _Atomic uint64_t sum_bits;
} metric;

struct oks_counter {
    metric m;
};
struct oks_gauge {
    metric m;
};
struct oks_histogram {
    metric m;
};

const double oks_latency_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                      0.1,    0.25,  0.5,    1,     2.5,  5,     10};
const size_t oks_latency_buckets_n = sizeof oks_latency_buckets / sizeof oks_latency_buckets[0];

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static metric *registry_head, *registry_tail;

static uint64_t double_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double bits_double(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static metric *metric_new(metric_kind kind, const char *name, const char *help, const char *labels)
{
    /* All three wrapper structs are exactly a metric, so one allocation size fits. */
    metric *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->kind = kind;
    m->name = strdup(name);
    m->help = strdup(help ? help : "");
    m->labels = strdup(labels ? labels : "");
    if (!m->name || !m->help || !m->labels) {
        free(m->name);
        free(m->help);
        free(m->labels);
        free(m);
        return NULL;
    }
    pthread_mutex_lock(&registry_lock);
    if (registry_tail)
        registry_tail->next = m;
    else
        registry_head = m;
    registry_tail = m;
    pthread_mutex_unlock(&registry_lock);
    return m;
}

oks_counter *oks_metrics_counter(const char *name, const char *help, const char *labels)
{
    return (oks_counter *)metric_new(KIND_COUNTER, name, help, labels);
}

oks_gauge *oks_metrics_gauge(const char *name, const char *help, const char *labels)
{
    metric *m = metric_new(KIND_GAUGE, name, help, labels);
    if (m)
        atomic_store(&m->value, double_bits(0.0));
    return (oks_gauge *)m;
}

oks_histogram *oks_metrics_histogram(const char *name, const char *help, const char *labels,
                                     const double *bounds, size_t n_bounds)
{
    if (n_bounds > HIST_MAX_BOUNDS)
        n_bounds = HIST_MAX_BOUNDS;
    metric *m = metric_new(KIND_HISTOGRAM, name, help, labels);
    if (!m)
        return NULL;
    memcpy(m->bounds, bounds, n_bounds * sizeof *bounds);
    m->n_bounds = n_bounds;
    atomic_store(&m->sum_bits, double_bits(0.0));
    return (oks_histogram *)m;
}

/* Updates tolerate NULL (a metric that failed to register must not crash the daemon). */
void oks_counter_add(oks_counter *c, uint64_t n)
{
    if (c)
        atomic_fetch_add_explicit(&c->m.value, n, memory_order_relaxed);
}

uint64_t oks_counter_value(const oks_counter *c)
{
    return c ? atomic_load(&((oks_counter *)c)->m.value) : 0;
}

static void atomic_add_double(_Atomic uint64_t *bits, double delta)
{
    uint64_t old = atomic_load(bits);
    while (!atomic_compare_exchange_weak(bits, &old, double_bits(bits_double(old) + delta))) {
    }
}

void oks_gauge_set(oks_gauge *g, double v)
{
    if (g)
        atomic_store(&g->m.value, double_bits(v));
}

void oks_gauge_add(oks_gauge *g, double delta)
{
    if (g)
        atomic_add_double(&g->m.value, delta);
}

double oks_gauge_value(const oks_gauge *g)
{
    return g ? bits_double(atomic_load(&((oks_gauge *)g)->m.value)) : 0.0;
}

void oks_histogram_observe(oks_histogram *h, double v)
{
    if (!h)
        return;
    size_t i = 0;
    while (i < h->m.n_bounds && v > h->m.bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->m.buckets[i], 1, memory_order_relaxed);
    atomic_add_double(&h->m.sum_bits, v);
}

uint64_t oks_histogram_count(const oks_histogram *h)
{
    if (!h)
        return 0;
    uint64_t total = 0;
    for (size_t i = 0; i <= h->m.n_bounds; i++)
        total += atomic_load(&((oks_histogram *)h)->m.buckets[i]);
    return total;
}

/* ---- exposition ---- */

typedef struct outbuf {
    char *data;
    size_t len, cap;
    bool oom;
} outbuf;

static void out_printf(outbuf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(outbuf *o, const char *fmt, ...)
{
    if (o->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->data + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->oom = true;
            return;
        }
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t ncap = o->cap * 2 + (size_t)n;
        char *nd = realloc(o->data, ncap);
        if (!nd) {
            o->oom = true;
            return;
        }
        o->data = nd;
        o->cap = ncap;
    }
}

static void render_series(outbuf *o, const metric *m)
{
    const char *l = m->labels;
    bool has = *l != '\0';
    if (m->kind == KIND_COUNTER) {
        out_printf(o, "%s%s%s%s %llu\n", m->name, has ? "{" : "", l, has ? "}" : "",
                   (unsigned long long)atomic_load(&((metric *)m)->value));
        return;
    }
    if (m->kind == KIND_GAUGE) {
        out_printf(o, "%s%s%s%s %.17g\n", m->name, has ? "{" : "", l, has ? "}" : "",
                   bits_double(atomic_load(&((metric *)m)->value)));
        return;
    }
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= m->n_bounds; i++) {
        cumulative += atomic_load(&((metric *)m)->buckets[i]);
        char le[32];
        if (i < m->n_bounds)
            snprintf(le, sizeof le, "%g", m->bounds[i]);
        else
            snprintf(le, sizeof le, "+Inf");
        out_printf(o, "%s_bucket{%s%sle=\"%s\"} %llu\n", m->name, l, has ? "," : "", le,
                   (unsigned long long)cumulative);
    }
    out_printf(o, "%s_sum%s%s%s %.17g\n", m->name, has ? "{" : "", l, has ? "}" : "",
               bits_double(atomic_load(&((metric *)m)->sum_bits)));
    out_printf(o, "%s_count%s%s%s %llu\n", m->name, has ? "{" : "", l, has ? "}" : "",
               (unsigned long long)cumulative);
}

char *oks_metrics_render(size_t *len_out)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    outbuf o = {malloc(4096), 0, 4096, false};
    if (!o.data)
        return NULL;
    o.data[0] = '\0';
    pthread_mutex_lock(&registry_lock);
    for (const metric *m = registry_head; m; m = m->next) {
        bool seen = false;
        for (const metric *p = registry_head; p != m; p = p->next) {
            if (strcmp(p->name, m->name) == 0) {
                seen = true;
                break;
            }
        }
        if (seen)
            continue; /* already rendered with its family */
        out_printf(&o, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name,
                   type_names[m->kind]);
        for (const metric *s = m; s; s = s->next) {
            if (strcmp(s->name, m->name) == 0)
                render_series(&o, s);
        }
    }
    pthread_mutex_unlock(&registry_lock);
    if (o.oom) {
        free(o.data);
        return NULL;
    }
    if (len_out)
        *len_out = o.len;
    return o.data;
}

void oks_metrics_reset(void)
{
    pthread_mutex_lock(&registry_lock);
    metric *m = registry_head;
    registry_head = registry_tail = NULL;
    pthread_mutex_unlock(&registry_lock);
    while (m) {
        metric *next = m->next;
        free(m->name);
        free(m->help);
        free(m->labels);
        free(m);
        m = next;
    }
}
