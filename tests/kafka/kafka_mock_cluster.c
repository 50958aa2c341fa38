#include "kafka_mock_cluster.h"

#include "oks_test.h"

#include <stdio.h>

void kt_cluster_start(kt_cluster *c, const char *topic)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof errstr);
    c->host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    OKS_ASSERT(c->host != NULL);
    c->mc = rd_kafka_mock_cluster_new(c->host, 1);
    OKS_ASSERT(c->mc != NULL);
    OKS_ASSERT_EQ_INT(rd_kafka_mock_topic_create(c->mc, topic, 1, 1), 0);
    snprintf(c->bootstrap, sizeof c->bootstrap, "%s", rd_kafka_mock_cluster_bootstraps(c->mc));
}

void kt_cluster_stop(kt_cluster *c)
{
    rd_kafka_mock_cluster_destroy(c->mc);
    rd_kafka_destroy(c->host);
    c->mc = NULL;
    c->host = NULL;
}
