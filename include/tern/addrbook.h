/*
 * The address book: aliases from ~/.mailrc plus the addresses seen in the user's mail,
 * collected in a small file, for completion in address headers and expansion on send.
 */
#ifndef TERN_ADDRBOOK_H
#define TERN_ADDRBOOK_H

#include <stddef.h>
#include <time.h>

#include "tern/config.h"
#include "tern/err.h"

struct addrbook;

struct addrbook_entry {
    char *mailbox;               /* local@domain */
    char *name;                  /* display name (UTF-8) or NULL */
    unsigned count;              /* how often it was seen or used */
    time_t last;                 /* when last seen */
};

/* Load path (a missing file is an empty book). A corrupt line is skipped, never fatal. */
int addrbook_open(const char *path, struct addrbook **out, struct err *e);
void addrbook_free(struct addrbook *ab);
/* Note every address of an address header value (From, To, Cc) as seen at time t. */
void addrbook_note(struct addrbook *ab, const char *value, time_t t);
/* Write the book back atomically if it changed. */
int addrbook_save(struct addrbook *ab, struct err *e);
size_t addrbook_count(const struct addrbook *ab);
const struct addrbook_entry *addrbook_get(const struct addrbook *ab, size_t i);

/*
 * Completions for what the user typed (case-insensitive; matches the start of an alias name,
 * of the mailbox, or of any word of the name), best first: aliases, then by how often and
 * how recently an address was used. Each result is a ready header item such as
 * "Ann Example <ann@example.org>" or an alias name; free with addrbook_results_free.
 */
size_t addrbook_complete(const struct addrbook *ab, const struct config *cfg,
                         const char *prefix, char ***results, size_t max);
void addrbook_results_free(char **results, size_t n);

/*
 * An address header value with every alias name replaced by its addresses (aliases may
 * refer to aliases, to a depth of 8) and duplicates removed. New string.
 */
char *addrbook_expand(const struct config *cfg, const char *value);

#endif
