#include "oks_config.h"
#include "oks_json_escape.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

enum { CFG_NAME_MAX = 64, CFG_LINE_MAX = 4096, CFG_FILE_MAX_LINES = 1000 };

typedef enum { SRC_DEFAULT, SRC_FILE, SRC_ENV, SRC_FLAG } cfg_source;
static const char *const source_names[] = {"default", "config file", "environment", "flag"};

typedef struct cfg_values {
    const char **value; /* chosen text per entry (borrowed from argv/env/file_store/table) */
    cfg_source *source;
    char **file_store; /* owned copies of config-file values */
} cfg_values;

static void env_name(const char *name, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "OKTASYNC_");
    for (const char *p = name; *p && n + 1 < cap; p++)
        out[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    out[n] = '\0';
}

static int find_entry(const oks_cfg_program *prog, const char *name, size_t len)
{
    for (size_t i = 0; i < prog->n_entries; i++) {
        if (strlen(prog->entries[i].name) == len && strncmp(prog->entries[i].name, name, len) == 0)
            return (int)i;
    }
    return -1;
}

static const char *env_lookup(char *const *env, const char *key)
{
    size_t klen = strlen(key);
    for (char *const *e = env; e && *e; e++) {
        if (strncmp(*e, key, klen) == 0 && (*e)[klen] == '=')
            return *e + klen + 1;
    }
    return NULL;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/* "key = value" lines; '#' comments; blank lines. Unknown keys are errors (typos must not be
 * silently ignored). */
static int read_config_file(const oks_cfg_program *prog, const char *path, cfg_values *v,
                            oks_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return oks_err_set(err, OKS_E_INVALID, "cannot open config file %s: %s", path,
                           strerror(errno));
    char line[CFG_LINE_MAX];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            rc = oks_err_set(err, OKS_E_INVALID, "%s:%d: line too long", path, lineno);
            goto out;
        }
        char *s = trim(line);
        if (*s == '#' || *s == '\0')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = oks_err_set(err, OKS_E_INVALID, "%s:%d: expected 'key = value'", path, lineno);
            goto out;
        }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        int idx = find_entry(prog, key, strlen(key));
        if (idx < 0) {
            rc = oks_err_set(err, OKS_E_INVALID, "%s:%d: unknown setting '%s'", path, lineno, key);
            goto out;
        }
        char *copy = strdup(val);
        if (!copy) {
            rc = oks_err_set(err, OKS_E_NOMEM, "out of memory");
            goto out;
        }
        free(v->file_store[idx]);
        v->file_store[idx] = copy;
        v->value[idx] = copy;
        v->source[idx] = SRC_FILE;
    }
out:
    fclose(f);
    return rc;
}

static int bad_value(const oks_cfg_entry *e, const char *value, cfg_source src, oks_err *err,
                     const char *why)
{
    char env[CFG_NAME_MAX + 16];
    env_name(e->name, env, sizeof env);
    bool secret = e->flags & OKS_CFG_SECRET;
    return oks_err_set(err, OKS_E_INVALID, "invalid value for --%s (%s) from %s: \"%s\": %s",
                       e->name, env, source_names[src], secret ? "<redacted>" : value, why);
}

static int store_value(const oks_cfg_entry *e, void *cfg, const char *value, cfg_source src,
                       oks_err *err)
{
    char why[160];
    int64_t n = 0;
    switch (e->type) {
    case OKS_CFG_T_STR: {
        if ((e->flags & OKS_CFG_REQUIRED) && *value == '\0')
            return bad_value(e, value, src, err, "must not be empty");
        char *copy = strdup(value);
        if (!copy)
            return oks_err_set(err, OKS_E_NOMEM, "out of memory");
        char **field = OKS_CFG_FIELD(cfg, e, char *);
        free(*field);
        *field = copy;
        if (e->check && *value && !e->check(value, why, sizeof why))
            return bad_value(e, value, src, err, why);
        return 0;
    }
    case OKS_CFG_T_BOOL:
        if (!oks_parse_bool(value, OKS_CFG_FIELD(cfg, e, bool)))
            return bad_value(e, value, src, err, "expected true or false");
        return 0;
    case OKS_CFG_T_ENUM:
        for (int i = 0; e->choices[i]; i++) {
            if (strcmp(value, e->choices[i]) == 0) {
                *OKS_CFG_FIELD(cfg, e, int) = i;
                return 0;
            }
        }
        {
            size_t len = (size_t)snprintf(why, sizeof why, "expected one of");
            for (int i = 0; e->choices[i] && len < sizeof why; i++)
                len += (size_t)snprintf(why + len, sizeof why - len, "%s %s", i ? "," : "",
                                        e->choices[i]);
        }
        return bad_value(e, value, src, err, why);
    case OKS_CFG_T_INT:
        if (!oks_parse_int64(value, &n))
            return bad_value(e, value, src, err, "expected a whole number");
        break;
    case OKS_CFG_T_DURATION:
        if (!oks_parse_duration_ms(value, &n))
            return bad_value(e, value, src, err, "expected a duration like 250ms, 2s, 5m, 1h");
        break;
    case OKS_CFG_T_SIZE:
        if (!oks_parse_size(value, &n))
            return bad_value(e, value, src, err, "expected a size like 512, 64KiB, 1MiB");
        break;
    }
    if (n < e->min || n > e->max) {
        snprintf(why, sizeof why, "out of range %lld..%lld%s", (long long)e->min, (long long)e->max,
                 e->type == OKS_CFG_T_DURATION ? " ms"
                 : e->type == OKS_CFG_T_SIZE   ? " bytes"
                                               : "");
        return bad_value(e, value, src, err, why);
    }
    *OKS_CFG_FIELD(cfg, e, int64_t) = n;
    return 0;
}

typedef enum { ARGS_OK, ARGS_HELP, ARGS_VERSION, ARGS_MARKDOWN, ARGS_ERROR } args_result;

/* --check-config: load everything, print the effective settings, exit. */
static bool check_only;

/* Collect --name=value / --name value flags. Stops at the first positional or "--". */
static args_result parse_args(const oks_cfg_program *prog, int argc, char **argv, cfg_values *v,
                              const char **config_path, int *first_arg, oks_err *err)
{
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strncmp(a, "--", 2) != 0 && strcmp(a, "-h") != 0)
            break;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return ARGS_HELP;
        if (strcmp(a, "--version") == 0)
            return ARGS_VERSION;
        if (strcmp(a, "--print-config-markdown") == 0)
            return ARGS_MARKDOWN;
        if (strcmp(a, "--check-config") == 0) {
            check_only = true;
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        if (len == 6 && strncmp(name, "config", 6) == 0) {
            if (!eq && i + 1 >= argc) {
                oks_err_set(err, OKS_E_INVALID, "--config needs a file path");
                return ARGS_ERROR;
            }
            *config_path = eq ? eq + 1 : argv[++i];
            continue;
        }
        int idx = find_entry(prog, name, len);
        if (idx < 0) {
            oks_err_set(err, OKS_E_INVALID, "unknown option --%.*s (see --help)", (int)len, name);
            return ARGS_ERROR;
        }
        const char *value;
        if (eq)
            value = eq + 1;
        else if (prog->entries[idx].type == OKS_CFG_T_BOOL)
            value = "true";
        else if (i + 1 < argc)
            value = argv[++i];
        else {
            oks_err_set(err, OKS_E_INVALID, "--%s needs a value", prog->entries[idx].name);
            return ARGS_ERROR;
        }
        v->value[idx] = value;
        v->source[idx] = SRC_FLAG;
    }
    if (first_arg)
        *first_arg = i;
    else if (i < argc) {
        oks_err_set(err, OKS_E_INVALID, "unexpected argument '%s' (see --help)", argv[i]);
        return ARGS_ERROR;
    }
    return ARGS_OK;
}

oks_cfg_result oks_cfg_load(const oks_cfg_program *prog, void *cfg, int argc, char **argv,
                            char *const *environ_override, int *first_arg, oks_err *err)
{
    size_t n = prog->n_entries;
    oks_cfg_result result = OKS_CFG_ERROR;
    cfg_values v = {calloc(n ? n : 1, sizeof *v.value), calloc(n ? n : 1, sizeof *v.source),
                    calloc(n ? n : 1, sizeof *v.file_store)};
    char *const *env = environ_override ? environ_override : environ;
    if (!v.value || !v.source || !v.file_store) {
        oks_err_set(err, OKS_E_NOMEM, "out of memory");
        goto out;
    }
    /* Flags are read first (they say where the config file is) but applied last. */
    cfg_values flags = {calloc(n ? n : 1, sizeof *v.value), calloc(n ? n : 1, sizeof *v.source),
                        NULL};
    if (!flags.value || !flags.source) {
        free(flags.value);
        free(flags.source);
        oks_err_set(err, OKS_E_NOMEM, "out of memory");
        goto out;
    }
    const char *config_path = env_lookup(env, "OKTASYNC_CONFIG");
    check_only = false;
    args_result ar = parse_args(prog, argc, argv, &flags, &config_path, first_arg, err);
    if (ar != ARGS_OK) {
        free(flags.value);
        free(flags.source);
        if (ar == ARGS_HELP)
            oks_cfg_print_help(prog, stdout);
        else if (ar == ARGS_VERSION)
            printf("%s %s\n", prog->name, OKS_VERSION);
        else if (ar == ARGS_MARKDOWN)
            oks_cfg_print_markdown(prog, stdout);
        result = ar == ARGS_ERROR ? OKS_CFG_ERROR : OKS_CFG_EXIT;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        v.value[i] = prog->entries[i].def ? prog->entries[i].def : "";
        v.source[i] = SRC_DEFAULT;
    }
    if (config_path && *config_path && read_config_file(prog, config_path, &v, err) != 0) {
        free(flags.value);
        free(flags.source);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char key[CFG_NAME_MAX + 16];
        env_name(prog->entries[i].name, key, sizeof key);
        const char *e = env_lookup(env, key);
        if (e) {
            v.value[i] = e;
            v.source[i] = SRC_ENV;
        }
        if (flags.value[i]) {
            v.value[i] = flags.value[i];
            v.source[i] = SRC_FLAG;
        }
    }
    free(flags.value);
    free(flags.source);
    /* Values the operator gave are checked before defaults, so a bad value is reported by
     * its own name even when a required setting was also left empty. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            if ((v.source[i] == SRC_DEFAULT) != (pass == 1))
                continue;
            if (store_value(&prog->entries[i], cfg, v.value[i], v.source[i], err) != 0) {
                oks_cfg_free(prog, cfg);
                goto out;
            }
        }
    }
    result = OKS_CFG_OK;
    if (check_only) {
        char dump[8192];
        oks_cfg_dump_json(prog, cfg, dump, sizeof dump);
        printf("%s\n", dump);
        oks_cfg_free(prog, cfg);
        result = OKS_CFG_EXIT;
    }
out:
    if (v.file_store) {
        for (size_t i = 0; i < n; i++)
            free(v.file_store[i]);
    }
    free(v.file_store);
    free(v.value);
    free(v.source);
    return result;
}

int oks_cfg_invalid(oks_err *err, const char *setting, const char *why)
{
    char env[CFG_NAME_MAX + 16];
    env_name(setting, env, sizeof env);
    return oks_err_set(err, OKS_E_INVALID, "invalid value for --%s (%s): %s", setting, env, why);
}

void oks_cfg_free(const oks_cfg_program *prog, void *cfg)
{
    for (size_t i = 0; i < prog->n_entries; i++) {
        const oks_cfg_entry *e = &prog->entries[i];
        if (e->type == OKS_CFG_T_STR) {
            char **field = OKS_CFG_FIELD(cfg, e, char *);
            free(*field);
            *field = NULL;
        }
    }
}

int oks_cfg_load_main(const oks_cfg_program *prog, void *cfg, int argc, char **argv, int *first_arg)
{
    oks_err err = {0};
    switch (oks_cfg_load(prog, cfg, argc, argv, NULL, first_arg, &err)) {
    case OKS_CFG_OK:
        return -1;
    case OKS_CFG_EXIT:
        return 0;
    case OKS_CFG_ERROR:
        break;
    }
    fprintf(stderr, "%s: %s\n", prog->name, err.msg);
    return 2;
}
