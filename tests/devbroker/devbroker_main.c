/*
 * oktasync-devbroker: librdkafka's mock cluster served on loopback for development and tests.
 * It creates the project's topics, publishes its bootstrap address (stdout + bootstrap-file) and
 * serves a control API for fault injection (see docs/devbroker.md). Nothing survives a restart.
 */
#include "devbroker.h"

#include "core/oks_config.h"
#include "core/oks_log.h"
#include "core/oks_net.h"
#include "core/oks_signal.h"
#include "kafka/oks_kafka.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct devbroker_cfg {
    int64_t brokers;
    int64_t partitions;
    char *topics;
    char *bootstrap_file;
    char *control_file;
    char *admin_listen;
    int log_level;
} devbroker_cfg;

static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};

static const oks_cfg_entry devbroker_entries[] = {
    OKS_CFG_INT("brokers", devbroker_cfg, brokers, "1", 1, 9, "Number of mock brokers."),
    OKS_CFG_INT("partitions", devbroker_cfg, partitions, "6", 1, 1000,
                "Partitions of each topic created at start."),
    OKS_CFG_STR("topics", devbroker_cfg, topics, "events,jobs,dead-letter", 0,
                "Comma-separated topics created at start."),
    OKS_CFG_STR("bootstrap-file", devbroker_cfg, bootstrap_file, "", 0,
                "If set, file that receives the line bootstrap=HOST:PORT[,HOST:PORT] (written "
                "atomically once the cluster is up; removed at exit)."),
    OKS_CFG_STR("control-file", devbroker_cfg, control_file, "", 0,
                "If set, file that receives the line control=HOST:PORT of the control API."),
    OKS_CFG_STR("admin-listen", devbroker_cfg, admin_listen, "127.0.0.1:0", 0,
                "HOST:PORT of the fault-injection control API (IPv4; port 0 picks a free port)."),
    OKS_CFG_ENUM("log-level", devbroker_cfg, log_level, "info", log_levels,
                 "Log level: debug, info, warn, error."),
};

static const oks_cfg_program devbroker_prog = OKS_CFG_PROGRAM(
    "oktasync-devbroker",
    "Development Kafka broker (librdkafka mock cluster) on loopback.\n"
    "FOR DEVELOPMENT AND TESTS ONLY: all topics and messages live in memory and NOTHING is kept\n"
    "across restarts (new random ports each start, too). Production uses a real Kafka cluster,\n"
    "configured through OKTASYNC_KAFKA_BROKERS. Fault-injection API: docs/devbroker.md.",
    NULL, devbroker_entries);

/* Create each comma-separated topic; mock clusters also auto-create unknown topics on use, but
 * with their own default partition count, so ours are made explicitly. */
static int devbroker_create_topics(rd_kafka_mock_cluster_t *mc, const char *topics, int partitions,
                                   oks_err *err)
{
    char *copy = strdup(topics), *save = NULL;
    int rc = 0;
    if (!copy)
        return oks_err_set(err, OKS_E_NOMEM, "out of memory");
    for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, t, partitions, 1);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rc = oks_err_set(err, OKS_E_PERMANENT, "creating topic %s: %s", t, rd_kafka_err2str(e));
            break;
        }
    }
    free(copy);
    return rc;
}

/* The mock cluster needs a client handle to live in; a producer with no brokers of its own.
 * Below debug, its notices (e.g. "No bootstrap.servers configured", true but irrelevant
 * here) are dropped; warnings and errors still reach the log. */
static rd_kafka_t *devbroker_host_client(bool debug, oks_err *err)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, oks_kafka_log_cb);
    if (rd_kafka_conf_set(conf, "client.id", "oktasync-devbroker", errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "log_level", debug ? "7" : "4", errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        oks_err_set(err, OKS_E_PERMANENT, "%s", errstr);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        oks_err_set(err, OKS_E_PERMANENT, "%s", errstr);
    }
    return rk;
}

static int devbroker_publish(const char *path, const char *key, const char *value, oks_err *err)
{
    char line[1024];
    snprintf(line, sizeof(line), "%s=%s\n", key, value);
    if (path && *path && oks_write_file_atomic(path, line, err) != 0)
        return oks_err_wrap(err, "writing %s", path);
    return 0;
}

static void devbroker_wait_for_signal(void)
{
    /* The signal handler only sets a flag; check it ten times a second. */
    struct timespec ts = {0, 100 * 1000 * 1000};
    while (!oks_shutdown_requested())
        nanosleep(&ts, NULL);
}

static int devbroker_run(const devbroker_cfg *cfg, oks_err *err)
{
    rd_kafka_mock_cluster_t *mc = NULL;
    devbroker_control *ctl = NULL;
    int rc = -1;
    rd_kafka_t *rk = devbroker_host_client(cfg->log_level == OKS_LOG_DEBUG, err);
    if (!rk)
        goto out;
    mc = rd_kafka_mock_cluster_new(rk, (int)cfg->brokers);
    if (!mc) {
        oks_err_set(err, OKS_E_PERMANENT, "cannot create the mock cluster");
        goto out;
    }
    if (devbroker_create_topics(mc, cfg->topics, (int)cfg->partitions, err) != 0)
        goto out;
    ctl = devbroker_control_start(cfg->admin_listen, mc, (int)cfg->brokers, err);
    if (!ctl)
        goto out;
    const char *bootstrap = rd_kafka_mock_cluster_bootstraps(mc);
    if (devbroker_publish(cfg->control_file, "control", devbroker_control_address(ctl), err) != 0 ||
        devbroker_publish(cfg->bootstrap_file, "bootstrap", bootstrap, err) != 0)
        goto out;
    printf("bootstrap=%s\ncontrol=%s\n", bootstrap, devbroker_control_address(ctl));
    fflush(stdout);
    oks_log_fields(OKS_LOG_INFO, "devbroker ready (development only, nothing persists)",
                   "bootstrap", bootstrap, "control", devbroker_control_address(ctl), "topics",
                   cfg->topics, NULL);
    devbroker_wait_for_signal();
    OKS_LOG_INFO("shutting down");
    rc = 0;
out:
    /* Stale address files would point the next reader at a dead port. */
    if (cfg->bootstrap_file && *cfg->bootstrap_file)
        unlink(cfg->bootstrap_file);
    if (cfg->control_file && *cfg->control_file)
        unlink(cfg->control_file);
    devbroker_control_stop(ctl);
    if (mc)
        rd_kafka_mock_cluster_destroy(mc);
    if (rk)
        rd_kafka_destroy(rk);
    return rc;
}

/* Checks the table cannot express; same one-line style as oks_cfg_load's. */
static int devbroker_check(const devbroker_cfg *cfg, oks_err *err)
{
    struct sockaddr_storage addr;
    socklen_t addr_len;
    if (oks_parse_listen(cfg->admin_listen, &addr, &addr_len, err) != 0)
        return oks_err_set(err, OKS_E_INVALID,
                           "invalid value for --admin-listen (OKTASYNC_ADMIN_LISTEN): \"%.64s\": "
                           "want IP:PORT",
                           cfg->admin_listen);
    if (strspn(cfg->topics, ", ") == strlen(cfg->topics))
        return oks_err_set(err, OKS_E_INVALID,
                           "invalid value for --topics (OKTASYNC_TOPICS): no topic names");
    return 0;
}

int main(int argc, char **argv)
{
    devbroker_cfg cfg = {0};
    oks_err err = {0};
    oks_cfg_result r = oks_cfg_load(&devbroker_prog, &cfg, argc, argv, NULL, NULL, &err);
    if (r == OKS_CFG_EXIT)
        return 0;
    if (r == OKS_CFG_ERROR) {
        fprintf(stderr, "oktasync-devbroker: %s\n", err.msg);
        return 2;
    }
    if (devbroker_check(&cfg, &err) != 0) {
        fprintf(stderr, "oktasync-devbroker: %s\n", err.msg);
        oks_cfg_free(&devbroker_prog, &cfg);
        return 2;
    }
    oks_log_init("devbroker", (oks_log_level)cfg.log_level);
    oks_signal_install();
    int rc = devbroker_run(&cfg, &err);
    if (rc != 0)
        oks_log_fields(OKS_LOG_ERROR, "devbroker failed", "error", err.msg, NULL);
    oks_cfg_free(&devbroker_prog, &cfg);
    return rc == 0 ? 0 : 1;
}
