#include "wproxy.h"

#include "oks_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { MAX_CONNS = 256 };

struct wproxy {
    int lfd, port;
    char host[64];
    int target_port;
    atomic_bool up, stop;
    pthread_t acceptor;
    pthread_mutex_t mu;
    int fds[MAX_CONNS][2]; /* open pairs (client, server); -1 = free */
    int threads;           /* pipe threads running */
};

typedef struct {
    wproxy *p;
    int slot;
} pipe_arg;

static void *pipe_main(void *arg)
{
    pipe_arg *a = arg;
    wproxy *p = a->p;
    int c = p->fds[a->slot][0], s = p->fds[a->slot][1];
    char buf[16384];
    while (!atomic_load(&p->stop)) {
        struct pollfd pf[2] = {{c, POLLIN, 0}, {s, POLLIN, 0}};
        int n = poll(pf, 2, 100);
        if (n < 0)
            break;
        if (n == 0)
            continue;
        bool done = false;
        for (int i = 0; i < 2 && !done; i++) {
            if (!pf[i].revents)
                continue;
            ssize_t r = read(pf[i].fd, buf, sizeof buf);
            if (r <= 0) {
                done = true;
                break;
            }
            int to = i == 0 ? s : c;
            for (ssize_t off = 0; off < r;) {
                /* MSG_NOSIGNAL: a peer that went away must not SIGPIPE the test */
                ssize_t w = send(to, buf + off, (size_t)(r - off), MSG_NOSIGNAL);
                if (w <= 0) {
                    done = true;
                    break;
                }
                off += w;
            }
        }
        if (done)
            break;
    }
    pthread_mutex_lock(&p->mu);
    close(c);
    close(s);
    p->fds[a->slot][0] = p->fds[a->slot][1] = -1;
    p->threads--;
    pthread_mutex_unlock(&p->mu);
    free(a);
    return NULL;
}

static void *accept_main(void *arg)
{
    wproxy *p = arg;
    while (!atomic_load(&p->stop)) {
        struct pollfd pf = {p->lfd, POLLIN, 0};
        if (poll(&pf, 1, 100) <= 0)
            continue;
        int c = accept(p->lfd, NULL, NULL);
        if (c < 0)
            continue;
        if (!atomic_load(&p->up)) {
            close(c);
            continue;
        }
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)p->target_port)};
        inet_pton(AF_INET, p->host, &sa.sin_addr);
        if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof sa) != 0) {
            close(c);
            if (s >= 0)
                close(s);
            continue;
        }
        pthread_mutex_lock(&p->mu);
        int slot = -1;
        for (int i = 0; i < MAX_CONNS && slot < 0; i++)
            if (p->fds[i][0] < 0)
                slot = i;
        pipe_arg *a = slot >= 0 ? malloc(sizeof *a) : NULL;
        pthread_t t;
        if (a) {
            p->fds[slot][0] = c;
            p->fds[slot][1] = s;
            a->p = p;
            a->slot = slot;
            if (pthread_create(&t, NULL, pipe_main, a) == 0) {
                pthread_detach(t);
                p->threads++;
            } else {
                p->fds[slot][0] = p->fds[slot][1] = -1;
                free(a);
                a = NULL;
            }
        }
        pthread_mutex_unlock(&p->mu);
        if (!a) {
            close(c);
            close(s);
        }
    }
    return NULL;
}

wproxy *wproxy_start(const char *host, int port)
{
    wproxy *p = calloc(1, sizeof *p);
    OKS_ASSERT(p != NULL);
    snprintf(p->host, sizeof p->host, "%s", host);
    p->target_port = port;
    atomic_store(&p->up, true);
    pthread_mutex_init(&p->mu, NULL);
    for (int i = 0; i < MAX_CONNS; i++)
        p->fds[i][0] = p->fds[i][1] = -1;
    p->lfd = socket(AF_INET, SOCK_STREAM, 0);
    OKS_ASSERT(p->lfd >= 0);
    int one = 1;
    setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    OKS_ASSERT(bind(p->lfd, (struct sockaddr *)&sa, sizeof sa) == 0);
    OKS_ASSERT(listen(p->lfd, 64) == 0);
    socklen_t len = sizeof sa;
    OKS_ASSERT(getsockname(p->lfd, (struct sockaddr *)&sa, &len) == 0);
    p->port = ntohs(sa.sin_port);
    OKS_ASSERT(pthread_create(&p->acceptor, NULL, accept_main, p) == 0);
    return p;
}

int wproxy_port(const wproxy *p)
{
    return p->port;
}

void wproxy_set_up(wproxy *p, bool up)
{
    atomic_store(&p->up, up);
    if (up)
        return;
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < MAX_CONNS; i++) {
        if (p->fds[i][0] >= 0) {
            shutdown(p->fds[i][0], SHUT_RDWR);
            shutdown(p->fds[i][1], SHUT_RDWR);
        }
    }
    pthread_mutex_unlock(&p->mu);
}

void wproxy_stop(wproxy *p)
{
    wproxy_set_up(p, false);
    atomic_store(&p->stop, true);
    pthread_join(p->acceptor, NULL);
    for (int waited = 0; waited < 100; waited++) {
        pthread_mutex_lock(&p->mu);
        int n = p->threads;
        pthread_mutex_unlock(&p->mu);
        if (n == 0)
            break;
        usleep(20000);
    }
    close(p->lfd);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

const char *wproxy_url(const char *url, int proxy_port, int *target_port)
{
    static char out[1024];
    const char *host = strstr(url, "://");
    host = host ? host + 3 : url;
    const char *at = strchr(host, '@'), *slash = strchr(host, '/');
    if (at && (!slash || at < slash))
        host = at + 1;
    const char *colon = strchr(host, ':');
    OKS_ASSERT(colon != NULL);
    *target_port = atoi(colon + 1);
    const char *rest = colon + 1;
    while (*rest >= '0' && *rest <= '9')
        rest++;
    snprintf(out, sizeof out, "%.*s:%d%s", (int)(colon - url), url, proxy_port, rest);
    return out;
}

int wproxy_conninfo_port(const char *conninfo)
{
    const char *p = strstr(conninfo, "port='");
    OKS_ASSERT(p != NULL);
    return atoi(p + 6);
}
