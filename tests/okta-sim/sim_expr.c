#define _GNU_SOURCE /* strcasestr */
/*
 * Okta's filter/search expression language, the subset sync code uses:
 *   attr (eq|gt|ge|lt|le|sw|co) "value"  |  attr pr  |  ( ... )  joined by and / or.
 * Operators and and/or are case-insensitive, attribute names case-sensitive. Values compare
 * case-sensitively for `filter` and case-insensitively for `search` (rules.exact); time
 * attributes compare as instants. A multi-valued attribute matches when any value does.
 */
#include "sim.h"

#include "core/oks_time.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { N_OR, N_AND, N_CMP };
enum { OP_EQ, OP_GT, OP_GE, OP_LT, OP_LE, OP_SW, OP_CO, OP_PR };

struct sim_expr {
    int kind, op;
    bool exact;
    char *attr, *value;
    sim_expr *l, *r;
};

typedef struct parser {
    const char *s;
    const sim_expr_rules *rules;
    oks_err *err;
    int depth;
} parser;

static void skip_ws(parser *p)
{
    while (*p->s == ' ' || *p->s == '\t' || *p->s == '+')
        p->s++;
}

/* Next bare word (attribute, operator, and/or) into out. */
static bool word(parser *p, char *out, size_t cap)
{
    skip_ws(p);
    size_t n = 0;
    while (isalnum((unsigned char)*p->s) || *p->s == '.' || *p->s == '_') {
        if (n + 1 >= cap)
            return false;
        out[n++] = *p->s++;
    }
    out[n] = '\0';
    return n > 0;
}

static bool peek_word(parser *p, const char *w)
{
    skip_ws(p);
    size_t n = strlen(w);
    return strncasecmp(p->s, w, n) == 0 && !isalnum((unsigned char)p->s[n]);
}

static bool in_list(const char *const *list, const char *s)
{
    if (!list)
        return true;
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

static bool op_allowed(const sim_expr_rules *rules, int op, const char *attr)
{
    if (op < 0 || !(rules->ops & (1u << op)) || !in_list(rules->attrs, attr))
        return false;
    if ((1u << op) & SIM_OP_RANGE)
        return in_list(rules->ranged, attr);
    if (op == OP_CO)
        return in_list(rules->contains, attr);
    return true;
}

static sim_expr *node(int kind)
{
    sim_expr *e = calloc(1, sizeof *e);
    if (e)
        e->kind = kind;
    return e;
}

static char *quoted(parser *p)
{
    skip_ws(p);
    if (*p->s != '"') {
        /* Unquoted literals: numbers and booleans. */
        char w[64];
        return word(p, w, sizeof w) ? strdup(w) : NULL;
    }
    const char *start = ++p->s;
    while (*p->s && *p->s != '"')
        p->s += (*p->s == '\\' && p->s[1]) ? 2 : 1;
    if (*p->s != '"')
        return NULL;
    char *v = strndup(start, (size_t)(p->s - start));
    p->s++;
    return v;
}

static sim_expr *parse_or(parser *p);

static sim_expr *parse_cmp(parser *p)
{
    static const char *const ops[] = {"eq", "gt", "ge", "lt", "le", "sw", "co", "pr"};
    char attr[128], op[8];
    skip_ws(p);
    if (*p->s == '(') {
        p->s++;
        sim_expr *e = parse_or(p);
        skip_ws(p);
        if (!e || *p->s != ')') {
            sim_expr_free(e);
            return NULL;
        }
        p->s++;
        return e;
    }
    if (!word(p, attr, sizeof attr) || !word(p, op, sizeof op))
        return NULL;
    sim_expr *e = node(N_CMP);
    if (!e)
        return NULL;
    e->op = -1;
    for (int i = 0; i < 8; i++)
        if (strcasecmp(op, ops[i]) == 0)
            e->op = i;
    e->attr = strdup(attr);
    e->exact = p->rules->exact;
    if (!e->attr || !op_allowed(p->rules, e->op, attr))
        goto bad;
    if (e->op != OP_PR && !(e->value = quoted(p)))
        goto bad;
    return e;
bad:
    sim_expr_free(e);
    return NULL;
}

static sim_expr *parse_chain(parser *p, int kind, const char *kw)
{
    if (++p->depth > 32)
        return NULL;
    sim_expr *l = kind == N_OR ? parse_chain(p, N_AND, "and") : parse_cmp(p);
    while (l && peek_word(p, kw)) {
        p->s += strlen(kw);
        sim_expr *r = kind == N_OR ? parse_chain(p, N_AND, "and") : parse_cmp(p);
        sim_expr *n = r ? node(kind) : NULL;
        if (!n) {
            sim_expr_free(l);
            sim_expr_free(r);
            return NULL;
        }
        n->l = l;
        n->r = r;
        l = n;
    }
    p->depth--;
    return l;
}

static sim_expr *parse_or(parser *p)
{
    return parse_chain(p, N_OR, "or");
}

sim_expr *sim_expr_parse(const char *text, const sim_expr_rules *rules, oks_err *err)
{
    parser p = {.s = text, .rules = rules, .err = err};
    sim_expr *e = parse_or(&p);
    skip_ws(&p);
    if (!e || *p.s) {
        sim_expr_free(e);
        oks_err_set(err, OKS_E_INVALID, "Invalid search criteria.");
        return NULL;
    }
    return e;
}

static bool is_time_attr(const char *a)
{
    return !strcmp(a, "lastUpdated") || !strcmp(a, "created") || !strcmp(a, "statusChanged") ||
           !strcmp(a, "activated") || !strcmp(a, "published") || !strcmp(a, "lastLogin");
}

static int compare(const sim_expr *e, const char *have)
{
    int64_t a, b;
    if (is_time_attr(e->attr) && oks_time_parse_iso8601(have, &a) &&
        oks_time_parse_iso8601(e->value, &b))
        return a < b ? -1 : a > b;
    return e->exact ? strcmp(have, e->value) : strcasecmp(have, e->value);
}

static bool match_value(const sim_expr *e, const char *have)
{
    size_t n = strlen(e->value);
    switch (e->op) {
    case OP_EQ:
        return compare(e, have) == 0;
    case OP_GT:
        return compare(e, have) > 0;
    case OP_GE:
        return compare(e, have) >= 0;
    case OP_LT:
        return compare(e, have) < 0;
    case OP_LE:
        return compare(e, have) <= 0;
    case OP_SW:
        return e->exact ? strncmp(have, e->value, n) == 0 : strncasecmp(have, e->value, n) == 0;
    case OP_CO:
        return (e->exact ? strstr(have, e->value) : strcasestr(have, e->value)) != NULL;
    default:
        return false;
    }
}

static bool eval_cmp(const sim_expr *e, sim_expr_get get, void *item)
{
    char buf[512];
    for (int nth = 0; nth < 64; nth++) {
        const char *have = get(item, e->attr, nth, buf, sizeof buf);
        if (!have)
            return false;
        if (e->op == OP_PR || match_value(e, have))
            return true;
    }
    return false;
}

bool sim_expr_eval(const sim_expr *e, sim_expr_get get, void *item)
{
    switch (e->kind) {
    case N_OR:
        return sim_expr_eval(e->l, get, item) || sim_expr_eval(e->r, get, item);
    case N_AND:
        return sim_expr_eval(e->l, get, item) && sim_expr_eval(e->r, get, item);
    default:
        return eval_cmp(e, get, item);
    }
}

/* Leaves of an or-only tree that are all exact `attr eq "value"` comparisons; false otherwise. */
static bool eq_leaves(const sim_expr *e, const char *attr, const char **out, size_t *n)
{
    if (e->kind == N_OR)
        return eq_leaves(e->l, attr, out, n) && eq_leaves(e->r, attr, out, n);
    if (e->kind != N_CMP || e->op != OP_EQ || !e->exact || strcmp(e->attr, attr) != 0)
        return false;
    if (out)
        out[*n] = e->value;
    (*n)++;
    return true;
}

bool sim_expr_eq_list(const sim_expr *e, const char *attr, const char ***values, size_t *n)
{
    size_t count = 0;
    *values = NULL;
    *n = 0;
    if (!e || !eq_leaves(e, attr, NULL, &count))
        return false;
    const char **v = malloc(count * sizeof *v);
    if (!v)
        return false;
    eq_leaves(e, attr, v, n);
    *values = v;
    return true;
}

void sim_expr_free(sim_expr *e)
{
    if (!e)
        return;
    sim_expr_free(e->l);
    sim_expr_free(e->r);
    free(e->attr);
    free(e->value);
    free(e);
}
