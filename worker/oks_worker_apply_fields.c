#include "oks_worker_apply_fields.h"
#include "oks_worker_sql.h"

#include "core/oks_json_arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* THE defaults (docs/rules.md): platform field -> Okta profile expression. picture has none:
 * Okta's base profile has no picture attribute (profileUrl links to a profile page). login and
 * employee_number feed manager matching. */
static const struct {
    const char *field;
    const char *expr;
} defaults[] = {
    {"email", "email"},
    {"first_name", "firstName"},
    {"last_name", "lastName"},
    {"title", "title"},
    {"language", "preferredLanguage|locale"},
    {"location", "city"},
    {"department", "department"},
    {"picture", ""},
    {"login", "login"},
    {"employee_number", "employeeNumber"},
};

int oks_worker_fieldmap_defaults(oks_worker_fieldmap *m)
{
    memset(m, 0, sizeof *m);
    m->map = json_object();
    m->custom_fields = json_array();
    m->manager_attr = strdup("managerId");
    snprintf(m->manager_match, sizeof m->manager_match, "okta_id");
    if (!m->map || !m->custom_fields || !m->manager_attr) {
        oks_worker_fieldmap_free(m);
        return -1;
    }
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        if (json_object_set_new(m->map, defaults[i].field, json_string(defaults[i].expr)) != 0) {
            oks_worker_fieldmap_free(m);
            return -1;
        }
    return 0;
}

void oks_worker_fieldmap_free(oks_worker_fieldmap *m)
{
    json_decref(m->map);
    json_decref(m->custom_fields);
    free(m->manager_attr);
    memset(m, 0, sizeof *m);
}

static const oks_db_stmt fieldmap_stmt = OKS_WORKER_STMT(
    "oks_tenant_fieldmap",
    "SELECT t.attribute_map::text, t.manager_attribute, (SELECT coalesce(jsonb_agg(f.name ORDER "
    "BY f.name), '[]') FROM custom_fields f WHERE f.tenant_id = t.id AND f.removed_at IS "
    "NULL)::text, t.manager_match FROM tenants t WHERE t.id = $1::uuid",
    1);

int oks_worker_fieldmap_load(oks_db *db, const char *tenant, oks_worker_fieldmap *m, oks_err *err)
{
    if (oks_worker_fieldmap_defaults(m) != 0)
        return oks_err_set(err, OKS_E_NOMEM, "fieldmap: out of memory");
    const char *p[] = {tenant};
    PGresult *r = oks_db_exec_prepared(db, &fieldmap_stmt, p, err);
    if (!r) {
        oks_worker_fieldmap_free(m);
        return -1;
    }
    if (PQntuples(r) == 1) {
        json_t *over = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
        json_t *cf = json_loads(PQgetvalue(r, 0, 2), 0, NULL);
        char *ma = strdup(PQgetvalue(r, 0, 1));
        const char *k;
        json_t *v;
        int bad = !over || !cf || !ma;
        if (!bad)
            json_object_foreach(over, k,
                                v) if (json_is_string(v) && json_object_get(m->map, k) != NULL)
                bad |= json_object_set(m->map, k, v) != 0;
        json_decref(over);
        if (!bad) {
            json_decref(m->custom_fields);
            m->custom_fields = cf;
            free(m->manager_attr);
            m->manager_attr = ma;
            snprintf(m->manager_match, sizeof m->manager_match, "%s", PQgetvalue(r, 0, 3));
        } else {
            json_decref(cf);
            free(ma);
        }
        if (bad) {
            PQclear(r);
            oks_worker_fieldmap_free(m);
            return oks_err_set(err, OKS_E_INVALID, "fieldmap: tenant %s: unreadable map", tenant);
        }
    }
    PQclear(r);
    return 0;
}

/* One attribute: string value, other scalars as text, null, or NULL when absent. */
static json_t *attr_value(const json_t *profile, const char *name, size_t len)
{
    char key[128];
    if (!profile || len == 0 || len >= sizeof key)
        return NULL;
    memcpy(key, name, len);
    key[len] = '\0';
    json_t *v = json_object_get(profile, key);
    if (!v)
        return NULL;
    if (json_is_null(v) || json_is_string(v))
        return json_incref(v);
    if (json_is_object(v) || json_is_array(v))
        return json_null();
    char *t = json_dumps(v, JSON_ENCODE_ANY);
    json_t *s = t ? json_string(t) : json_null();
    oks_json_free(t); /* jansson's allocator: a batch is built in an arena scope */
    return s;
}

/* "a+b": present non-empty values joined with ", "; null when all present ones are null. */
static json_t *eval_combo(const json_t *profile, const char *alt, size_t len)
{
    char out[1024];
    size_t used = 0;
    int present = 0;
    const char *end = alt + len;
    while (alt < end) {
        const char *plus = memchr(alt, '+', (size_t)(end - alt));
        size_t n = plus ? (size_t)(plus - alt) : (size_t)(end - alt);
        json_t *v = attr_value(profile, alt, n);
        if (v) {
            present = 1;
            const char *s = json_string_value(v);
            if (s && *s) {
                size_t sl = strlen(s);
                if (used + sl + 3 < sizeof out) {
                    if (used) {
                        memcpy(out + used, ", ", 2);
                        used += 2;
                    }
                    memcpy(out + used, s, sl);
                    used += sl;
                }
            }
            json_decref(v);
        }
        alt += n + (plus ? 1 : 0);
    }
    if (!present)
        return NULL;
    out[used] = '\0';
    return used ? json_string(out) : json_null();
}

json_t *oks_worker_attr_eval(const json_t *profile, const char *expr)
{
    if (!expr || !*expr)
        return NULL;
    json_t *fallback = NULL; /* a present null, kept if no alternative has a value */
    const char *p = expr;
    for (;;) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        json_t *v = eval_combo(profile, p, n);
        if (v && !json_is_null(v)) {
            json_decref(fallback);
            return v;
        }
        if (v && !fallback)
            fallback = v;
        else
            json_decref(v);
        if (!bar)
            return fallback;
        p = bar + 1;
    }
}

int oks_worker_fields_row(const oks_worker_fieldmap *m, const json_t *profile, json_t *o)
{
    json_t *f = json_object(), *cf = json_object();
    if (!f || !cf || json_object_set_new(o, "f", f) || json_object_set_new(o, "cf", cf)) {
        return -1;
    }
    const char *k;
    json_t *e;
    json_object_foreach(m->map, k, e)
    {
        json_t *v = oks_worker_attr_eval(profile, json_string_value(e));
        if (v && json_object_set_new(f, k, v) != 0)
            return -1;
    }
    size_t i;
    json_array_foreach(m->custom_fields, i, e)
    {
        const char *name = json_string_value(e);
        json_t *v = name ? attr_value(profile, name, strlen(name)) : NULL;
        if (v && json_object_set_new(cf, name, v) != 0)
            return -1;
    }
    /* absent or null: no manager in Okta (docs/rules.md "Managers") */
    json_t *mr = attr_value(profile, m->manager_attr, strlen(m->manager_attr));
    if (mr && json_is_string(mr) && *json_string_value(mr) == '\0') {
        json_decref(mr);
        mr = NULL;
    }
    return json_object_set_new(o, "mref", mr ? mr : json_null());
}

/* Values of active fields, for the users whose stored state is this read (an older read that
 * the watermark refused changes nothing); one audit row per user whose values changed (entity
 * custom_fields, action set), before = the changed fields' stored values (those it had),
 * after = their new values. One row per user, not per value: a user with three fields is one
 * audit row, not three (docs/benchmarks.md "Worker rules"). */
/* Joins between CTEs are avoided on purpose: their row estimates are guesses, and a nested
 * loop over two 10,000-row CTEs is quadratic. The change set (with the before value, read by
 * primary key) is computed once; the write and the audit both read it. */
static const char sql_fields[] =
    "WITH s AS (SELECT (x->>'id')::bigint AS id, "
    "  x->'cf' AS cf FROM jsonb_array_elements($2::jsonb) x WHERE jsonb_typeof(x->'cf') = "
    "  'object'), "
    "v AS (SELECT us.id AS user_id, us.okta_id, f.id AS field_id, f.name, "
    "  e.value #>> '{}' AS value, c.user_id IS NOT NULL AS existed, c.value AS old "
    "  FROM s JOIN users us ON us.id = s.id "
    "  CROSS JOIN LATERAL jsonb_each(s.cf) e "
    "  JOIN custom_fields f ON f.tenant_id = " OKS_WORKER_SQL_TENANT
    " AND f.name = e.key AND f.removed_at IS NULL "
    "  LEFT JOIN custom_field_values c ON c.user_id = us.id AND c.field_id = f.id "
    "  WHERE c.user_id IS NULL OR c.value IS DISTINCT FROM e.value #>> '{}'), "
    "w AS (INSERT INTO custom_field_values AS c (tenant_id, user_id, field_id, value) "
    "  SELECT $1::uuid, user_id, field_id, value FROM v ON CONFLICT (user_id, field_id) DO UPDATE "
    "  SET value = EXCLUDED.value RETURNING 1), "
    "aud AS (INSERT INTO audit_log (tenant_id, entity, entity_id, action, before, after, source, "
    "  actor, sync_run_id) SELECT $1::uuid, 'custom_fields', v.okta_id, 'set', "
    "  jsonb_object_agg(v.name, v.old) FILTER (WHERE v.existed), "
    "  jsonb_object_agg(v.name, v.value), $3, $4, $5::bigint FROM v GROUP BY v.okta_id "
    "  RETURNING 1) "
    "SELECT (SELECT count(*) FROM aud), (SELECT count(*) FROM w)";

int oks_worker_apply_fields_tx(oks_db *db, const char *tenant, const char *batch_json,
                               const char *source, const char *actor, const char *run_id,
                               long *changed, oks_err *err)
{
    const char *p[] = {tenant, batch_json, source, actor, run_id};
    PGresult *r = oks_db_exec_params(db, sql_fields, 5, p, err);
    if (!r)
        return -1;
    *changed = strtol(PQgetvalue(r, 0, 1), NULL, 10); /* values written */
    PQclear(r);
    return 0;
}
