/*
 * The webhook listener: libmicrohttpd on its internal polling thread(s), with
 * suspend/resume so a request waiting for Kafka acknowledgements holds no thread.
 */
#ifndef OKS_INGEST_HTTP_H
#define OKS_INGEST_HTTP_H

#include "core/oks_err.h"
#include "oks_ingest_producer.h"
#include "oks_ingest_request.h"
#include "oks_ingest_tenants.h"

#include <stddef.h>
#include <stdint.h>

typedef struct oks_ingest_http_opts {
    const char *listen;      /* "host:port", port 0 = pick a free one */
    const char *base_domain; /* tenant from Host "<sub>.<base_domain>"; "" disables */
    oks_ingest_limits limits;
    size_t max_header_bytes;  /* libmicrohttpd per-connection memory (headers must fit) */
    unsigned max_headers;     /* header count; more → 431 */
    unsigned max_connections; /* concurrent connections */
    unsigned max_in_flight;   /* concurrent webhook requests; more → 503 */
    unsigned threads;         /* libmicrohttpd threads */
    unsigned conn_timeout_s;  /* idle connection timeout */
    int64_t ack_deadline_ms;  /* answer 503 when acks take longer */
    const char *tls_cert_pem; /* both set → HTTPS */
    const char *tls_key_pem;
    oks_ingest_tenants *tenants;
    oks_ingest_producer *producer;
} oks_ingest_http_opts;

typedef struct oks_ingest_http oks_ingest_http;

/* opts and the strings it points to must outlive the listener. */
oks_ingest_http *oks_ingest_http_start(const oks_ingest_http_opts *opts, oks_err *err);
int oks_ingest_http_port(const oks_ingest_http *h);
/* Stop accepting new connections; requests already in progress continue. */
void oks_ingest_http_quiesce(oks_ingest_http *h);
/* Webhook requests accepted and not yet completed. */
int oks_ingest_http_in_flight(oks_ingest_http *h);
void oks_ingest_http_stop(oks_ingest_http *h);

/* Split "host:port" (IPv4 or hostname; "[v6]:port" too) into a bound listening socket. */
int oks_ingest_listen_socket(const char *addr, int *port_out, oks_err *err);

#endif
