/* oks_redis against real Redis: the stack's server for normal use, and a private redis-server
 * (own port, killed and restarted by the test) for authentication and outage behaviour. */
#include "oks_test.h"
#include "redis/oks_redis.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct priv_redis {
    pid_t pid;
    int port;
} priv_redis;

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    OKS_ASSERT(fd >= 0);
    OKS_ASSERT(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    OKS_ASSERT(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static bool port_open(void *ctx)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)((priv_redis *)ctx)->port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* A failed assertion longjmps past priv_kill: kill what is still running at exit. */
static pid_t live_pids[8];

static void kill_leftovers(void)
{
    for (int i = 0; i < 8; i++) {
        if (live_pids[i] > 0)
            kill(live_pids[i], SIGKILL);
    }
}

static void track_pid(pid_t old, pid_t pid)
{
    for (int i = 0; i < 8; i++) {
        if (live_pids[i] == old) {
            live_pids[i] = pid;
            return;
        }
    }
}

/* Start redis-server on p->port (picked when 0); password NULL = none. */
static void priv_start(priv_redis *p, const char *password)
{
    if (!p->port)
        p->port = free_port();
    char port[16];
    snprintf(port, sizeof(port), "%d", p->port);
    p->pid = fork();
    OKS_ASSERT(p->pid >= 0);
    if (p->pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", "/tmp", password ? "--requirepass" : NULL, password,
               (char *)NULL);
        _exit(127);
    }
    track_pid(0, p->pid);
    OKS_ASSERT(oks_test_wait_until(port_open, p, 10000));
}

static void priv_kill(priv_redis *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        track_pid(p->pid, 0);
    }
    p->pid = 0;
}

static char *url_for(int port, const char *userinfo, int db)
{
    static char buf[256];
    snprintf(buf, sizeof(buf), "redis://%s127.0.0.1:%d/%d", userinfo ? userinfo : "", port, db);
    return buf;
}

static int stack_port(void)
{
    oks_redis_url u;
    oks_err err = {0};
    OKS_ASSERT(oks_redis_url_parse(oks_test_service("OKTASYNC_REDIS_URL"), &u, &err) == 0);
    return u.port;
}

OKS_TEST(round_trip_on_stack)
{
    oks_err err = {0};
    oks_redis *r = oks_redis_new(oks_test_service("OKTASYNC_REDIS_URL"), 2000, 2000, &err);
    OKS_ASSERT(r);
    const char *key = oks_test_unique("oks_redis_rt");
    redisReply *rep = oks_redis_command(r, &err, "SET %s %s EX 60", key, "hello");
    OKS_ASSERT(rep);
    freeReplyObject(rep);
    OKS_ASSERT(oks_redis_connected(r));
    rep = oks_redis_command(r, &err, "GET %s", key);
    OKS_ASSERT(rep && rep->type == REDIS_REPLY_STRING);
    OKS_ASSERT_EQ_STR(rep->str, "hello");
    freeReplyObject(rep);
    const char *argv[] = {"SET", key, "a\0b"};
    size_t lens[] = {3, strlen(key), 3};
    rep = oks_redis_command_argv(r, &err, 3, argv, lens);
    OKS_ASSERT(rep);
    freeReplyObject(rep);
    rep = oks_redis_command(r, &err, "STRLEN %s", key);
    OKS_ASSERT(rep && rep->type == REDIS_REPLY_INTEGER);
    OKS_ASSERT_EQ_INT(rep->integer, 3);
    freeReplyObject(rep);
    oks_redis_free(r);
}

OKS_TEST(select_db_from_url)
{
    oks_err err = {0};
    int port = stack_port();
    const char *key = oks_test_unique("oks_redis_db");
    oks_redis *r5 = oks_redis_new(url_for(port, NULL, 5), 2000, 2000, &err);
    oks_redis *r0 = oks_redis_new(url_for(port, NULL, 0), 2000, 2000, &err);
    OKS_ASSERT(r5 && r0);
    redisReply *rep = oks_redis_command(r5, &err, "SET %s x EX 60", key);
    OKS_ASSERT(rep);
    freeReplyObject(rep);
    rep = oks_redis_command(r0, &err, "EXISTS %s", key);
    OKS_ASSERT(rep && rep->type == REDIS_REPLY_INTEGER);
    OKS_ASSERT_EQ_INT(rep->integer, 0);
    freeReplyObject(rep);
    rep = oks_redis_command(r5, &err, "EXISTS %s", key);
    OKS_ASSERT(rep);
    OKS_ASSERT_EQ_INT(rep->integer, 1);
    freeReplyObject(rep);
    oks_redis_free(r5);
    oks_redis_free(r0);
}

OKS_TEST(bad_db_index_is_invalid)
{
    oks_err err = {0};
    oks_redis *r = oks_redis_new(url_for(stack_port(), NULL, 99999), 2000, 2000, &err);
    OKS_ASSERT(r);
    OKS_ASSERT(oks_redis_connect(r, &err) != 0);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    OKS_ASSERT_CONTAINS(err.msg, "SELECT");
    OKS_ASSERT(!oks_redis_connected(r));
    oks_redis_free(r);
}

OKS_TEST(error_reply_keeps_connection)
{
    oks_err err = {0};
    oks_redis *r = oks_redis_new(oks_test_service("OKTASYNC_REDIS_URL"), 2000, 2000, &err);
    const char *key = oks_test_unique("oks_redis_wt");
    redisReply *rep = oks_redis_command(r, &err, "SET %s x EX 60", key);
    OKS_ASSERT(rep);
    freeReplyObject(rep);
    OKS_ASSERT(oks_redis_command(r, &err, "LPUSH %s y", key) == NULL);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_PERMANENT);
    OKS_ASSERT_CONTAINS(err.msg, "WRONGTYPE");
    OKS_ASSERT(oks_redis_connected(r));
    OKS_ASSERT(oks_redis_command(r, &err, "EVALSHA %s 0",
                                 "0123456789abcdef0123456789abcdef01234567") == NULL);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_NOTFOUND);
    oks_redis_free(r);
}

OKS_TEST(password_auth)
{
    priv_redis p = {0};
    priv_start(&p, "s3cret");
    oks_err err = {0};
    oks_redis *good = oks_redis_new(url_for(p.port, ":s3cret@", 0), 2000, 2000, &err);
    redisReply *rep = oks_redis_command(good, &err, "PING");
    OKS_ASSERT(rep);
    OKS_ASSERT_EQ_STR(rep->str, "PONG");
    freeReplyObject(rep);
    oks_redis *bad = oks_redis_new(url_for(p.port, ":nope@", 0), 2000, 2000, &err);
    OKS_ASSERT(oks_redis_connect(bad, &err) != 0);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_AUTH);
    OKS_ASSERT(!oks_errcode_is_retriable(err.code));
    oks_redis *none = oks_redis_new(url_for(p.port, NULL, 0), 2000, 2000, &err);
    OKS_ASSERT(oks_redis_command(none, &err, "GET k") == NULL);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_AUTH);
    OKS_ASSERT_CONTAINS(err.msg, "NOAUTH");
    oks_redis_free(good);
    oks_redis_free(bad);
    oks_redis_free(none);
    priv_kill(&p);
}

OKS_TEST(server_down_is_retriable_then_reconnects)
{
    priv_redis p = {0};
    priv_start(&p, NULL);
    oks_err err = {0};
    oks_redis *r = oks_redis_new(url_for(p.port, NULL, 0), 1000, 1000, &err);
    redisReply *rep = oks_redis_command(r, &err, "SET k v");
    OKS_ASSERT(rep);
    freeReplyObject(rep);
    priv_kill(&p);
    long t0 = now_ms();
    OKS_ASSERT(oks_redis_command(r, &err, "GET k") == NULL);
    OKS_ASSERT(oks_errcode_is_retriable(err.code));
    OKS_ASSERT(!oks_redis_connected(r));
    /* while down: connection refused, at once, still retriable */
    OKS_ASSERT(oks_redis_command(r, &err, "GET k") == NULL);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_UNAVAILABLE);
    OKS_ASSERT(now_ms() - t0 < 3000);
    priv_start(&p, NULL); /* same port */
    rep = oks_redis_command(r, &err, "PING");
    OKS_ASSERT(rep);
    OKS_ASSERT_EQ_STR(rep->str, "PONG");
    freeReplyObject(rep);
    oks_redis_free(r);
    priv_kill(&p);
}

OKS_TEST(command_timeout_does_not_hang)
{
    oks_err err = {0};
    oks_redis *r = oks_redis_new(oks_test_service("OKTASYNC_REDIS_URL"), 1000, 300, &err);
    long t0 = now_ms();
    /* BLPOP on an empty list blocks 5 s server-side; our 300 ms command timeout must win. */
    OKS_ASSERT(oks_redis_command(r, &err, "BLPOP %s 5", oks_test_unique("oks_redis_to")) == NULL);
    long took = now_ms() - t0;
    OKS_ASSERT_EQ_INT(err.code, OKS_E_TIMEOUT);
    OKS_ASSERT(took >= 250 && took < 2000);
    redisReply *rep = oks_redis_command(r, &err, "PING");
    OKS_ASSERT(rep);
    freeReplyObject(rep);
    oks_redis_free(r);
}

static void send2(oks_redis *r, const char *a, const char *b, const char *c)
{
    oks_err err = {0};
    const char *argv[] = {a, b, c};
    OKS_ASSERT(oks_redis_send_argv(r, &err, c ? 3 : 2, argv, NULL) == 0);
}

/* A deferred command costs no wait of its own; its reply is read by the next command, whose own
 * reply is the one returned. An error reply is counted, not handed to that command. */
OKS_TEST(deferred_send_replies_read_by_next_command)
{
    oks_err err = {0}, last = {0};
    oks_redis *r = oks_redis_new(oks_test_service("OKTASYNC_REDIS_URL"), 2000, 3000, &err);
    const char *key = oks_test_unique("oks_redis_def"), *list = oks_test_unique("oks_redis_defl");
    send2(r, "SET", key, "v1");
    send2(r, "LPUSH", key, "x"); /* WRONGTYPE */
    long t0 = now_ms();
    send2(r, "BLPOP", list, "1"); /* blocks 1 s in Redis, not here */
    OKS_ASSERT(now_ms() - t0 < 500);
    redisReply *rep = oks_redis_command(r, &err, "GET %s", key);
    OKS_ASSERT(now_ms() - t0 >= 900); /* behind the BLPOP */
    OKS_ASSERT(rep);
    OKS_ASSERT_EQ_INT(rep->type, REDIS_REPLY_STRING);
    OKS_ASSERT_EQ_STR(rep->str, "v1");
    freeReplyObject(rep);
    OKS_ASSERT_EQ_INT(oks_redis_deferred_failures(r, &last), 1);
    OKS_ASSERT_CONTAINS(last.msg, "WRONGTYPE");
    OKS_ASSERT_EQ_INT(last.code, OKS_E_PERMANENT);
    OKS_ASSERT_EQ_INT(oks_redis_deferred_failures(r, &last), 0);
    /* settle reads them too; then the next command's reply is its own */
    send2(r, "SET", key, "v2");
    send2(r, "INCR", key, NULL); /* not an integer */
    OKS_ASSERT(oks_redis_settle(r, &err) == 0);
    OKS_ASSERT_EQ_INT(oks_redis_deferred_failures(r, NULL), 1);
    const char *get[] = {"GET", key};
    rep = oks_redis_command_argv(r, &err, 2, get, NULL);
    OKS_ASSERT(rep);
    OKS_ASSERT_EQ_STR(rep->str, "v2");
    freeReplyObject(rep);
    OKS_ASSERT(oks_redis_settle(r, &err) == 0); /* nothing pending: no I/O */
    oks_redis_free(r);
}

/* A deferred command whose reply never comes (the server died) is counted as failed; the next
 * command reports the outage, and the handle reconnects after it. */
OKS_TEST(deferred_send_lost_with_the_connection)
{
    priv_redis p = {0};
    priv_start(&p, NULL);
    oks_err err = {0}, last = {0};
    oks_redis *r = oks_redis_new(url_for(p.port, NULL, 0), 1000, 1000, &err);
    send2(r, "BLPOP", "l", "5");
    priv_kill(&p);
    OKS_ASSERT(oks_redis_command(r, &err, "PING") == NULL);
    OKS_ASSERT(oks_errcode_is_retriable(err.code));
    OKS_ASSERT(!oks_redis_connected(r));
    OKS_ASSERT_EQ_INT(oks_redis_deferred_failures(r, &last), 1);
    OKS_ASSERT(oks_errcode_is_retriable(last.code));
    /* while down, a deferred send fails at once and is not counted twice */
    const char *argv[] = {"SET", "k", "v"};
    OKS_ASSERT(oks_redis_send_argv(r, &err, 3, argv, NULL) != 0);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_UNAVAILABLE);
    OKS_ASSERT_EQ_INT(oks_redis_deferred_failures(r, NULL), 0);
    priv_start(&p, NULL);
    send2(r, "SET", "k", "v");
    redisReply *rep = oks_redis_command(r, &err, "GET k");
    OKS_ASSERT(rep);
    OKS_ASSERT_EQ_STR(rep->str, "v");
    freeReplyObject(rep);
    oks_redis_free(r);
    priv_kill(&p);
}

OKS_TEST(nothing_listening_is_unavailable)
{
    oks_err err = {0};
    oks_redis *r = oks_redis_new(url_for(free_port(), NULL, 0), 1000, 1000, &err);
    OKS_ASSERT(oks_redis_connect(r, &err) != 0);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_UNAVAILABLE);
    OKS_ASSERT_CONTAINS(err.msg, "connect");
    oks_redis_free(r);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); /* hiredis writes with write(2); see oks_redis.h */
    atexit(kill_leftovers);
    return oks_test_main(argc, argv);
}
