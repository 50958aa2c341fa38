/* The attribute map's fields, defaults and override syntax (oks_attr_map.h). */
#include "core/oks_attr_map.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Okta's base profile: docs/rules.md. It has no picture attribute (profileUrl links to a
 * profile page, not an image), so picture is synced only when mapped. */
const oks_attr_field oks_attr_fields[] = {
    {"first_name", "firstName", NULL},
    {"last_name", "lastName", NULL},
    {"email", "email", NULL},
    {"title", "title", NULL},
    {"language", "preferredLanguage", "locale"},
    {"location", "city", NULL},
    {"department", "department", NULL},
    {"picture", NULL, NULL},
};
const size_t oks_attr_fields_count = sizeof oks_attr_fields / sizeof oks_attr_fields[0];

#define MAX_NAME 100
#define MAX_PARTS 4

const oks_attr_field *oks_attr_field_find(const char *name)
{
    for (size_t i = 0; name && i < oks_attr_fields_count; i++)
        if (strcmp(oks_attr_fields[i].field, name) == 0)
            return &oks_attr_fields[i];
    return NULL;
}

static bool valid_name_n(const char *s, size_t len)
{
    if (len == 0 || len > MAX_NAME || !isalpha((unsigned char)s[0]))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return false;
    return true;
}

bool oks_attr_valid_name(const char *s)
{
    return s && valid_name_n(s, strlen(s));
}

bool oks_attr_valid_override(const oks_attr_field *field, const char *attr, char *why, size_t cap)
{
    if (!attr[0])
        return true; /* not synced */
    bool combine = strcmp(field->field, "location") == 0;
    int parts = 0;
    for (const char *p = attr;; parts++) {
        const char *plus = strchr(p, '+');
        size_t len = plus ? (size_t)(plus - p) : strlen(p);
        if (!valid_name_n(p, len) || (plus && !combine) || parts >= MAX_PARTS) {
            if (plus && !combine)
                snprintf(why, cap, "only location combines attributes with '+'");
            else if (parts >= MAX_PARTS)
                snprintf(why, cap, "at most %d attributes joined by '+'", MAX_PARTS);
            else
                snprintf(why, cap,
                         "expected an Okta attribute name (a letter, then letters, digits or "
                         "'_', at most %d)%s",
                         MAX_NAME, combine ? ", or several joined by '+'" : "");
            return false;
        }
        if (!plus)
            break;
        p = plus + 1;
    }
    return true;
}
