/* oktasync-devbroker as a process: --help and bad values, start-up files, the topics it makes,
 * the fault-injection API (brokers down/up, rtt, topics) and clean SIGTERM. Each test runs a
 * private broker, so faults never disturb the shared stack. */
#include "../kafka/kafka_test_util.h"
#include "kafka/oks_kafka.h"
#include "oks_test.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct priv_broker {
    pid_t pid;
    int out_fd; /* its stdout */
    char dir[64], bootstrap_file[128], control_file[128];
    char bootstrap[256], control[128]; /* "host:port", "http://host:port" */
} priv_broker;

/* A failed assertion longjmps past broker_stop: every broker still running is killed at exit. */
static pid_t live_pids[16];

static void kill_leftovers(void)
{
    for (int i = 0; i < 16; i++) {
        if (live_pids[i] > 0)
            kill(live_pids[i], SIGKILL);
    }
}

static void track_pid(pid_t old, pid_t pid)
{
    for (int i = 0; i < 16; i++) {
        if (live_pids[i] == old) {
            live_pids[i] = pid;
            return;
        }
    }
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static const char *broker_bin(void)
{
    static char path[1024];
    const char *dir = getenv("OKS_BIN_DIR");
    snprintf(path, sizeof(path), "%s/oktasync-devbroker", dir && *dir ? dir : "build/bin");
    return path;
}

/* Run the broker with args (NULL-terminated), stdout+stderr to pipes; returns pid. */
static pid_t run_broker(const char *const *args, int *out_fd, int *err_fd)
{
    int out[2], errp[2];
    OKS_ASSERT(pipe(out) == 0 && pipe(errp) == 0);
    const char *argv[24] = {broker_bin()};
    for (int i = 0; args[i] && i < 22; i++)
        argv[i + 1] = args[i];
    pid_t pid = fork();
    OKS_ASSERT(pid >= 0);
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(errp[1], 2);
        close(out[0]);
        close(errp[0]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    close(errp[1]);
    *out_fd = out[0];
    if (err_fd)
        *err_fd = errp[0];
    else
        close(errp[0]);
    return pid;
}

/* Read everything until EOF (bounded) and the exit status. */
static int finish(pid_t pid, int fd, char *buf, size_t cap)
{
    size_t len = 0;
    ssize_t r;
    while (len + 1 < cap && (r = read(fd, buf + len, cap - 1 - len)) > 0)
        len += (size_t)r;
    buf[len] = '\0';
    close(fd);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool read_value(const char *path, const char *key, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    char line[512];
    bool ok = false;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, key, n) == 0 && line[n] == '=') {
            snprintf(out, cap, "%s", line + n + 1);
            ok = true;
        }
    }
    if (f)
        fclose(f);
    return ok;
}

static bool broker_published(void *ctx)
{
    priv_broker *b = ctx;
    char ctl[100];
    if (!read_value(b->bootstrap_file, "bootstrap", b->bootstrap, sizeof(b->bootstrap)) ||
        !read_value(b->control_file, "control", ctl, sizeof(ctl)))
        return false;
    snprintf(b->control, sizeof(b->control), "http://%s", ctl);
    return true;
}

static void broker_start(priv_broker *b, const char *brokers, const char *partitions,
                         const char *topics)
{
    memset(b, 0, sizeof(*b));
    snprintf(b->dir, sizeof(b->dir), "/tmp/oks_devbroker_XXXXXX");
    OKS_ASSERT(mkdtemp(b->dir));
    snprintf(b->bootstrap_file, sizeof(b->bootstrap_file), "%s/bootstrap", b->dir);
    snprintf(b->control_file, sizeof(b->control_file), "%s/control", b->dir);
    const char *args[] = {"--brokers",
                          brokers,
                          "--partitions",
                          partitions,
                          "--topics",
                          topics,
                          "--bootstrap-file",
                          b->bootstrap_file,
                          "--control-file",
                          b->control_file,
                          "--log-level",
                          "warn",
                          NULL};
    b->pid = run_broker(args, &b->out_fd, NULL);
    track_pid(0, b->pid);
    OKS_ASSERT(oks_test_wait_until(broker_published, b, 10000));
}

/* SIGTERM; returns the exit status (fails the test if it takes more than 10 s). */
static int broker_stop(priv_broker *b)
{
    kill(b->pid, SIGTERM);
    long deadline = now_ms() + oks_test_timeout_ms(10000);
    int status = 0;
    while (waitpid(b->pid, &status, WNOHANG) == 0) {
        if (now_ms() > deadline) {
            kill(b->pid, SIGKILL);
            oks_test_fail(__FILE__, __LINE__, "devbroker ignored SIGTERM for 10 s");
        }
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    track_pid(b->pid, 0);
    close(b->out_fd);
    rmdir(b->dir);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int topic_partitions(rd_kafka_t *rk, const char *topic, int *broker_cnt)
{
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    int n = -1;
    if (rd_kafka_metadata(rk, 0, t, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (md->topic_cnt == 1 && !md->topics[0].err)
            n = md->topics[0].partition_cnt;
        if (broker_cnt)
            *broker_cnt = md->broker_cnt;
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(t);
    return n;
}

OKS_TEST(help_says_development_only)
{
    int fd;
    const char *args[] = {"--help", NULL};
    pid_t pid = run_broker(args, &fd, NULL);
    char out[8192];
    OKS_ASSERT_EQ_INT(finish(pid, fd, out, sizeof(out)), 0);
    OKS_ASSERT_CONTAINS(out, "FOR DEVELOPMENT AND TESTS ONLY");
    OKS_ASSERT_CONTAINS(out, "NOTHING is kept");
    OKS_ASSERT_CONTAINS(out, "OKTASYNC_KAFKA_BROKERS");
    OKS_ASSERT_CONTAINS(out, "--partitions");
    OKS_ASSERT_CONTAINS(out, "--control-file");
}

static void expect_bad(const char *flag, const char *value, const char *want, int line)
{
    int out_fd, err_fd;
    const char *args[] = {flag, value, NULL};
    pid_t pid = run_broker(args, &out_fd, &err_fd);
    char err[1024];
    int rc = finish(pid, err_fd, err, sizeof(err));
    close(out_fd);
    if (rc != 2 || !strstr(err, want) || strchr(err, '\n') != err + strlen(err) - 1)
        oks_test_fail(__FILE__, line, "%s %s: exit %d, stderr \"%s\" (want one line with \"%s\")",
                      flag, value, rc, err, want);
}

OKS_TEST(bad_values_exit_2_with_one_line)
{
    expect_bad("--partitions", "0", "invalid value for --partitions", __LINE__);
    expect_bad("--partitions", "many", "invalid value for --partitions", __LINE__);
    expect_bad("--brokers", "10", "invalid value for --brokers", __LINE__);
    expect_bad("--admin-listen", "nowhere", "invalid value for --admin-listen", __LINE__);
    expect_bad("--admin-listen", "127.0.0.1:70000", "invalid value for --admin-listen", __LINE__);
    expect_bad("--topics", " , ", "invalid value for --topics", __LINE__);
    expect_bad("--log-level", "loud", "invalid value for --log-level", __LINE__);
}

OKS_TEST(publishes_addresses_creates_topics_and_stops_cleanly)
{
    priv_broker b;
    broker_start(&b, "2", "3", "alpha,beta");
    /* stdout carries the same bootstrap line as the file */
    char line[512] = "";
    struct pollfd p = {.fd = b.out_fd, .events = POLLIN};
    OKS_ASSERT(poll(&p, 1, 5000) == 1);
    OKS_ASSERT(read(b.out_fd, line, sizeof(line) - 1) > 0);
    char want[300];
    snprintf(want, sizeof(want), "bootstrap=%s\n", b.bootstrap);
    OKS_ASSERT_CONTAINS(line, want);

    rd_kafka_t *rk = kt_producer(b.bootstrap, NULL);
    int brokers = 0;
    OKS_ASSERT_EQ_INT(topic_partitions(rk, "alpha", &brokers), 3);
    OKS_ASSERT_EQ_INT(brokers, 2);
    OKS_ASSERT_EQ_INT(topic_partitions(rk, "beta", NULL), 3);
    OKS_ASSERT_EQ_INT(kt_produce_sync(rk, "beta", 2, "k", "v", 10000).err, 0);
    rd_kafka_destroy(rk);

    char body[256];
    OKS_ASSERT_EQ_INT(kt_control(b.control, "GET", "/healthz", body, sizeof(body)), 200);
    OKS_ASSERT_EQ_STR(body, "ok\n");
    OKS_ASSERT_EQ_INT(broker_stop(&b), 0);
    struct stat st;
    OKS_ASSERT(stat(b.bootstrap_file, &st) != 0); /* no stale address left behind */
    OKS_ASSERT(stat(b.control_file, &st) != 0);
}

OKS_TEST(brokers_down_then_up)
{
    priv_broker b;
    broker_start(&b, "1", "2", "events");
    char body[256];
    rd_kafka_t *rk = kt_producer(b.bootstrap, "message.timeout.ms=1500");
    OKS_ASSERT_EQ_INT(kt_produce_sync(rk, "events", 0, "k", "before", 10000).err, 0);
    OKS_ASSERT_EQ_INT(kt_control(b.control, "POST", "/brokers/down", body, sizeof(body)), 200);
    kt_delivery d = kt_produce_sync(rk, "events", 0, "k", "during", 10000);
    OKS_ASSERT(d.err != RD_KAFKA_RESP_ERR_NO_ERROR);
    OKS_ASSERT(oks_errcode_is_retriable(oks_kafka_errcode(d.err)));
    OKS_ASSERT_EQ_INT(kt_control(b.control, "POST", "/brokers/up", body, sizeof(body)), 200);
    /* The same producer recovers once it reconnects (each try may time out at 1.5 s first). */
    long deadline = now_ms() + oks_test_timeout_ms(15000);
    do
        d = kt_produce_sync(rk, "events", 0, "k", "after", 10000);
    while (d.err != RD_KAFKA_RESP_ERR_NO_ERROR && now_ms() < deadline);
    OKS_ASSERT_EQ_INT(d.err, RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(rk);
    OKS_ASSERT_EQ_INT(broker_stop(&b), 0);
}

OKS_TEST(rtt_slows_requests)
{
    priv_broker b;
    broker_start(&b, "1", "1", "events");
    char body[256];
    rd_kafka_t *rk = kt_producer(b.bootstrap, "linger.ms=0");
    OKS_ASSERT_EQ_INT(kt_produce_sync(rk, "events", 0, "k", "warm", 10000).err, 0);
    long t0 = now_ms();
    OKS_ASSERT_EQ_INT(kt_produce_sync(rk, "events", 0, "k", "fast", 10000).err, 0);
    long fast = now_ms() - t0;
    OKS_ASSERT_EQ_INT(kt_control(b.control, "POST", "/rtt?ms=600", body, sizeof(body)), 200);
    t0 = now_ms();
    OKS_ASSERT_EQ_INT(kt_produce_sync(rk, "events", 0, "k", "slow", 10000).err, 0);
    long slow = now_ms() - t0;
    OKS_ASSERT(slow >= 500);
    OKS_ASSERT(fast < 400);
    OKS_ASSERT_EQ_INT(kt_control(b.control, "POST", "/rtt?ms=0", body, sizeof(body)), 200);
    rd_kafka_destroy(rk);
    OKS_ASSERT_EQ_INT(broker_stop(&b), 0);
}

OKS_TEST(control_api_topics_and_bad_requests)
{
    priv_broker b;
    broker_start(&b, "1", "1", "events");
    char body[256];
    OKS_ASSERT_EQ_INT(
        kt_control(b.control, "POST", "/topics?name=fresh&partitions=5", body, sizeof(body)), 200);
    rd_kafka_t *rk = kt_producer(b.bootstrap, NULL);
    OKS_ASSERT_EQ_INT(topic_partitions(rk, "fresh", NULL), 5);
    rd_kafka_destroy(rk);
    OKS_ASSERT_EQ_INT(
        kt_control(b.control, "POST", "/topics?name=fresh&partitions=5", body, sizeof(body)), 409);
    OKS_ASSERT_EQ_INT(kt_control(b.control, "POST", "/topics?name=x", body, sizeof(body)), 400);
    OKS_ASSERT_CONTAINS(body, "partitions");
    OKS_ASSERT_EQ_INT(
        kt_control(b.control, "POST", "/topics?name=a%2Fb&partitions=1", body, sizeof(body)), 400);
    OKS_ASSERT_EQ_INT(
        kt_control(b.control, "POST", "/topics?name=y&partitions=0", body, sizeof(body)), 400);
    OKS_ASSERT_EQ_INT(kt_control(b.control, "POST", "/rtt", body, sizeof(body)), 400);
    OKS_ASSERT_EQ_INT(kt_control(b.control, "POST", "/rtt?ms=-1", body, sizeof(body)), 400);
    OKS_ASSERT_EQ_INT(kt_control(b.control, "POST", "/brokers/down?id=2", body, sizeof(body)), 400);
    OKS_ASSERT_EQ_INT(kt_control(b.control, "GET", "/brokers/down", body, sizeof(body)), 405);
    OKS_ASSERT_EQ_INT(kt_control(b.control, "POST", "/healthz", body, sizeof(body)), 405);
    OKS_ASSERT_EQ_INT(kt_control(b.control, "GET", "/nope", body, sizeof(body)), 404);
    OKS_ASSERT_EQ_INT(kt_control(b.control, "POST", "/errors/produce", body, sizeof(body)), 400);
    OKS_ASSERT_CONTAINS(body, "code is required");
    OKS_ASSERT_EQ_INT(kt_control(b.control, "POST", "/errors/produce?code=abc", body, sizeof(body)),
                      400);
    OKS_ASSERT_EQ_INT(
        kt_control(b.control, "POST", "/errors/produce?code=45&count=0", body, sizeof(body)), 400);
    OKS_ASSERT_EQ_INT(kt_control(b.control, "GET", "/errors/produce?code=45", body, sizeof(body)),
                      405);
    OKS_ASSERT_EQ_INT(broker_stop(&b), 0);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    atexit(kill_leftovers);
    return oks_test_main(argc, argv);
}
