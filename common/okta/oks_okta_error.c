/*
 * Okta error bodies ({"errorCode":"E0000011","errorSummary":...,"errorId":...}) and the mapping
 * from HTTP status + errorCode to oks_err classes. errorCode drives logic; errorSummary is only
 * copied for humans because Okta may reword it (okta-reference §4).
 */
#include "okta/oks_okta_int.h"

#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

static void copy_str(const json_t *obj, const char *key, char *dst, size_t cap)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (s)
        snprintf(dst, cap, "%s", s);
}

int oks_okta__error_parse(const char *body, size_t len, oks_okta_error_body *out)
{
    memset(out, 0, sizeof *out);
    if (!body || len == 0)
        return -1;
    json_error_t jerr;
    /* Depth and size are bounded by the transport's body cap; jansson itself limits nesting. */
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    int rc = -1;
    if (!json_is_object(j))
        goto out;
    if (!json_is_string(json_object_get(j, "errorCode")))
        goto out;
    copy_str(j, "errorCode", out->code, sizeof out->code);
    copy_str(j, "errorSummary", out->summary, sizeof out->summary);
    copy_str(j, "errorId", out->id, sizeof out->id);
    rc = 0;
out:
    json_decref(j);
    return rc;
}

oks_errcode oks_okta__classify_status(long status, const char *error_code)
{
    const char *code = error_code ? error_code : "";
    /* The errorCode wins over the status where Okta defines one; E0000047 is the rate limit
     * whatever status a proxy put in front of it. */
    if (strcmp(code, "E0000047") == 0 || status == 429)
        return OKS_E_RATELIMIT;
    if (strcmp(code, "E0000011") == 0 || strcmp(code, "E0000004") == 0)
        return OKS_E_AUTH;
    if (strcmp(code, "E0000007") == 0)
        return OKS_E_NOTFOUND;
    if (strcmp(code, "E0000006") == 0 || strcmp(code, "E0000005") == 0)
        return OKS_E_FORBIDDEN;
    if (strcmp(code, "E0000009") == 0)
        return OKS_E_TRANSIENT;
    if (status >= 500)
        return status == 503 ? OKS_E_UNAVAILABLE : OKS_E_TRANSIENT;
    switch (status) {
    case 401:
        return OKS_E_AUTH;
    case 403:
        return OKS_E_FORBIDDEN;
    case 404:
        return OKS_E_NOTFOUND;
    case 408:
        return OKS_E_TIMEOUT;
    case 409:
        return OKS_E_CONFLICT;
    default:
        return status >= 400 ? OKS_E_INVALID : OKS_E_PERMANENT;
    }
}

oks_errcode oks_okta__classify_curl(int curl_code)
{
    switch ((CURLcode)curl_code) {
    case CURLE_OK:
        return OKS_OK;
    case CURLE_OPERATION_TIMEDOUT:
        return OKS_E_TIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
        return OKS_E_UNAVAILABLE;
    case CURLE_PARTIAL_FILE:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return OKS_E_TRANSIENT;
    case CURLE_OUT_OF_MEMORY:
        return OKS_E_NOMEM;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
        return OKS_E_INVALID;
    default:
        return OKS_E_TRANSIENT;
    }
}
