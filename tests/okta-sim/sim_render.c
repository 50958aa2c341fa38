/* Okta JSON documents: User, AppUser, Group, Application (shapes per okta-reference §3). */
#include "sim.h"

#include <stdio.h>
#include <string.h>

static void link_obj(sim_buf *b, const char *name, const char *base, const char *path,
                     const char *method, bool first)
{
    if (!first)
        SIM_BUF_LIT(b, ",");
    SIM_BUF_LIT(b, "\"");
    sim_buf_adds(b, name);
    SIM_BUF_LIT(b, "\":{\"href\":\"");
    sim_buf_adds(b, base);
    sim_buf_adds(b, path);
    SIM_BUF_LIT(b, "\"");
    if (method) {
        SIM_BUF_LIT(b, ",\"method\":\"");
        sim_buf_adds(b, method);
        SIM_BUF_LIT(b, "\"");
    }
    SIM_BUF_LIT(b, "}");
}

static void user_links(const sim_user *u, const char *base, bool single, sim_buf *b)
{
    char p[128];
    SIM_BUF_LIT(b, ",\"_links\":{\"self\":{\"href\":\"");
    sim_buf_adds(b, base);
    SIM_BUF_LIT(b, "/api/v1/users/");
    sim_buf_adds(b, u->id);
    SIM_BUF_LIT(b, "\"}");
    if (single) {
        /* A single user carries its lifecycle links; users in collections only `self`. */
        snprintf(p, sizeof p, "/api/v1/users/%s", u->id);
        const char *lc = u->status == SIM_ST_DEPROVISIONED || u->status == SIM_ST_STAGED
                             ? "activate"
                             : "deactivate";
        char lp[160];
        snprintf(lp, sizeof lp, "%s/lifecycle/%s", p, lc);
        link_obj(b, lc, base, lp, "POST", false);
        if (u->status == SIM_ST_ACTIVE) {
            snprintf(lp, sizeof lp, "%s/lifecycle/suspend", p);
            link_obj(b, "suspend", base, lp, "POST", false);
            snprintf(lp, sizeof lp, "%s/lifecycle/reset_password", p);
            link_obj(b, "resetPassword", base, lp, "POST", false);
        }
        link_obj(b, "schema", base, "/api/v1/meta/schemas/user/oscdefault0000000001", NULL, false);
        link_obj(b, "type", base, "/api/v1/meta/types/user/otydefault000000001", NULL, false);
    }
    SIM_BUF_LIT(b, "}");
}

void sim_render_user(const sim_org *org, uint32_t idx, const char *base, bool single, sim_buf *b)
{
    const sim_user *u = &org->users[idx];
    bool staged = u->status == SIM_ST_STAGED;
    SIM_BUF_LIT(b, "{\"id\":\"");
    sim_buf_adds(b, u->id);
    SIM_BUF_LIT(b, "\",\"status\":\"");
    sim_buf_adds(b, sim_status_name(u->status));
    SIM_BUF_LIT(b, "\",\"created\":");
    sim_buf_jtime(b, u->created_ms);
    sim_buf_adds(b, ",\"activated\":");
    sim_buf_jtime(b, u->activated_ms);
    sim_buf_adds(b, ",\"statusChanged\":");
    sim_buf_jtime(b, u->status_changed_ms);
    sim_buf_adds(b, ",\"lastLogin\":");
    sim_buf_jtime(b, u->last_login_ms);
    sim_buf_adds(b, ",\"lastUpdated\":");
    sim_buf_jtime(b, u->last_updated_ms);
    sim_buf_adds(b, ",\"passwordChanged\":");
    sim_buf_jtime(b, staged ? -1 : u->activated_ms + 60000);
    sim_buf_adds(b, ",\"type\":{\"id\":\"otydefault000000001\"},\"profile\":");
    sim_profile_render(org, idx, b);
    sim_buf_adds(b, staged ? ",\"credentials\":{\"provider\":{\"type\":\"OKTA\",\"name\":\"OKTA\"}}"
                           : ",\"credentials\":{\"password\":{},\"provider\":{\"type\":\"OKTA\","
                             "\"name\":\"OKTA\"}}");
    user_links(u, base, single, b);
    sim_buf_add(b, "}", 1);
}

/* AppUser status follows the user. A DEPROVISIONED user is only still listed when the
 * simulator runs in "keep" mode (sim_deact_apps); its assignment then shows as INACTIVE. */
static const char *app_user_status(const sim_user *u)
{
    switch (u->status) {
    case SIM_ST_DEPROVISIONED:
    case SIM_ST_SUSPENDED:
        return "INACTIVE";
    case SIM_ST_STAGED:
        return "STAGED";
    default:
        return "ACTIVE";
    }
}

void sim_render_app_user(const sim_org *org, uint32_t idx, const char *base, bool expand,
                         sim_buf *b)
{
    const sim_user *u = &org->users[idx];
    char buf[256];
    const char *login = sim_profile_get(org, idx, "login", buf, sizeof buf);
    SIM_BUF_LIT(b, "{\"id\":\"");
    sim_buf_adds(b, u->id);
    SIM_BUF_LIT(b, "\",\"externalId\":null,\"created\":");
    sim_buf_jtime(b, u->assign_created_ms);
    SIM_BUF_LIT(b, ",\"lastUpdated\":");
    sim_buf_jtime(b, u->assign_updated_ms);
    SIM_BUF_LIT(b, ",\"scope\":\"");
    sim_buf_adds(b, sim_user_scope(org, u));
    SIM_BUF_LIT(b, "\",\"status\":\"");
    sim_buf_adds(b, app_user_status(u));
    SIM_BUF_LIT(b, "\",\"statusChanged\":");
    sim_buf_jtime(b, u->assign_updated_ms);
    SIM_BUF_LIT(b, ",\"passwordChanged\":null,\"syncState\":\"DISABLED\",\"lastSync\":");
    sim_buf_jtime(b, u->assign_updated_ms);
    SIM_BUF_LIT(b, ",\"credentials\":{\"userName\":");
    sim_buf_jstr(b, login);
    SIM_BUF_LIT(b, "},\"profile\":{},\"_links\":{\"app\":{\"href\":\"");
    sim_buf_adds(b, base);
    SIM_BUF_LIT(b, "/api/v1/apps/");
    sim_buf_adds(b, org->app_id);
    SIM_BUF_LIT(b, "\"},\"user\":{\"href\":\"");
    sim_buf_adds(b, base);
    SIM_BUF_LIT(b, "/api/v1/users/");
    sim_buf_adds(b, u->id);
    SIM_BUF_LIT(b, "\"}}");
    if (expand) {
        sim_buf_adds(b, ",\"_embedded\":{\"user\":");
        sim_render_user(org, idx, base, false, b);
        sim_buf_add(b, "}", 1);
    }
    sim_buf_add(b, "}", 1);
}

void sim_render_group(const sim_org *org, int g, const char *base, sim_buf *b)
{
    static const char *const types[] = {"OKTA_GROUP", "APP_GROUP", "BUILT_IN"};
    const sim_group *gr = sim_org_group(org, g);
    bool imported = gr->type == SIM_GT_APP;
    sim_buf_printf(b, "{\"id\":\"%s\",\"created\":", gr->id);
    sim_buf_jtime(b, gr->created_ms);
    sim_buf_adds(b, ",\"lastUpdated\":");
    sim_buf_jtime(b, gr->last_updated_ms);
    sim_buf_adds(b, ",\"lastMembershipUpdated\":");
    sim_buf_jtime(b, gr->last_membership_updated_ms);
    sim_buf_printf(b, ",\"objectClass\":[\"%s\"],\"type\":\"%s\",\"profile\":{\"name\":",
                   imported ? "okta:windows_security_principal" : "okta:user_group",
                   types[gr->type <= SIM_GT_BUILT_IN ? gr->type : 0]);
    sim_buf_jstr(b, gr->name);
    sim_buf_adds(b, ",\"description\":");
    sim_buf_jstr(b, gr->type == SIM_GT_BUILT_IN ? "All users in your organization" : NULL);
    sim_buf_adds(b, "}");
    sim_buf_printf(b, ",\"_links\":{\"users\":{\"href\":\"%s/api/v1/groups/%s/users\"}", base,
                   gr->id);
    if (imported) /* the directory app the group was imported from */
        sim_buf_printf(b, ",\"source\":{\"href\":\"%s/api/v1/apps/0oaSIMdirectory00001\"}", base);
    sim_buf_adds(b, "}}");
}

/* Weak ETag of a user's current version: changes with every admin change to the user. */
void sim_user_etag(const sim_org *org, uint32_t idx, char *out, size_t cap)
{
    const sim_user *u = &org->users[idx];
    uint64_t h = sim_mix64(org->seed ^ (uint64_t)u->last_updated_ms);
    h = sim_mix64(h ^ ((uint64_t)u->status << 56) ^ ((uint64_t)u->version << 24) ^ idx);
    snprintf(out, cap, "W/\"%016llx\"", (unsigned long long)h);
}

void sim_render_app(const sim_org *org, const char *base, sim_buf *b)
{
    sim_buf_printf(b, "{\"id\":\"%s\",\"name\":\"oidc_client\",\"label\":", org->app_id);
    sim_buf_jstr(b, org->app_label);
    sim_buf_adds(b, ",\"status\":\"ACTIVE\",\"created\":\"2023-12-01T00:00:00.000Z\","
                    "\"lastUpdated\":\"2023-12-01T00:00:00.000Z\",\"signOnMode\":"
                    "\"OPENID_CONNECT\",\"credentials\":{\"oauthClient\":{\"client_id\":");
    sim_buf_jstr(b, org->app_id);
    sim_buf_adds(b, ",\"token_endpoint_auth_method\":\"client_secret_basic\"}}");
    sim_buf_printf(b, ",\"_links\":{\"users\":{\"href\":\"%s/api/v1/apps/%s/users\"}}}", base,
                   org->app_id);
}
