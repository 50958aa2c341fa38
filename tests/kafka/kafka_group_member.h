/* A consumer-group member in its own process (the test binary re-executed with
 * KGM_CHILD_FLAG), reporting its assignment and messages line by line on a pipe:
 *   "A <bitmask of assigned partitions>"   whenever the assignment changed
 *   "M <partition> <offset> <key>"         per message (offset stored after the line is out)
 * Closing its stdin asks it to close the consumer and exit 0. */
#ifndef KAFKA_GROUP_MEMBER_H
#define KAFKA_GROUP_MEMBER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define KGM_CHILD_FLAG "--group-member"
#define KGM_MAX_KEYS 64

typedef struct kgm_member {
    pid_t pid;
    int out_fd, in_fd;
    char buf[4096];
    size_t len;
    bool have_assignment;
    uint32_t assigned; /* latest reported assignment (partition bitmask) */
    int n_messages;
    int foreign_partition_messages; /* messages from a partition not assigned at the time */
    uint64_t keys_seen;             /* bit i: key "k<i>" received */
} kgm_member;

void kgm_spawn(kgm_member *m, const char *brokers, const char *group, const char *topic);
/* True once every member holds a non-empty assignment, the assignments are disjoint, cover
 * partitions 0..n_partitions-1, and stayed so for 2 s. */
bool kgm_wait_split(kgm_member *ms, int n, int n_partitions, int timeout_ms);
/* True once keys k0..k<n_keys-1> were all received (by any member). */
bool kgm_wait_messages(kgm_member *ms, int n, int n_keys, int timeout_ms);
/* Ask to stop; returns the exit status, or -1 when it had to be killed. */
int kgm_stop(kgm_member *m, int timeout_ms);

int kgm_child_main(int argc, char **argv);

#endif
