#include "oks_signal.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t shutdown_flag;

static void on_shutdown_signal(int sig)
{
    (void)sig;
    if (shutdown_flag) {
        /* Second signal: the operator insists. Only async-signal-safe calls here. */
        static const char msg[] = "{\"level\":\"warn\",\"msg\":\"second signal, exiting now\"}\n";
        ssize_t rc = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)rc;
        _exit(130);
    }
    shutdown_flag = 1;
}

void oks_signal_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_shutdown_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

bool oks_shutdown_requested(void)
{
    return shutdown_flag != 0;
}

void oks_shutdown_request(void)
{
    shutdown_flag = 1;
}
