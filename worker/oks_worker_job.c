#include "oks_worker_job.h"

#include "core/oks_time.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

int oks_worker_job_parse(const void *data, size_t len, oks_worker_job *out, oks_err *err)
{
    int rc = -1;
    json_error_t je;
    memset(out, 0, sizeof *out);
    if (!data || len == 0 || len > 64 * 1024)
        return oks_err_set(err, OKS_E_INVALID, "job value empty or too large");
    json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    const char *kind = NULL, *tenant = NULL, *when = NULL;
    json_int_t v = 0, run_id = 0;
    if (!j ||
        json_unpack_ex(j, &je, JSON_STRICT, "{s:I, s:s, s:s, s:I, s:s}", "v", &v, "kind", &kind,
                       "tenant", &tenant, "run_id", &run_id, "scheduled_for", &when) != 0) {
        oks_err_set(err, OKS_E_INVALID, "not a job message: %s", je.text);
        goto out;
    }
    if (v != 1 || strlen(kind) >= sizeof out->kind || !oks_worker_is_uuid(tenant) || run_id <= 0 ||
        !oks_time_parse_iso8601(when, &out->scheduled_for_ms)) {
        oks_err_set(err, OKS_E_INVALID, "job has a bad version, kind, tenant, run_id or time");
        goto out;
    }
    snprintf(out->kind, sizeof out->kind, "%s", kind);
    snprintf(out->tenant, sizeof out->tenant, "%s", tenant);
    out->run_id = run_id;
    rc = 0;
out:
    json_decref(j);
    return rc;
}
