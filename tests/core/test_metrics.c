#include "oks_test.h"
#include "core/oks_metrics.h"

#include <pthread.h>
#include <stdlib.h>

OKS_TEST(exposition_format)
{
    oks_metrics_reset();
    oks_counter *ok = oks_metrics_counter("oks_requests_total", "Requests", "status=\"200\"");
    oks_counter *bad = oks_metrics_counter("oks_requests_total", "Requests", "status=\"401\"");
    oks_gauge *g = oks_metrics_gauge("oks_in_flight", "In flight", NULL);
    double b[] = {0.01, 0.1};
    oks_histogram *h = oks_metrics_histogram("oks_latency_seconds", "Latency", NULL, b, 2);
    oks_counter_add(ok, 3);
    oks_counter_add(bad, 1);
    oks_gauge_set(g, 2.5);
    oks_histogram_observe(h, 0.005);
    oks_histogram_observe(h, 0.05);
    oks_histogram_observe(h, 5);
    char *text = oks_metrics_render(NULL);
    OKS_ASSERT(text != NULL);
    OKS_ASSERT_CONTAINS(text, "# TYPE oks_requests_total counter\n"
                              "oks_requests_total{status=\"200\"} 3\n"
                              "oks_requests_total{status=\"401\"} 1\n");
    OKS_ASSERT_CONTAINS(text, "oks_in_flight 2.5\n");
    OKS_ASSERT_CONTAINS(text, "oks_latency_seconds_bucket{le=\"0.01\"} 1\n");
    OKS_ASSERT_CONTAINS(text, "oks_latency_seconds_bucket{le=\"0.1\"} 2\n");
    OKS_ASSERT_CONTAINS(text, "oks_latency_seconds_bucket{le=\"+Inf\"} 3\n");
    OKS_ASSERT_CONTAINS(text, "oks_latency_seconds_count 3\n");
    /* One HELP/TYPE per family. */
    OKS_ASSERT(strstr(strstr(text, "# TYPE oks_requests_total") + 1, "# TYPE oks_requests_total") ==
               NULL);
    free(text);
    oks_metrics_reset();
}

static void *bump(void *arg)
{
    for (int i = 0; i < 100000; i++) {
        oks_counter_add(arg, 1);
    }
    return NULL;
}

OKS_TEST(counters_are_thread_safe)
{
    oks_counter *c = oks_metrics_counter("oks_bumps_total", "Bumps", NULL);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, bump, c);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    OKS_ASSERT_EQ_INT(oks_counter_value(c), 400000);
    oks_metrics_reset();
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
