/*
 * A TCP forwarder in the test process, in front of a real service (PostgreSQL, Redis): "down"
 * cuts every open connection and refuses new ones (accept + close), "up" forwards again. It
 * is how a test stops and restarts a service that other tests share without touching it.
 */
#ifndef WPROXY_H
#define WPROXY_H

#include <stdbool.h>

typedef struct wproxy wproxy;

/* Listen on 127.0.0.1 (free port) and forward to host:port. */
wproxy *wproxy_start(const char *host, int port);
int wproxy_port(const wproxy *p);
void wproxy_set_up(wproxy *p, bool up);
void wproxy_stop(wproxy *p);

/* url with its first ":<port>" after the host replaced by the proxy's port (static buffer);
 * *target_port gets the original port. */
const char *wproxy_url(const char *url, int proxy_port, int *target_port);

/* port='N' of a libpq keyword conninfo (the tests' database URLs); append " port='M'" to it to
 * go through a proxy (the last value of a keyword wins). */
int wproxy_conninfo_port(const char *conninfo);

#endif
