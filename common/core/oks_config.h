/*
 * Declarative configuration. Each program describes its settings in ONE table; the same table
 * drives command-line flags, environment variables, the optional config file, bounds checks,
 * --help and the generated docs/configuration.md.
 *
 * Precedence: --flag > OKTASYNC_<NAME> environment > config file (--config / OKTASYNC_CONFIG)
 * > the table's default.
 *
 * A setting named "kafka-brokers":
 *   flag      --kafka-brokers=VALUE or --kafka-brokers VALUE
 *   env       OKTASYNC_KAFKA_BROKERS
 *   file      kafka-brokers = VALUE     (one per line, '#' starts a comment)
 *
 *     typedef struct { char *brokers; int64_t deadline_ms; bool tls; } my_cfg;
 *     static const oks_cfg_entry my_entries[] = {
 *         OKS_CFG_STR("kafka-brokers", my_cfg, brokers, "127.0.0.1:9092", 0, "Kafka bootstrap"),
 *         OKS_CFG_DURATION("ack-deadline", my_cfg, deadline_ms, "2s", 1, 60000, "..."),
 *     };
 *     static const oks_cfg_program my_prog = OKS_CFG_PROGRAM("oktasync-x", "summary", my_entries);
 */
#ifndef OKS_CONFIG_H
#define OKS_CONFIG_H

#include "oks_err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum oks_cfg_type {
    OKS_CFG_T_STR,      /* char * (heap; freed by oks_cfg_free) */
    OKS_CFG_T_INT,      /* int64_t, decimal, bounded by min..max */
    OKS_CFG_T_BOOL,     /* bool: true/false/1/0/yes/no/on/off */
    OKS_CFG_T_DURATION, /* int64_t milliseconds: "250ms", "2s", "5m", "1h"; bare number = ms */
    OKS_CFG_T_SIZE,     /* int64_t bytes: "512", "64KiB", "1MiB", "1GiB" (also k/K, M, G) */
    OKS_CFG_T_ENUM,     /* int index into choices[] */
} oks_cfg_type;

enum {
    OKS_CFG_SECRET = 1u << 0,   /* never printed (dump shows "<redacted>") */
    OKS_CFG_REQUIRED = 1u << 1, /* empty value is an error */
};

/* A check beyond the type (a format the table cannot express): false with why filled makes
 * the value a configuration error named by its setting, like a type error. */
typedef bool (*oks_cfg_check_fn)(const char *value, char *why, size_t why_cap);

typedef struct oks_cfg_entry {
    const char *name; /* kebab-case */
    oks_cfg_type type;
    size_t offset;   /* offsetof(program config struct, field) */
    const char *def; /* default, as text; parsed by the same rules as user input */
    int64_t min, max;
    const char *const *choices; /* NULL-terminated, for OKS_CFG_T_ENUM */
    unsigned flags;
    const char *doc;
    oks_cfg_check_fn check; /* string settings only; NULL: none. Not called for "" */
} oks_cfg_entry;

typedef struct oks_cfg_program {
    const char *name;    /* "oktasync-ingest" */
    const char *summary; /* one line for --help */
    const char *usage;   /* extra usage text (positional arguments), may be NULL */
    const oks_cfg_entry *entries;
    size_t n_entries;
} oks_cfg_program;

#define OKS_CFG_STR(name, type, field, def, flags, doc)                                            \
    {                                                                                              \
        name, OKS_CFG_T_STR, offsetof(type, field), def, 0, 0, NULL, flags, doc, NULL              \
    }
/* A string setting whose value must also pass check (see oks_cfg_check_fn). */
#define OKS_CFG_STR_CHECKED(name, type, field, def, flags, check, doc)                             \
    {                                                                                              \
        name, OKS_CFG_T_STR, offsetof(type, field), def, 0, 0, NULL, flags, doc, check             \
    }
#define OKS_CFG_INT(name, type, field, def, min, max, doc)                                         \
    {                                                                                              \
        name, OKS_CFG_T_INT, offsetof(type, field), def, min, max, NULL, 0, doc, NULL              \
    }
#define OKS_CFG_BOOL(name, type, field, def, doc)                                                  \
    {                                                                                              \
        name, OKS_CFG_T_BOOL, offsetof(type, field), def, 0, 1, NULL, 0, doc, NULL                 \
    }
#define OKS_CFG_DURATION(name, type, field, def, min_ms, max_ms, doc)                              \
    {                                                                                              \
        name, OKS_CFG_T_DURATION, offsetof(type, field), def, min_ms, max_ms, NULL, 0, doc, NULL   \
    }
#define OKS_CFG_SIZE(name, type, field, def, min, max, doc)                                        \
    {                                                                                              \
        name, OKS_CFG_T_SIZE, offsetof(type, field), def, min, max, NULL, 0, doc, NULL             \
    }
#define OKS_CFG_ENUM(name, type, field, def, choices, doc)                                         \
    {                                                                                              \
        name, OKS_CFG_T_ENUM, offsetof(type, field), def, 0, 0, choices, 0, doc, NULL              \
    }
#define OKS_CFG_PROGRAM(name, summary, usage, entries)                                             \
    {                                                                                              \
        name, summary, usage, entries, sizeof(entries) / sizeof((entries)[0])                      \
    }

typedef enum oks_cfg_result {
    OKS_CFG_OK = 0,     /* cfg filled; *first_arg is the index of the first positional argument */
    OKS_CFG_EXIT = 1,   /* --help or --version was printed: exit 0 */
    OKS_CFG_ERROR = -1, /* err says which setting and why: print it on one line, exit 2 */
} oks_cfg_result;

/*
 * Fill cfg (the program's struct, zeroed by the caller) from argv, environment, file and
 * defaults. Parsing of flags stops at the first non-flag argument or at "--"; its index is
 * stored in *first_arg (may be NULL when the program takes no positional arguments, in which
 * case a positional argument is an error). `environ_override` is for tests: when non-NULL it
 * replaces the process environment (NULL-terminated "KEY=VALUE" array).
 */
oks_cfg_result oks_cfg_load(const oks_cfg_program *prog, void *cfg, int argc, char **argv,
                            char *const *environ_override, int *first_arg, oks_err *err);

/*
 * The usual start of main(): load, and on --help/--version/--check-config or a bad value print
 * what is needed (errors as ONE line "prog: message" on stderr). Returns -1 to go on, else the
 * exit status to return from main (0 after --help, 2 after a bad value).
 */
int oks_cfg_load_main(const oks_cfg_program *prog, void *cfg, int argc, char **argv,
                      int *first_arg);

/* The one-line form of a bad setting found outside the table (a check that needs more than
 * the value): "invalid value for --<setting> (OKTASYNC_<SETTING>): <why>". Returns -1 with err
 * (OKS_E_INVALID) set, for `return oks_cfg_invalid(...)`. */
int oks_cfg_invalid(oks_err *err, const char *setting, const char *why);

/* Free every string setting; cfg can be loaded again afterwards. */
void oks_cfg_free(const oks_cfg_program *prog, void *cfg);

void oks_cfg_print_help(const oks_cfg_program *prog, FILE *out);
/* Markdown section for docs/configuration.md. */
void oks_cfg_print_markdown(const oks_cfg_program *prog, FILE *out);
/* Effective values as one JSON object (secrets redacted), for the start-up log line. */
void oks_cfg_dump_json(const oks_cfg_program *prog, const void *cfg, char *buf, size_t cap);

/* Parsers shared with the rest of the code (also used for defaults). */
bool oks_parse_duration_ms(const char *s, int64_t *out);
bool oks_parse_size(const char *s, int64_t *out);
bool oks_parse_int64(const char *s, int64_t *out);
bool oks_parse_bool(const char *s, bool *out);

/* Field access helpers for table-driven code. */
#define OKS_CFG_FIELD(cfg, entry, ctype) ((ctype *)((char *)(cfg) + (entry)->offset))

#endif
