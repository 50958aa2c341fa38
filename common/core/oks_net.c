#include "oks_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int oks_parse_listen(const char *s, struct sockaddr_storage *addr, socklen_t *addr_len,
                     oks_err *err)
{
    char host[64];
    const char *colon;
    if (!s || !*s)
        return oks_err_set(err, OKS_E_INVALID, "empty listen address");
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof host)
            return oks_err_set(err, OKS_E_INVALID, "bad listen address '%s'", s);
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = '\0';
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= sizeof host)
            return oks_err_set(err, OKS_E_INVALID, "bad listen address '%s' (want host:port)", s);
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
    }
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || port < 0 || port > 65535)
        return oks_err_set(err, OKS_E_INVALID, "bad port in listen address '%s'", s);
    memset(addr, 0, sizeof *addr);
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
    if (host[0] == '\0' || inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        if (host[0] == '\0')
            v4->sin_addr.s_addr = htonl(INADDR_ANY);
        *addr_len = sizeof *v4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *addr_len = sizeof *v6;
        return 0;
    }
    return oks_err_set(err, OKS_E_INVALID, "bad host '%s' in listen address (numeric IP only)",
                       host);
}

int oks_write_file_atomic(const char *path, const char *content, oks_err *err)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp)
        return oks_err_set(err, OKS_E_INVALID, "path too long: %s", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return oks_err_set(err, OKS_E_INVALID, "cannot write %s: %s", tmp, strerror(errno));
    size_t len = strlen(content);
    bool ok = fwrite(content, 1, len, f) == len;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return oks_err_set(err, OKS_E_INVALID, "cannot write %s: %s", path, strerror(e));
    }
    return 0;
}
