/* Test tool for tests/ctl (not a test): prints every message of a topic as one JSON array
 * ([{"key","value","partition","offset","headers"...}], as tests/worker/wtest.c reads them). */
#include "oks_test.h"
#include "wtest.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: ctl_topic_dump TOPIC  (brokers: OKTASYNC_KAFKA_BROKERS)\n");
        return 2;
    }
    json_t *msgs = wt_consume_all(argv[1], 10000);
    char *s = json_dumps(msgs, JSON_COMPACT);
    puts(s ? s : "[]");
    free(s);
    json_decref(msgs);
    return 0;
}
