/*
 * tenant show's operational state (added to the settings oks_ctl_out.c prints): connected,
 * the last full sync and its outcome, the tenant's standing with Okta (parked / credentials),
 * and dirty users waiting for the reconciler. One query builds the JSON; the human lines are
 * rendered from it.
 */
#include "oks_ctl.h"

#include "sync/oks_sync_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const char STATE_SQL[] =
    "SELECT jsonb_build_object("
    " 'connected', " OKS_SYNC_TENANT_CONNECTED ", 'connected_at', " ISO(
        "t.connected_at") ","
                          " 'connect_error', t.connect_error,"
                          " 'last_full_sync', (SELECT jsonb_build_object('id', r.id, 'status', "
                          "r.status,"
                          "   'trigger', r.trigger, 'dry_run', r.dry_run, 'finished_at', " ISO(
                              "r.finished_at") ","
                                               "   'users_seen', r.users_seen, "
                                               "'users_deactivated', r.users_deactivated,"
                                               "   'errors', r.errors, 'error', r.error, "
                                               "'held_reason', r.held_reason)"
                                               "   FROM sync_runs r WHERE r.tenant_id = t.id "
                                               "AND r.kind = 'full_sync'"
                                               "   AND r.status IN ('succeeded', 'failed', "
                                               "'held', 'rejected')"
                                               "   ORDER BY r.finished_at DESC NULLS LAST, "
                                               "r.id DESC LIMIT 1),"
                                               " 'okta_fault', s.fault, 'okta_fault_reason', "
                                               "s.fault_reason,"
                                               " 'okta_fault_since', " ISO(
                                                   "s.fault_since") ","
                                                                    " 'parked', "
                                                                    "coalesce(s.fault IN "
                                                                    "('credentials_invalid', "
                                                                    "'not_connected'), false),"
                                                                    " 'dirty_users', (SELECT "
                                                                    "count(*) FROM dirty_users "
                                                                    "d WHERE d.tenant_id = "
                                                                    "t.id),"
                                                                    " 'oldest_dirty_at', "
                                                                    "(SELECT " ISO(
                                                                        "min(d.first_marked_"
                                                                        "at)") " FROM "
                                                                               "dirty_users d"
                                                                               "   WHERE "
                                                                               "d.tenant_id = "
                                                                               "t.id))::text "
                                                                               "FROM tenants t "
                                                                               "LEFT JOIN "
                                                                               "tenant_okta_"
                                                                               "state s ON "
                                                                               "s.tenant_id = "
                                                                               "t.id WHERE "
                                                                               "t.id = "
                                                                               "$1::uuid";

int oks_ctl_tenant_add_state(oks_ctl *ctl, json_t *t, oks_err *err)
{
    const char *p[] = {json_string_value(json_object_get(t, "id"))};
    PGresult *r = oks_db_exec_params(ctl->db, STATE_SQL, 1, p, err);
    if (!r)
        return -1;
    json_t *s = PQntuples(r) ? json_loads(PQgetvalue(r, 0, 0), 0, NULL) : NULL;
    PQclear(r);
    if (!s)
        return oks_err_set(err, OKS_E_PERMANENT, "unexpected tenant state from the database");
    json_object_update(t, s);
    json_decref(s);
    return 0;
}

static const char *str(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "-";
}

void oks_ctl_print_tenant_state(json_t *t)
{
    printf("%-28s %s\n", "connected",
           json_is_true(json_object_get(t, "connected")) ? str(t, "connected_at")
                                                         : "no (oktasyncctl tenant connect)");
    json_t *last = json_object_get(t, "last_full_sync");
    if (json_is_object(last)) {
        json_t *note = json_object_get(last, "held_reason");
        if (!json_is_string(note))
            note = json_object_get(last, "error");
        printf(
            "%-28s run %lld %s%s at %s: %lld seen, %lld deactivated%s%s\n",
            "last finished full sync", (long long)json_integer_value(json_object_get(last, "id")),
            str(last, "status"), json_is_true(json_object_get(last, "dry_run")) ? " (dry run)" : "",
            str(last, "finished_at"),
            (long long)json_integer_value(json_object_get(last, "users_seen")),
            (long long)json_integer_value(json_object_get(last, "users_deactivated")),
            json_is_string(note) ? " — " : "", json_is_string(note) ? json_string_value(note) : "");
    } else {
        printf("%-28s %s\n", "last finished full sync", "none");
    }
    json_t *fault = json_object_get(t, "okta_fault");
    if (json_is_string(fault))
        printf("%-28s %s%s since %s: %s\n", "okta state", json_string_value(fault),
               json_is_true(json_object_get(t, "parked")) ? " (parked: fix, then tenant connect)"
                                                          : "",
               str(t, "okta_fault_since"), str(t, "okta_fault_reason"));
    else
        printf("%-28s %s\n", "okta state", "ok");
    printf("%-28s %lld%s%s\n", "dirty users pending",
           (long long)json_integer_value(json_object_get(t, "dirty_users")),
           json_is_string(json_object_get(t, "oldest_dirty_at")) ? ", oldest since " : "",
           json_is_string(json_object_get(t, "oldest_dirty_at")) ? str(t, "oldest_dirty_at") : "");
}
