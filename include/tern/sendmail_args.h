/* The command line of `tern send` and of tern called as sendmail: what cron, mailx, s-nail,
 * git send-email and scripts pass, parsed without side effects (Check-tested). */
#ifndef TERN_SENDMAIL_ARGS_H
#define TERN_SENDMAIL_ARGS_H

#include <stdbool.h>
#include <stddef.h>

struct sendmail_args {
    bool extract;                /* -t: recipients from To, Cc, Bcc */
    bool dot_ends;               /* a line "." ends the message; false with -i, -oi */
    bool queue_only;             /* -q (tern), -odq: queue, deliver at the next flush */
    bool help;                   /* --help */
    int verbose;                 /* count of -v */
    const char *from;            /* -f ADDR, -r ADDR: the envelope sender, or NULL */
    const char *fullname;        /* -F NAME: the sender's name when tern adds From */
    const char *account;         /* -a ACCOUNT (tern, as msmtp) */
    const char *config;          /* -c FILE, -C FILE */
    const char *body;            /* -B 7BIT or 8BITMIME, or NULL */
    const char *notify;          /* -N never or success,failure,delay, or NULL */
    const char *ret;             /* -R full or hdrs, or NULL */
    const char *envid;           /* -V ENVID (DSN envelope id), or NULL */
    int crypt_on;                /* CRYPT_* (crypt.h): --sign, --encrypt, --smime */
    int crypt_off;               /* --no-sign, --no-encrypt, --pgp (--no-smime) */
    char **rcpts;                /* borrowed from argv */
    size_t nrcpts;
};

/*
 * Parse argv[1..argc) (argv[0] is the command name). Options come first, as in sendmail: the
 * first argument that is not an option (or everything after "--") starts the recipients, and
 * an argument after that which begins with '-' is refused, so that `tern send bob@x -f e@x`
 * never mails "-f". Historic options that do not apply are accepted and ignored (the list is
 * in tern(1)). Returns 0, or -1 with one line in err (no recipients is not an error here).
 */
int sendmail_args_parse(int argc, char **argv, struct sendmail_args *out, char *err,
                        size_t errlen);

#endif
