#include "oks_ingest_http.h"

#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Split "host:port" / "[v6]:port" into host and port strings. */
static int split_host_port(const char *addr, char *host, size_t hcap, char *port, size_t pcap,
                           oks_err *err)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || !colon[1])
        return oks_err_set(err, OKS_E_INVALID, "'%s' is not host:port", addr);
    const char *h = addr;
    size_t hlen = (size_t)(colon - addr);
    if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    if (hlen >= hcap || strlen(colon + 1) >= pcap)
        return oks_err_set(err, OKS_E_INVALID, "'%s' is too long", addr);
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    snprintf(port, pcap, "%s", colon + 1);
    return 0;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

int oks_ingest_listen_socket(const char *addr, int *port_out, oks_err *err)
{
    char host[256], port[16];
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int fd = -1, one = 1;

    if (split_host_port(addr, host, sizeof(host), port, sizeof(port), err) != 0)
        return -1;
    int gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
    if (gai != 0)
        return oks_err_set(err, OKS_E_INVALID, "cannot resolve '%s': %s", addr, gai_strerror(gai));
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        oks_err_set(err, OKS_E_UNAVAILABLE, "socket: %m");
        goto out;
    }
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        oks_err_set(err, OKS_E_UNAVAILABLE, "cannot listen on %s: %m", addr);
        close(fd);
        fd = -1;
        goto out;
    }
    *port_out = bound_port(fd);
out:
    freeaddrinfo(ai);
    return fd;
}
