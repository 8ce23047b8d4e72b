/* Errors as values: a class the caller can switch on and one line for the user. */
#ifndef TERN_ERR_H
#define TERN_ERR_H

enum err_class {
    ERR_NONE = 0,
    ERR_SYS,     /* a system call failed (disk, permissions, memory) */
    ERR_CONFIG,  /* the configuration is wrong */
    ERR_NET,     /* DNS, connect, reset, timeout */
    ERR_TLS,     /* handshake or certificate verification */
    ERR_PROTO,   /* the peer broke the protocol */
    ERR_AUTH,    /* credentials refused or unavailable */
    ERR_TEMP,    /* the server said try again later (4xx, -ERR [IN-USE]) */
    ERR_PERM,    /* the server refused for good (5xx) */
    ERR_PARSE,   /* malformed input file */
    ERR_CANCEL,  /* interrupted by the user or a signal */
    ERR_LOCKED,  /* another process holds the lock */
};

/* Fixed-size so that reporting an error never allocates. */
struct err {
    enum err_class cls;
    char msg[512];
};

/* Each setter fills *e (if non-NULL) and returns -1, so callers can `return err_set(...)`. */
int err_set(struct err *e, enum err_class cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like err_set with class ERR_SYS, appending ": strerror(errno)". */
int err_sys(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Put context in front of an existing message: "ctx: old message". */
int err_prefix(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_clear(struct err *e);
const char *err_class_name(enum err_class cls);

#endif
