/* Deterministic pseudo-randomness (splitmix64) and id formats. */
#include "sim.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

uint64_t sim_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint64_t sim_rand(uint64_t seed, uint64_t idx, uint64_t field)
{
    return sim_mix64(sim_mix64(seed ^ (field * 0x2545f4914f6cdd1dULL)) + idx);
}

void sim_make_id(char *out, const char *prefix, uint64_t seed, uint64_t idx, uint64_t salt)
{
    size_t p = strlen(prefix);
    memcpy(out, prefix, p);
    uint64_t a = sim_rand(seed, idx, 1000 + salt), b = sim_rand(seed, idx, 2000 + salt);
    for (size_t i = p; i < 20; i++) {
        uint64_t *src = i < 13 ? &a : &b;
        out[i] = b62[*src % 62];
        *src /= 62;
    }
    out[20] = '\0';
}

static __thread uint64_t tls_state;

static uint64_t next_random(void)
{
    if (tls_state == 0) {
        uint64_t s = 0;
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            if (read(fd, &s, sizeof s) != (ssize_t)sizeof s)
                s = 0;
            close(fd);
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        tls_state = s ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)&s;
    }
    tls_state += 0x9e3779b97f4a7c15ULL;
    return sim_mix64(tls_state);
}

void sim_random_token(char *out, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++)
        out[i] = b62[next_random() % 62];
    if (len)
        out[len - 1] = '\0';
}

void sim_uuid(char *out)
{
    uint64_t a = next_random(), b = next_random();
    a = (a & ~0xf000ULL) | 0x4000ULL;                        /* version 4 */
    b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL; /* variant */
    snprintf(out, 37, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)((a >> 16) & 0xffff), (unsigned)(a & 0xffff), (unsigned)(b >> 48),
             (unsigned long long)(b & 0xffffffffffffULL));
}
