/* Admin-side org operations (sim_admin_ops.c); callers hold the org write lock. */
#ifndef SIM_ADMIN_H
#define SIM_ADMIN_H

#include "sim.h"

/* op: deactivate | reactivate | activate | suspend | unsuspend */
int sim_op_lifecycle(sim_server *srv, uint32_t idx, const char *op, const char *uri, oks_err *err);
int sim_op_delete(sim_server *srv, uint32_t idx, const char *uri, oks_err *err);
int sim_op_update_profile(sim_server *srv, uint32_t idx, json_t *attrs, const char *uri,
                          oks_err *err);
/* Leave attribute `name` out of the profile (absent rather than null). */
int sim_op_unset_profile(sim_server *srv, uint32_t idx, const char *name, const char *uri,
                         oks_err *err);
int sim_op_assign(sim_server *srv, uint32_t idx, bool assign, const char *uri, oks_err *err);
int sim_op_membership(sim_server *srv, uint32_t idx, int g, bool add, const char *uri,
                      oks_err *err);
/* Body {"profile":{"login":...}, "status":"ACTIVE|STAGED|...", "assign":bool, "groups":[ids]}.
 * Returns the new user's index or -1. */
int64_t sim_op_create(sim_server *srv, json_t *body, const char *uri, oks_err *err);

#endif
