/*
 * Fuzz entry point for ingest's request validation (ingest/ingest_request.h). The first byte
 * picks what the rest feeds: '0' the delivery body parser, '1' the router (method, url, host,
 * base domain separated by newlines), '2' the content-type check and the verification answer.
 * Besides not crashing, accepted bodies must give every event one verdict and only yield valid
 * envelopes and dead letters of subscribed types.
 */
#include "event/oks_event.h"
#include "oks_ingest_request.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        abort();
}

static void fuzz_body(const char *s, size_t n)
{
    static const oks_ingest_limits lim = {.max_body = 65536, .max_depth = 32, .max_events = 200};
    oks_ingest_batch b;
    oks_ingest_reject rej = {0};

    if (oks_ingest_body_parse(s, n, &lim, "7d1e0c1a-0000-4000-8000-000000000001", 0, &b, &rej) !=
        0) {
        check(rej.status == 400 || rej.status == 413 || rej.status == 503);
        check(b.msgs == NULL && b.n_msgs == 0);
        return;
    }
    /* Every event has one verdict; the messages are exactly the non-skipped ones. */
    size_t produce = 0, dead = 0, skipped = 0;
    for (size_t i = 0; i < b.n_events; i++) {
        oks_ingest_verdict v = b.verdicts[i];
        check((v.action == OKS_INGEST_PRODUCE) == (v.reason == OKS_INGEST_SKIP_NONE));
        produce += v.action == OKS_INGEST_PRODUCE;
        dead += v.action == OKS_INGEST_DEAD_LETTER;
        skipped += v.action != OKS_INGEST_PRODUCE;
    }
    check(b.n_msgs == produce + dead && b.n_dead_letters == dead && b.n_skipped == skipped);
    size_t by_reason = 0;
    for (int r = 0; r < OKS_INGEST_SKIP__COUNT; r++)
        by_reason += b.skipped[r];
    check(by_reason == skipped && b.skipped[OKS_INGEST_SKIP_NONE] == 0);
    for (size_t i = 0; i < b.n_msgs; i++) {
        check(oks_event_type_subscribed(b.msgs[i].event_type));
        if (b.msgs[i].dead_letter) { /* the fleet's dead-letter value, with the raw event */
            json_error_t je;
            json_t *dl = json_loadb(b.msgs[i].value, b.msgs[i].len, 0, &je);
            check(dl && json_is_string(json_object_get(dl, "value")));
            check(strcmp(json_string_value(json_object_get(dl, "reason")), b.msgs[i].dl_reason) ==
                  0);
            json_decref(dl);
            continue;
        }
        oks_event_envelope env;
        oks_err err = {0};
        check(oks_event_envelope_parse(b.msgs[i].value, b.msgs[i].len, &env, &err) == 0);
        check(oks_event_type_subscribed(env.event_type));
        check(strcmp(env.event_type, b.msgs[i].event_type) == 0);
        oks_event_envelope_free(&env);
    }
    oks_ingest_batch_free(&b);
}

/* Split s at newlines into up to 4 NUL-terminated fields (missing ones stay NULL). */
static void fuzz_route(char *s)
{
    char *f[4] = {0};
    char *save = NULL;
    int n = 0;
    for (char *p = strtok_r(s, "\n", &save); p && n < 4; p = strtok_r(NULL, "\n", &save))
        f[n++] = p;
    oks_ingest_route r;
    oks_ingest_reject rej = {0};
    if (oks_ingest_route_parse(f[0], f[1], f[2], f[3], &r, &rej) == 0) {
        check(r.subdomain[0] != '\0');
        check(strlen(r.subdomain) <= OKS_INGEST_SUBDOMAIN_MAX);
        check(r.kind == OKS_INGEST_VERIFY || r.kind == OKS_INGEST_DELIVERY);
    } else {
        check(rej.status == 404 || rej.status == 405);
    }
}

static void fuzz_headers(const char *s)
{
    oks_ingest_reject rej = {0};
    if (oks_ingest_check_content_type(s, &rej) != 0)
        check(rej.status == 415);
    char *v = oks_ingest_verification_body(s, &rej);
    if (v) {
        json_error_t e;
        json_t *j = json_loads(v, 0, &e);
        check(j && strcmp(json_string_value(json_object_get(j, "verification")), s) == 0);
        json_decref(j);
        free(v);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1 << 20)
        return 0;
    char *s = malloc(size); /* NUL-terminated copy of the payload after the mode byte */
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    switch (data[0] % 3) {
    case 0:
        fuzz_body(s, size - 1);
        break;
    case 1:
        fuzz_route(s);
        break;
    default:
        fuzz_headers(s);
        break;
    }
    free(s);
    return 0;
}
