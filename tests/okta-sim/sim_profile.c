/*
 * User profiles. Generated attributes are derived from (seed, user index) every time they are
 * needed, so 1M users cost no profile memory; attributes changed through the admin API live in
 * a small jansson object per user that wins over the generated value.
 */
#include "sim.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const first_names[] = {
    "Jane",   "John",   "Amira", "Kenji", "Sofia", "Liam",  "Chloé", "Noah",   "Priya", "Mateo",
    "Olivia", "Ethan",  "Zoë",   "Lucas", "Mia",   "Arjun", "Emma",  "Oliver", "Yuki",  "Fatima",
    "Hugo",   "Ingrid", "Tomás", "Aisha", "Lars",  "Grace", "Diego", "Hannah", "Ravi",  "Elena",
    "Samuel", "Nora",   "Kwame", "Lea",   "Marco", "Sara",  "Felix", "Maya",   "Jonas", "Leila",
};
static const char *const last_names[] = {
    "Doe",    "Smith",  "Haddad",  "Tanaka",  "Rossi",    "O'Brien", "Dubois",    "Müller",
    "Patel",  "García", "Johnson", "Nguyen",  "Kowalski", "Silva",   "Kim",       "Sharma",
    "Jensen", "Brown",  "Sato",    "Khan",    "Martin",   "Larsen",  "Fernández", "Okafor",
    "Berg",   "Wilson", "López",   "Schmidt", "Iyer",     "Petrova", "Cohen",     "Andersson",
    "Mensah", "Weber",  "Bianchi", "Ahmed",   "Novak",    "Reyes",   "Fischer",   "Hassan",
};
static const char *const departments[] = {
    "Engineering",
    "Sales",
    "Marketing",
    "Finance",
    "Human Resources",
    "Customer Success",
    "Legal",
    "Operations",
    "Product",
    "Support",
    "Research & Development",
};
static const char *const titles[] = {
    "Software Engineer",
    "Senior Software Engineer",
    "Account Executive",
    "Sales Manager",
    "Marketing Specialist",
    "Financial Analyst",
    "HR Business Partner",
    "Customer Success Manager",
    "Counsel",
    "Operations Coordinator",
    "Product Manager",
    "Support Engineer",
    "Director",
    "Research Scientist",
    "Team Lead",
    "Associate",
};
static const struct place {
    const char *locale, *lang, *tz, *city, *country;
} places[] = {
    {"en_US", "en-US", "America/New_York", "New York", "US"},
    {"en_US", "en-US", "America/Los_Angeles", "San Francisco", "US"},
    {"en_GB", "en-GB", "Europe/London", "London", "GB"},
    {"fr_FR", "fr-FR", "Europe/Paris", "Paris", "FR"},
    {"de_DE", "de-DE", "Europe/Berlin", "Berlin", "DE"},
    {"es_ES", "es-ES", "Europe/Madrid", "Madrid", "ES"},
    {"ja_JP", "ja-JP", "Asia/Tokyo", "Tokyo", "JP"},
    {"pt_BR", "pt-BR", "America/Sao_Paulo", "São Paulo", "BR"},
    {"nl_NL", "nl-NL", "Europe/Amsterdam", "Amsterdam", "NL"},
    {"en_AU", "en-AU", "Australia/Sydney", "Sydney", "AU"},
    {"en_IN", "en-IN", "Asia/Kolkata", "Bengaluru", "IN"},
    {"sv_SE", "sv-SE", "Europe/Stockholm", "Stockholm", "SE"},
};
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

typedef struct gen_prof {
    const char *first, *last, *department, *title, *user_type, *cohort;
    const struct place *place;
    char login[400], display[96], employee_number[16], cost_center[16], profile_url[300];
    char manager_id[SIM_ID_LEN], manager_name[200], photo_url[300];
    bool has_url, has_manager, has_photo;
} gen_prof;

static void slug(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    for (; *s && n + 1 < cap; s++)
        if (isalpha((unsigned char)*s) && (unsigned char)*s < 0x80)
            out[n++] = (char)tolower((unsigned char)*s);
    out[n] = '\0';
}

/* Bounded text appends with snprintf's truncation (at most cap - 1 bytes, always terminated),
 * without its format parsing: profiles are generated for every user rendered. */
typedef struct txt {
    char *p;
    size_t cap, n;
} txt;

static txt txt_at(char *p, size_t cap)
{
    p[0] = '\0';
    return (txt){p, cap, 0};
}

static void txt_add(txt *t, const char *s)
{
    while (*s && t->n + 1 < t->cap)
        t->p[t->n++] = *s++;
    t->p[t->n] = '\0';
}

/* Decimal v, zero-padded to width digits (printf's %0*u). */
static void txt_u32(txt *t, uint32_t v, int width)
{
    char d[16];
    int k = (int)sizeof d - 1;
    d[k] = '\0';
    do {
        d[--k] = (char)('0' + v % 10);
        v /= 10;
        width--;
    } while (v);
    while (width-- > 0)
        d[--k] = '0';
    txt_add(t, d + k);
}

/* "first last" */
static void full_name(char *out, size_t cap, const char *first, const char *last)
{
    txt t = txt_at(out, cap);
    txt_add(&t, first);
    txt_add(&t, " ");
    txt_add(&t, last);
}

/* Display name of a manager without generating its whole profile (or its manager's). */
static void manager_display(const sim_org *org, uint32_t m, char *out, size_t cap)
{
    const sim_user *mu = &org->users[m];
    json_t *v = mu->override ? json_object_get(mu->override, "displayName") : NULL;
    if (json_is_string(v) || mu->custom) {
        snprintf(out, cap, "%s", json_is_string(v) ? json_string_value(v) : "");
        return;
    }
    full_name(out, cap, first_names[sim_rand(org->seed, m, 30) % N_OF(first_names)],
              last_names[sim_rand(org->seed, m, 31) % N_OF(last_names)]);
}

/* "first.last{i}@domain" (letters of the names, lower-cased). */
static void gen_login(const sim_org *org, uint32_t i, const char *first, const char *last,
                      char *out, size_t cap)
{
    char a[48], b[48];
    slug(a, sizeof a, first);
    slug(b, sizeof b, last);
    txt t = txt_at(out, cap);
    txt_add(&t, a);
    txt_add(&t, ".");
    txt_add(&t, b);
    txt_u32(&t, i, 0);
    txt_add(&t, "@");
    txt_add(&t, org->domain);
}

static void gen_fill(const sim_org *org, uint32_t i, gen_prof *p)
{
    uint64_t s = org->seed;
    p->first = first_names[sim_rand(s, i, 30) % N_OF(first_names)];
    p->last = last_names[sim_rand(s, i, 31) % N_OF(last_names)];
    unsigned dep = (unsigned)(sim_rand(s, i, 32) % 100);
    /* rich: 6 % without a department (null), else 2 %. */
    p->department = dep < (org->rich ? 6u : 2u) ? NULL : departments[dep % N_OF(departments)];
    p->title = titles[sim_rand(s, i, 33) % N_OF(titles)];
    p->place = &places[sim_rand(s, i, 34) % N_OF(places)];
    p->user_type = sim_rand(s, i, 35) % 10 == 0 ? "Contractor" : "Employee";
    static const char *const cohorts[] = {"2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", NULL};
    p->cohort = cohorts[sim_rand(s, i, 36) % N_OF(cohorts)];
    gen_login(org, i, p->first, p->last, p->login, sizeof p->login);
    full_name(p->display, sizeof p->display, p->first, p->last);
    txt t = txt_at(p->employee_number, sizeof p->employee_number);
    txt_add(&t, "E");
    txt_u32(&t, i + 1, 7);
    t = txt_at(p->cost_center, sizeof p->cost_center);
    txt_add(&t, "CC-");
    txt_u32(&t, (unsigned)(sim_rand(s, i, 37) % 40) * 100 + 1000, 4);
    p->has_url = sim_rand(s, i, 38) % 10 < 3;
    if (p->has_url) {
        t = txt_at(p->profile_url, sizeof p->profile_url);
        txt_add(&t, "https://intranet.");
        txt_add(&t, org->domain);
        txt_add(&t, "/people/");
        txt_u32(&t, i, 0);
        txt_add(&t, ".jpg");
    }
    const sim_user *u = &org->users[i];
    /* rich: a picture attribute (Okta's base profile has none): 85 % have one, else null. */
    p->has_photo = org->rich && sim_rand(s, i, 39) % 100 < 85;
    if (p->has_photo) {
        t = txt_at(p->photo_url, sizeof p->photo_url);
        txt_add(&t, "https://photos.");
        txt_add(&t, org->domain);
        txt_add(&t, "/");
        txt_add(&t, u->id);
        txt_add(&t, ".jpg");
    }
    p->has_manager = u->manager >= 0 && (uint32_t)u->manager < org->n_users;
    if (p->has_manager) {
        memcpy(p->manager_id, org->users[u->manager].id, SIM_ID_LEN);
        manager_display(org, (uint32_t)u->manager, p->manager_name, sizeof p->manager_name);
    }
}

/* Generated value of one attribute, or NULL (absent or null). */
static const char *gen_get(const gen_prof *p, const char *name, char *buf, size_t cap)
{
    struct {
        const char *name, *value;
    } m[] = {
        {"login", p->login},
        {"email", p->login},
        {"firstName", p->first},
        {"lastName", p->last},
        {"displayName", p->display},
        {"title", p->title},
        {"department", p->department},
        {"organization", "Acme Corp"},
        {"employeeNumber", p->employee_number},
        {"costCenter", p->cost_center},
        {"userType", p->user_type},
        {"locale", p->place->locale},
        {"preferredLanguage", p->place->lang},
        {"timezone", p->place->tz},
        {"city", p->place->city},
        {"countryCode", p->place->country},
        {"profileUrl", p->has_url ? p->profile_url : NULL},
        {"manager", p->has_manager ? p->manager_name : NULL},
        {"managerId", p->has_manager ? p->manager_id : NULL},
        {"learningCohort", p->cohort},
        {"photoUrl", p->has_photo ? p->photo_url : NULL},
    };
    for (size_t k = 0; k < N_OF(m); k++)
        if (strcmp(m[k].name, name) == 0) {
            if (!m[k].value)
                return NULL;
            snprintf(buf, cap, "%s", m[k].value);
            return buf;
        }
    return NULL;
}

static const char *json_text(json_t *v, char *buf, size_t cap)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v))
        snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, cap, "%g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, cap, "%s", json_is_true(v) ? "true" : "false");
    else
        return NULL;
    return buf;
}

const char *sim_profile_get(const sim_org *org, uint32_t idx, const char *name, char *buf,
                            size_t cap)
{
    const sim_user *u = &org->users[idx];
    if (u->override) {
        json_t *v = json_object_get(u->override, name);
        if (v)
            return json_text(v, buf, cap);
    }
    if (u->custom)
        return NULL;
    if (strcmp(name, "login") == 0 || strcmp(name, "email") == 0) {
        /* The app-user listing's userName: no need to generate the whole profile. */
        char login[sizeof((gen_prof *)0)->login];
        gen_login(org, idx, first_names[sim_rand(org->seed, idx, 30) % N_OF(first_names)],
                  last_names[sim_rand(org->seed, idx, 31) % N_OF(last_names)], login, sizeof login);
        txt t = txt_at(buf, cap);
        txt_add(&t, login);
        return buf;
    }
    gen_prof p;
    gen_fill(org, idx, &p);
    return gen_get(&p, name, buf, cap);
}

static void field(sim_buf *b, const char *name, const char *value, bool first)
{
    if (!first)
        SIM_BUF_LIT(b, ",");
    SIM_BUF_LIT(b, "\"");
    sim_buf_adds(b, name);
    SIM_BUF_LIT(b, "\":");
    sim_buf_jstr(b, value);
}

typedef struct gen_field {
    const char *name, *value; /* value NULL = null */
} gen_field;
#define MAX_GEN_FIELDS 24

/* The generated profile's attributes in rendering order; returns how many. */
static size_t gen_fields(const sim_org *org, const gen_prof *p, gen_field *f)
{
    size_t n = 0;
    f[n++] = (gen_field){"login", p->login};
    f[n++] = (gen_field){"email", p->login};
    f[n++] = (gen_field){"firstName", p->first};
    f[n++] = (gen_field){"lastName", p->last};
    f[n++] = (gen_field){"displayName", p->display};
    f[n++] = (gen_field){"title", p->title};
    f[n++] = (gen_field){"department", p->department};
    f[n++] = (gen_field){"organization", "Acme Corp"};
    f[n++] = (gen_field){"employeeNumber", p->employee_number};
    f[n++] = (gen_field){"costCenter", p->cost_center};
    f[n++] = (gen_field){"userType", p->user_type};
    f[n++] = (gen_field){"manager", p->has_manager ? p->manager_name : NULL};
    f[n++] = (gen_field){"managerId", p->has_manager ? p->manager_id : NULL};
    f[n++] = (gen_field){"locale", p->place->locale};
    f[n++] = (gen_field){"preferredLanguage", p->place->lang};
    f[n++] = (gen_field){"timezone", p->place->tz};
    f[n++] = (gen_field){"city", p->place->city};
    f[n++] = (gen_field){"countryCode", p->place->country};
    f[n++] = (gen_field){"profileUrl", p->has_url ? p->profile_url : NULL};
    f[n++] = (gen_field){"learningCohort", p->cohort};
    if (org->rich)
        f[n++] = (gen_field){"photoUrl", p->has_photo ? p->photo_url : NULL};
    return n;
}

/* Fast path: no override, write the generated profile straight into the buffer. */
static void render_generated(const sim_org *org, uint32_t idx, sim_buf *b)
{
    gen_prof p;
    gen_field f[MAX_GEN_FIELDS];
    gen_fill(org, idx, &p);
    size_t n = gen_fields(org, &p, f);
    sim_buf_add(b, "{", 1);
    for (size_t k = 0; k < n; k++)
        field(b, f[k].name, f[k].value, k == 0);
    sim_buf_add(b, "}", 1);
}

json_t *sim_profile_absent(void)
{
    return json_pack("{s:b}", "$absent", 1);
}

bool sim_profile_is_absent(const json_t *v)
{
    return json_is_object(v) && json_is_true(json_object_get(v, "$absent"));
}

json_t *sim_profile_json(const sim_org *org, uint32_t idx)
{
    const sim_user *u = &org->users[idx];
    json_t *obj = NULL;
    if (u->custom) {
        obj = json_object();
    } else {
        sim_buf b = {0};
        render_generated(org, idx, &b);
        obj = b.data ? json_loads(b.data, 0, NULL) : NULL;
        sim_buf_free(&b);
    }
    if (obj && u->override) {
        json_object_update(obj, u->override);
        const char *key;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(obj, tmp, key, v)
        {
            if (sim_profile_is_absent(v))
                json_object_del(obj, key);
        }
    }
    return obj;
}

/* jansson writes these bytes back unchanged: no '"', '\\' or control byte (and valid UTF-8,
 * which the callers guarantee). */
static bool plain(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == '"' || *s == '\\')
            return false;
    return true;
}

static bool ascii_plain(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

/* ,"key":<value as json_dumps writes it>; false when jansson cannot. */
static bool dump_field(sim_buf *b, const char *key, bool known_key, json_t *v, bool first)
{
    size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY;
    json_t *k = known_key ? NULL : json_string(key);
    char *ks = k ? json_dumps(k, flags) : NULL, *vs = json_dumps(v, flags);
    json_decref(k);
    bool ok = vs && (known_key || ks);
    if (ok) {
        if (!first)
            SIM_BUF_LIT(b, ",");
        if (known_key) {
            SIM_BUF_LIT(b, "\"");
            sim_buf_adds(b, key);
            SIM_BUF_LIT(b, "\":");
        } else {
            sim_buf_adds(b, ks);
            SIM_BUF_LIT(b, ":");
        }
        sim_buf_adds(b, vs);
    }
    free(ks);
    free(vs);
    return ok;
}

static bool generated_name(const gen_field *f, size_t n, const char *key)
{
    for (size_t k = 0; k < n; k++)
        if (strcmp(f[k].name, key) == 0)
            return true;
    return false;
}

/* A generated user with an override, rendered as sim_profile_json + json_dumps would (the
 * generated attributes in order, each replaced by its override or left out when the override
 * is the absent marker, then the override's other attributes in its order) without building
 * and re-parsing the whole profile: the worker reads changed users all the time. False (and
 * nothing written) when that equivalence is not certain: escapes or non-ASCII bytes jansson
 * would rewrite, a custom user, a value jansson cannot dump. */
static bool render_overridden(const sim_org *org, uint32_t idx, sim_buf *b)
{
    const sim_user *u = &org->users[idx];
    if (u->custom || !ascii_plain(org->domain) || !plain(org->domain))
        return false;
    gen_prof p;
    gen_field f[MAX_GEN_FIELDS];
    gen_fill(org, idx, &p);
    size_t n = gen_fields(org, &p, f);
    for (size_t k = 0; k < n; k++)
        if (f[k].value && !plain(f[k].value))
            return false;
    size_t start = b->len;
    bool first = true;
    SIM_BUF_LIT(b, "{");
    for (size_t k = 0; k < n; k++) {
        json_t *v = json_object_get(u->override, f[k].name);
        if (v && sim_profile_is_absent(v))
            continue;
        if (!v)
            field(b, f[k].name, f[k].value, first);
        else if (!dump_field(b, f[k].name, true, v, first))
            goto undo;
        first = false;
    }
    const char *key;
    json_t *v;
    json_object_foreach(u->override, key, v)
    {
        if (generated_name(f, n, key) || sim_profile_is_absent(v))
            continue;
        if (!dump_field(b, key, false, v, first))
            goto undo;
        first = false;
    }
    SIM_BUF_LIT(b, "}");
    return true;
undo:
    b->len = start;
    if (b->data)
        b->data[start] = '\0';
    return false;
}

void sim_profile_render(const sim_org *org, uint32_t idx, sim_buf *b)
{
    if (!org->users[idx].override && !org->users[idx].custom) {
        render_generated(org, idx, b);
        return;
    }
    if (render_overridden(org, idx, b))
        return;
    json_t *obj = sim_profile_json(org, idx);
    char *s = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    sim_buf_adds(b, s ? s : "{}");
    free(s);
    json_decref(obj);
}
