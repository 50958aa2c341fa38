#include "kafka_group_member.h"

#include "kafka/oks_kafka.h"
#include "oks_test.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long kgm_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void kgm_spawn(kgm_member *m, const char *brokers, const char *group, const char *topic)
{
    int in[2], out[2];
    memset(m, 0, sizeof(*m));
    /* O_CLOEXEC: a later member must not inherit this one's stdin, or closing it never ends it */
    OKS_ASSERT(pipe(in) == 0 && pipe(out) == 0);
    for (int i = 0; i < 2; i++) {
        fcntl(in[i], F_SETFD, FD_CLOEXEC);
        fcntl(out[i], F_SETFD, FD_CLOEXEC);
    }
    fflush(stdout);
    m->pid = fork();
    OKS_ASSERT(m->pid >= 0);
    if (m->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        execl("/proc/self/exe", "kafka_group_member", KGM_CHILD_FLAG, brokers, group, topic,
              (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    m->in_fd = in[1];
    m->out_fd = out[0];
    fcntl(m->out_fd, F_SETFL, O_NONBLOCK);
}

static void kgm_line(kgm_member *m, const char *line)
{
    unsigned long mask;
    int part;
    long long off;
    char key[64];
    if (sscanf(line, "A %lu", &mask) == 1) {
        m->have_assignment = true;
        m->assigned = (uint32_t)mask;
    } else if (sscanf(line, "M %d %lld %63s", &part, &off, key) == 3) {
        m->n_messages++;
        if (part < 0 || part > 31 || !(m->assigned & (1u << part)))
            m->foreign_partition_messages++;
        int k = atoi(key + 1);
        if (key[0] == 'k' && k >= 0 && k < KGM_MAX_KEYS)
            m->keys_seen |= 1ull << k;
    }
}

/* Read whatever the members wrote within wait_ms and parse complete lines. */
static void kgm_pump(kgm_member *ms, int n, int wait_ms)
{
    struct pollfd pfd[8];
    for (int i = 0; i < n; i++)
        pfd[i] = (struct pollfd){.fd = ms[i].out_fd, .events = POLLIN};
    if (poll(pfd, (nfds_t)n, wait_ms) <= 0)
        return;
    for (int i = 0; i < n; i++) {
        kgm_member *m = &ms[i];
        ssize_t r = read(m->out_fd, m->buf + m->len, sizeof(m->buf) - 1 - m->len);
        if (r <= 0)
            continue;
        m->len += (size_t)r;
        m->buf[m->len] = '\0';
        char *start = m->buf, *nl;
        while ((nl = strchr(start, '\n'))) {
            *nl = '\0';
            kgm_line(m, start);
            start = nl + 1;
        }
        m->len = strlen(start);
        memmove(m->buf, start, m->len + 1);
    }
}

static bool kgm_split_ok(const kgm_member *ms, int n, int n_partitions)
{
    uint32_t all = 0;
    for (int i = 0; i < n; i++) {
        if (!ms[i].have_assignment || !ms[i].assigned || (all & ms[i].assigned))
            return false;
        all |= ms[i].assigned;
    }
    return all == (1u << n_partitions) - 1;
}

bool kgm_wait_split(kgm_member *ms, int n, int n_partitions, int timeout_ms)
{
    long deadline = kgm_now_ms() + timeout_ms, stable_since = 0;
    while (kgm_now_ms() < deadline) {
        kgm_pump(ms, n, 100);
        if (!kgm_split_ok(ms, n, n_partitions))
            stable_since = 0;
        else if (!stable_since)
            stable_since = kgm_now_ms();
        else if (kgm_now_ms() - stable_since >= 2000)
            return true;
    }
    for (int i = 0; i < n; i++)
        fprintf(stderr, "  member %d: assigned=%s 0x%x\n", i, ms[i].have_assignment ? "yes" : "no",
                ms[i].assigned);
    return false;
}

bool kgm_wait_messages(kgm_member *ms, int n, int n_keys, int timeout_ms)
{
    uint64_t want = n_keys >= 64 ? ~0ull : (1ull << n_keys) - 1;
    long deadline = kgm_now_ms() + timeout_ms;
    while (kgm_now_ms() < deadline) {
        kgm_pump(ms, n, 100);
        uint64_t seen = 0;
        for (int i = 0; i < n; i++)
            seen |= ms[i].keys_seen;
        if ((seen & want) == want)
            return true;
    }
    return false;
}

int kgm_stop(kgm_member *m, int timeout_ms)
{
    int status = 0;
    close(m->in_fd);
    long deadline = kgm_now_ms() + timeout_ms;
    while (kgm_now_ms() < deadline) {
        pid_t r = waitpid(m->pid, &status, WNOHANG);
        if (r == m->pid) {
            close(m->out_fd);
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        kgm_pump(m, 1, 50);
    }
    kill(m->pid, SIGKILL);
    waitpid(m->pid, NULL, 0);
    close(m->out_fd);
    return -1;
}

/* ---- the child ---- */

static uint32_t kgm_assignment(rd_kafka_t *c)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    uint32_t mask = 0;
    if (rd_kafka_assignment(c, &l) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    for (int i = 0; i < l->cnt; i++) {
        if (l->elems[i].partition >= 0 && l->elems[i].partition < 32)
            mask |= 1u << l->elems[i].partition;
    }
    rd_kafka_topic_partition_list_destroy(l);
    return mask;
}

static bool kgm_stdin_closed(void)
{
    struct pollfd p = {.fd = 0, .events = POLLIN};
    char c;
    return poll(&p, 1, 0) > 0 && read(0, &c, 1) <= 0;
}

static void kgm_child_handle(rd_kafka_t *c, rd_kafka_message_t *m)
{
    printf("M %d %lld %.*s\n", m->partition, (long long)m->offset, (int)m->key_len,
           (const char *)m->key);
    fflush(stdout);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(m->rkt), m->partition)->offset =
        m->offset + 1;
    rd_kafka_offsets_store(c, l);
    rd_kafka_topic_partition_list_destroy(l);
}

int kgm_child_main(int argc, char **argv)
{
    oks_err err = {0};
    if (argc != 5)
        return 2;
    /* Two members settle only with short group timeouts on the mock cluster (architecture.md). */
    rd_kafka_t *c = oks_kafka_consumer_new(
        argv[2], argv[3], "session.timeout.ms=6000;heartbeat.interval.ms=500", &err);
    if (!c) {
        fprintf(stderr, "member: %s\n", err.msg);
        return 1;
    }
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, argv[4], RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(c, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    uint32_t shown = 0;
    bool first = true;
    while (!kgm_stdin_closed()) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        uint32_t now = kgm_assignment(c);
        if (first || now != shown) { /* before the message: "A" lines precede their "M" lines */
            printf("A %u\n", now);
            fflush(stdout);
            shown = now;
            first = false;
        }
        if (m && !m->err)
            kgm_child_handle(c, m);
        if (m)
            rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return 0;
}
