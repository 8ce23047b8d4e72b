/* Saving messages and parts to files the user names: an mbox, a Maildir, or a directory. */
#ifndef TERN_SAVE_H
#define TERN_SAVE_H

#include <stddef.h>
#include <time.h>

#include "tern/err.h"

/*
 * Append a message to the mbox at path (created 0600 when missing) in the mboxrd form that
 * mutt, mblaze and Python's mailbox read: a "From SENDER DATE" line, every body line that
 * matches ">*From " quoted with one more '>', CRLF turned into LF, a blank line after it.
 * The file is locked with fcntl while it is written, written in one piece and fsynced; on
 * a failed write it is cut back to its old length, so an mbox is never left torn. sender
 * may be NULL (the message's Return-Path, else its From address, else MAILER-DAEMON).
 */
int save_mbox_append(const char *path, const char *msg, size_t n, const char *sender, time_t t,
                     struct err *e);
/*
 * Save a message where the user asked (~ and $VAR expanded): into a Maildir (flag S) when
 * target is one, else appended to an mbox; a directory that is not a Maildir and an
 * existing file that is not an mbox are refused with an error that says so. *where gets
 * what was written to (new string; may be NULL).
 */
int save_message(const char *target, const char *msg, size_t n, time_t t, char **where,
                 struct err *e);
/*
 * The file to save a part called name to when the user typed target (~ and $VAR expanded):
 * target itself, or target/NAME when target is a directory (NAME stripped of any directory
 * part and of leading dots, "part" when nothing is left). New string.
 */
char *save_part_path(const char *target, const char *name);

#endif
