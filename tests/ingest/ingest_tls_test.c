/* ingest serving HTTPS (libmicrohttpd + GnuTLS) with a self-signed certificate made here. */
#include "ingest_harness.h"
#include "oks_test.h"

#include <stdio.h>
#include <stdlib.h>

static const char *const DEACT[] = {"user.lifecycle.deactivate"};

OKS_TEST(https_verification_and_delivery)
{
    char dir[] = "/tmp/oks-tls-XXXXXX", cmd[1024], cert[128], key[128], a_cert[160], a_key[160];
    char url[256];
    PGconn *db;
    ih_proc ing;
    ih_resp r;
    char tenant[64];

    OKS_ASSERT(mkdtemp(dir) != NULL);
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s 2>/dev/null",
             key, cert);
    OKS_ASSERT_EQ_INT(system(cmd), 0);

    const char *brokers = oks_test_service("OKTASYNC_KAFKA_BROKERS");
    char *db_url = ih_db_fresh(&db);
    const char *topic = oks_test_unique("ingest-tls");
    ih_topic_create_shared(topic);
    const char *sub = ih_subdomain("tls");
    ih_db_add_tenant(db, sub, "tls-secret", tenant);
    snprintf(a_cert, sizeof(a_cert), "--tls-cert=%s", cert);
    snprintf(a_key, sizeof(a_key), "--tls-key=%s", key);
    const char *args[] = {a_cert, a_key, NULL};
    ih_ingest_start(&ing, db_url, brokers, topic, args);

    snprintf(url, sizeof(url), "https://%s/webhooks/okta/%s", ing.http, sub);
    const char *vh[] = {"Authorization: tls-secret", "x-okta-verification-challenge: over-tls",
                        NULL};
    ih_req rq = {.url = url, .headers = vh, .cainfo = cert};
    ih_http(&rq, &r);
    OKS_ASSERT_EQ_INT(r.status, 200);
    OKS_ASSERT_EQ_STR(r.body, "{\"verification\":\"over-tls\"}");

    int64_t before = ih_topic_count(brokers, topic);
    char *body = ih_body(oks_test_unique("tls"), 2, DEACT, 1);
    const char *ph[] = {"Authorization: tls-secret", "Content-Type: application/json", NULL};
    ih_req post = {.method = "POST", .url = url, .headers = ph, .body = body, .cainfo = cert};
    ih_http(&post, &r);
    OKS_ASSERT_EQ_INT(r.status, 200);
    OKS_ASSERT_EQ_INT(ih_topic_count(brokers, topic), before + 2);

    /* Plain HTTP to the TLS port gets no HTTP answer. */
    snprintf(url, sizeof(url), "http://%s/webhooks/okta/%s", ing.http, sub);
    ih_req plain = {.url = url, .headers = vh, .timeout_ms = 3000};
    ih_http(&plain, &r);
    OKS_ASSERT(r.status != 200);

    free(body);
    PQfinish(db);
    free(db_url);
    OKS_ASSERT_EQ_INT(ih_proc_stop(&ing, 10000), 0);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    OKS_ASSERT_EQ_INT(system(cmd), 0);
}

/* Start-up checks the settings table cannot express: one line naming the setting, exit 2. */
OKS_TEST(bad_tls_and_listen_settings_exit_2)
{
    char line[512];
    const char *half[] = {"--database-url=postgresql://x@127.0.0.1:1/x", "--kafka-brokers=x:1",
                          "--tls-cert=/etc/hostname", NULL};
    OKS_ASSERT_EQ_INT(ih_ingest_run(half, line, sizeof(line)), 2);
    OKS_ASSERT_CONTAINS(line, "oktasync-ingest: invalid value for --tls-key (OKTASYNC_TLS_KEY)");

    const char *missing[] = {"--database-url=postgresql://x@127.0.0.1:1/x", "--kafka-brokers=x:1",
                             "--tls-cert=/nonexistent/c.pem", "--tls-key=/nonexistent/k.pem", NULL};
    OKS_ASSERT_EQ_INT(ih_ingest_run(missing, line, sizeof(line)), 2);
    OKS_ASSERT_CONTAINS(line, "--tls-cert (OKTASYNC_TLS_CERT)");

    const char *listen[] = {"--database-url=postgresql://x@127.0.0.1:1/x", "--kafka-brokers=x:1",
                            "--http-listen=no-port-here", NULL};
    OKS_ASSERT_EQ_INT(ih_ingest_run(listen, line, sizeof(line)), 2);
    OKS_ASSERT_CONTAINS(line, "--http-listen (OKTASYNC_HTTP_LISTEN)");
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
