/* Subcommand options (--name VALUE / --name=VALUE / flags) and one-line error reporting. */
#include "oks_ctl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int oks_ctl_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("oktasyncctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

int oks_ctl_fail_err(const oks_err *err, const char *what)
{
    return oks_ctl_fail(OKS_CTL_FAILED, "%s: %s", what, err->msg);
}

const char *oks_ctl_opt_get(const oks_ctl_opt *opts, size_t n_opts, const char *name)
{
    for (size_t i = 0; i < n_opts; i++)
        if (strcmp(opts[i].name, name) == 0)
            return opts[i].value;
    return NULL;
}

static oks_ctl_opt *find(oks_ctl_opt *opts, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
            return &opts[i];
    return NULL;
}

/* One "--name[=value]" at argv[*i]; advances *i past a separate value. */
static int parse_option(const char *cmd, int argc, char **argv, int *i, oks_ctl_opt *opts,
                        size_t n_opts)
{
    const char *name = argv[*i] + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    oks_ctl_opt *o = find(opts, n_opts, name, len);
    if (!o)
        return oks_ctl_fail(OKS_CTL_USAGE, "unknown option --%.*s for '%s' (see %s --help)",
                            (int)len, name, cmd, cmd);
    if (o->value)
        return oks_ctl_fail(OKS_CTL_USAGE, "--%s given twice", o->name);
    if (o->is_flag) {
        if (eq)
            return oks_ctl_fail(OKS_CTL_USAGE, "--%s takes no value", o->name);
        o->value = "";
    } else if (eq) {
        o->value = eq + 1;
    } else if (*i + 1 < argc) {
        o->value = argv[++*i];
    } else {
        return oks_ctl_fail(OKS_CTL_USAGE, "--%s needs a value", o->name);
    }
    return OKS_CTL_OK;
}

int oks_ctl_parse(oks_ctl *ctl, const char *cmd, const char *help_text, int argc, char **argv,
                  oks_ctl_opt *opts, size_t n_opts, const char **pos, int max_pos, int *n_pos,
                  bool *done)
{
    *done = false;
    *n_pos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(help_text, stdout);
            *done = true;
            return OKS_CTL_OK;
        }
    }
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            ctl->json = true;
        } else if (strncmp(a, "--", 2) == 0 && a[2]) {
            int rc = parse_option(cmd, argc, argv, &i, opts, n_opts);
            if (rc != OKS_CTL_OK)
                return rc;
        } else if (a[0] == '-' && a[1]) {
            return oks_ctl_fail(OKS_CTL_USAGE, "unknown option %s for '%s' (see %s --help)", a, cmd,
                                cmd);
        } else if (*n_pos < max_pos) {
            pos[(*n_pos)++] = a;
        } else {
            return oks_ctl_fail(OKS_CTL_USAGE, "unexpected argument '%s' for '%s' (see %s --help)",
                                a, cmd, cmd);
        }
    }
    return OKS_CTL_OK;
}
