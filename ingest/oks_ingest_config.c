#include "oks_ingest_config.h"
#include "core/oks_config_common.h"

#define C oks_ingest_cfg
static const oks_cfg_entry entries[] = {
    OKS_CFG_LOG_LEVEL(C, "info"),
    OKS_CFG_ADMIN_LISTEN(C, "127.0.0.1:9101"),
    OKS_CFG_STR("http-listen", C, http_listen, "0.0.0.0:8080", 0,
                "host:port of the webhook endpoint (port 0 picks a free port)"),
    OKS_CFG_READY_FILE(C,
                       "Written once start-up is done: lines admin=HOST:PORT and http=HOST:PORT"),
    OKS_CFG_DATABASE_URL(C),
    OKS_CFG_KAFKA(C),
    OKS_CFG_STR("kafka-topic", C, kafka_topic, "events", 0, "Topic for event messages"),
    OKS_CFG_STR("dead-letter-topic", C, dead_letter_topic, "dead-letter", OKS_CFG_REQUIRED,
                "Topic for subscribed events that cannot be produced (no uuid, no User target)"),
    OKS_CFG_STR(
        "base-domain", C, base_domain, "", 0,
        "Tenant from Host <subdomain>.<base-domain>; empty: path /webhooks/okta/<sub> only"),
    OKS_CFG_STR("tls-cert", C, tls_cert, "", 0, "PEM certificate file; with tls-key serves HTTPS"),
    OKS_CFG_STR("tls-key", C, tls_key, "", 0, "PEM private key file"),
    OKS_CFG_DURATION("ack-deadline", C, ack_deadline_ms, "2s", 50, 60000,
                     "Answer 503 when Kafka has not acknowledged a request's events by then "
                     "(Okta waits 3 s)"),
    OKS_CFG_SIZE("max-body", C, max_body, "1MiB", 1024, 64 * 1024 * 1024,
                 "Largest request body; larger gets 413"),
    OKS_CFG_INT("max-json-depth", C, max_json_depth, "32", 4, 1000,
                "Deepest JSON nesting accepted; deeper gets 400"),
    OKS_CFG_INT("max-events", C, max_events, "10000", 1, 1000000,
                "Most events in one request; more gets 400"),
    OKS_CFG_SIZE("max-header-bytes", C, max_header_bytes, "32KiB", 4096, 1024 * 1024,
                 "Per-connection memory for the request line and headers (libmicrohttpd)"),
    OKS_CFG_INT("max-headers", C, max_headers, "64", 4, 10000, "Most headers; more gets 431"),
    OKS_CFG_INT("max-connections", C, max_connections, "1024", 1, 100000,
                "Concurrent connections (libmicrohttpd refuses more)"),
    OKS_CFG_INT("max-in-flight", C, max_in_flight, "512", 1, 100000,
                "Concurrent webhook requests being processed; more gets 503"),
    OKS_CFG_INT("http-threads", C, http_threads, "2", 1, 64, "libmicrohttpd threads"),
    OKS_CFG_DURATION("connection-timeout", C, connection_timeout_ms, "30s", 1000, 3600000,
                     "Idle connection timeout"),
    OKS_CFG_DURATION("tenant-poll-interval", C, tenant_poll_ms, "2s", 100, 5000,
                     "Tenant cache reload interval besides LISTEN oktasync_tenants"),
    OKS_CFG_DURATION("startup-wait", C, startup_wait_ms, "5s", 0, 600000,
                     "How long start-up waits for the first tenant load"),
    OKS_CFG_DURATION("shutdown-flush-timeout", C, shutdown_flush_ms, "5s", 0, 600000,
                     "How long shutdown waits for the producer to flush"),
};
#undef C

const oks_cfg_program oks_ingest_program = OKS_CFG_PROGRAM(
    "oktasync-ingest", "Okta event-hook receiver: webhooks in, Kafka messages out", NULL, entries);
