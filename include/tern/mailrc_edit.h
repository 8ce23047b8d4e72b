/* Changing ~/.mailrc from tern: adding a mailx alias line where every mailx will read it. */
#ifndef TERN_MAILRC_EDIT_H
#define TERN_MAILRC_EDIT_H

#include "tern/err.h"

/*
 * Add "alias NAME ADDRESS" to the mailrc at path (created 0600 when missing): after the
 * last alias line that comes before tern's first [section], else just before that section,
 * else at the end — bsd-mailx stops reading at a plain INI line, so an alias below one
 * would be lost to it. The file is rewritten atomically with its mode kept; a symbolic link
 * (a dotfiles checkout) is followed, not replaced. name must be one word; address one
 * mailbox (no white space, quotes or controls). An alias of that name already in the file
 * is ERR_CONFIG naming its line.
 */
int mailrc_add_alias(const char *path, const char *name, const char *address, struct err *e);

#endif
