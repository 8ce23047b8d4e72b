/*
 * The sendmail command line shared by `tern send` and the `sendmail` link: option letters,
 * attached or separate values, the historic options tern accepts and ignores, and the rule
 * that options stand before the recipients.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tern/cmd.h"
#include "tern/crypt.h"
#include "tern/sendmail_args.h"
#include "tern/str.h"

/* Letters whose option takes a value, attached (-fADDR) or as the next argument. */
static const char value_letters[] = "fraFcCBNRVLhpOXd";

/* -o options other than -oi: error and delivery modes and the like; no effect. */
static bool ignored_o(const char *s)
{
    return s[0] == 'o' && s[1] != '\0';
}

/* The words -B, -N and -R take (in any case). */
static const char *const body_words[] = { "8BITMIME", "7BIT", NULL };
static const char *const notify_words[] = { "never", "success", "failure", "delay", NULL };
static const char *const ret_words[] = { "full", "hdrs", NULL };

static bool one_of(const char *w, const char *const *words)
{
    for (; *words != NULL; words++)
        if (str_casecmp(w, *words) == 0)
            return true;
    return false;
}

static int arg_error(char *err, size_t n, const char *fmt, const char *what)
{
    snprintf(err, n, fmt, what);
    return -1;
}

/* The value v of -B, -N or -R: one of words, or with list a comma-separated list of them;
 * else the error fmt (with v for its %s). */
static int take_word(const char **to, const char *v, const char *const *words, bool list,
                     const char *fmt, char *err, size_t n)
{
    char copy[128];
    char *save = NULL;
    bool ok;

    if (!list) {
        ok = one_of(v, words);
    } else {
        ok = *v != '\0' && strlen(v) < sizeof copy;
        snprintf(copy, sizeof copy, "%s", v);
        for (char *w = strtok_r(copy, ",", &save); ok && w; w = strtok_r(NULL, ",", &save))
            ok = one_of(w, words);
    }
    if (!ok)
        return arg_error(err, n, fmt, v);
    *to = v;
    return 0;
}

/* The value of an option letter: attached, else the next argument. */
static const char *option_value(int argc, char **argv, int *i)
{
    const char *s = argv[*i];

    if (s[2] != '\0')
        return s + 2;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

static int take_value(struct sendmail_args *o, char letter, const char *v, char *err,
                      size_t n)
{
    switch (letter) {
    case 'f': case 'r':
        o->from = v;
        break;
    case 'F':
        o->fullname = v;
        break;
    case 'a':
        o->account = v;
        break;
    case 'c': case 'C':
        o->config = v;
        break;
    case 'B':
        return take_word(&o->body, v, body_words, false,
                         "-B takes 7BIT or 8BITMIME, not '%s'", err, n);
    case 'N':
        return take_word(&o->notify, v, notify_words, true,
                         "-N takes never or success,failure,delay, not '%s'", err, n);
    case 'R':
        return take_word(&o->ret, v, ret_words, false, "-R takes full or hdrs, not '%s'", err, n);
    case 'V':
        o->envid = v;
        break;
    default:    /* -L tag, -h hops, -p protocol, -O option, -X file, -d debug */
        break;
    }
    return 0;
}

/* tern's own: --sign, --encrypt, --smime, --pgp and the --no- forms; false for others. */
static bool crypt_option(struct sendmail_args *o, const char *s)
{
    static const struct { const char *name; int flag; } opts[] = {
        { "sign", CRYPT_SIGN }, { "encrypt", CRYPT_ENCRYPT }, { "smime", CRYPT_SMIME },
    };
    bool no = strncmp(s, "--no-", 5) == 0;

    if (strcmp(s, "--pgp") == 0) {
        o->crypt_off |= CRYPT_SMIME;
        return true;
    }
    for (size_t k = 0; strncmp(s, "--", 2) == 0 && k < sizeof opts / sizeof opts[0]; k++) {
        if (strcmp(s + (no ? 5 : 2), opts[k].name) == 0) {
            *(no ? &o->crypt_off : &o->crypt_on) |= opts[k].flag;
            return true;
        }
    }
    return false;
}

/* One option argument s (starting with '-'); i may advance past its value. */
static int take_option(struct sendmail_args *o, int argc, char **argv, int *i, char *err,
                       size_t n)
{
    const char *s = argv[*i];
    const char *v;

    if (crypt_option(o, s))
        return 0;
    if (strcmp(s, "--help") == 0) {   /* not -h: sendmail's -h N is a hop count */
        o->help = true;
        return 0;
    }
    if (strcmp(s, "-i") == 0 || strcmp(s, "-oi") == 0) {
        o->dot_ends = false;
        return 0;
    }
    if (strcmp(s, "-t") == 0) {
        o->extract = true;
        return 0;
    }
    if (strcmp(s, "-q") == 0 || strcmp(s, "-odq") == 0) {
        o->queue_only = true;
        return 0;
    }
    if (s[1] == 'v' && strspn(s + 1, "v") == strlen(s + 1)) {
        o->verbose += (int)strlen(s + 1);
        return 0;
    }
    if (strcmp(s, "-bm") == 0)
        return 0;
    if (s[1] == 'b')
        return arg_error(err, n, "%s: only -bm (deliver a message) is supported; see tern(1)",
                         s);
    if (ignored_o(s + 1))      /* -oem, -odi, -odb, -oee, -om, -oXvalue ... */
        return 0;
    if (strcmp(s, "-m") == 0 || strcmp(s, "-n") == 0 || strcmp(s, "-s") == 0 ||
        strcmp(s, "-U") == 0 || strcmp(s, "-G") == 0 || strcmp(s, "-em") == 0 ||
        strcmp(s, "-ee") == 0 || strcmp(s, "-ep") == 0 || strcmp(s, "-eq") == 0 ||
        strcmp(s, "-ew") == 0 || strncmp(s, "-A", 2) == 0)
        return 0;
    if (s[1] != '\0' && s[1] != '-' && strchr(value_letters, s[1]) != NULL) {
        v = option_value(argc, argv, i);
        if (v == NULL)
            return arg_error(err, n, "option %s needs a value", s);
        return take_value(o, s[1], v, err, n);
    }
    return arg_error(err, n, "unknown option '%s'", s);
}

int sendmail_args_parse(int argc, char **argv, struct sendmail_args *out, char *err,
                        size_t errlen)
{
    int i;

    memset(out, 0, sizeof *out);
    out->dot_ends = true;
    for (i = 1; cmd_option_at(argc, argv, &i); i++)
        if (take_option(out, argc, argv, &i, err, errlen) < 0)
            return -1;
    out->rcpts = argv + i;
    out->nrcpts = (size_t)(argc - i);
    for (size_t k = 0; k < out->nrcpts; k++) {
        if (out->rcpts[k][0] == '-') {
            snprintf(err, errlen, "'%s' after the recipients: options come first (nothing "
                     "was sent)", out->rcpts[k]);
            return -1;
        }
    }
    return 0;
}
