/* The one okta_domain reading (core/oks_okta_domain.h): what the CLI stores and the base URL
 * the worker calls. */
#include "core/oks_okta_domain.h"
#include "oks_test.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    const char *in;
    const char *stored; /* NULL: refused */
    const char *base_url;
} cases[] = {
    {"acme.okta.com", "acme.okta.com", "https://acme.okta.com"},
    {"acme.okta.com/", "acme.okta.com", "https://acme.okta.com"},
    {"dev-1.okta.com:8443", "dev-1.okta.com:8443", "https://dev-1.okta.com:8443"},
    {"https://acme.okta.com", "https://acme.okta.com", "https://acme.okta.com"},
    {"HTTPS://acme.okta.com//", "HTTPS://acme.okta.com", "https://acme.okta.com"},
    {"http://127.0.0.1:8080/", "http://127.0.0.1:8080", "http://127.0.0.1:8080"},
    {"ftp://acme.okta.com", NULL, NULL},
    {"", NULL, NULL},
    {"/", NULL, NULL},
    {"https://", NULL, NULL},
    {"acme .okta.com", NULL, NULL},
    {"acme.okta.com/path", NULL, NULL},
    {".acme.okta.com", NULL, NULL},
    {"acme.okta.com-", NULL, NULL},
    {"acme_x.okta.com", NULL, NULL},
    {"acme.okta.com:0", NULL, NULL},
    {"acme.okta.com:65536", NULL, NULL},
    {"acme.okta.com:", NULL, NULL},
    {"acme.okta.com:80a", NULL, NULL},
};

OKS_TEST(parse_and_base_url_agree_on_one_table)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t keep = 0;
        bool http = false;
        char why[128] = "";
        bool ok = oks_okta_domain_parse(cases[i].in, &keep, &http, why, sizeof why);
        char *url = oks_okta_domain_base_url(cases[i].in);
        if (!cases[i].stored) {
            if (ok || url)
                oks_test_fail(__FILE__, __LINE__, "\"%s\" accepted", cases[i].in);
            OKS_ASSERT(why[0] != '\0');
            continue;
        }
        if (!ok || !url)
            oks_test_fail(__FILE__, __LINE__, "\"%s\" refused: %s", cases[i].in, why);
        OKS_ASSERT_EQ_INT((long long)keep, (long long)strlen(cases[i].stored));
        OKS_ASSERT(strncmp(cases[i].in, cases[i].stored, keep) == 0);
        OKS_ASSERT_EQ_STR(url, cases[i].base_url);
        OKS_ASSERT_EQ_INT(http, strncmp(cases[i].base_url, "http://", 7) == 0);
        free(url);
    }
    OKS_ASSERT(oks_okta_domain_base_url(NULL) == NULL);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
