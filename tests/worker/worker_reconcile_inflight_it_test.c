/*
 * Reads in flight (reconcile-inflight, docs/worker-reconcile.md "Reads in flight"): one
 * reconciler thread with several tenants' Okta reads out, in process against PostgreSQL and
 * two Okta simulators, one of them slow.
 */
#include "core/oks_metrics.h"
#include "core/oks_time.h"
#include "core/oks_json_arena.h"
#include "oks_test.h"
#include "rfixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tenants a and b, each on a simulator of its own (sa, sb) with 5 users, and one reconciler
 * thread with `inflight` rounds out (started by the test). */
typedef struct two_orgs {
    rsim sa, sb;
    rfx f;
    char *a, *b, **ia, **ib;
    size_t na, nb;
} two_orgs;

static void two_orgs_open(two_orgs *o, int inflight)
{
    o->a = rfx_open(&o->sa, &o->f, 5, false);
    rsim_start(&o->sb, 5, NULL);
    o->b = rfx_tenant(&o->f, &o->sb, false);
    o->ia = rsim_user_ids(&o->sa, &o->na);
    o->ib = rsim_user_ids(&o->sb, &o->nb);
    o->f.cfg.reconcile_threads = 1;
    o->f.cfg.reconcile_inflight = inflight;
}

static void two_orgs_close(two_orgs *o)
{
    free(o->b);
    rfx_free_ids(o->ia, o->na);
    rfx_free_ids(o->ib, o->nb);
    rsim_stop(&o->sb);
    rfx_close(&o->sa, &o->f, o->a);
}

static long list_reads(rsim *s)
{
    return rsim_calls(s, "GET /api/v1/users");
}

/* Until the simulator has served more than `before` list reads (one is out). */
static void wait_list_read(rsim *s, long before)
{
    int64_t end = oks_now_mono_ms() + 10000;
    while (list_reads(s) == before && oks_now_mono_ms() < end)
        oks_sleep_ms(10);
    OKS_ASSERT(list_reads(s) > before);
}

static long users_of(rfx *f, const char *tenant)
{
    return rfx_count(f, "SELECT count(*) FROM users WHERE tenant_id = $1::uuid", tenant, NULL);
}

/* reconcile-inflight: one thread with a slow org's read out keeps claiming and applying other
 * tenants; with 1, the other tenant waits behind that read. */
static void slow_org_and_another(int inflight, bool other_waits)
{
    two_orgs o;
    two_orgs_open(&o, inflight);
    OKS_ASSERT_EQ_INT(rsim_post(&o.sa, "faults", "{\"latency_ms\":2500}"), 200);
    long l0 = list_reads(&o.sa);
    rfx_mark(&o.f, o.a, o.ia[0], 1, false, NULL);
    oks_sleep_ms(100); /* a's change is the older one: the thread takes a first */
    rfx_mark(&o.f, o.b, o.ib[0], 1, false, NULL);
    oks_sleep_ms(100); /* both past the coalescing window */
    rfx_start(&o.f);
    wait_list_read(&o.sa, l0); /* a's read is out */
    if (other_waits) {
        oks_sleep_ms(1500);
        OKS_ASSERT_EQ_INT(rfx_marks_left(&o.f, o.b), 1);
    } else {
        OKS_ASSERT(rfx_wait_clean(&o.f, o.b, 1500));
        OKS_ASSERT_EQ_INT(rfx_marks_left(&o.f, o.a), 1); /* still reading */
        OKS_ASSERT_EQ_INT((long)rfx_series("oktasync_worker_reconcile_reads_in_flight"), 1);
        OKS_ASSERT_EQ_INT((long)rfx_series("oktasync_worker_reconcile_reads_capacity"), inflight);
    }
    OKS_ASSERT(rfx_wait_clean(&o.f, o.a, 10000));
    OKS_ASSERT(rfx_wait_clean(&o.f, o.b, 10000));
    rfx_stop(&o.f);
    OKS_ASSERT_EQ_INT(users_of(&o.f, o.a), 1);
    OKS_ASSERT_EQ_INT(users_of(&o.f, o.b), 1);
    two_orgs_close(&o);
}

OKS_TEST(one_thread_reading_one_tenant_holds_the_next)
{
    slow_org_and_another(1, true);
}

OKS_TEST(reads_in_flight_let_a_thread_apply_past_a_slow_org)
{
    slow_org_and_another(2, false);
}

/* A thread's rounds out share its session, and with it their tenants' locks. When that
 * connection is lost while reads are out, the first round to come back fails and the
 * connection is made again; a round that comes back after that must not write on the new
 * session (another reconciler may hold its tenant by then): it writes nothing and its users are
 * read again. */
OKS_TEST(a_round_whose_lock_went_with_its_connection_writes_nothing)
{
    two_orgs o;
    two_orgs_open(&o, 2);
    OKS_ASSERT_EQ_INT(rsim_post(&o.sa, "faults", "{\"latency_ms\":1000}"), 200);
    OKS_ASSERT_EQ_INT(rsim_post(&o.sb, "faults", "{\"latency_ms\":2500}"), 200);
    long la = list_reads(&o.sa), lb = list_reads(&o.sb);
    rfx_mark(&o.f, o.a, o.ia[0], 1, false, NULL);
    rfx_mark(&o.f, o.b, o.ib[0], 1, false, NULL);
    oks_sleep_ms(100); /* past the coalescing window */
    rfx_start(&o.f);
    wait_list_read(&o.sa, la);
    wait_list_read(&o.sb, lb);
    /* both reads are out: the reconciler's connection goes */
    char *killed = wt_scalar(o.f.db,
                             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                             "WHERE datname = current_database() AND pid <> pg_backend_pid()",
                             0, NULL);
    OKS_ASSERT(killed != NULL && strcmp(killed, "1") == 0);
    free(killed);
    OKS_ASSERT(rfx_wait_clean(&o.f, o.a, 15000));
    OKS_ASSERT(rfx_wait_clean(&o.f, o.b, 15000));
    rfx_stop(&o.f);
    /* a's round found the connection gone; b's came back to a new one: both read again */
    OKS_ASSERT_EQ_INT(list_reads(&o.sa) - la, 2);
    OKS_ASSERT_EQ_INT(list_reads(&o.sb) - lb, 2);
    OKS_ASSERT_EQ_INT(users_of(&o.f, o.b), 1);
    two_orgs_close(&o);
}

/* A thread with a slow org's round out keeps taking the changes that arrive meanwhile: when
 * its due list is used up it applies the next round back and looks again, rather than waiting
 * for every round it sent out. */
OKS_TEST(a_thread_takes_new_changes_while_a_slow_org_is_still_out)
{
    two_orgs o;
    two_orgs_open(&o, 2);
    OKS_ASSERT_EQ_INT(rsim_post(&o.sa, "faults", "{\"latency_ms\":2500}"), 200);
    long la = list_reads(&o.sa);
    rfx_mark(&o.f, o.a, o.ia[0], 1, false, NULL);
    rfx_mark(&o.f, o.b, o.ib[0], 1, false, NULL);
    oks_sleep_ms(100); /* past the coalescing window */
    rfx_start(&o.f);
    OKS_ASSERT(rfx_wait_clean(&o.f, o.b, 2000));
    /* a new change of b while a's read is still out */
    rfx_mark(&o.f, o.b, o.ib[1], 1, false, NULL);
    oks_sleep_ms(100);
    oks_worker_reconciler_wake(o.f.rec);
    OKS_ASSERT(rfx_wait_clean(&o.f, o.b, 1500));
    OKS_ASSERT_EQ_INT(rfx_marks_left(&o.f, o.a), 1); /* still reading */
    OKS_ASSERT_EQ_INT(list_reads(&o.sa) - la, 1);
    OKS_ASSERT(rfx_wait_clean(&o.f, o.a, 10000));
    rfx_stop(&o.f);
    OKS_ASSERT_EQ_INT(users_of(&o.f, o.b), 2);
    two_orgs_close(&o);
}

int main(int argc, char **argv)
{
    /* as the worker's main does: jansson allocates from thread arenas while pages are read and
     * batches built (core/oks_json_arena.h); the other worker tests run without */
    oks_json_arena_install();
    return oks_test_main(argc, argv);
}
