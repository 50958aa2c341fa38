/*
 * oktasyncctl lag: how far behind the fleet is, per events partition (the workers' committed
 * offset vs the high watermark, in messages, and the age of the first unconsumed message) and
 * per tenant (dirty users waiting for the reconciler, the age of the oldest unapplied change,
 * the tenant's Okta fault), each OK / WARN / STALLED against thresholds given as flags.
 * The group is never joined and nothing is committed (oks_ctl_kafka.c).
 */
#include "oks_ctl.h"
#include "oks_ctl_kafka.h"

#include "core/oks_config.h"
#include "core/oks_time.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char HELP[] =
    "Usage: oktasyncctl lag [--tenant S] [--warn-messages N] [--warn-age D] [--stall-age D]\n"
    "                       [--json]\n\n"
    "Per partition of --events-topic: the workers' (--group-id) committed offset, the high\n"
    "watermark, the lag in messages and the age of the oldest unconsumed message. Per tenant:\n"
    "dirty users pending, the age of the oldest unapplied change, and the tenant's Okta fault.\n"
    "Status: STALLED when the age reaches --stall-age (default 10m) or the tenant is parked\n"
    "(credentials_invalid, not_connected); WARN when the age reaches --warn-age (default 1m)\n"
    "or the backlog reaches --warn-messages (default 10000), or the tenant has another fault;\n"
    "OK otherwise.\n"
    "Exit status: 0 all OK; 6 something is WARN; 7 something is STALLED; 1 Kafka or the\n"
    "database unreachable; 2 bad usage.\n";

typedef struct limits {
    int64_t warn_msgs, warn_age_ms, stall_age_ms;
} limits;

static const char *grade(const limits *l, int64_t backlog, int64_t age_ms, const char *fault)
{
    if (fault && (strcmp(fault, "credentials_invalid") == 0 || strcmp(fault, "not_connected") == 0))
        return "STALLED";
    if (age_ms >= l->stall_age_ms)
        return "STALLED";
    if (fault || age_ms >= l->warn_age_ms || backlog >= l->warn_msgs)
        return "WARN";
    return "OK";
}

/* Age of the message at each lagging partition's committed offset (its Kafka timestamp). */
static void read_ages(const oks_ctl *ctl, rd_kafka_t *rk, const char *topic, const int64_t *from,
                      const int64_t *hi, int n, int64_t *age_ms)
{
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(n);
    int want = 0;
    for (int p = 0; p < n; p++)
        if (from[p] < hi[p]) {
            rd_kafka_topic_partition_list_add(parts, topic, p)->offset = from[p];
            want++;
        }
    if (want && rd_kafka_assign(rk, parts) == 0) {
        int64_t deadline = oks_now_mono_ms() + ctl->cfg.kafka_timeout_ms;
        while (want > 0 && oks_now_mono_ms() < deadline) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
            if (!m)
                continue;
            int p = m->partition;
            if (!m->err && p >= 0 && p < n && age_ms[p] < 0) {
                rd_kafka_timestamp_type_t tt;
                int64_t ts = rd_kafka_message_timestamp(m, &tt);
                age_ms[p] = ts > 0 ? oks_now_wall_ms() - ts : 0;
                if (age_ms[p] < 0)
                    age_ms[p] = 0;
                want--;
            }
            rd_kafka_message_destroy(m);
        }
        rd_kafka_assign(rk, NULL);
    }
    rd_kafka_topic_partition_list_destroy(parts);
}

static int partitions(oks_ctl *ctl, const limits *l, json_t *out, oks_err *err)
{
    const char *topic = ctl->cfg.events_topic;
    int tmo = (int)ctl->cfg.kafka_timeout_ms;
    rd_kafka_t *rk = oks_ctl_kafka_reader(ctl, ctl->cfg.group_id, err);
    if (!rk)
        return -1;
    int rc = -1, n = oks_ctl_kafka_partitions(rk, topic, tmo, err);
    int64_t *lo = NULL, *hi = NULL, *from = NULL, *age = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (n <= 0)
        goto out;
    lo = calloc((size_t)n, sizeof *lo);
    hi = calloc((size_t)n, sizeof *hi);
    from = calloc((size_t)n, sizeof *from);
    age = calloc((size_t)n, sizeof *age);
    parts = rd_kafka_topic_partition_list_new(n);
    if (!lo || !hi || !from || !age || !parts) {
        oks_err_set(err, OKS_E_NOMEM, "out of memory");
        goto out;
    }
    for (int p = 0; p < n; p++) {
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, topic, p, &lo[p], &hi[p], tmo);
        if (e) {
            oks_err_set(err, OKS_E_UNAVAILABLE, "kafka offsets of %s[%d]: %s", topic, p,
                        rd_kafka_err2str(e));
            goto out;
        }
        rd_kafka_topic_partition_list_add(parts, topic, p);
        age[p] = -1;
    }
    rd_kafka_resp_err_t e = rd_kafka_committed(rk, parts, tmo);
    if (e) {
        oks_err_set(err, OKS_E_UNAVAILABLE, "committed offsets of group %s: %s", ctl->cfg.group_id,
                    rd_kafka_err2str(e));
        goto out;
    }
    for (int i = 0; i < parts->cnt; i++) {
        int p = parts->elems[i].partition;
        int64_t c = parts->elems[i].offset;
        from[p] = c >= 0 ? (c < lo[p] ? lo[p] : c) : lo[p];
    }
    read_ages(ctl, rk, topic, from, hi, n, age);
    for (int i = 0; i < parts->cnt; i++) {
        int p = parts->elems[i].partition;
        int64_t c = parts->elems[i].offset, backlog = hi[p] - from[p];
        int64_t a = backlog > 0 ? (age[p] >= 0 ? age[p] : l->stall_age_ms) : 0;
        json_array_append_new(
            out, json_pack("{s:i, s:o, s:I, s:I, s:I, s:s}", "partition", p, "committed",
                           c >= 0 ? json_integer(c) : json_null(), "high_watermark",
                           (json_int_t)hi[p], "lag_messages", (json_int_t)backlog, "age_seconds",
                           (json_int_t)(a / 1000), "status", grade(l, backlog, a, NULL)));
    }
    rc = 0;
out:
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    free(lo);
    free(hi);
    free(from);
    free(age);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}

static int tenants(oks_ctl *ctl, const char *sub, const limits *l, json_t *out, oks_err *err)
{
    const char *p[] = {sub};
    PGresult *r = oks_db_exec_params(
        ctl->db,
        "SELECT t.subdomain, (SELECT count(*) FROM dirty_users d WHERE d.tenant_id = t.id), "
        " coalesce((SELECT (extract(epoch FROM now() - min(d.first_marked_at)) * 1000)::bigint "
        "  FROM dirty_users d WHERE d.tenant_id = t.id), 0), s.fault, s.fault_reason "
        "FROM tenants t LEFT JOIN tenant_okta_state s ON s.tenant_id = t.id "
        "WHERE ($1::text IS NULL OR t.subdomain = $1) ORDER BY t.subdomain",
        1, p, err);
    if (!r)
        return -1;
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        int64_t dirty = strtoll(PQgetvalue(r, i, 1), NULL, 10);
        int64_t age = strtoll(PQgetvalue(r, i, 2), NULL, 10);
        const char *fault = PQgetisnull(r, i, 3) ? NULL : PQgetvalue(r, i, 3);
        json_array_append_new(out, json_pack("{s:s, s:I, s:I, s:s?, s:s?, s:s}", "subdomain",
                                             PQgetvalue(r, i, 0), "dirty_users", (json_int_t)dirty,
                                             "oldest_change_age_seconds", (json_int_t)(age / 1000),
                                             "fault", fault, "fault_reason",
                                             PQgetisnull(r, i, 4) ? NULL : PQgetvalue(r, i, 4),
                                             "status", grade(l, dirty, age, fault)));
    }
    PQclear(r);
    if (sub && n == 0)
        return oks_err_set(err, OKS_E_NOTFOUND, "tenant '%s' not found", sub);
    return 0;
}

static int worst(json_t *list, int rc)
{
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x)
    {
        const char *st = json_string_value(json_object_get(x, "status"));
        if (strcmp(st, "STALLED") == 0)
            rc = OKS_CTL_LAG_STALLED;
        else if (strcmp(st, "WARN") == 0 && rc == OKS_CTL_OK)
            rc = OKS_CTL_LAG_WARN;
    }
    return rc;
}

static bool duration_opt(const char *name, const char *v, int64_t *out)
{
    if (!v)
        return true;
    if (oks_parse_duration_ms(v, out) && *out > 0)
        return true;
    oks_ctl_fail(OKS_CTL_USAGE, "invalid value for --%s: \"%s\": expected a duration like 5m", name,
                 v);
    return false;
}

int oks_ctl_cmd_lag(oks_ctl *ctl, int argc, char **argv)
{
    oks_ctl_opt opts[] = {{"tenant", false, NULL},
                          {"warn-messages", false, NULL},
                          {"warn-age", false, NULL},
                          {"stall-age", false, NULL}};
    bool done;
    limits l = {10000, 60000, 600000};
    int n_pos, rc = oks_ctl_parse(ctl, "oktasyncctl lag", HELP, argc, argv, opts, 4, NULL, 0,
                                  &n_pos, &done);
    if (rc != OKS_CTL_OK || done)
        return rc;
    if (opts[1].value && (!oks_parse_int64(opts[1].value, &l.warn_msgs) || l.warn_msgs < 1))
        return oks_ctl_fail(OKS_CTL_USAGE,
                            "invalid value for --warn-messages: \"%s\": expected a whole number "
                            ">= 1",
                            opts[1].value);
    if (!duration_opt("warn-age", opts[2].value, &l.warn_age_ms) ||
        !duration_opt("stall-age", opts[3].value, &l.stall_age_ms))
        return OKS_CTL_USAGE;
    if (l.stall_age_ms < l.warn_age_ms)
        return oks_ctl_fail(OKS_CTL_USAGE, "--stall-age must not be below --warn-age");
    if ((rc = oks_ctl_connect(ctl)) != OKS_CTL_OK)
        return rc;
    oks_err err = {0};
    json_t *parts = json_array(), *ts = json_array();
    if (tenants(ctl, opts[0].value, &l, ts, &err) != 0 || partitions(ctl, &l, parts, &err) != 0) {
        json_decref(parts);
        json_decref(ts);
        return oks_ctl_fail_err(&err, "lag");
    }
    rc = worst(ts, worst(parts, OKS_CTL_OK));
    if (ctl->json) {
        json_t *o = json_pack("{s:s, s:s, s:o, s:o}", "topic", ctl->cfg.events_topic, "group",
                              ctl->cfg.group_id, "partitions", parts, "tenants", ts);
        oks_ctl_print_json(o);
        json_decref(o);
        return rc;
    }
    printf("%s, group %s\n%-9s %12s %12s %10s %8s %s\n", ctl->cfg.events_topic, ctl->cfg.group_id,
           "PARTITION", "COMMITTED", "HIGH", "LAG", "AGE(s)", "STATUS");
    size_t i;
    json_t *x;
    json_array_foreach(parts, i, x)
    {
        json_t *c = json_object_get(x, "committed");
        char cs[24] = "-";
        if (json_is_integer(c))
            snprintf(cs, sizeof cs, "%" JSON_INTEGER_FORMAT, json_integer_value(c));
        printf("%-9" JSON_INTEGER_FORMAT " %12s %12" JSON_INTEGER_FORMAT " %10" JSON_INTEGER_FORMAT
               " %8" JSON_INTEGER_FORMAT " %s\n",
               json_integer_value(json_object_get(x, "partition")), cs,
               json_integer_value(json_object_get(x, "high_watermark")),
               json_integer_value(json_object_get(x, "lag_messages")),
               json_integer_value(json_object_get(x, "age_seconds")),
               json_string_value(json_object_get(x, "status")));
    }
    printf("\n%-24s %10s %8s %-8s %s\n", "TENANT", "DIRTY", "AGE(s)", "STATUS", "FAULT");
    json_array_foreach(ts, i, x)
    {
        json_t *f = json_object_get(x, "fault");
        printf("%-24s %10" JSON_INTEGER_FORMAT " %8" JSON_INTEGER_FORMAT " %-8s %s\n",
               json_string_value(json_object_get(x, "subdomain")),
               json_integer_value(json_object_get(x, "dirty_users")),
               json_integer_value(json_object_get(x, "oldest_change_age_seconds")),
               json_string_value(json_object_get(x, "status")),
               json_is_string(f) ? json_string_value(f) : "");
    }
    json_decref(parts);
    json_decref(ts);
    return rc;
}
