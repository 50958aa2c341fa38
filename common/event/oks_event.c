#include "event/oks_event.h"

#include "core/oks_time.h"

#include <stdlib.h>
#include <string.h>

const char *const oks_event_subscribed_types[] = {
    "application.user_membership.add",
    "application.user_membership.remove",
    "application.user_membership.update",
    "group.user_membership.add",
    "group.user_membership.remove",
    "user.account.update_profile",
    "user.lifecycle.activate",
    "user.lifecycle.create",
    "user.lifecycle.deactivate",
    "user.lifecycle.delete.initiated",
    "user.lifecycle.reactivate",
    "user.lifecycle.suspend",
    "user.lifecycle.unsuspend",
    NULL,
};

bool oks_event_type_subscribed(const char *event_type)
{
    if (!event_type)
        return false;
    for (size_t i = 0; oks_event_subscribed_types[i]; i++) {
        if (strcmp(event_type, oks_event_subscribed_types[i]) == 0)
            return true;
    }
    return false;
}

/* Id of the first target whose "type" equals type, or NULL. Non-object entries are ignored. */
static const char *target_id_by_type(const json_t *targets, const char *type)
{
    size_t i;
    json_t *t;

    json_array_foreach(targets, i, t)
    {
        const char *tt = json_string_value(json_object_get(t, "type"));
        const char *id = json_string_value(json_object_get(t, "id"));
        if (tt && id && id[0] && strcmp(tt, type) == 0)
            return id;
    }
    return NULL;
}

int oks_event_fields_extract(const json_t *event, oks_event_fields *out, oks_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(event))
        return oks_err_set(err, OKS_E_INVALID, "event is not an object");
    out->uuid = json_string_value(json_object_get(event, "uuid"));
    if (!out->uuid || !out->uuid[0])
        return oks_err_set(err, OKS_E_INVALID, "event without uuid");
    out->event_type = json_string_value(json_object_get(event, "eventType"));
    if (!out->event_type || !out->event_type[0])
        return oks_err_set(err, OKS_E_INVALID, "event without eventType");
    out->published = json_string_value(json_object_get(event, "published"));
    const json_t *targets = json_object_get(event, "target");
    if (!json_is_array(targets))
        return oks_err_set(err, OKS_E_INVALID, "event without target");
    out->okta_user_id = target_id_by_type(targets, "User");
    if (!out->okta_user_id)
        return oks_err_set(err, OKS_E_INVALID, "event without a User target");
    out->group_id = target_id_by_type(targets, "UserGroup");
    out->app_id = target_id_by_type(targets, "AppInstance");
    return 0;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* A growing output buffer for json_dump_callback, in jansson's allocator. */
typedef struct dump_buf {
    char *p;
    size_t len, cap;
    json_malloc_t jmalloc;
    json_free_t jfree;
} dump_buf;

static int dump_grow(dump_buf *b, size_t n)
{
    size_t cap = b->cap * 2;
    while (cap - b->len < n + 1) /* + 1: room for the final NUL */
        cap *= 2;
    char *np = b->jmalloc(cap);
    if (!np)
        return -1;
    memcpy(np, b->p, b->len);
    b->jfree(b->p);
    b->p = np;
    b->cap = cap;
    return 0;
}

/* jansson calls this for every token, most of them one or two bytes long. */
static int dump_append(const char *data, size_t n, void *ctx)
{
    dump_buf *b = ctx;

    if (b->cap - b->len < n + 1 && dump_grow(b, n) != 0)
        return -1;
    if (n == 1)
        b->p[b->len] = data[0];
    else
        memcpy(b->p + b->len, data, n);
    b->len += n;
    return 0;
}

int oks_event_envelope_build(const json_t *event, const oks_event_fields *f, const char *tenant_id,
                             int64_t received_at_ms, char **out, size_t *out_len, oks_err *err)
{
    char received[32];
    int rc = -1;
    dump_buf b = {0};

    *out = NULL;
    oks_time_format_iso8601(received_at_ms, received, sizeof(received));
    /* json_pack "O" takes a new reference to the (const) raw event; it is not modified. */
    json_t *env =
        json_pack("{s:i, s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:s, s:O}", "v",
                  OKS_EVENT_ENVELOPE_VERSION, "tenant", tenant_id, "event_uuid", f->uuid,
                  "event_type", f->event_type, "published", str_or_null(f->published),
                  "okta_user_id", f->okta_user_id, "group_id", str_or_null(f->group_id), "app_id",
                  str_or_null(f->app_id), "received_at", received, "event", (json_t *)event);
    if (!env) {
        oks_err_set(err, OKS_E_INVALID, "cannot build envelope (invalid UTF-8?)");
        goto out;
    }
    /* Serialise straight into one buffer from jansson's allocator (json_dumps builds a string
     * buffer and then copies it); a typical envelope fits the first 4 KiB. */
    json_get_alloc_funcs(&b.jmalloc, &b.jfree);
    b.cap = 4096;
    b.p = b.jmalloc(b.cap);
    if (!b.p || json_dump_callback(env, dump_append, &b, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0) {
        oks_err_set(err, OKS_E_NOMEM, "cannot serialise envelope");
        goto out;
    }
    b.p[b.len] = '\0';
    *out = b.p;
    *out_len = b.len;
    b.p = NULL;
    rc = 0;
out:
    if (b.p)
        b.jfree(b.p);
    json_decref(env);
    return rc;
}

/* Copy src whole into out[OKS_EVENT_ID_MAX]; false when it does not fit. */
static bool copy_whole(char *out, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= OKS_EVENT_ID_MAX)
        return false;
    memcpy(out, src ? src : "", n + 1);
    return true;
}

void oks_event_route_fill(const oks_event_fields *f, int64_t received_at_ms, oks_event_route *out)
{
    char received[32];
    /* the same text the envelope's received_at carries */
    oks_time_format_iso8601(received_at_ms, received, sizeof(received));
    out->ok = strlen(f->event_type) < OKS_EVENT_ID_MAX && copy_whole(out->uuid, f->uuid) &&
              copy_whole(out->okta_user_id, f->okta_user_id) &&
              copy_whole(out->published, f->published) && copy_whole(out->received_at, received) &&
              /* "published":"" is the value's to reject, not a missing one to fall back from */
              (!f->published || f->published[0]);
}

static char *dup_opt(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? strdup(s) : NULL;
}

/* Required string member: NULL + error when missing. */
static int dup_req(const json_t *obj, const char *key, char **dst, oks_err *err)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (!s || !s[0])
        return oks_err_set(err, OKS_E_INVALID, "envelope without %s", key);
    *dst = strdup(s);
    if (!*dst)
        return oks_err_set(err, OKS_E_NOMEM, "out of memory");
    return 0;
}

int oks_event_envelope_parse(const char *buf, size_t len, oks_event_envelope *out, oks_err *err)
{
    json_error_t jerr;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root)) {
        oks_err_set(err, OKS_E_INVALID, "envelope is not a JSON object: %s",
                    root ? "wrong type" : jerr.text);
        goto out;
    }
    json_t *v = json_object_get(root, "v");
    if (!json_is_integer(v) || json_integer_value(v) != OKS_EVENT_ENVELOPE_VERSION) {
        oks_err_set(err, OKS_E_INVALID, "unsupported envelope version");
        goto out;
    }
    out->v = OKS_EVENT_ENVELOPE_VERSION;
    if (dup_req(root, "tenant", &out->tenant, err) ||
        dup_req(root, "event_uuid", &out->event_uuid, err) ||
        dup_req(root, "event_type", &out->event_type, err) ||
        dup_req(root, "okta_user_id", &out->okta_user_id, err) ||
        dup_req(root, "received_at", &out->received_at, err))
        goto out;
    out->published = dup_opt(root, "published");
    out->group_id = dup_opt(root, "group_id");
    out->app_id = dup_opt(root, "app_id");
    json_t *event = json_object_get(root, "event");
    if (!json_is_object(event)) {
        oks_err_set(err, OKS_E_INVALID, "envelope without event object");
        goto out;
    }
    out->event = json_incref(event);
    rc = 0;
out:
    if (rc != 0)
        oks_event_envelope_free(out);
    json_decref(root);
    return rc;
}

void oks_event_envelope_free(oks_event_envelope *env)
{
    if (!env)
        return;
    free(env->tenant);
    free(env->event_uuid);
    free(env->event_type);
    free(env->published);
    free(env->okta_user_id);
    free(env->group_id);
    free(env->app_id);
    free(env->received_at);
    json_decref(env->event);
    memset(env, 0, sizeof(*env));
}
