/* oktasyncctl invitations {list,mark-sent}: the invitation outbox as the sending system sees
 * it. The worker writes one row per user, ever (docs/rules.md); a sender reads the pending
 * rows, sends, and marks them sent. Marking is idempotent so a sender that crashed after
 * sending can simply mark again. */
#include "oks_ctl.h"

#include "core/oks_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char HELP[] =
    "Usage: oktasyncctl invitations SUBCOMMAND ...\n\n"
    "  list [--tenant S] [--status pending|sent] [--limit N] [--json]\n"
    "        invitations, oldest first (default: every status, at most 1000 rows)\n"
    "  mark-sent ID... [--json]\n"
    "        mark invitations sent; already sent ones are reported and left as they are.\n"
    "        All or nothing: an unknown ID changes nothing (exit 1).\n\n"
    "Each row carries what a sender needs: id, tenant (subdomain and id), user (platform id\n"
    "and Okta id), email, status, created and sent times. Marking is audited.\n";

#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const char LIST_SQL[] =
    "SELECT coalesce(jsonb_agg(jsonb_build_object('id', i.id, 'tenant', t.subdomain, "
    "'tenant_id', i.tenant_id, 'user_id', i.user_id, 'okta_id', u.okta_id, 'email', i.email, "
    "'status', i.status, 'created_at', " ISO("i.created_at") ", 'sent_at', " ISO(
        "i.sent_at") ") ORDER BY i.created_at, i.id), '[]'::jsonb)::text FROM (SELECT * FROM "
                     "invitations WHERE ($1::text IS NULL OR status = $1) AND tenant_id = "
                     "coalesce($3::uuid, tenant_id) ORDER BY created_at, id LIMIT $2::int) i "
                     "JOIN tenants t ON t.id = i.tenant_id JOIN users u ON u.tenant_id = "
                     "i.tenant_id AND u.id = i.user_id";

static int list(oks_ctl *ctl, int argc, char **argv)
{
    oks_ctl_opt opts[] = {{"tenant", false, NULL}, {"status", false, NULL}, {"limit", false, NULL}};
    const size_t n = sizeof opts / sizeof opts[0];
    bool done;
    int n_pos, rc = oks_ctl_parse(ctl, "oktasyncctl invitations list", HELP, argc, argv, opts, n,
                                  NULL, 0, &n_pos, &done);
    if (rc != OKS_CTL_OK || done)
        return rc;
    const char *tenant = oks_ctl_opt_get(opts, n, "tenant");
    const char *status = oks_ctl_opt_get(opts, n, "status");
    const char *limit = oks_ctl_opt_get(opts, n, "limit");
    char why[128];
    int64_t lim = 1000;
    if (tenant && !oks_ctl_valid_subdomain(tenant, why, sizeof why))
        return oks_ctl_fail(OKS_CTL_USAGE, "invalid value for --tenant: \"%s\": %s", tenant, why);
    if (status && strcmp(status, "pending") != 0 && strcmp(status, "sent") != 0)
        return oks_ctl_fail(OKS_CTL_USAGE,
                            "invalid value for --status: \"%s\": expected pending or sent", status);
    if (limit && (!oks_parse_int64(limit, &lim) || lim < 1 || lim > 100000))
        return oks_ctl_fail(OKS_CTL_USAGE,
                            "invalid value for --limit: \"%s\": expected a whole number 1..100000",
                            limit);
    if ((rc = oks_ctl_connect(ctl)) != OKS_CTL_OK)
        return rc;
    oks_err err = {0};
    char tenant_id[64] = "", lim_s[24];
    if (tenant) {
        const char *p[] = {tenant};
        PGresult *r = oks_db_exec_params(
            ctl->db, "SELECT id::text FROM tenants WHERE subdomain = $1", 1, p, &err);
        if (!r)
            return oks_ctl_fail_err(&err, "reading the tenant");
        if (PQntuples(r) == 1)
            snprintf(tenant_id, sizeof tenant_id, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
        if (!tenant_id[0])
            return oks_ctl_fail(OKS_CTL_FAILED, "no tenant with subdomain '%s'", tenant);
    }
    snprintf(lim_s, sizeof lim_s, "%lld", (long long)lim);
    const char *p[] = {status, lim_s, tenant_id[0] ? tenant_id : NULL};
    PGresult *r = oks_db_exec_params(ctl->db, LIST_SQL, 3, p, &err);
    if (!r)
        return oks_ctl_fail_err(&err, "listing invitations");
    json_t *rows = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    if (!json_is_array(rows)) {
        json_decref(rows);
        return oks_ctl_fail(OKS_CTL_FAILED,
                            "listing invitations: unexpected JSON from the database");
    }
    if (ctl->json) {
        oks_ctl_print_json(rows);
    } else if (json_array_size(rows) == 0) {
        puts("no invitations");
    } else {
        printf("%-10s %-24s %-20s %-36s %-8s %-20s %s\n", "ID", "TENANT", "OKTA USER", "EMAIL",
               "STATUS", "CREATED", "SENT");
        size_t i;
        json_t *v;
        json_array_foreach(rows, i, v)
        {
            json_t *email = json_object_get(v, "email"), *sent = json_object_get(v, "sent_at");
            printf("%-10lld %-24s %-20s %-36s %-8s %-20s %s\n",
                   (long long)json_integer_value(json_object_get(v, "id")),
                   json_string_value(json_object_get(v, "tenant")),
                   json_string_value(json_object_get(v, "okta_id")),
                   json_is_string(email) ? json_string_value(email) : "-",
                   json_string_value(json_object_get(v, "status")),
                   json_string_value(json_object_get(v, "created_at")),
                   json_is_string(sent) ? json_string_value(sent) : "-");
        }
        if ((int64_t)json_array_size(rows) == lim)
            printf("(first %lld shown: --limit N for more)\n", (long long)lim);
    }
    json_decref(rows);
    return OKS_CTL_OK;
}

#define MAX_IDS 1000

/* One transaction: which ids exist and their status (locked), then mark the pending ones, with
 * an audit row each. Out: marked and already-sent ids; fails (NOTFOUND) on an unknown id. */
static int mark(oks_ctl *ctl, const char *ids_json, json_t *marked, json_t *already, oks_err *err)
{
    const char *p[] = {ids_json};
    PGresult *r = NULL;
    if (oks_db_begin(ctl->db, err) != 0)
        return -1;
    r = oks_db_exec_params(
        ctl->db,
        "SELECT min(w.id)::text FROM (SELECT value::bigint AS id FROM "
        "jsonb_array_elements_text($1::jsonb)) w WHERE NOT EXISTS (SELECT 1 FROM invitations i "
        "WHERE i.id = w.id)",
        1, p, err);
    if (!r)
        goto fail;
    if (!PQgetisnull(r, 0, 0)) {
        oks_err_set(err, OKS_E_NOTFOUND, "no invitation %s (nothing was marked)",
                    PQgetvalue(r, 0, 0));
        goto fail;
    }
    PQclear(r);
    r = oks_db_exec_params(ctl->db,
                           "SELECT id::text, status, tenant_id::text FROM invitations WHERE id IN "
                           "(SELECT value::bigint FROM jsonb_array_elements_text($1::jsonb)) "
                           "ORDER BY id FOR UPDATE",
                           1, p, err);
    if (!r)
        goto fail;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *id = PQgetvalue(r, i, 0);
        json_int_t v = strtoll(id, NULL, 10);
        if (strcmp(PQgetvalue(r, i, 1), "sent") == 0) {
            json_array_append_new(already, json_integer(v));
            continue;
        }
        const char *q[] = {id, PQgetvalue(r, i, 2), oks_ctl_actor()};
        PGresult *u = oks_db_exec_params(
            ctl->db,
            "WITH m AS (UPDATE invitations SET status = 'sent', sent_at = now() "
            "WHERE id = $1::bigint AND status = 'pending' RETURNING id, user_id, sent_at) "
            "INSERT INTO audit_log (tenant_id, entity, entity_id, action, before, after, source, "
            "actor) SELECT $2::uuid, 'invitation', m.id::text, 'mark_sent', "
            "jsonb_build_object('status', 'pending'), jsonb_build_object('status', 'sent', "
            "'user_id', m.user_id, 'sent_at', m.sent_at), 'operator', $3 FROM m",
            3, q, err);
        if (!u)
            goto fail;
        PQclear(u);
        json_array_append_new(marked, json_integer(v));
    }
    PQclear(r);
    r = NULL;
    if (oks_db_commit(ctl->db, err) != 0)
        goto fail;
    return 0;
fail:
    PQclear(r);
    oks_db_rollback(ctl->db);
    return -1;
}

static int mark_sent(oks_ctl *ctl, int argc, char **argv)
{
    const char *pos[MAX_IDS];
    bool done;
    int n_pos, rc = oks_ctl_parse(ctl, "oktasyncctl invitations mark-sent", HELP, argc, argv, NULL,
                                  0, pos, MAX_IDS, &n_pos, &done);
    if (rc != OKS_CTL_OK || done)
        return rc;
    if (n_pos == 0)
        return oks_ctl_fail(OKS_CTL_USAGE, "invitations mark-sent needs at least one invitation ID "
                                           "(see oktasyncctl invitations --help)");
    json_t *ids = json_array();
    for (int i = 0; ids && i < n_pos; i++) {
        int64_t v;
        if (!oks_parse_int64(pos[i], &v) || v < 1) {
            json_decref(ids);
            return oks_ctl_fail(OKS_CTL_USAGE,
                                "invalid invitation ID \"%s\": expected a positive whole number",
                                pos[i]);
        }
        json_array_append_new(ids, json_integer(v));
    }
    char *ids_json = ids ? json_dumps(ids, JSON_COMPACT) : NULL;
    json_decref(ids);
    json_t *marked = json_array(), *already = json_array();
    if (!ids_json || !marked || !already) {
        rc = oks_ctl_fail(OKS_CTL_FAILED, "out of memory");
        goto out;
    }
    if ((rc = oks_ctl_connect(ctl)) != OKS_CTL_OK)
        goto out;
    oks_err err = {0};
    if (mark(ctl, ids_json, marked, already, &err) != 0) {
        rc = err.code == OKS_E_NOTFOUND ? oks_ctl_fail(OKS_CTL_FAILED, "%s", err.msg)
                                        : oks_ctl_fail_err(&err, "marking invitations sent");
        goto out;
    }
    if (ctl->json) {
        json_t *o = json_pack("{s:O, s:O}", "marked", marked, "already_sent", already);
        oks_ctl_print_json(o);
        json_decref(o);
    } else {
        size_t i;
        json_t *v;
        json_array_foreach(marked, i, v)
        {
            printf("invitation %lld: marked sent\n", (long long)json_integer_value(v));
        }
        json_array_foreach(already, i, v)
        {
            printf("invitation %lld: already sent, unchanged\n", (long long)json_integer_value(v));
        }
    }
out:
    free(ids_json);
    json_decref(marked);
    json_decref(already);
    return rc;
}

int oks_ctl_cmd_invitations(oks_ctl *ctl, int argc, char **argv)
{
    if (argc < 1)
        return oks_ctl_fail(OKS_CTL_USAGE,
                            "missing invitations subcommand (see oktasyncctl invitations --help)");
    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        fputs(HELP, stdout);
        return OKS_CTL_OK;
    }
    if (strcmp(argv[0], "list") == 0)
        return list(ctl, argc - 1, argv + 1);
    if (strcmp(argv[0], "mark-sent") == 0)
        return mark_sent(ctl, argc - 1, argv + 1);
    return oks_ctl_fail(OKS_CTL_USAGE,
                        "unknown invitations subcommand '%s' (see oktasyncctl invitations --help)",
                        argv[0]);
}
