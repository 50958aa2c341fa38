/*
 * Org changes made through the admin API. Each one updates the org under the write lock and
 * records the System Log events Okta would record (which also go out as event hooks).
 */
#include "sim_admin.h"

#include "core/oks_time.h"

#include <stdio.h>
#include <string.h>

static void user_target(const sim_org *org, uint32_t idx, sim_target *t, char *login, char *name)
{
    const char *l = sim_profile_get(org, idx, "login", login, 256);
    const char *f = sim_profile_get(org, idx, "firstName", name, 128);
    char last[128];
    const char *la = sim_profile_get(org, idx, "lastName", last, sizeof last);
    if (f != name)
        snprintf(name, 128, "%s", f ? f : "");
    size_t n = strlen(name);
    snprintf(name + n, 256 - n, "%s%s", n && la ? " " : "", la ? la : "");
    t->id = org->users[idx].id;
    t->type = "User";
    t->alternate_id = l ? l : "unknown";
    t->display_name = name;
}

/* Record one event about a user, with optional group / app targets. */
static void emit(sim_server *srv, const char *type, const char *msg, uint32_t idx, int group,
                 bool app, const char *uri)
{
    sim_org *org = srv->org;
    sim_target t[3];
    size_t n = 0;
    char login[256], name[256], appuser[SIM_ID_LEN];
    sim_target ut;
    user_target(org, idx, &ut, login, name);
    if (app) {
        sim_make_id(appuser, "0ua", org->seed, idx, 11);
        t[n++] = (sim_target){appuser, "AppUser", ut.alternate_id, name};
        t[n++] = (sim_target){org->app_id, "AppInstance", org->app_label, org->app_label};
    }
    if (group >= 0)
        t[n++] =
            (sim_target){org->groups[group].id, "UserGroup", "unknown", org->groups[group].name};
    t[n++] = ut;
    if (group >= 0 && n == 2) {
        /* group.user_membership.*: User first, then UserGroup (§2 "target[] contents"). */
        sim_target g = t[0];
        t[0] = t[1];
        t[1] = g;
    }
    sim_logs_add(srv->logs, srv->hooks, type, msg, t, n, uri);
}

static void touch(sim_user *u)
{
    u->last_updated_ms = oks_now_wall_ms();
    u->version++;
}

static void set_status(sim_user *u, int st)
{
    int64_t now = oks_now_wall_ms();
    u->status = (uint8_t)st;
    u->status_changed_ms = now;
    u->last_updated_ms = now;
    u->version++;
    if (st == SIM_ST_ACTIVE && u->activated_ms < 0)
        u->activated_ms = now;
    /* The app assignment reflects the user's state change (AppUser status). */
    u->assign_updated_ms = now;
}

static void assignment_changed(sim_server *srv, uint32_t idx, bool was, const char *uri);

/* Deactivation and app assignments, per the simulator's mode (sim_deact_apps): in "remove" and
 * "restore" Okta's removal job unassigns the user from the app (after the deactivate event). */
static void deactivate(sim_server *srv, uint32_t idx, const char *uri)
{
    sim_user *u = &srv->org->users[idx];
    bool was = sim_user_assigned(srv->org, u);
    set_status(u, SIM_ST_DEPROVISIONED);
    emit(srv, "user.lifecycle.deactivate", "Deactivate Okta user", idx, -1, false, uri);
    if (srv->org->deact_apps == SIM_DEACT_KEEP)
        return;
    u->saved_direct = u->direct;
    u->direct = 0;
    u->apps_removed = 1;
    assignment_changed(srv, idx, was, uri);
}

/* Leaving DEPROVISIONED: "restore" brings the assignments back, "remove" leaves them gone. */
static void reactivated(sim_server *srv, uint32_t idx, const char *uri)
{
    sim_user *u = &srv->org->users[idx];
    if (!u->apps_removed || srv->org->deact_apps != SIM_DEACT_RESTORE)
        return;
    bool was = sim_user_assigned(srv->org, u);
    u->direct = u->saved_direct;
    u->apps_removed = 0;
    assignment_changed(srv, idx, was, uri);
}

int sim_op_lifecycle(sim_server *srv, uint32_t idx, const char *op, const char *uri, oks_err *err)
{
    sim_user *u = &srv->org->users[idx];
    int st = u->status;
    if (strcmp(op, "deactivate") == 0) {
        if (st == SIM_ST_DEPROVISIONED)
            return oks_err_set(err, OKS_E_CONFLICT, "user is already deactivated");
        deactivate(srv, idx, uri);
    } else if (strcmp(op, "reactivate") == 0 || strcmp(op, "activate") == 0) {
        if (st == SIM_ST_ACTIVE)
            return oks_err_set(err, OKS_E_CONFLICT, "user is already active");
        set_status(u, SIM_ST_ACTIVE);
        if (op[0] == 'r')
            emit(srv, "user.lifecycle.reactivate", "Reactivate Okta user", idx, -1, false, uri);
        else
            emit(srv, "user.lifecycle.activate", "Activate Okta user", idx, -1, false, uri);
        if (st == SIM_ST_DEPROVISIONED)
            reactivated(srv, idx, uri);
    } else if (strcmp(op, "suspend") == 0) {
        if (st != SIM_ST_ACTIVE)
            return oks_err_set(err, OKS_E_CONFLICT, "only ACTIVE users can be suspended");
        set_status(u, SIM_ST_SUSPENDED);
        emit(srv, "user.lifecycle.suspend", "Suspend Okta user", idx, -1, false, uri);
    } else if (strcmp(op, "unsuspend") == 0) {
        if (st != SIM_ST_SUSPENDED)
            return oks_err_set(err, OKS_E_CONFLICT, "user is not suspended");
        set_status(u, SIM_ST_ACTIVE);
        emit(srv, "user.lifecycle.unsuspend", "Unsuspend Okta user", idx, -1, false, uri);
    } else {
        return oks_err_set(err, OKS_E_NOTFOUND, "unknown lifecycle operation '%s'", op);
    }
    return 0;
}

int sim_op_delete(sim_server *srv, uint32_t idx, const char *uri, oks_err *err)
{
    sim_user *u = &srv->org->users[idx];
    (void)err;
    /* Okta deactivates a user before deleting it. */
    if (u->status != SIM_ST_DEPROVISIONED)
        deactivate(srv, idx, uri);
    emit(srv, "user.lifecycle.delete.initiated", "Delete Okta user initiated", idx, -1, false, uri);
    u->deleted = 1;
    srv->org->everyone.last_membership_updated_ms = oks_now_wall_ms();
    return 0;
}

int sim_op_update_profile(sim_server *srv, uint32_t idx, json_t *attrs, const char *uri,
                          oks_err *err)
{
    sim_org *org = srv->org;
    sim_user *u = &org->users[idx];
    if (!json_is_object(attrs) || json_object_size(attrs) == 0)
        return oks_err_set(err, OKS_E_INVALID,
                           "body must be a non-empty JSON object of attributes");
    json_t *login = json_object_get(attrs, "login");
    if (login) {
        int64_t other =
            json_is_string(login) ? sim_org_find_login(org, json_string_value(login)) : -2;
        if (other == -2 || (other >= 0 && other != idx))
            return oks_err_set(err, OKS_E_INVALID, "login must be a unique string");
    }
    if (!u->override && !(u->override = json_object()))
        return oks_err_set(err, OKS_E_NOMEM, "out of memory");
    json_object_update(u->override, attrs);
    sim_org_note_override(org, idx);
    json_t *mid = json_object_get(attrs, "managerId");
    if (mid) {
        int64_t m = json_is_string(mid) ? sim_org_find_id(org, json_string_value(mid)) : -1;
        u->manager = (int32_t)m;
    }
    touch(u);
    emit(srv, "user.account.update_profile", "Update user profile for Okta", idx, -1, false, uri);
    return 0;
}

int sim_op_unset_profile(sim_server *srv, uint32_t idx, const char *name, const char *uri,
                         oks_err *err)
{
    sim_user *u = &srv->org->users[idx];
    if (!*name || strchr(name, '/'))
        return oks_err_set(err, OKS_E_NOTFOUND, "no such admin operation");
    if (strcmp(name, "login") == 0 || strcmp(name, "email") == 0)
        return oks_err_set(err, OKS_E_INVALID, "%s is required and cannot be removed", name);
    if (!u->override && !(u->override = json_object()))
        return oks_err_set(err, OKS_E_NOMEM, "out of memory");
    json_object_set_new(u->override, name, sim_profile_absent());
    sim_org_note_override(srv->org, idx);
    if (strcmp(name, "managerId") == 0)
        u->manager = -1;
    touch(u);
    emit(srv, "user.account.update_profile", "Update user profile for Okta", idx, -1, false, uri);
    return 0;
}

static void assignment_changed(sim_server *srv, uint32_t idx, bool was, const char *uri)
{
    sim_user *u = &srv->org->users[idx];
    bool now_assigned = sim_user_assigned(srv->org, u);
    if (was == now_assigned)
        return;
    u->assign_updated_ms = oks_now_wall_ms();
    if (now_assigned) {
        u->assign_created_ms = u->assign_updated_ms;
        u->ever_assigned = 1;
        emit(srv, "application.user_membership.add", "Add user to application membership", idx, -1,
             true, uri);
    } else {
        emit(srv, "application.user_membership.remove", "Remove user's application membership", idx,
             -1, true, uri);
    }
}

int sim_op_assign(sim_server *srv, uint32_t idx, bool assign, const char *uri, oks_err *err)
{
    sim_user *u = &srv->org->users[idx];
    bool was = sim_user_assigned(srv->org, u);
    if (!assign && !u->direct)
        return oks_err_set(err, OKS_E_NOTFOUND, "user is not assigned to the app directly");
    u->direct = assign;
    if (assign)
        u->apps_removed = 0; /* a new assignment after a removal: group grants count again */
    assignment_changed(srv, idx, was, uri);
    return 0;
}

int sim_op_membership(sim_server *srv, uint32_t idx, int g, bool add, const char *uri, oks_err *err)
{
    sim_user *u = &srv->org->users[idx];
    if (g == SIM_G_EVERYONE)
        return oks_err_set(err, OKS_E_CONFLICT, "the Everyone group's membership is built in");
    bool member = (u->groups >> g) & 1;
    if (member == add)
        return oks_err_set(err, OKS_E_CONFLICT, add ? "already a member" : "not a member");
    bool was = sim_user_assigned(srv->org, u);
    if (add)
        u->groups |= 1ULL << g;
    else
        u->groups &= ~(1ULL << g);
    if (add && srv->org->groups[g].app_assigned)
        u->apps_removed = 0; /* a new app-group grant assigns the user again */
    srv->org->groups[g].last_membership_updated_ms = oks_now_wall_ms();
    if (add)
        emit(srv, "group.user_membership.add", "Add user to group membership", idx, g, false, uri);
    else
        emit(srv, "group.user_membership.remove", "Remove user from group membership", idx, g,
             false, uri);
    assignment_changed(srv, idx, was, uri);
    return 0;
}

int64_t sim_op_create(sim_server *srv, json_t *body, const char *uri, oks_err *err)
{
    sim_org *org = srv->org;
    json_t *profile = json_object_get(body, "profile");
    json_t *login = json_object_get(profile, "login");
    const char *status = json_string_value(json_object_get(body, "status"));
    int st = status ? sim_status_parse(status) : SIM_ST_ACTIVE;
    if (!json_is_object(profile) || !json_is_string(login) || !*json_string_value(login))
        return oks_err_set(err, OKS_E_INVALID, "profile.login is required");
    if (st < 0)
        return oks_err_set(err, OKS_E_INVALID, "unknown status '%s'", status);
    if (sim_org_find_login(org, json_string_value(login)) >= 0)
        return oks_err_set(err, OKS_E_CONFLICT, "login already exists");
    int64_t idx = sim_org_add_user(org, err);
    if (idx < 0)
        return -1;
    sim_user *u = &org->users[idx];
    int64_t now = oks_now_wall_ms();
    u->override = json_deep_copy(profile);
    sim_org_note_override(org, (uint32_t)idx);
    json_t *mid = json_object_get(profile, "managerId");
    u->manager = json_is_string(mid) ? (int32_t)sim_org_find_id(org, json_string_value(mid)) : -1;
    u->status = (uint8_t)st;
    u->created_ms = u->last_updated_ms = u->status_changed_ms = now;
    u->activated_ms = st == SIM_ST_STAGED ? -1 : now;
    u->last_login_ms = -1;
    u->assign_created_ms = u->assign_updated_ms = now;
    org->everyone.last_membership_updated_ms = now;
    emit(srv, "user.lifecycle.create", "Create Okta user", (uint32_t)idx, -1, false, uri);
    if (st == SIM_ST_ACTIVE)
        emit(srv, "user.lifecycle.activate", "Activate Okta user", (uint32_t)idx, -1, false, uri);
    json_t *groups = json_object_get(body, "groups"), *gv;
    size_t i;
    json_array_foreach(groups, i, gv)
    {
        int g = json_is_string(gv) ? sim_org_find_group(org, json_string_value(gv)) : -1;
        if (g >= 0)
            (void)sim_op_membership(srv, (uint32_t)idx, g, true, uri, err);
    }
    if (json_is_true(json_object_get(body, "assign")))
        (void)sim_op_assign(srv, (uint32_t)idx, true, uri, err);
    oks_err_clear(err);
    return idx;
}
