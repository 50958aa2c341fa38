/*
 * oktasyncctl dlq list | dlq replay: the fleet's dead letters (format: docs/worker.md,
 * common/kafka/oks_kafka_dead_letter.h). Replaying produces the original value back to its
 * source_topic with the original key (and the tenant/type headers ingest sets), so the worker
 * deduplicates a replayed event by uuid like any redelivery. Ingest's dead letters carry a raw
 * LogEvent and an empty source_topic: they are listed as not replayable, with the reason.
 */
#include "oks_ctl.h"
#include "oks_ctl_kafka.h"

#include "core/oks_config.h"
#include "core/oks_time.h"
#include "kafka/oks_kafka_produce.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char LIST_HELP[] =
    "Usage: oktasyncctl dlq list [--tenant S] [--since TIME] [--until TIME] [--reason R]\n"
    "                            [--event UUID] [--limit N] [--json]\n\n"
    "Dead letters on the dead-letter topic (--dead-letter-topic), oldest first per partition.\n"
    "TIME is an ISO-8601 timestamp (2026-12-01T02:00:00Z) or a duration ago (90m, 2h, 7d).\n"
    "--reason matches the error class exactly (invalid, not_found, permanent, ...) or any part\n"
    "of the reason text. REPLAY says whether `dlq replay` can send it back, or why not.\n"
    "Exit status: 0; 1 Kafka or the database unreachable; 2 bad usage.\n";

static const char REPLAY_HELP[] =
    "Usage: oktasyncctl dlq replay (--tenant S | --since TIME | --until TIME | --event UUID |\n"
    "                               --all) [--reason R] [--dry-run] [--json]\n\n"
    "Produce the selected dead letters' original values back to their source topic with the\n"
    "original key; the worker deduplicates them by event uuid like any redelivery, so a replay\n"
    "done twice applies an event once. --dry-run lists what would go. Dead letters without a\n"
    "source topic (ingest's: a raw Okta event that never made an envelope) or whose value was\n"
    "cut are skipped and listed as not replayable.\n"
    "Exit status: 0 (also when some were not replayable: see the output); 1 a produce failed or\n"
    "Kafka/the database is unreachable; 2 bad usage.\n";

enum { SCAN_MAX = 1000000 };

typedef struct filter {
    const char *tenant_id, *reason, *event;
    int64_t since_ms, until_ms; /* INT64_MIN / INT64_MAX when not given */
} filter;

typedef struct dl {
    json_t *obj; /* the dead letter as listed */
    char *value; /* original bytes to replay (NULL when not replayable) */
    size_t value_len;
} dl;

typedef struct scan {
    const filter *f;
    dl *items;
    size_t n, cap, limit, total;
    bool oom;
} scan;

static bool parse_time(const char *s, int64_t *ms)
{
    int64_t ago;
    if (oks_time_parse_iso8601(s, ms))
        return true;
    if (oks_parse_duration_ms(s, &ago) && ago >= 0) {
        *ms = oks_now_wall_ms() - ago;
        return true;
    }
    return false;
}

static char *b64_decode(const char *in, size_t *out_len)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t len = strlen(in), n = 0;
    char *out = malloc(len / 4 * 3 + 3);
    if (!out)
        return NULL;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len && in[i] != '='; i++) {
        const char *p = strchr(tbl, in[i]);
        if (!p || !in[i]) {
            free(out);
            return NULL;
        }
        acc = acc << 6 | (uint32_t)(p - tbl);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (char)(acc >> bits & 0xff);
        }
    }
    *out_len = n;
    return out;
}

/* Build the listed object and the replayable value from one dead-letter message. */
static dl parse(const rd_kafka_message_t *m)
{
    dl d = {0};
    json_t *v = json_loadb(m->payload, m->len, 0, NULL);
    const char *topic = json_string_value(json_object_get(v, "source_topic"));
    const char *value = json_string_value(json_object_get(v, "value"));
    const char *b64 = json_string_value(json_object_get(v, "value_base64"));
    const char *why = NULL;
    if (!json_is_object(v))
        why = "not a dead-letter message (value is not JSON)";
    else if (!topic || !*topic)
        why = "no source topic: an ingest dead letter holds a raw Okta event, not an envelope";
    else if (json_is_true(json_object_get(v, "value_truncated")))
        why = "the original value was cut to fit the dead-letter topic";
    else if (!value && !b64)
        why = "no original value";
    if (!why && value) {
        d.value_len = json_string_length(json_object_get(v, "value"));
        d.value = malloc(d.value_len + 1);
        if (d.value)
            memcpy(d.value, value, d.value_len + 1);
    } else if (!why) {
        d.value = b64_decode(b64, &d.value_len);
        if (!d.value)
            why = "value_base64 does not decode";
    }
    /* the event inside: an envelope (tenant, event_uuid, event_type) or a raw LogEvent */
    json_t *ev = value ? json_loads(value, 0, NULL) : NULL;
    const char *uuid = json_string_value(json_object_get(ev, "event_uuid"));
    if (!uuid)
        uuid = json_string_value(json_object_get(ev, "uuid"));
    const char *type = json_string_value(json_object_get(ev, "event_type"));
    if (!type)
        type = json_string_value(json_object_get(ev, "eventType"));
    const char *tenant = json_string_value(json_object_get(ev, "tenant"));
    char key[128] = "";
    if (m->key && m->key_len < sizeof key)
        snprintf(key, sizeof key, "%.*s", (int)m->key_len, (const char *)m->key);
    d.obj = json_pack("{s:i, s:I, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:b, s:s?}",
                      "partition", (int)m->partition, "offset", (json_int_t)m->offset, "key", key,
                      "tenant", tenant ? tenant : (*key ? key : NULL), "failed_at",
                      json_string_value(json_object_get(v, "failed_at")), "error_class",
                      json_string_value(json_object_get(v, "error_class")), "reason",
                      json_string_value(json_object_get(v, "reason")), "source_topic",
                      topic && *topic ? topic : NULL, "event_uuid", uuid, "event_type", type,
                      "replayable", why == NULL, "not_replayable_because", why);
    json_decref(ev);
    json_decref(v);
    if (why) {
        free(d.value);
        d.value = NULL;
    }
    return d;
}

static bool matches(const filter *f, json_t *o)
{
    const char *tenant = json_string_value(json_object_get(o, "tenant"));
    const char *cls = json_string_value(json_object_get(o, "error_class"));
    const char *reason = json_string_value(json_object_get(o, "reason"));
    const char *uuid = json_string_value(json_object_get(o, "event_uuid"));
    const char *at = json_string_value(json_object_get(o, "failed_at"));
    int64_t at_ms;
    if (f->tenant_id && (!tenant || strcmp(tenant, f->tenant_id) != 0))
        return false;
    if (f->event && (!uuid || strcmp(uuid, f->event) != 0))
        return false;
    if (f->reason && !(cls && strcmp(cls, f->reason) == 0) &&
        !(reason && strstr(reason, f->reason)))
        return false;
    if (f->since_ms != INT64_MIN || f->until_ms != INT64_MAX) {
        if (!at || !oks_time_parse_iso8601(at, &at_ms))
            return false;
        if (at_ms < f->since_ms || at_ms >= f->until_ms)
            return false;
    }
    return true;
}

static int on_message(const rd_kafka_message_t *m, void *ud)
{
    scan *s = ud;
    s->total++;
    dl d = parse(m);
    if (!d.obj) {
        free(d.value);
        s->oom = true;
        return 1;
    }
    if (!matches(s->f, d.obj) || s->n >= s->limit) {
        json_decref(d.obj);
        free(d.value);
        return 0;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        dl *items = realloc(s->items, cap * sizeof *items);
        if (!items) {
            json_decref(d.obj);
            free(d.value);
            s->oom = true;
            return 1;
        }
        s->items = items;
        s->cap = cap;
    }
    s->items[s->n++] = d;
    return 0;
}

static void scan_free(scan *s)
{
    for (size_t i = 0; i < s->n; i++) {
        json_decref(s->items[i].obj);
        free(s->items[i].value);
    }
    free(s->items);
}

/* Options shared by list and replay → filter. Prints and returns 2 on a bad value. */
static int make_filter(oks_ctl *ctl, const oks_ctl_opt *o, size_t n, filter *f, char *tid,
                       size_t tid_cap)
{
    const char *since = oks_ctl_opt_get(o, n, "since"), *until = oks_ctl_opt_get(o, n, "until");
    *f = (filter){.reason = oks_ctl_opt_get(o, n, "reason"),
                  .event = oks_ctl_opt_get(o, n, "event"),
                  .since_ms = INT64_MIN,
                  .until_ms = INT64_MAX};
    if (since && !parse_time(since, &f->since_ms))
        return oks_ctl_fail(OKS_CTL_USAGE,
                            "invalid value for --since: \"%s\": expected an ISO-8601 time or a "
                            "duration ago like 2h",
                            since);
    if (until && !parse_time(until, &f->until_ms))
        return oks_ctl_fail(OKS_CTL_USAGE,
                            "invalid value for --until: \"%s\": expected an ISO-8601 time or a "
                            "duration ago like 2h",
                            until);
    const char *sub = oks_ctl_opt_get(o, n, "tenant");
    if (!sub)
        return OKS_CTL_OK;
    int rc = oks_ctl_connect(ctl);
    if (rc != OKS_CTL_OK)
        return rc;
    oks_err err = {0};
    const char *p[] = {sub};
    PGresult *r = oks_db_exec_params(ctl->db, "SELECT id::text FROM tenants WHERE subdomain = $1",
                                     1, p, &err);
    if (!r)
        return oks_ctl_fail_err(&err, "looking up the tenant");
    if (PQntuples(r) == 0) {
        PQclear(r);
        return oks_ctl_fail(OKS_CTL_FAILED, "tenant '%s' not found", sub);
    }
    snprintf(tid, tid_cap, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    f->tenant_id = tid;
    return OKS_CTL_OK;
}

#define DLQ_OPTS                                                                                   \
    {"tenant", false, NULL}, {"since", false, NULL}, {"until", false, NULL},                       \
        {"reason", false, NULL},                                                                   \
    {                                                                                              \
        "event", false, NULL                                                                       \
    }

static void print_line(json_t *o, const char *prefix)
{
    const char *why = json_string_value(json_object_get(o, "not_replayable_because"));
    const char *uuid = json_string_value(json_object_get(o, "event_uuid"));
    const char *tenant = json_string_value(json_object_get(o, "tenant"));
    const char *at = json_string_value(json_object_get(o, "failed_at"));
    const char *cls = json_string_value(json_object_get(o, "error_class"));
    char where[48];
    snprintf(where, sizeof where, "%" JSON_INTEGER_FORMAT "@%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(o, "partition")),
             json_integer_value(json_object_get(o, "offset")));
    printf("%s%-12s %-24s %-36s %-10s %-36s %s: %s\n", prefix, where, at ? at : "-",
           tenant ? tenant : "-", cls ? cls : "-", uuid ? uuid : "-",
           why ? "not replayable" : "replayable",
           why ? why : json_string_value(json_object_get(o, "reason")));
}

static int list(oks_ctl *ctl, int argc, char **argv)
{
    oks_ctl_opt opts[] = {DLQ_OPTS, {"limit", false, NULL}};
    const size_t no = sizeof opts / sizeof opts[0];
    bool done;
    filter f;
    char tid[40];
    int64_t limit = 100;
    int n_pos, rc = oks_ctl_parse(ctl, "oktasyncctl dlq list", LIST_HELP, argc, argv, opts, no,
                                  NULL, 0, &n_pos, &done);
    if (rc != OKS_CTL_OK || done)
        return rc;
    const char *l = oks_ctl_opt_get(opts, no, "limit");
    if (l && (!oks_parse_int64(l, &limit) || limit < 1 || limit > 100000))
        return oks_ctl_fail(OKS_CTL_USAGE, "invalid value for --limit: \"%s\": expected 1..100000",
                            l);
    if ((rc = make_filter(ctl, opts, no, &f, tid, sizeof tid)) != OKS_CTL_OK)
        return rc;
    scan s = {.f = &f, .limit = (size_t)limit};
    oks_err err = {0};
    if (oks_ctl_kafka_scan(ctl, ctl->cfg.dead_letter_topic, SCAN_MAX, on_message, &s, &err) != 0 ||
        s.oom) {
        scan_free(&s);
        return s.oom ? oks_ctl_fail(OKS_CTL_FAILED, "out of memory")
                     : oks_ctl_fail_err(&err, "dlq list");
    }
    if (ctl->json) {
        json_t *a = json_array();
        for (size_t i = 0; i < s.n; i++)
            json_array_append(a, s.items[i].obj);
        oks_ctl_print_json(a);
        json_decref(a);
    } else {
        printf("%zu of %zu dead letters on %s match\n", s.n, s.total, ctl->cfg.dead_letter_topic);
        if (s.n)
            printf("%-12s %-24s %-36s %-10s %-36s %s\n", "PART@OFFSET", "FAILED AT", "TENANT",
                   "CLASS", "EVENT UUID", "REPLAY: REASON");
        for (size_t i = 0; i < s.n; i++)
            print_line(s.items[i].obj, "");
    }
    scan_free(&s);
    return OKS_CTL_OK;
}

static int replay(oks_ctl *ctl, int argc, char **argv)
{
    oks_ctl_opt opts[] = {DLQ_OPTS, {"all", true, NULL}, {"dry-run", true, NULL}};
    const size_t no = sizeof opts / sizeof opts[0];
    bool done;
    filter f;
    char tid[40];
    int n_pos, rc = oks_ctl_parse(ctl, "oktasyncctl dlq replay", REPLAY_HELP, argc, argv, opts, no,
                                  NULL, 0, &n_pos, &done);
    if (rc != OKS_CTL_OK || done)
        return rc;
    if (!oks_ctl_opt_get(opts, no, "tenant") && !oks_ctl_opt_get(opts, no, "since") &&
        !oks_ctl_opt_get(opts, no, "until") && !oks_ctl_opt_get(opts, no, "event") &&
        !oks_ctl_opt_get(opts, no, "all"))
        return oks_ctl_fail(OKS_CTL_USAGE, "dlq replay needs --tenant, --since, --until, --event "
                                           "or --all (see oktasyncctl dlq replay --help)");
    bool dry = oks_ctl_opt_get(opts, no, "dry-run") != NULL;
    if ((rc = make_filter(ctl, opts, no, &f, tid, sizeof tid)) != OKS_CTL_OK)
        return rc;
    scan s = {.f = &f, .limit = SCAN_MAX};
    oks_err err = {0};
    if (oks_ctl_kafka_scan(ctl, ctl->cfg.dead_letter_topic, SCAN_MAX, on_message, &s, &err) != 0 ||
        s.oom) {
        scan_free(&s);
        return s.oom ? oks_ctl_fail(OKS_CTL_FAILED, "out of memory")
                     : oks_ctl_fail_err(&err, "dlq replay");
    }
    rd_kafka_t *p = NULL;
    if (!dry && !(p = oks_kafka_wait_producer_new(ctl->cfg.kafka_brokers, ctl->cfg.kafka_config,
                                                  (int)ctl->cfg.produce_timeout_ms,
                                                  "replay producer", &err))) {
        scan_free(&s);
        return oks_ctl_fail_err(&err, "dlq replay");
    }
    size_t sent = 0, skipped = 0;
    json_t *out = json_array();
    for (size_t i = 0; i < s.n && rc == OKS_CTL_OK; i++) {
        json_t *o = s.items[i].obj;
        const char *topic = json_string_value(json_object_get(o, "source_topic"));
        const char *key = json_string_value(json_object_get(o, "key"));
        const char *tenant = json_string_value(json_object_get(o, "tenant"));
        const char *type = json_string_value(json_object_get(o, "event_type"));
        const char *state = "would replay";
        if (!s.items[i].value) {
            state = "not replayable";
            skipped++;
        } else if (!dry) {
            oks_kafka_header h[2];
            size_t nh = 0;
            if (tenant)
                h[nh++] = (oks_kafka_header){"tenant", tenant};
            if (type)
                h[nh++] = (oks_kafka_header){"type", type};
            if (oks_kafka_produce_wait(p, topic, key, strlen(key), s.items[i].value,
                                       s.items[i].value_len, h, nh, &err) != 0) {
                rc = oks_ctl_fail_err(&err, "dlq replay (the ones listed before went)");
                break;
            }
            state = "replayed";
            sent++;
        } else {
            sent++;
        }
        json_object_set_new(o, "replay", json_string(state));
        json_array_append(out, o);
        if (!ctl->json) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "%-15s ", state);
            print_line(o, prefix);
        }
    }
    if (p) {
        rd_kafka_flush(p, (int)ctl->cfg.produce_timeout_ms);
        rd_kafka_destroy(p);
    }
    if (rc == OKS_CTL_OK) {
        if (ctl->json)
            oks_ctl_print_json(out);
        else
            printf("%zu %s, %zu not replayable\n", sent, dry ? "would be replayed" : "replayed",
                   skipped);
    }
    json_decref(out);
    scan_free(&s);
    return rc;
}

int oks_ctl_cmd_dlq(oks_ctl *ctl, int argc, char **argv)
{
    if (argc < 1)
        return oks_ctl_fail(OKS_CTL_USAGE, "missing dlq subcommand: list or replay");
    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        fputs(LIST_HELP, stdout);
        fputs("\n", stdout);
        fputs(REPLAY_HELP, stdout);
        return OKS_CTL_OK;
    }
    if (strcmp(argv[0], "list") == 0)
        return list(ctl, argc - 1, argv + 1);
    if (strcmp(argv[0], "replay") == 0)
        return replay(ctl, argc - 1, argv + 1);
    return oks_ctl_fail(OKS_CTL_USAGE, "unknown dlq subcommand '%s' (list, replay)", argv[0]);
}
