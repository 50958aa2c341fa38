/* Everything the configuration table says about itself: --help, the Markdown reference in
 * docs/configuration.md, and the effective-config log line. */
#include "oks_config.h"
#include "oks_json_escape.h"

#include <ctype.h>
#include <inttypes.h>
#include <string.h>

static const char *const type_names[] = {"string", "integer", "bool", "duration", "size", "enum"};

static void env_of(const char *name, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "OKTASYNC_");
    for (const char *p = name; *p && n + 1 < cap; p++)
        out[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    out[n] = '\0';
}

static void range_text(const oks_cfg_entry *e, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (e->type == OKS_CFG_T_ENUM) {
        size_t len = 0;
        for (int i = 0; e->choices[i] && len < cap; i++)
            len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", e->choices[i]);
    } else if (e->type == OKS_CFG_T_INT) {
        snprintf(buf, cap, "%" PRId64 "..%" PRId64, e->min, e->max);
    } else if (e->type == OKS_CFG_T_DURATION) {
        snprintf(buf, cap, "%" PRId64 "ms..%" PRId64 "ms", e->min, e->max);
    } else if (e->type == OKS_CFG_T_SIZE) {
        snprintf(buf, cap, "%" PRId64 "..%" PRId64 " bytes", e->min, e->max);
    }
}

void oks_cfg_print_help(const oks_cfg_program *prog, FILE *out)
{
    fprintf(out, "%s %s\n%s\n\nUsage: %s [--config FILE] [--setting VALUE ...]%s%s\n\n", prog->name,
            OKS_VERSION, prog->summary, prog->name, prog->usage ? " " : "",
            prog->usage ? prog->usage : "");
    fprintf(out, "Each setting can also come from the environment (OKTASYNC_<NAME>) or a config\n"
                 "file (--config or OKTASYNC_CONFIG; lines 'name = value'). Precedence: flag >\n"
                 "environment > file > default.\n\nSettings:\n");
    for (size_t i = 0; i < prog->n_entries; i++) {
        const oks_cfg_entry *e = &prog->entries[i];
        char env[96], range[160];
        env_of(e->name, env, sizeof env);
        range_text(e, range, sizeof range);
        fprintf(out, "  --%s <%s>\n      %s\n      env %s; default: %s%s%s%s\n", e->name,
                type_names[e->type], e->doc, env,
                e->flags & OKS_CFG_SECRET ? "(secret)" : (e->def && *e->def ? e->def : "(empty)"),
                *range ? "; range " : "", range, e->flags & OKS_CFG_REQUIRED ? "; required" : "");
    }
    fprintf(out, "  --check-config\n      Load every setting, print the effective values (secrets "
                 "redacted), exit.\n"
                 "  --help, --version\n");
}

void oks_cfg_print_markdown(const oks_cfg_program *prog, FILE *out)
{
    fprintf(out, "## %s\n\n%s\n\n", prog->name, prog->summary);
    fprintf(out, "| Setting | Environment | Type | Default | Range | Description |\n"
                 "|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < prog->n_entries; i++) {
        const oks_cfg_entry *e = &prog->entries[i];
        char env[96], range[160];
        env_of(e->name, env, sizeof env);
        range_text(e, range, sizeof range);
        fprintf(out, "| `--%s` | `%s` | %s | %s%s%s | %s | %s%s |\n", e->name, env,
                type_names[e->type], e->def && *e->def ? "`" : "",
                e->def && *e->def ? e->def : "(empty)", e->def && *e->def ? "`" : "", range, e->doc,
                e->flags & OKS_CFG_SECRET ? " (secret: never printed)" : "");
    }
    fputc('\n', out);
}

void oks_cfg_dump_json(const oks_cfg_program *prog, const void *cfg, char *buf, size_t cap)
{
    size_t len = 0;
    if (cap < 3) {
        if (cap)
            buf[0] = '\0';
        return;
    }
    buf[len++] = '{';
    for (size_t i = 0; i < prog->n_entries; i++) {
        const oks_cfg_entry *e = &prog->entries[i];
        char value[512];
        const void *base = cfg;
        switch (e->type) {
        case OKS_CFG_T_STR: {
            const char *s = *(char *const *)((const char *)base + e->offset);
            snprintf(value, sizeof value, "%s",
                     e->flags & OKS_CFG_SECRET ? (s && *s ? "<redacted>" : "") : (s ? s : ""));
            break;
        }
        case OKS_CFG_T_BOOL:
            snprintf(value, sizeof value, "%s",
                     *(const bool *)((const char *)base + e->offset) ? "true" : "false");
            break;
        case OKS_CFG_T_ENUM:
            snprintf(value, sizeof value, "%s",
                     e->choices[*(const int *)((const char *)base + e->offset)]);
            break;
        default:
            snprintf(value, sizeof value, "%" PRId64,
                     *(const int64_t *)((const char *)base + e->offset));
        }
        size_t w = oks_json_escape_field(buf + len, cap - len - 1, e->name, value);
        if (w == 0)
            break;
        len += w;
    }
    /* The first field starts with ','; turn "{," into "{". */
    if (len > 1 && buf[1] == ',')
        memmove(buf + 1, buf + 2, --len);
    buf[len++] = '}';
    buf[len] = '\0';
}
