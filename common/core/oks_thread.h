#ifndef OKS_THREAD_H
#define OKS_THREAD_H

/* Names the calling thread (at most 15 bytes kept), so `top -H`, `ps -L` and perf tell a
 * daemon's threads apart. Best effort: a failure changes nothing else. */
void oks_thread_name(const char *name);

#endif
