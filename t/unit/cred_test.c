
/*
 * Copyright (C) The ngx_trtc_module authors
 */


/*
 * The shared credentials file (common/trtc_cred.c) and the TURN REST API
 * helpers.  Expected keys and passwords were computed outside this code:
 *
 *   MD5 keys:       printf %s "user:realm:pass" | md5sum
 *                   (and coturn's "turnadmin -k -u U -r R -p P" agrees)
 *   SHA-256 keys:   printf %s "user:realm:pass" | sha256sum
 *   REST passwords: printf %s "$user" | openssl dgst -sha1 -hmac "$secret"
 *                   -binary | base64
 *   REST keys:      printf %s "$user:$realm:$password" | md5sum
 */


#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "tap.h"
#include "trtc_cred.h"


#define T(s)  s, sizeof(s) - 1


static char         err[TRTC_CRED_ERRLEN];
static trtc_cred_t  cred;


/* MD5("turn:tencent:turn"), turnadmin -k -u turn -r tencent -p turn */
static const char  *key_turn_tencent = "1d0375020739d44db84e380ec775a92b";
/* SHA-256("turn:tencent:turn") */
static const char  *key256_turn_tencent =
    "e45a8aaf45bbffe9c0d0a6d9e1f1c679c6b8dd48c6bfcadfa69ca3ce71049172";
/* MD5("turn:trtc:turn") */
static const char  *key_turn_trtc = "d012e49cb5bb81a8b7d9ade8f1aae765";
/* MD5("turn::turn") */
static const char  *key_turn_norealm = "7ff69c1912c3ff43dfde2a6d9e206a09";
/* MD5("alice:tencent:wonderland"), turnadmin agrees */
static const char  *key_alice = "5a9edc8ba2c405d24a9932ef02d5deec";
/* MD5("bob:tencent:b#b") */
static const char  *key_bob = "97211c29b3a86cffb2aac5941dde4bdc";

/* REST passwords for user "1700000000:alice" */
static const char  *rest_a = "eCavX4uMCexTR+g64mFHO7lLWqc=";  /* 9f2c4e6a8b */
/* with secret second-s3cret */
static const char  *rest_b = "EfMX/kmMvTTnjbB9K/GPTrYnXu0=";
/* MD5("1700000000:alice:tencent:" rest_a) and rest_b */
static const char  *rest_key_a = "475f3015e1b2a00b816950b171574bac";
static const char  *rest_key_b = "35badc0083ee9df177440b7723ed9617";
/* secret "abc": password ohrh90sUB96ZUH57pI4w4U6N+fI=, keys with realm
 * "" and "trtc" */
static const char  *rest_key_abc_norealm =
    "40faf1e67d988ac6befd608f9e6931e2";
static const char  *rest_key_abc_trtc = "442fc0594b5d727a67c600430f9738e1";


static const char  valid_file[] =
    "# TRTC credentials\n"
    "realm  tencent\n"
    "\n"
    "secret 9f2c4e6a8b            # signs new credentials\n"
    "secret second-s3cret\n"
    "user   turn turn\n"
    "user   alice 0x5a9edc8ba2c405d24a9932ef02d5deec   # wonderland\n"
    "\tuser\tbob\tb#b   \n"
    "   # the end\n";


static int
hex_is(const uint8_t *got, const char *hex, size_t n)
{
    size_t        i;
    unsigned int  b;

    for (i = 0; i < n; i++) {
        if (sscanf(hex + 2 * i, "%2x", &b) != 1 || got[i] != b) {
            return 0;
        }
    }

    return hex[2 * n] == '\0';
}


static int
is_zero(const void *p, size_t n)
{
    const uint8_t  *b = p;

    while (n--) {
        if (*b++ != 0) {
            return 0;
        }
    }

    return 1;
}


static int
parse(const char *text, size_t len)
{
    trtc_cred_free(&cred);

    return trtc_cred_parse(&cred, text, len, "f", NULL, err, sizeof(err));
}


/* an error: -1, exactly this message, cred left empty */
static void
parse_error(const char *text, size_t len, const char *want, const char *why)
{
    int  rc;

    rc = parse(text, len);

    tap_ok(rc == -1 && strcmp(err, want) == 0 && is_zero(&cred, sizeof(cred)),
           "%s: %s", why, want);

    if (strcmp(err, want) != 0) {
        printf("#   got: %s\n", err);
    }
}


static void
test_valid(void)
{
    char                    *copy;
    const trtc_cred_user_t  *u;

    copy = malloc(sizeof(valid_file));
    memcpy(copy, valid_file, sizeof(valid_file));

    tap_is_int(trtc_cred_parse(&cred, copy, sizeof(valid_file) - 1, "f",
                               "ignored", err, sizeof(err)),
               0, "valid file parses");
    tap_ok(err[0] == '\0', "no message");

    /* nothing may point into the text it came from */
    memset(copy, 'X', sizeof(valid_file));
    free(copy);

    tap_ok(cred.mem != NULL, "one block");
    tap_ok(cred.realm != NULL && strcmp(cred.realm, "tencent") == 0
           && cred.realm_len == 7, "realm from the file beats the default");
    tap_is_int(cred.nsecrets, 2, "two secrets");
    tap_ok(cred.secrets[0].len == 10
           && memcmp(cred.secrets[0].data, "9f2c4e6a8b", 10) == 0,
           "first secret first, comment stripped");
    tap_ok(cred.secrets[1].len == 13
           && memcmp(cred.secrets[1].data, "second-s3cret", 13) == 0,
           "second secret");
    tap_is_int(cred.nusers, 3, "three users");
    tap_ok(strcmp(cred.users[0].name, "alice") == 0
           && strcmp(cred.users[1].name, "bob") == 0
           && strcmp(cred.users[2].name, "turn") == 0, "users sorted");

    u = trtc_cred_find_user(&cred, "turn", 4);
    tap_ok(u != NULL && u->name_len == 4 && u->has_password
           && hex_is(u->key, key_turn_tencent, 16),
           "turn: MD5(turn:tencent:turn)");
    tap_ok(u != NULL && hex_is(u->key_sha256, key256_turn_tencent, 32),
           "turn: SHA-256(turn:tencent:turn)");

    u = trtc_cred_find_user(&cred, "alice", 5);
    tap_ok(u != NULL && !u->has_password && hex_is(u->key, key_alice, 16)
           && is_zero(u->key_sha256, 32), "alice: the 0x key as given");

    u = trtc_cred_find_user(&cred, "bob", 3);
    tap_ok(u != NULL && u->has_password && hex_is(u->key, key_bob, 16),
           "bob: password b#b (\"#\" inside a field is not a comment)");

    tap_ok(trtc_cred_find_user(&cred, "tur", 3) == NULL, "no user tur");
    tap_ok(trtc_cred_find_user(&cred, "turnx", 5) == NULL, "no user turnx");
    tap_ok(trtc_cred_find_user(&cred, "turn", 3) == NULL,
           "length counts: \"turn\" with len 3 is \"tur\"");
    tap_ok(trtc_cred_find_user(&cred, "", 0) == NULL, "no empty user");
    tap_ok(trtc_cred_find_user(&cred, NULL, 0) == NULL, "NULL name");
    tap_ok(trtc_cred_find_user(NULL, "turn", 4) == NULL, "NULL set");
    tap_ok(trtc_cred_find_user(&cred, "Alice", 5) == NULL,
           "names are case-sensitive");

    trtc_cred_free(&cred);
    tap_ok(is_zero(&cred, sizeof(cred)), "free empties the set");
    trtc_cred_free(&cred);
    tap_ok(1, "free twice is harmless");
}


static void
test_realms(void)
{
    const trtc_cred_user_t  *u;

    trtc_cred_free(&cred);
    tap_is_int(trtc_cred_parse(&cred, T("user turn turn\n"), "f", "trtc",
                               err, sizeof(err)),
               0, "no realm line, default realm");
    u = trtc_cred_find_user(&cred, "turn", 4);
    tap_ok(cred.realm != NULL && strcmp(cred.realm, "trtc") == 0
           && cred.realm_len == 4 && u != NULL
           && hex_is(u->key, key_turn_trtc, 16),
           "default realm used for the key");

    tap_is_int(parse(T("user turn turn\n")), 0, "no realm at all");
    u = trtc_cred_find_user(&cred, "turn", 4);
    tap_ok(cred.realm == NULL && cred.realm_len == 0 && u != NULL
           && hex_is(u->key, key_turn_norealm, 16),
           "no realm: key with an empty realm");

    tap_is_int(parse(T("user turn turn\nrealm tencent\n")), 0,
               "realm after the users");
    u = trtc_cred_find_user(&cred, "turn", 4);
    tap_ok(u != NULL && hex_is(u->key, key_turn_tencent, 16),
           "realm after the users still applies to them");

    tap_is_int(parse(T("user alice 0x5A9EDC8BA2C405D24A9932EF02D5DEEC\n"
                       "realm tencent\n")),
               0, "0x key in upper case, realm after it");
    u = trtc_cred_find_user(&cred, "alice", 5);
    tap_ok(u != NULL && hex_is(u->key, key_alice, 16), "upper-case hex");

    tap_is_int(parse(T("user alice 0Xabc\nrealm r\n")), 0,
               "\"0X\" is a password, as in coturn");
    u = trtc_cred_find_user(&cred, "alice", 5);
    tap_ok(u != NULL && u->has_password, "0X... has a password");
    trtc_cred_free(&cred);
}


static void
test_layout(void)
{
    const trtc_cred_user_t  *u;

    /* CRLF, tabs, a BOM, comments everywhere, no final newline */
    tap_is_int(parse(T("\xef\xbb\xbf# comment\r\n"
                       "realm\ttencent\t# r\r\n"
                       "\r\n"
                       "   \t  \r\n"
                       "#\r\n"
                       "secret 9f2c4e6a8b\r\n"
                       "secret abc#def\r\n"
                       "secret ghi #jkl\r\n"
                       "secret mno\t#pqr\r\n"
                       "user turn turn\r\n"
                       "user bob b#b")),
               0, "CRLF file with a BOM");
    tap_ok(cred.realm != NULL && strcmp(cred.realm, "tencent") == 0,
           "CRLF: realm without \\r");
    tap_ok(cred.nsecrets == 4
           && cred.secrets[0].len == 10
           && memcmp(cred.secrets[1].data, "abc#def", 8) == 0
           && memcmp(cred.secrets[2].data, "ghi", 4) == 0
           && memcmp(cred.secrets[3].data, "mno", 4) == 0,
           "CRLF: secrets, NUL-terminated, comments after blanks only");
    u = trtc_cred_find_user(&cred, "turn", 4);
    tap_ok(u != NULL && hex_is(u->key, key_turn_tencent, 16),
           "CRLF: key without \\r");
    u = trtc_cred_find_user(&cred, "bob", 3);
    tap_ok(u != NULL && hex_is(u->key, key_bob, 16),
           "last line without a newline");

    tap_is_int(parse(T("")), 0, "empty file");
    tap_ok(cred.mem != NULL && cred.nsecrets == 0 && cred.nusers == 0
           && cred.realm == NULL, "empty file: empty set");
    tap_is_int(parse(NULL, 0), 0, "no text at all");
    tap_is_int(parse(T("\n\n\r\n# x\n  ")), 0, "only blanks and comments");
    tap_ok(cred.nsecrets == 0 && cred.nusers == 0, "nothing in it");
    tap_is_int(parse(T("secret x")), 0, "one line, no newline");
    tap_ok(cred.nsecrets == 1 && cred.secrets[0].len == 1, "secret x");
    tap_is_int(parse(T("secret x\r")), 0, "last line ends in a lone \\r");
    tap_ok(cred.nsecrets == 1 && cred.secrets[0].len == 1, "\\r stripped");
    tap_is_int(parse(T("secret \xe5\xaf\x86\xe7\xa0\x81\n")), 0,
               "UTF-8 secret");
    tap_ok(cred.nsecrets == 1 && cred.secrets[0].len == 6,
           "UTF-8 secret kept as bytes");
    tap_is_int(parse(T("secret same\nsecret same\n")), 0,
               "the same secret twice is harmless");
    trtc_cred_free(&cred);
}


static void
test_errors(void)
{
    char         big[8192], name[600];
    trtc_cred_t  old;

    parse_error(T("realm a\nfoo bar\n"), "f:2: unknown keyword \"foo\"",
                "unknown keyword");
    parse_error(T("Realm a\n"), "f:1: unknown keyword \"Realm\"",
                "keywords are lower case");
    parse_error(T("9f2c4e6a8b\n"),
                "f:1: unknown keyword (not shown: it does not look like "
                "one)", "a bare secret is not echoed");
    parse_error(T("\n\nsecret\n"), "f:3: \"secret\" without a value",
                "secret without a value");
    parse_error(T("secret # v\n"), "f:1: \"secret\" without a value",
                "secret with only a comment");
    parse_error(T("secret s3cr3t more\n"),
                "f:1: \"secret\": unexpected field after the value (a "
                "secret cannot contain blanks)", "secret with two fields");
    parse_error(T("realm\n"), "f:1: \"realm\" without a name",
                "realm without a name");
    parse_error(T("realm a b\n"),
                "f:1: \"realm\": unexpected field after the name",
                "realm with two names");
    parse_error(T("realm a\r\n#\r\nrealm a\r\n"),
                "f:3: duplicate \"realm\" (first at line 1)",
                "duplicate realm");
    parse_error(T("user\n"), "f:1: \"user\" without a name and a password",
                "user without anything");
    parse_error(T("user bob\n"), "f:1: user \"bob\" without a password or "
                "key", "user without a password");
    parse_error(T("user bob hunter2 extra\n"),
                "f:1: user \"bob\": unexpected field after the password (a "
                "password cannot contain blanks)", "user with 3 fields");
    parse_error(T("realm r\nuser a 0x123\n"),
                "f:2: user \"a\": bad key (\"0x\" must be followed by "
                "exactly 32 hex digits)", "short key");
    parse_error(T("realm r\nuser a 0x\n"),
                "f:2: user \"a\": bad key (\"0x\" must be followed by "
                "exactly 32 hex digits)", "empty key");
    parse_error(T("realm r\nuser a 0x5a9edc8ba2c405d24a9932ef02d5deecc\n"),
                "f:2: user \"a\": bad key (\"0x\" must be followed by "
                "exactly 32 hex digits)", "33 hex digits");
    parse_error(T("realm r\nuser a 0x5a9edc8ba2c405d24a9932ef02d5deeg\n"),
                "f:2: user \"a\": bad key (\"0x\" must be followed by "
                "exactly 32 hex digits)", "non-hex digit");
    parse_error(T("secret s\nuser a 0x5a9edc8ba2c405d24a9932ef02d5deec\n"),
                "f:2: user \"a\" has a 0x key but the file has no \"realm\" "
                "line (the key is MD5(name:realm:password), so its realm "
                "must be named)", "0x key without a realm line");

    trtc_cred_free(&cred);
    tap_ok(trtc_cred_parse(&cred,
                           T("user a 0x5a9edc8ba2c405d24a9932ef02d5deec\n"),
                           "f", "tencent", err, sizeof(err)) == -1
           && strstr(err, "f:1: user \"a\" has a 0x key") == err,
           "0x key: a default realm is not enough");

    parse_error(T("user a x\nuser b y\n\nuser a z\n"),
                "f:4: duplicate user \"a\" (first at line 1)",
                "duplicate user");
    parse_error(T("user c 1\nuser a 1\nuser c 2\nuser a 2\nuser c 3\n"),
                "f:3: duplicate user \"c\" (first at line 1)",
                "the earliest duplicate is reported");
    parse_error(T("user b 1\nuser a 1\nuser a 2\nuser b 2\n"),
                "f:3: duplicate user \"a\" (first at line 2)",
                "the earliest duplicate, whatever the sort order");
    parse_error(T("user \"\x01\" x\n"),
                "f:1: control character in field 2", "control character");
    parse_error(T("secret a\x7f" "b\n"),
                "f:1: control character in field 2", "DEL");
    parse_error(T("secret a\rb\n"),
                "f:1: control character in field 2", "\\r inside a line");
    parse_error(T("realm r\nsecret a\0b\n"), "f:2: NUL byte", "NUL byte");
    parse_error(T("# \0\n"), "f:1: NUL byte", "NUL in a comment");
    parse_error(T("\0"), "f:1: NUL byte", "a lone NUL");

    /* names are escaped and cut in messages */
    parse_error(T("user a\"\xff\\b\n"),
                "f:1: user \"a\\x22\\xff\\x5cb\" without a password or key",
                "odd bytes in a name are escaped");

    memset(name, 'n', sizeof(name));
    memcpy(name, "user ", 5);
    memcpy(name + 5 + 513, " pw\n", 4);
    parse_error(name, 5 + 513 + 4, "f:1: user name longer than 512 bytes",
                "user name of 513 bytes");
    memcpy(name + 5 + 512, " pw\n", 4);
    tap_is_int(parse(name, 5 + 512 + 4), 0, "user name of 512 bytes");

    memset(big, 'r', sizeof(big));
    memcpy(big, "realm ", 6);
    parse_error(big, 6 + 764, "f:1: realm longer than 763 bytes",
                "realm of 764 bytes");
    tap_is_int(parse(big, 6 + 763), 0, "realm of 763 bytes");

    /* TRTC_CRED_MAX_LINE excludes the line end */
    memset(big, 's', sizeof(big));
    memcpy(big, "# one\nsecret ", 13);
    big[6 + TRTC_CRED_MAX_LINE] = '\n';
    tap_is_int(parse(big, 6 + TRTC_CRED_MAX_LINE + 1), 0,
               "line of exactly 4096 bytes");
    tap_ok(cred.nsecrets == 1
           && cred.secrets[0].len == TRTC_CRED_MAX_LINE - 7,
           "its secret is 4089 bytes");
    big[6 + TRTC_CRED_MAX_LINE] = '\r';
    big[6 + TRTC_CRED_MAX_LINE + 1] = '\n';
    tap_is_int(parse(big, 6 + TRTC_CRED_MAX_LINE + 2), 0,
               "line of 4096 bytes and CRLF");
    big[6 + TRTC_CRED_MAX_LINE] = 's';
    big[6 + TRTC_CRED_MAX_LINE + 1] = '\n';
    parse_error(big, 6 + TRTC_CRED_MAX_LINE + 2,
                "f:2: line longer than 4096 bytes", "line of 4097 bytes");
    parse_error(big, 6 + TRTC_CRED_MAX_LINE + 1,
                "f:2: line longer than 4096 bytes",
                "last line of 4097 bytes without a newline");

    /* no message may carry a secret, a password or a key */
    parse(T("secret s3cr3tXY extra\n"));
    tap_ok(strstr(err, "s3cr3tXY") == NULL, "secret not in message: %s",
           err);
    parse(T("user bob hunter2XY extra\n"));
    tap_ok(strstr(err, "hunter2XY") == NULL, "password not in message: %s",
           err);
    parse(T("realm r\nuser bob 0xdeadbeefXY\n"));
    tap_ok(strstr(err, "deadbeef") == NULL, "key not in message: %s", err);
    parse(T("s3cr3tXY\n"));
    tap_ok(strstr(err, "s3cr3tXY") == NULL,
           "keyword-less secret not in message: %s", err);
    parse(T("secret s3cr3t\x01XY\n"));
    tap_ok(strstr(err, "s3cr3t") == NULL,
           "secret with a control byte not in message: %s", err);

    /* message buffers: none, tiny, no name */
    trtc_cred_free(&cred);
    tap_is_int(trtc_cred_parse(&cred, T("foo\n"), "f", NULL, NULL, 0), -1,
               "no message buffer");
    tap_is_int(trtc_cred_parse(&cred, T("foo\n"), "a-long-file-name",
                               NULL, err, 6),
               -1, "tiny message buffer");
    tap_ok(strcmp(err, "a-lon") == 0, "message cut and terminated");
    tap_is_int(trtc_cred_parse(&cred, T("foo\n"), NULL, NULL, err,
                               sizeof(err)),
               -1, "no file name");
    tap_ok(strcmp(err, "credentials:1: unknown keyword \"foo\"") == 0,
           "no file name: %s", err);

    /* a failed parse leaves cred empty even when it was not */
    tap_is_int(parse(T("secret a\n")), 0, "a good set");
    old = cred;
    tap_is_int(trtc_cred_parse(&cred, T("user a\n"), "f", NULL, err,
                               sizeof(err)),
               -1, "then a bad one over it");
    tap_ok(is_zero(&cred, sizeof(cred)), "cred is empty after the error");
    trtc_cred_free(&old);
}


static void
test_hostile(void)
{
    char      *buf, *p;
    size_t     i, j, n, len, ok, bad;
    uint32_t   seed;

    static const char  *atoms[] = {
        "realm", "secret", "user", " ", "\t", "\n", "\r\n", "\r", "#", "a",
        "bob", "0x", "5a9edc8ba2c405d24a9932ef02d5deec", "\0", "\xff",
        "\xef\xbb\xbf", "x y z", "turn turn\n", "0x5a9e"
    };

    /* 1 MiB on one line */
    len = 1024 * 1024;
    buf = malloc(len);
    memset(buf, 'a', len);
    memcpy(buf, "secret ", 7);
    parse_error(buf, len, "f:1: line longer than 4096 bytes",
                "1 MiB line");

    /* 1 MiB of short lines */
    for (i = 0; i + 2 <= len; i += 2) {
        buf[i] = '#';
        buf[i + 1] = '\n';
    }

    tap_is_int(parse(buf, len), 0, "half a million comment lines");
    memcpy(buf + len - 4, "x\n\n\n", 4);
    parse_error(buf, len, "f:524287: unknown keyword \"x\"",
                "error line number half a million lines in");

    /* many users in reverse order: sorted, and every one found */
    p = buf;
    n = 20000;

    for (i = n; i > 0; i--) {
        p += sprintf(p, "user u%05zu p%zu\n", i, i);
    }

    tap_is_int(parse(buf, (size_t) (p - buf)), 0, "20000 users");
    tap_is_int(cred.nusers, n, "20000 users kept");

    for (i = 1, bad = 0; i <= n; i++) {
        char  nm[16];

        snprintf(nm, sizeof(nm), "u%05zu", i);
        if (trtc_cred_find_user(&cred, nm, 6) == NULL) {
            bad++;
        }

        if (i < n && strcmp(cred.users[i - 1].name, cred.users[i].name) >= 0)
        {
            bad++;
        }
    }

    tap_is_int(bad, 0, "all found, strictly sorted");

    p += sprintf(p, "user u10000 again\n");
    parse_error(buf, (size_t) (p - buf),
                "f:20001: duplicate user \"u10000\" (first at line 10001)",
                "a duplicate among 20000");

    /* random soup: no crash, and what parses is consistent */
    seed = 12345;
    ok = 0;
    bad = 0;

    for (i = 0; i < 20000; i++) {
        p = buf;
        n = 0;
        len = (seed = seed * 1103515245 + 12345) % 24;

        for (j = 0; j < len; j++) {
            const char  *a;
            size_t       alen;

            seed = seed * 1103515245 + 12345;
            a = atoms[(seed >> 16) % (sizeof(atoms) / sizeof(char *))];
            alen = (a[0] == '\0') ? 1 : strlen(a);
            memcpy(p, a, alen);
            p += alen;
        }

        n = (size_t) (p - buf);

        trtc_cred_free(&cred);
        if (trtc_cred_parse(&cred, buf, n, "f", "d", err, sizeof(err)) == 0)
        {
            ok++;

            for (j = 0; j < cred.nusers; j++) {
                if (trtc_cred_find_user(&cred, cred.users[j].name,
                                        cred.users[j].name_len)
                    != &cred.users[j])
                {
                    bad++;
                }
            }

            if (cred.realm == NULL) {
                bad++;
            }

        } else if (strncmp(err, "f:", 2) != 0 || !is_zero(&cred, sizeof(cred)))
        {
            bad++;
        }
    }

    tap_ok(bad == 0 && ok > 100,
           "20000 random files: %zu parsed, all consistent", ok);

    trtc_cred_free(&cred);
    free(buf);
}


static void
test_rest(void)
{
    char            pass[TRTC_CRED_REST_PASS_LEN + 1];
    char            nonul[16];
    size_t          n;
    time_t          t;
    const char     *name;
    const uint8_t  *s;

    s = (const uint8_t *) "9f2c4e6a8b";
    trtc_cred_rest_password(s, 10, T("1700000000:alice"), pass);
    tap_ok(strcmp(pass, rest_a) == 0, "REST password, secret 1: %s", pass);

    s = (const uint8_t *) "second-s3cret";
    trtc_cred_rest_password(s, 13, T("1700000000:alice"), pass);
    tap_ok(strcmp(pass, rest_b) == 0, "REST password, secret 2: %s", pass);

    s = (const uint8_t *) "ab#cd";
    trtc_cred_rest_password(s, 5, T("4102444800:bob"), pass);
    tap_ok(strcmp(pass, "a5MphopApQL84U4GAKMnoZx2uiU=") == 0,
           "REST password, secret with #: %s", pass);

    s = (const uint8_t *) "north";
    trtc_cred_rest_password(s, 5, T("turnuser:1700000000"), pass);
    tap_ok(strcmp(pass, "P3JMc3x7r/goxp7m7y8lArLfJFg=") == 0,
           "REST password, NAME:EXPIRY: %s", pass);
    tap_is_int(strlen(pass), TRTC_CRED_REST_PASS_LEN, "28 characters");

    /* expiry forms */
    tap_ok(trtc_cred_rest_expiry(T("1700000000"), &t) == 0 && t == 1700000000,
           "EXPIRY");
    tap_ok(trtc_cred_rest_expiry(T("1700000000:alice"), &t) == 0
           && t == 1700000000, "EXPIRY:NAME");
    tap_ok(trtc_cred_rest_expiry(T("alice:1700000000"), &t) == 0
           && t == 1700000000, "NAME:EXPIRY");
    tap_ok(trtc_cred_rest_expiry(T("5:bob:7"), &t) == 0 && t == 5,
           "EXPIRY:NAME:X: the leading one");
    tap_ok(trtc_cred_rest_expiry(T("bob:x:7"), &t) == 0 && t == 7,
           "NAME:X:EXPIRY: the trailing one");
    tap_ok(trtc_cred_rest_expiry(T("0:bob"), &t) == 0 && t == 0, "zero");
    tap_ok(trtc_cred_rest_expiry(T("9223372036854775807:x"), &t) == 0
           && t == (time_t) 9223372036854775807LL, "largest time_t");
    tap_ok(trtc_cred_rest_expiry("1700000000:alice", 4, &t) == 0
           && t == 1700, "only len bytes are read");

    memcpy(nonul, "alice:1700000000", 16);
    tap_ok(trtc_cred_rest_expiry(nonul, 16, &t) == 0 && t == 1700000000,
           "not NUL-terminated");

    t = 42;
    tap_is_int(trtc_cred_rest_expiry(T("alice"), &t), -1, "no timestamp");
    tap_is_int(trtc_cred_rest_expiry(T(""), &t), -1, "empty");
    tap_is_int(trtc_cred_rest_expiry(NULL, 0, &t), -1, "NULL");
    tap_is_int(trtc_cred_rest_expiry(T(":"), &t), -1, "a colon");

    /* the name quotas count, as coturn counts it */
    name = trtc_cred_rest_name(T("1700000000:alice"), &n);
    tap_ok(n == 5 && memcmp(name, "alice", 5) == 0, "name of EXPIRY:NAME");
    name = trtc_cred_rest_name(T("alice:1700000000"), &n);
    tap_ok(n == 5 && memcmp(name, "alice", 5) == 0, "name of NAME:EXPIRY");
    name = trtc_cred_rest_name(T("5:bob:7"), &n);
    tap_ok(n == 5 && memcmp(name, "bob:7", 5) == 0,
           "name of EXPIRY:NAME:X: after the first colon");
    name = trtc_cred_rest_name(T("1700000000"), &n);
    tap_ok(n == 10 && memcmp(name, "1700000000", 10) == 0,
           "name of EXPIRY: all of it");
    name = trtc_cred_rest_name(T(":x"), &n);
    tap_ok(n == 1 && name[0] == 'x', "name of :NAME");
    tap_is_int(trtc_cred_rest_expiry(T("::"), &t), -1, "two colons");
    tap_is_int(trtc_cred_rest_expiry(T("12a:bob"), &t), -1, "12a:bob");
    tap_is_int(trtc_cred_rest_expiry(T("bob:12a"), &t), -1, "bob:12a");
    tap_is_int(trtc_cred_rest_expiry(T("-5:bob"), &t), -1, "negative");
    tap_is_int(trtc_cred_rest_expiry(T("+5:bob"), &t), -1, "plus sign");
    tap_is_int(trtc_cred_rest_expiry(T(" 5:bob"), &t), -1, "blank");
    tap_is_int(trtc_cred_rest_expiry(T("0x10:bob"), &t), -1, "hex");
    tap_is_int(trtc_cred_rest_expiry(T("9223372036854775808:x"), &t), -1,
               "time_t + 1 overflows");
    tap_is_int(trtc_cred_rest_expiry(T("x:99999999999999999999999"), &t),
               -1, "a long number overflows");
    tap_is_int(trtc_cred_rest_expiry(T("18446744073709551626"), &t), -1,
               "2^64 + 10 does not wrap");
    tap_is_int(t, 42, "expiry untouched on failure");
}


static void
test_rest_keys(void)
{
    size_t   nkeys;
    uint8_t  keys[4][16];

    tap_is_int(parse(T(valid_file)), 0, "two secrets, realm tencent");

    nkeys = 99;
    tap_is_int(trtc_cred_rest_keys(&cred, T("1700000000:alice"), 1699999999,
                                   keys, 4, &nkeys),
               0, "rest keys before expiry");
    tap_is_int(nkeys, 2, "one key per secret");
    tap_ok(hex_is(keys[0], rest_key_a, 16), "first key: first secret");
    tap_ok(hex_is(keys[1], rest_key_b, 16), "second key: second secret");

    tap_is_int(trtc_cred_rest_keys(&cred, T("1700000000:alice"), 1700000000,
                                   keys, 4, &nkeys),
               0, "valid through its expiry second");

    memset(keys, 0, sizeof(keys));
    tap_is_int(trtc_cred_rest_keys(&cred, T("1700000000:alice"), 0, keys, 1,
                                   &nkeys),
               0, "max_keys 1");
    tap_ok(nkeys == 1 && hex_is(keys[0], rest_key_a, 16)
           && is_zero(keys[1], 16), "only the signing secret's key");

    tap_is_int(trtc_cred_rest_keys(&cred, T("1700000000:alice"), 0, keys, 0,
                                   &nkeys),
               0, "max_keys 0");
    tap_is_int(nkeys, 0, "no keys");

    nkeys = 99;
    tap_is_int(trtc_cred_rest_keys(&cred, T("1700000000:alice"), 1700000001,
                                   keys, 4, &nkeys),
               -2, "expired a second later");
    tap_is_int(nkeys, 0, "no keys when expired");
    tap_is_int(trtc_cred_rest_keys(&cred, T("alice"), 0, keys, 4, &nkeys),
               -1, "no timestamp");
    tap_is_int(trtc_cred_rest_keys(&cred, T("turn"), 0, keys, 4, &nkeys),
               -1, "a static user is not a REST user");

    /* rotation: swap the order, the keys follow */
    tap_is_int(parse(T("realm tencent\nsecret second-s3cret\n"
                       "secret 9f2c4e6a8b\n")),
               0, "rotated file");
    tap_is_int(trtc_cred_rest_keys(&cred, T("1700000000:alice"), 0, keys, 4,
                                   &nkeys),
               0, "rotated keys");
    tap_ok(nkeys == 2 && hex_is(keys[0], rest_key_b, 16)
           && hex_is(keys[1], rest_key_a, 16),
           "rotation: new secret's key first, old one still accepted");

    tap_is_int(parse(T("realm tencent\nuser turn turn\n")), 0, "no secret");
    tap_is_int(trtc_cred_rest_keys(&cred, T("1700000000:alice"), 0, keys, 4,
                                   &nkeys),
               -3, "no secret configured");

    tap_is_int(parse(T("secret abc\n")), 0, "no realm");
    tap_is_int(trtc_cred_rest_keys(&cred, T("1700000000:alice"), 0, keys, 4,
                                   &nkeys),
               0, "keys without a realm");
    tap_ok(nkeys == 1 && hex_is(keys[0], rest_key_abc_norealm, 16),
           "no realm: empty realm in the key");

    trtc_cred_free(&cred);
    tap_is_int(trtc_cred_parse(&cred, T("secret abc\n"), "f", "trtc", err,
                               sizeof(err)),
               0, "default realm");
    tap_is_int(trtc_cred_rest_keys(&cred, T("1700000000:alice"), 0, keys, 4,
                                   &nkeys),
               0, "keys with the default realm");
    tap_ok(nkeys == 1 && hex_is(keys[0], rest_key_abc_trtc, 16),
           "default realm in the key");
    trtc_cred_free(&cred);
}


static void
test_load(void)
{
    int          warn;
    char         dir[] = "/tmp/cred_test.XXXXXX";
    char         path[256], fifo[256], big_path[256];
    FILE        *f;
    size_t       i;

    if (mkdtemp(dir) == NULL) {
        tap_ok(0, "mkdtemp: %s", strerror(errno));
        return;
    }

    snprintf(path, sizeof(path), "%s/credentials", dir);
    f = fopen(path, "w");
    fputs(valid_file, f);
    fclose(f);

    chmod(path, 0600);
    warn = 7;
    tap_is_int(trtc_cred_load(&cred, path, NULL, &warn, err, sizeof(err)), 0,
               "load a 0600 file");
    tap_is_int(warn, 0, "0600: no mode warning");
    tap_ok(cred.nusers == 3 && cred.nsecrets == 2
           && strcmp(cred.realm, "tencent") == 0, "loaded set");
    trtc_cred_free(&cred);

    chmod(path, 0640);
    tap_is_int(trtc_cred_load(&cred, path, NULL, &warn, err, sizeof(err)), 0,
               "load a 0640 file");
    tap_is_int(warn, 0, "0640: no mode warning");
    trtc_cred_free(&cred);

    chmod(path, 0644);
    tap_is_int(trtc_cred_load(&cred, path, NULL, &warn, err, sizeof(err)), 0,
               "load a 0644 file");
    tap_is_int(warn, 1, "0644: mode warning");
    trtc_cred_free(&cred);

    chmod(path, 0602);
    tap_is_int(trtc_cred_load(&cred, path, NULL, &warn, err, sizeof(err)), 0,
               "load a 0602 file");
    tap_is_int(warn, 1, "0602: mode warning");
    trtc_cred_free(&cred);

    tap_is_int(trtc_cred_load(&cred, path, NULL, NULL, err, sizeof(err)), 0,
               "mode_warning may be NULL");
    trtc_cred_free(&cred);

    f = fopen(path, "w");
    fputs("realm r\nsecret a\n\nuser x\n", f);
    fclose(f);

    tap_is_int(trtc_cred_load(&cred, path, NULL, &warn, err, sizeof(err)),
               -1, "load a bad file");
    tap_ok(strstr(err, path) == err
           && strcmp(err + strlen(path),
                     ":4: user \"x\" without a password or key") == 0,
           "the message names the path and line: %s", err);
    tap_ok(is_zero(&cred, sizeof(cred)), "bad file: cred empty");

    tap_is_int(trtc_cred_load(&cred, dir, NULL, &warn, err, sizeof(err)),
               -1, "a directory");
    tap_ok(strstr(err, "not a regular file") != NULL, "%s", err);

    tap_is_int(trtc_cred_load(&cred, "/dev/null", NULL, &warn, err,
                              sizeof(err)),
               -1, "a device");

    snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    if (mkfifo(fifo, 0600) == 0) {
        tap_is_int(trtc_cred_load(&cred, fifo, NULL, &warn, err,
                                  sizeof(err)),
                   -1, "a FIFO is refused without blocking");
        tap_ok(strstr(err, "not a regular file") != NULL, "%s", err);
        unlink(fifo);
    }

    tap_is_int(trtc_cred_load(&cred, "/nonexistent/credentials", NULL, &warn,
                              err, sizeof(err)),
               -1, "a missing file");
    tap_ok(strstr(err, "/nonexistent/credentials") != NULL
           && strstr(err, "No such file") != NULL, "%s", err);

    tap_is_int(trtc_cred_load(&cred, NULL, NULL, &warn, err, sizeof(err)),
               -1, "no path");

    /*
     * /proc files are regular files of size 0 that have content: the read
     * must grow past what fstat() said, and stop at 1 MiB.
     */
    tap_is_int(trtc_cred_load(&cred, "/proc/version", NULL, &warn, err,
                              sizeof(err)),
               -1, "a file longer than fstat() says is read to its end");
    tap_ok(strcmp(err, "/proc/version:1: unknown keyword \"Linux\"") == 0,
           "%s", err);

    if (access("/proc/kallsyms", R_OK) == 0) {
        tap_is_int(trtc_cred_load(&cred, "/proc/kallsyms", NULL, &warn, err,
                                  sizeof(err)),
                   -1, "a growing file stops at 1 MiB");
        tap_ok(strstr(err, "larger than 1048576 bytes") != NULL, "%s", err);
    }

    /* exactly 1 MiB is fine, one byte more is not */
    snprintf(big_path, sizeof(big_path), "%s/big", dir);
    f = fopen(big_path, "w");
    for (i = 0; i < 1024 * 1024 / 16; i++) {
        fputs("# 345678901234\n\n", f);
    }
    fclose(f);

    tap_is_int(trtc_cred_load(&cred, big_path, NULL, &warn, err,
                              sizeof(err)),
               0, "a 1 MiB file");
    trtc_cred_free(&cred);

    f = fopen(big_path, "a");
    fputs("\n", f);
    fclose(f);

    tap_is_int(trtc_cred_load(&cred, big_path, NULL, &warn, err,
                              sizeof(err)),
               -1, "a 1 MiB + 1 file");
    tap_ok(strstr(err, "larger than 1048576 bytes") != NULL, "%s", err);

    unlink(big_path);
    unlink(path);
    rmdir(dir);
}


int
main(void)
{
    test_valid();
    test_realms();
    test_layout();
    test_errors();
    test_hostile();
    test_rest();
    test_rest_keys();
    test_load();

    trtc_cred_free(&cred);

    return tap_done();
}
