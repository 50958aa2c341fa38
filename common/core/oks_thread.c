#include "oks_thread.h"

#include <sys/prctl.h>

void oks_thread_name(const char *name)
{
    (void)prctl(PR_SET_NAME, name, 0, 0, 0);
}
