/*
 * Process-wide metrics registry with Prometheus text exposition (version 0.0.4).
 * Registration and rendering take the registry lock (a metric may be registered at any time,
 * e.g. the first time a partition or tenant is seen); updates are lock-free atomics from any
 * thread. Keep label sets bounded: every registered series lives until oks_metrics_reset.
 *
 *     static oks_counter *m_in;
 *     m_in = oks_metrics_counter("oktasync_events_in_total", "Events received", "source=\"hook\"");
 *     oks_counter_add(m_in, 1);
 *
 * Label sets are fixed strings chosen at registration (`key="value",...` or NULL); the same name
 * with several label sets gives several series of one family.
 */
#ifndef OKS_METRICS_H
#define OKS_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct oks_counter oks_counter;
typedef struct oks_gauge oks_gauge;
typedef struct oks_histogram oks_histogram;

oks_counter *oks_metrics_counter(const char *name, const char *help, const char *labels);
oks_gauge *oks_metrics_gauge(const char *name, const char *help, const char *labels);
/* bounds: ascending upper bounds (seconds for latency), n_bounds <= 32; +Inf is implicit. */
oks_histogram *oks_metrics_histogram(const char *name, const char *help, const char *labels,
                                     const double *bounds, size_t n_bounds);

void oks_counter_add(oks_counter *c, uint64_t n);
uint64_t oks_counter_value(const oks_counter *c);
void oks_gauge_set(oks_gauge *g, double v);
void oks_gauge_add(oks_gauge *g, double delta);
double oks_gauge_value(const oks_gauge *g);
void oks_histogram_observe(oks_histogram *h, double v);
uint64_t oks_histogram_count(const oks_histogram *h);

/* Default latency buckets in seconds: 0.5 ms .. 10 s. */
extern const double oks_latency_buckets[];
extern const size_t oks_latency_buckets_n;

/* Render every metric. Returns a malloc'd NUL-terminated buffer (caller frees), NULL on OOM. */
char *oks_metrics_render(size_t *len_out);

/* Drop every metric (tests and shutdown). Pointers handed out become invalid. */
void oks_metrics_reset(void);

#endif
