/*
 * Attribute map and custom fields (docs/rules.md "Fields and mapping").
 *
 * The defaults live in ONE table (oks_worker_apply_fields.c); tenants.attribute_map overrides
 * them per field. A mapping expression names Okta profile attributes: "a|b" takes the first of a,
 * b that holds a value ("preferredLanguage|locale"), "a+b" joins the present values with ", "
 * ("city+countryCode"), "" means the field is not synced. Evaluated on the raw profile JSON:
 * an absent attribute leaves the field unchanged (the key is left out of the batch row), an
 * explicit null clears it.
 */
#ifndef OKS_WORKER_APPLY_FIELDS_H
#define OKS_WORKER_APPLY_FIELDS_H

#include "core/oks_err.h"
#include "db/oks_db.h"

#include <jansson.h>

/* What the tenant's rules need to build a batch: merged attribute map, manager attribute,
 * active custom field names. Loaded once per batch. */
typedef struct oks_worker_fieldmap {
    json_t *map;            /* platform field -> expression (defaults merged with the tenant's) */
    char *manager_attr;     /* Okta attribute naming the manager (default managerId) */
    char manager_match[16]; /* okta_id | login | email | employee_number */
    json_t *custom_fields;  /* array of active custom field names (removed_at IS NULL) */
} oks_worker_fieldmap;

/* The defaults alone (no tenant): used by tests and when the tenant row is gone. */
int oks_worker_fieldmap_defaults(oks_worker_fieldmap *m);
/* Defaults merged with tenants.attribute_map, plus manager_attribute and the custom fields. */
int oks_worker_fieldmap_load(oks_db *db, const char *tenant, oks_worker_fieldmap *m, oks_err *err);
void oks_worker_fieldmap_free(oks_worker_fieldmap *m);

/* Evaluate an expression on a profile: new reference to a JSON string or null, or NULL when
 * absent (leave unchanged). */
json_t *oks_worker_attr_eval(const json_t *profile, const char *expr);

/* Fill o with "f" (mapped fields present), "cf" (custom fields present) and "mref" (manager
 * reference or null). 0 / -1 (out of memory). */
int oks_worker_fields_row(const oks_worker_fieldmap *m, const json_t *profile, json_t *o);

/* The custom-field statement of a batch (inside the caller's transaction): values of active
 * fields upserted for the users whose stored state is this read; audit rows per change. */
int oks_worker_apply_fields_tx(oks_db *db, const char *tenant, const char *batch_json,
                               const char *source, const char *actor, const char *run_id,
                               long *changed, oks_err *err);

#endif
