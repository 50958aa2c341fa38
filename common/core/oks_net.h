/* Small address and file helpers every daemon needs. */
#ifndef OKS_NET_H
#define OKS_NET_H

#include "oks_err.h"

#include <netinet/in.h>
#include <stddef.h>

/* "127.0.0.1:8080", "[::1]:8080", ":8080" (all IPv4 addresses), "localhost:0". Numeric
 * addresses only (plus "localhost"), port 0..65535. */
int oks_parse_listen(const char *s, struct sockaddr_storage *addr, socklen_t *addr_len,
                     oks_err *err);

/* Write content to path atomically (temporary file + rename), for ready files. */
int oks_write_file_atomic(const char *path, const char *content, oks_err *err);

#endif
