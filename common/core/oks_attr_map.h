/*
 * The per-tenant attribute map (issue 10, docs/rules.md): which Okta profile attribute fills
 * each platform user field. tenants.attribute_map holds only the overrides, as a JSON object
 * field -> attribute; the defaults live here, once, for the CLI (validation, `tenant show`)
 * and the worker.
 *
 * An override is an Okta attribute name ([A-Za-z][A-Za-z0-9_]*, at most 100 characters), or
 * "" (the field is not synced). location alone also accepts a combination of up to four
 * attributes joined by '+', e.g. "city+countryCode" (the worker joins the present values).
 */
#ifndef OKS_ATTR_MAP_H
#define OKS_ATTR_MAP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct oks_attr_field {
    const char *field;        /* platform field: "first_name" ... "picture" */
    const char *default_attr; /* Okta attribute used when not overridden; NULL: not synced */
    const char *fallback;     /* attribute read when default_attr is absent, or NULL */
} oks_attr_field;

extern const oks_attr_field oks_attr_fields[];
extern const size_t oks_attr_fields_count;

/* The field named name, or NULL. */
const oks_attr_field *oks_attr_field_find(const char *name);

/* Is attr acceptable as an override of field (see above; "" is)? why gets the reason. */
bool oks_attr_valid_override(const oks_attr_field *field, const char *attr, char *why, size_t cap);

/* Is s an Okta profile attribute name ([A-Za-z][A-Za-z0-9_]*, 1..100 characters)? */
bool oks_attr_valid_name(const char *s);

#endif
