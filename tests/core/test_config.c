/* The configuration table: precedence, every kind of bad value, help and docs output. */
#include "oks_test.h"
#include "core/oks_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct sample_cfg {
    char *brokers;
    char *token;
    int64_t workers;
    bool tls;
    int64_t deadline_ms;
    int64_t body_max;
    int mode;
} sample_cfg;

static const char *const modes[] = {"individual", "team", NULL};

static const oks_cfg_entry entries[] = {
    OKS_CFG_STR("kafka-brokers", sample_cfg, brokers, "127.0.0.1:9092", OKS_CFG_REQUIRED,
                "Kafka bootstrap servers"),
    OKS_CFG_STR("api-token", sample_cfg, token, "", OKS_CFG_SECRET, "Token"),
    OKS_CFG_INT("workers", sample_cfg, workers, "4", 1, 64, "Worker threads"),
    OKS_CFG_BOOL("tls", sample_cfg, tls, "false", "Serve TLS"),
    OKS_CFG_DURATION("ack-deadline", sample_cfg, deadline_ms, "2s", 1, 60000, "Ack deadline"),
    OKS_CFG_SIZE("body-max", sample_cfg, body_max, "1MiB", 1024, 64 * 1024 * 1024, "Max body"),
    OKS_CFG_ENUM("manager-mode", sample_cfg, mode, "individual", modes, "Manager mode"),
};
static const oks_cfg_program prog = OKS_CFG_PROGRAM("oktasync-sample", "A sample.", NULL, entries);

static oks_cfg_result load(sample_cfg *cfg, int argc, char **argv, char **env, oks_err *err)
{
    memset(cfg, 0, sizeof *cfg);
    char *empty_env[] = {NULL};
    return oks_cfg_load(&prog, cfg, argc, argv, env ? env : empty_env, NULL, err);
}

OKS_TEST(defaults_apply)
{
    sample_cfg c;
    oks_err err = {0};
    char *argv[] = {"x", NULL};
    OKS_ASSERT_EQ_INT(load(&c, 1, argv, NULL, &err), OKS_CFG_OK);
    OKS_ASSERT_EQ_STR(c.brokers, "127.0.0.1:9092");
    OKS_ASSERT_EQ_INT(c.workers, 4);
    OKS_ASSERT_EQ_INT(c.tls, 0);
    OKS_ASSERT_EQ_INT(c.deadline_ms, 2000);
    OKS_ASSERT_EQ_INT(c.body_max, 1048576);
    OKS_ASSERT_EQ_INT(c.mode, 0);
    oks_cfg_free(&prog, &c);
}

OKS_TEST(flag_beats_env_beats_file_beats_default)
{
    char path[] = "/tmp/oks_cfg_XXXXXX";
    int fd = mkstemp(path);
    OKS_ASSERT(fd >= 0);
    const char *text = "# comment\nworkers = 7\nack-deadline = 5s\nmanager-mode = team\n";
    OKS_ASSERT_EQ_INT(write(fd, text, strlen(text)), (long long)strlen(text));
    close(fd);
    char envfile[300];
    snprintf(envfile, sizeof envfile, "OKTASYNC_CONFIG=%s", path);
    char *env[] = {envfile, "OKTASYNC_WORKERS=9", "OKTASYNC_BODY_MAX=2MiB", NULL};
    char *argv[] = {"x", "--workers", "11", "--tls", NULL};
    sample_cfg c;
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(load(&c, 4, argv, env, &err), OKS_CFG_OK);
    OKS_ASSERT_EQ_INT(c.workers, 11);       /* flag */
    OKS_ASSERT_EQ_INT(c.body_max, 2097152); /* env */
    OKS_ASSERT_EQ_INT(c.deadline_ms, 5000); /* file */
    OKS_ASSERT_EQ_INT(c.mode, 1);           /* file */
    OKS_ASSERT_EQ_INT(c.tls, 1);            /* bare bool flag */
    oks_cfg_free(&prog, &c);
    unlink(path);
}

/* Each bad value: error names the flag and its environment variable, says why. */
static void expect_bad(char *flag_value, const char *setting, const char *why)
{
    char *argv[] = {"x", flag_value, NULL};
    sample_cfg c;
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(load(&c, 2, argv, NULL, &err), OKS_CFG_ERROR);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    OKS_ASSERT_CONTAINS(err.msg, setting);
    OKS_ASSERT_CONTAINS(err.msg, why);
    OKS_ASSERT(strchr(err.msg, '\n') == NULL);
}

OKS_TEST(bad_values_are_named)
{
    expect_bad("--workers=abc", "--workers (OKTASYNC_WORKERS)", "whole number");
    expect_bad("--workers=0", "--workers", "out of range 1..64");
    expect_bad("--workers=65", "--workers", "out of range");
    expect_bad("--workers=99999999999999999999", "--workers", "whole number");
    expect_bad("--workers=", "--workers", "whole number");
    expect_bad("--tls=maybe", "--tls (OKTASYNC_TLS)", "true or false");
    expect_bad("--ack-deadline=2x", "--ack-deadline", "duration");
    expect_bad("--ack-deadline=-1s", "--ack-deadline", "duration");
    expect_bad("--ack-deadline=2m", "--ack-deadline", "out of range 1..60000 ms");
    expect_bad("--ack-deadline=0", "--ack-deadline", "out of range");
    expect_bad("--body-max=1TB", "--body-max", "size");
    expect_bad("--body-max=10", "--body-max", "out of range");
    expect_bad("--manager-mode=boss", "--manager-mode", "one of individual, team");
    expect_bad("--kafka-brokers=", "--kafka-brokers", "must not be empty");
}

OKS_TEST(operator_value_reported_before_empty_required_default)
{
    static const oks_cfg_entry req[] = {
        OKS_CFG_STR("url", sample_cfg, brokers, "", OKS_CFG_REQUIRED, "Required, no default"),
        OKS_CFG_INT("workers", sample_cfg, workers, "4", 1, 64, "Worker threads"),
    };
    static const oks_cfg_program p = OKS_CFG_PROGRAM("oktasync-req", "Required.", NULL, req);
    sample_cfg c;
    memset(&c, 0, sizeof c);
    oks_err err = {0};
    char *env[] = {NULL};
    char *argv[] = {"x", "--workers=abc", NULL};
    OKS_ASSERT_EQ_INT(oks_cfg_load(&p, &c, 2, argv, env, NULL, &err), OKS_CFG_ERROR);
    OKS_ASSERT_CONTAINS(err.msg, "--workers");
    char *argv2[] = {"x", NULL};
    OKS_ASSERT_EQ_INT(oks_cfg_load(&p, &c, 1, argv2, env, NULL, &err), OKS_CFG_ERROR);
    OKS_ASSERT_CONTAINS(err.msg, "--url (OKTASYNC_URL) from default");
}

OKS_TEST(bad_env_value_names_the_source)
{
    char *env[] = {"OKTASYNC_WORKERS=lots", NULL};
    char *argv[] = {"x", NULL};
    sample_cfg c;
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(load(&c, 1, argv, env, &err), OKS_CFG_ERROR);
    OKS_ASSERT_CONTAINS(err.msg, "from environment");
}

OKS_TEST(secret_value_never_echoed)
{
    char *env[] = {"OKTASYNC_API_TOKEN=s3cr3t-token", NULL};
    char *argv[] = {"x", NULL};
    sample_cfg c;
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(load(&c, 1, argv, env, &err), OKS_CFG_OK);
    char dump[2048];
    oks_cfg_dump_json(&prog, &c, dump, sizeof dump);
    OKS_ASSERT(strstr(dump, "s3cr3t") == NULL);
    OKS_ASSERT_CONTAINS(dump, "\"api-token\":\"<redacted>\"");
    OKS_ASSERT_CONTAINS(dump, "{\"kafka-brokers\":\"127.0.0.1:9092\"");
    oks_cfg_free(&prog, &c);
}

OKS_TEST(unknown_flag_and_missing_value)
{
    sample_cfg c;
    oks_err err = {0};
    char *a1[] = {"x", "--wrokers=3", NULL};
    OKS_ASSERT_EQ_INT(load(&c, 2, a1, NULL, &err), OKS_CFG_ERROR);
    OKS_ASSERT_CONTAINS(err.msg, "unknown option --wrokers");
    char *a2[] = {"x", "--workers", NULL};
    OKS_ASSERT_EQ_INT(load(&c, 2, a2, NULL, &err), OKS_CFG_ERROR);
    OKS_ASSERT_CONTAINS(err.msg, "--workers needs a value");
    char *a3[] = {"x", "stray", NULL};
    OKS_ASSERT_EQ_INT(load(&c, 2, a3, NULL, &err), OKS_CFG_ERROR);
    OKS_ASSERT_CONTAINS(err.msg, "unexpected argument 'stray'");
}

OKS_TEST(config_file_errors)
{
    sample_cfg c;
    oks_err err = {0};
    char *a1[] = {"x", "--config", "/nonexistent/oks.conf", NULL};
    OKS_ASSERT_EQ_INT(load(&c, 3, a1, NULL, &err), OKS_CFG_ERROR);
    OKS_ASSERT_CONTAINS(err.msg, "cannot open config file /nonexistent/oks.conf");
    char path[] = "/tmp/oks_cfg_XXXXXX";
    int fd = mkstemp(path);
    const char *text = "workers = 3\nworkres = 4\n";
    OKS_ASSERT_EQ_INT(write(fd, text, strlen(text)), (long long)strlen(text));
    close(fd);
    char *a2[] = {"x", "--config", path, NULL};
    OKS_ASSERT_EQ_INT(load(&c, 3, a2, NULL, &err), OKS_CFG_ERROR);
    OKS_ASSERT_CONTAINS(err.msg, ":2: unknown setting 'workres'");
    unlink(path);
}

OKS_TEST(positional_arguments_when_allowed)
{
    sample_cfg c;
    memset(&c, 0, sizeof c);
    oks_err err = {0};
    char *env[] = {NULL};
    char *argv[] = {"x", "--workers=2", "tenant", "add", "--subdomain", "acme", NULL};
    int first = 0;
    OKS_ASSERT_EQ_INT(oks_cfg_load(&prog, &c, 6, argv, env, &first, &err), OKS_CFG_OK);
    OKS_ASSERT_EQ_INT(first, 2);
    OKS_ASSERT_EQ_INT(c.workers, 2);
    oks_cfg_free(&prog, &c);
}

OKS_TEST(parsers)
{
    int64_t v;
    OKS_ASSERT(oks_parse_duration_ms("250ms", &v) && v == 250);
    OKS_ASSERT(oks_parse_duration_ms("1h", &v) && v == 3600000);
    OKS_ASSERT(oks_parse_duration_ms("15", &v) && v == 15);
    OKS_ASSERT(!oks_parse_duration_ms("1.5s", &v));
    OKS_ASSERT(!oks_parse_duration_ms("s", &v));
    OKS_ASSERT(!oks_parse_duration_ms("99999999999999999h", &v));
    OKS_ASSERT(oks_parse_size("64KiB", &v) && v == 65536);
    OKS_ASSERT(oks_parse_size("2G", &v) && v == 2147483648LL);
    OKS_ASSERT(!oks_parse_size("12 MiB", &v));
    bool b;
    OKS_ASSERT(oks_parse_bool("ON", &b) && b);
    OKS_ASSERT(oks_parse_bool("no", &b) && !b);
    OKS_ASSERT(!oks_parse_bool("2", &b));
    OKS_ASSERT(oks_parse_int64("-42", &v) && v == -42);
    OKS_ASSERT(!oks_parse_int64(" 4", &v));
}

OKS_TEST(help_and_markdown_list_every_setting)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    oks_cfg_print_help(&prog, f);
    oks_cfg_print_markdown(&prog, f);
    fclose(f);
    for (size_t i = 0; i < prog.n_entries; i++) {
        char flag[80];
        snprintf(flag, sizeof flag, "--%s", entries[i].name);
        OKS_ASSERT_CONTAINS(buf, flag);
    }
    OKS_ASSERT_CONTAINS(buf, "OKTASYNC_ACK_DEADLINE");
    OKS_ASSERT_CONTAINS(buf, "| `--workers` | `OKTASYNC_WORKERS` | integer | `4` | 1..64 |");
    free(buf);
}

/* ---- a check beyond the type: the config layer names the setting that failed ---- */

typedef struct checked_cfg {
    char *when;
    char *label;
} checked_cfg;

static int checks_run;

static bool check_hhmm(const char *v, char *why, size_t cap)
{
    checks_run++;
    if (strlen(v) == 5 && v[2] == ':')
        return true;
    snprintf(why, cap, "expected HH:MM");
    return false;
}

static const oks_cfg_entry checked_entries[] = {
    OKS_CFG_STR_CHECKED("default-time", checked_cfg, when, "03:00", OKS_CFG_REQUIRED, check_hhmm,
                        "Time of day"),
    OKS_CFG_STR_CHECKED("label", checked_cfg, label, "", 0, check_hhmm, "Optional"),
};
static const oks_cfg_program checked_prog =
    OKS_CFG_PROGRAM("oktasync-checked", "Checked settings.", NULL, checked_entries);

OKS_TEST(checked_setting_error_names_the_setting)
{
    checked_cfg c;
    oks_err err = {0};
    char *empty_env[] = {NULL};
    char *good[] = {"x", "--default-time=04:30", NULL};
    memset(&c, 0, sizeof c);
    checks_run = 0;
    OKS_ASSERT_EQ_INT(oks_cfg_load(&checked_prog, &c, 2, good, empty_env, NULL, &err), OKS_CFG_OK);
    OKS_ASSERT_EQ_STR(c.when, "04:30");
    OKS_ASSERT_EQ_INT(checks_run, 1); /* the empty optional label is not checked */
    oks_cfg_free(&checked_prog, &c);

    char *bad[] = {"x", "--default-time=25h", NULL};
    memset(&c, 0, sizeof c);
    OKS_ASSERT_EQ_INT(oks_cfg_load(&checked_prog, &c, 2, bad, empty_env, NULL, &err),
                      OKS_CFG_ERROR);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    OKS_ASSERT_CONTAINS(err.msg, "invalid value for --default-time (OKTASYNC_DEFAULT_TIME) from "
                                 "flag: \"25h\": expected HH:MM");

    char *env[] = {"OKTASYNC_LABEL=nope", NULL};
    char *none[] = {"x", NULL};
    memset(&c, 0, sizeof c);
    OKS_ASSERT_EQ_INT(oks_cfg_load(&checked_prog, &c, 1, none, env, NULL, &err), OKS_CFG_ERROR);
    OKS_ASSERT_CONTAINS(err.msg, "--label (OKTASYNC_LABEL) from environment");
}

OKS_TEST(invalid_outside_the_table_has_the_same_form)
{
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(oks_cfg_invalid(&err, "secret-key", "expected 64 hex characters"), -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    OKS_ASSERT_EQ_STR(err.msg,
                      "invalid value for --secret-key (OKTASYNC_SECRET_KEY): expected 64 hex "
                      "characters");
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
