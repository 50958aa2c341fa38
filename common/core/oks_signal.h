/*
 * Shutdown signalling. The handlers only set a flag: the first SIGTERM/SIGINT asks the daemon to
 * drain and exit; a second one exits at once (status 130). SIGPIPE is ignored.
 */
#ifndef OKS_SIGNAL_H
#define OKS_SIGNAL_H

#include <stdbool.h>

void oks_signal_install(void);
bool oks_shutdown_requested(void);
/* For code that wants to stop the process as if SIGTERM arrived (tests, fatal conditions). */
void oks_shutdown_request(void);

#endif
