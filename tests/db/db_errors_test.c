/* Unit: SQLSTATE → oks_errcode mapping, the basis of the worker's retry / dead-letter choice. */
#include "db/oks_db.h"
#include "oks_test.h"

static void expect(const char *state, oks_errcode code, bool retriable)
{
    oks_errcode got = oks_db_errcode_for_sqlstate(state);
    if (got != code || oks_errcode_is_retriable(got) != retriable)
        oks_test_fail(__FILE__, __LINE__, "%s → %s (retriable %d), want %s (retriable %d)",
                      state ? state : "(null)", oks_errcode_name(got),
                      oks_errcode_is_retriable(got), oks_errcode_name(code), retriable);
}

OKS_TEST(retriable_states)
{
    expect("40001", OKS_E_TRANSIENT, true);   /* serialization_failure */
    expect("40P01", OKS_E_TRANSIENT, true);   /* deadlock_detected */
    expect("57P01", OKS_E_UNAVAILABLE, true); /* admin_shutdown */
    expect("57P02", OKS_E_UNAVAILABLE, true); /* crash_shutdown */
    expect("57P03", OKS_E_UNAVAILABLE, true); /* cannot_connect_now */
    expect("08006", OKS_E_UNAVAILABLE, true); /* connection_failure */
    expect("08001", OKS_E_UNAVAILABLE, true);
    expect("53300", OKS_E_TRANSIENT, true); /* too_many_connections */
    expect("55P03", OKS_E_TRANSIENT, true); /* lock_not_available */
    expect("57014", OKS_E_TIMEOUT, true);   /* statement timeout */
}

OKS_TEST(permanent_states)
{
    expect("23505", OKS_E_CONFLICT, false);  /* unique_violation */
    expect("23514", OKS_E_CONFLICT, false);  /* check_violation */
    expect("23503", OKS_E_CONFLICT, false);  /* foreign_key_violation */
    expect("42601", OKS_E_PERMANENT, false); /* syntax_error */
    expect("42P01", OKS_E_PERMANENT, false); /* undefined_table */
    expect("22P02", OKS_E_INVALID, false);   /* invalid_text_representation */
    expect("28P01", OKS_E_AUTH, false);
    expect("42501", OKS_E_FORBIDDEN, false);
    expect("40002", OKS_E_PERMANENT, false); /* integrity violation at commit: not a retry case */
    expect("", OKS_E_PERMANENT, false);
    expect(NULL, OKS_E_PERMANENT, false);
    expect("4000", OKS_E_PERMANENT, false);
}

OKS_TEST(connect_rejects_malformed_url_without_network)
{
    oks_err err = {0};
    oks_db_opts o = {.url = "postgresql://[::1:5432/x?bogus_option=1"};
    OKS_ASSERT(oks_db_connect(&o, &err) == NULL);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    OKS_ASSERT_CONTAINS(err.msg, "invalid database URL");
    o.url = "";
    OKS_ASSERT(oks_db_connect(&o, &err) == NULL);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
