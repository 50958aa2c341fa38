/* Unit tests of the redis:// URL parser: good forms, defaults, and every class of bad input. */
#include "oks_test.h"
#include "redis/oks_redis.h"

static oks_redis_url parse_ok(const char *url)
{
    oks_redis_url u;
    oks_err err = {0};
    if (oks_redis_url_parse(url, &u, &err) != 0)
        oks_test_fail(__FILE__, __LINE__, "%s rejected: %s", url, err.msg);
    return u;
}

static void expect_bad(const char *url, const char *why, int line)
{
    oks_redis_url u;
    oks_err err = {0};
    if (oks_redis_url_parse(url, &u, &err) == 0)
        oks_test_fail(__FILE__, line, "\"%s\" was accepted", url ? url : "(null)");
    if (err.code != OKS_E_INVALID || !strstr(err.msg, why))
        oks_test_fail(__FILE__, line, "\"%s\": got code %d \"%s\", want \"%s\"", url ? url : "",
                      err.code, err.msg, why);
}
#define EXPECT_BAD(url, why) expect_bad(url, why, __LINE__)

OKS_TEST(stack_url)
{
    oks_redis_url u = parse_ok("redis://127.0.0.1:56379/0");
    OKS_ASSERT_EQ_STR(u.host, "127.0.0.1");
    OKS_ASSERT_EQ_INT(u.port, 56379);
    OKS_ASSERT_EQ_INT(u.db, 0);
    OKS_ASSERT(!u.has_password);
}

OKS_TEST(defaults_port_and_db)
{
    oks_redis_url u = parse_ok("redis://cache.internal");
    OKS_ASSERT_EQ_STR(u.host, "cache.internal");
    OKS_ASSERT_EQ_INT(u.port, 6379);
    OKS_ASSERT_EQ_INT(u.db, 0);
    u = parse_ok("redis://localhost:7000/");
    OKS_ASSERT_EQ_INT(u.port, 7000);
    OKS_ASSERT_EQ_INT(u.db, 0);
}

OKS_TEST(password_user_and_db)
{
    oks_redis_url u = parse_ok("redis://:s3cret@10.0.0.5:6380/7");
    OKS_ASSERT(u.has_password);
    OKS_ASSERT_EQ_STR(u.user, "");
    OKS_ASSERT_EQ_STR(u.password, "s3cret");
    OKS_ASSERT_EQ_STR(u.host, "10.0.0.5");
    OKS_ASSERT_EQ_INT(u.port, 6380);
    OKS_ASSERT_EQ_INT(u.db, 7);
    u = parse_ok("redis://worker:pw@h:1/15");
    OKS_ASSERT_EQ_STR(u.user, "worker");
    OKS_ASSERT_EQ_STR(u.password, "pw");
}

OKS_TEST(password_percent_encoded_and_at_sign)
{
    oks_redis_url u = parse_ok("redis://:a%40b%2Fc%3a@h:1");
    OKS_ASSERT_EQ_STR(u.password, "a@b/c:");
    /* raw '@' in the password: the last '@' separates */
    u = parse_ok("redis://:p@ss@h:2/3");
    OKS_ASSERT_EQ_STR(u.password, "p@ss");
    OKS_ASSERT_EQ_STR(u.host, "h");
    OKS_ASSERT_EQ_INT(u.db, 3);
}

OKS_TEST(ipv6_host)
{
    oks_redis_url u = parse_ok("redis://[::1]:6390/2");
    OKS_ASSERT_EQ_STR(u.host, "::1");
    OKS_ASSERT_EQ_INT(u.port, 6390);
    OKS_ASSERT_EQ_INT(u.db, 2);
}

OKS_TEST(rejects_bad_urls)
{
    EXPECT_BAD(NULL, "empty");
    EXPECT_BAD("", "empty");
    EXPECT_BAD("http://h:1", "must start with redis://");
    EXPECT_BAD("127.0.0.1:6379", "must start with redis://");
    EXPECT_BAD("rediss://h:1", "TLS");
    EXPECT_BAD("redis://", "empty host");
    EXPECT_BAD("redis://:pw@:6379", "empty host");
    EXPECT_BAD("redis://h:", "port");
    EXPECT_BAD("redis://h:0", "port");
    EXPECT_BAD("redis://h:65536", "port");
    EXPECT_BAD("redis://h:12ab", "port");
    EXPECT_BAD("redis://h:-1", "port");
    EXPECT_BAD("redis://h:1/x", "database");
    EXPECT_BAD("redis://h:1/-1", "database");
    EXPECT_BAD("redis://h:1/100001", "database");
    EXPECT_BAD("redis://h:1/0/1", "database");
    EXPECT_BAD("redis://h:1/0?timeout=1", "query");
    EXPECT_BAD("redis://h:1#frag", "query");
    EXPECT_BAD("redis://ho st:1", "bad character");
    EXPECT_BAD("redis://[::1:1", "unclosed");
    EXPECT_BAD("redis://[::1]x:1", "junk");
    EXPECT_BAD("redis://:%4@h:1", "escape");
    EXPECT_BAD("redis://:%zz@h:1", "escape");
    EXPECT_BAD("redis://:%00@h:1", "NUL");
}

OKS_TEST(rejects_overlong_parts)
{
    char url[3000];
    memset(url, 'a', sizeof(url) - 1);
    url[sizeof(url) - 1] = '\0';
    memcpy(url, "redis://", 8);
    EXPECT_BAD(url, "longer than");
    char host[400];
    snprintf(host, sizeof(host), "redis://%0300d:1", 0);
    EXPECT_BAD(host, "host too long");
    char pw[700] = "redis://:";
    memset(pw + 9, 'p', 600);
    strcpy(pw + 609, "@h:1");
    EXPECT_BAD(pw, "password longer");
}

OKS_TEST(reply_error_classes)
{
    OKS_ASSERT_EQ_INT(oks_redis_reply_errcode("NOAUTH Authentication required."), OKS_E_AUTH);
    OKS_ASSERT_EQ_INT(oks_redis_reply_errcode("WRONGPASS invalid username-password pair"),
                      OKS_E_AUTH);
    OKS_ASSERT_EQ_INT(oks_redis_reply_errcode("NOSCRIPT No matching script."), OKS_E_NOTFOUND);
    OKS_ASSERT_EQ_INT(oks_redis_reply_errcode("LOADING Redis is loading"), OKS_E_TRANSIENT);
    OKS_ASSERT_EQ_INT(oks_redis_reply_errcode("BUSY Redis is busy"), OKS_E_TRANSIENT);
    OKS_ASSERT_EQ_INT(oks_redis_reply_errcode("WRONGTYPE Operation against a key"),
                      OKS_E_PERMANENT);
    OKS_ASSERT_EQ_INT(oks_redis_reply_errcode("ERR unknown command"), OKS_E_PERMANENT);
    /* a prefix must be a whole word */
    OKS_ASSERT_EQ_INT(oks_redis_reply_errcode("BUSYGROUP Consumer Group name already exists"),
                      OKS_E_PERMANENT);
    OKS_ASSERT_EQ_INT(oks_redis_reply_errcode(NULL), OKS_E_PERMANENT);
}

OKS_TEST(new_rejects_bad_url_without_io)
{
    oks_err err = {0};
    OKS_ASSERT(oks_redis_new("redis://h:99999", 100, 100, &err) == NULL);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    OKS_ASSERT_CONTAINS(err.msg, "port");
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
