/* Where things live under mail_root (see tern/paths.h): tern's state directory and the
 * folders that play a role, with Maildir++ defaults when mail_root is itself a Maildir. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tern/buf.h"
#include "tern/fsutil.h"
#include "tern/paths.h"
#include "tern/str.h"
#include "tern/xalloc.h"

char *paths_root(const char *mail_root)
{
    return fs_expand(mail_root && *mail_root ? mail_root : PATHS_DEFAULT_ROOT);
}

char *paths_state(const char *mail_root, enum path_state s)
{
    static const char *const sub[] = {
        [PATH_POP3] = ".tern/pop3", [PATH_QUEUE] = ".tern/queue",
        [PATH_COMPOSE] = ".tern/compose", [PATH_ADDRESSES] = ".tern/addresses",
        [PATH_OAUTH] = ".tern/oauth",
    };
    char *root = paths_root(mail_root), *p = fs_join(root, sub[s]);

    free(root);
    return p;
}

void paths_state_file(struct buf *b, const char *mail_root, enum path_state s,
                      const char *first)
{
    char *dir = paths_state(mail_root, s);

    buf_adds(b, dir);
    buf_addc(b, '/');
    if (first[0] == '.' || first[0] == '\0')
        buf_addc(b, '_');
    free(dir);
}

static bool is_dir(const char *dir, const char *sub)
{
    char *p = fs_join(dir, sub);
    struct stat st;
    bool ok = stat(p, &st) == 0 && S_ISDIR(st.st_mode);

    free(p);
    return ok;
}

/* As maildir_is_maildir (this layer is below the store): cur/ and new/. */
static bool is_maildir(const char *dir)
{
    return is_dir(dir, "cur") && is_dir(dir, "new");
}

bool paths_maildirpp(const char *mail_root)
{
    char *root = paths_root(mail_root);
    bool pp = is_maildir(root);

    free(root);
    return pp;
}

char *paths_folder_join(const char *root, const char *name)
{
    struct buf b = BUF_INIT;

    if (!is_maildir(root) || is_dir(root, name) || name[0] == '.')
        return fs_join(root, name);
    if (strcmp(name, "INBOX") == 0)
        return xstrdup(root);
    /* Maildir++: "Sub/folder" is root/.Sub.folder, as dovecot and Courier keep it */
    buf_adds(&b, root);
    buf_adds(&b, "/.");
    for (const char *p = name; *p; p++)
        buf_addc(&b, *p == '/' ? '.' : *p);
    return buf_detach(&b);
}

char *paths_folder_name(const char *entry)
{
    char *s = xstrdup(entry[0] == '.' ? entry + 1 : entry);

    for (char *p = s; *p; p++)
        if (*p == '.')
            *p = '/';
    return s;
}

static char *folder_dir(const char *root, const char *name)
{
    return paths_folder_join(root, name);
}

static const struct account *default_account(const struct config *cfg)
{
    if (cfg == NULL || cfg->naccounts == 0)
        return NULL;
    if (cfg->default_account) {
        const struct account *a = config_account(cfg, cfg->default_account);

        if (a)
            return a;
    }
    return &cfg->accounts[0];
}

static const char *role_setting(const struct account *a, enum path_role r)
{
    if (a == NULL)
        return NULL;
    switch (r) {
    case ROLE_INBOX: return a->inbox;
    case ROLE_SENT: return a->sent;
    case ROLE_DRAFTS: return a->drafts;
    case ROLE_TRASH: return a->trash;
    case ROLE_OUTBOX: return a->outbox;
    default: return NULL;
    }
}

const char *paths_role(const struct config *cfg, const char *mail_root,
                       const struct account *a, enum path_role r)
{
    static const char *const names[NROLES] = { "INBOX", "Sent", "Drafts", "Trash", "Outbox" };
    const char *set;

    if (a == NULL)
        a = default_account(cfg);
    set = role_setting(a, r);
    if (set && *set)
        return set;
    (void)mail_root;        /* the names are the same; paths_folder_join places them */
    return names[r];
}

char *paths_role_dir(const struct config *cfg, const char *mail_root, const struct account *a,
                     enum path_role r)
{
    char *base = paths_root(mail_root ? mail_root : cfg ? cfg->mail_root : NULL);
    const char *name = paths_role(cfg, base, a, r);
    char *dir = name[0] == '/' || name[0] == '~' ? fs_expand(name) : folder_dir(base, name);

    free(base);
    return dir;
}

enum path_role paths_role_of(const struct config *cfg, const char *mail_root,
                             const char *name)
{
    for (int r = 0; r < NROLES; r++) {
        if (strcmp(paths_role(cfg, mail_root, NULL, (enum path_role)r), name) == 0)
            return (enum path_role)r;
        for (size_t i = 0; cfg && i < cfg->naccounts; i++)
            if (strcmp(paths_role(cfg, mail_root, &cfg->accounts[i], (enum path_role)r),
                       name) == 0)
                return (enum path_role)r;
    }
    return NROLES;
}

char *paths_folder_dir(const char *mail_root, const char *name, struct err *e)
{
    char *root, *dir;
    const char *p = name;

    if (*name == '\0' || name[0] == '/' || name[0] == '~' || strchr(name, '$') != NULL) {
        err_set(e, ERR_CONFIG, "%s: a folder name under the mail root, not a path", name);
        return NULL;
    }
    for (;;) {                      /* no "." or ".." component anywhere */
        size_t n = strcspn(p, "/");

        if ((n == 2 && p[0] == '.' && p[1] == '.') || (n == 1 && p[0] == '.') || n == 0) {
            err_set(e, ERR_CONFIG, "%s: a folder name may not contain '..', '.' or '//'",
                    name);
            return NULL;
        }
        if (p[n] == '\0')
            break;
        p += n + 1;
    }
    root = paths_root(mail_root);
    dir = folder_dir(root, name);
    free(root);
    return dir;
}
