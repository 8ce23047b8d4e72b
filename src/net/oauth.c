/*
 * OAuth2 client: provider presets, token endpoint requests over libcurl (HTTPS only, verified),
 * the token file, refresh, and the one-time authorization (device flow or browser + PKCE).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "tern/buf.h"
#include "tern/fsutil.h"
#include "tern/json.h"
#include "tern/log.h"
#include "tern/oauth.h"
#include "tern/paths.h"
#include "tern/secret.h"
#include "tern/str.h"
#include "tern/xalloc.h"

/* A token endpoint's reply is small; more is refused rather than buffered. */
#define OAUTH_MAX_REPLY (64 * 1024)

static const struct {
    const char *auth, *token, *device, *scope;
} presets[] = {
    [OAUTH_NONE] = { NULL, NULL, NULL, NULL },
    [OAUTH_GOOGLE] = { "https://accounts.google.com/o/oauth2/v2/auth",
                       "https://oauth2.googleapis.com/token",
                       "https://oauth2.googleapis.com/device/code",
                       "https://mail.google.com/" },
    [OAUTH_MICROSOFT] = { "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
                          "https://login.microsoftonline.com/common/oauth2/v2.0/token",
                          "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode",
                          "offline_access https://outlook.office.com/POP.AccessAsUser.All "
                          "https://outlook.office.com/SMTP.Send" },
};

void oauth_endpoints(const struct account *a, struct oauth_endpoints *ep)
{
    unsigned p = (unsigned)a->oauth_provider;

    if (p >= sizeof presets / sizeof presets[0])
        p = OAUTH_NONE;
    ep->auth_url = a->oauth_auth_url ? a->oauth_auth_url : presets[p].auth;
    ep->token_url = a->oauth_token_url ? a->oauth_token_url : presets[p].token;
    ep->device_url = a->oauth_device_url ? a->oauth_device_url : presets[p].device;
    ep->scope = a->oauth_scope ? a->oauth_scope : presets[p].scope;
}

bool oauth_configured(const struct account *a)
{
    struct oauth_endpoints ep;

    oauth_endpoints(a, &ep);
    return a->oauth_token_command != NULL || ep.token_url != NULL;
}

char *oauth_token_path(const struct config *cfg, const struct account *a)
{
    struct buf b = BUF_INIT;

    paths_state_file(&b, cfg->mail_root, PATH_OAUTH, a->name);
    for (const char *s = a->name; *s; s++)
        buf_addc(&b, ((unsigned char)*s <= 0x20 || *s == '/' || *s == 0x7f) ? '_' : *s);
    return buf_detach(&b);
}

static void wipe(struct buf *b)
{
    buf_wipe(b);
    buf_free(b);
}

static char *wipe_dup(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

/* ---- HTTP ---- */

struct reply {
    struct buf body;
    bool too_big;
};

static size_t http_write(char *p, size_t size, size_t n, void *ctx)
{
    struct reply *r = ctx;

    if (r->body.len + size * n > OAUTH_MAX_REPLY) {
        r->too_big = true;
        return 0;
    }
    buf_add(&r->body, p, size * n);
    return size * n;
}

static void form_add(struct buf *b, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";

    if (value == NULL)
        return;
    if (b->len)
        buf_addc(b, '&');
    buf_adds(b, name);
    buf_addc(b, '=');
    for (const unsigned char *s = (const unsigned char *)value; *s; s++) {
        if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
            strchr("-._~", *s)) {
            buf_addc(b, (char)*s);
        } else {
            buf_addc(b, '%');
            buf_addc(b, hex[*s >> 4]);
            buf_addc(b, hex[*s & 15]);
        }
    }
}

/*
 * POST a form to an endpoint and parse the JSON reply. HTTPS only, no redirects, the
 * account's oauth_ca_file (else the system store), the account's timeout. Bodies are
 * secrets: the trace shows the URL and the status only.
 */
static struct json *http_post(const struct account *a, const char *url, const struct buf *form,
                              long *status, struct err *e)
{
    static bool inited;
    struct reply r = { BUF_INIT, false };
    char errbuf[CURL_ERROR_SIZE] = "";
    struct json *j = NULL;
    CURL *c;
    CURLcode rc;
    char line[600];

    if (!inited) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        inited = true;
    }
    if (!str_casestartswith(url, "https://")) {
        err_set(e, ERR_CONFIG, "account %s: OAuth2 endpoint %s is not https", a->name, url);
        return NULL;
    }
    c = curl_easy_init();
    if (c == NULL) {
        err_set(e, ERR_SYS, "account %s: cannot start an HTTP client", a->name);
        return NULL;
    }
    snprintf(line, sizeof line, "POST %s", url);
    log_proto("oauth", '>', line, strlen(line), false);
    log_proto("oauth", '>', form->ptr, form->len, true);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (a->oauth_ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, a->oauth_ca_file);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, a->timeout > 0 ? a->timeout : 60L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, form->ptr ? form->ptr : "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)form->len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "tern/" PACKAGE_VERSION);
    rc = curl_easy_perform(c);
    *status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(c);
    if (r.too_big) {
        err_set(e, ERR_PROTO, "%s: reply larger than %d bytes", url, OAUTH_MAX_REPLY);
        goto out;
    }
    if (rc != CURLE_OK) {
        bool tls = rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR ||
                   rc == CURLE_SSL_CACERT_BADFILE;

        err_set(e, tls ? ERR_TLS : ERR_NET, "%s: %s", url,
                errbuf[0] ? errbuf : curl_easy_strerror(rc));
        goto out;
    }
    snprintf(line, sizeof line, "HTTP %ld", *status);
    log_proto("oauth", '<', line, strlen(line), false);
    log_proto("oauth", '<', r.body.ptr ? r.body.ptr : "", r.body.len, true);
    j = json_parse(r.body.ptr ? r.body.ptr : "", r.body.len, e);
    if (j == NULL) {
        err_prefix(e, "%s: HTTP %ld", url, *status);
        e->cls = ERR_PROTO;
    } else if (json_type(j) != JSON_OBJ) {
        json_free(j);
        j = NULL;
        err_set(e, ERR_PROTO, "%s: HTTP %ld: the reply is not a JSON object", url, *status);
    }
out:
    wipe(&r.body);
    return j;
}

/* "error: description" of an OAuth2 error reply, printable only. */
static void oauth_error_text(const struct json *j, char *out, size_t n)
{
    const char *err = json_get_str(j, "error");
    const char *desc = json_get_str(j, "error_description");
    struct buf b = BUF_INIT;

    buf_adds(&b, err ? err : "no error code");
    if (desc) {
        buf_adds(&b, ": ");
        buf_add(&b, desc, strnlen(desc, 200));
    }
    /* The endpoint's words: the one sanitiser (C1 and bidi controls too, issue 14 item 2). */
    str_sanitize_to(b.ptr, b.len, out, n);
    buf_free(&b);
}

/* ---- the token file: "refresh_token R", "access_token A", "expires UNIXTIME" ---- */

struct tokens {
    char *refresh, *access;
    long long expires;
};

static void tokens_free(struct tokens *t)
{
    secret_free(t->refresh);
    secret_free(t->access);
    t->refresh = t->access = NULL;
    t->expires = 0;
}

static bool token_ok(const char *s);

void oauth_tokens_parse(const char *text, size_t n, char **refresh, char **access,
                        long long *expires)
{
    *refresh = *access = NULL;
    *expires = 0;
    for (size_t i = 0; i < n;) {
        const char *l = text + i, *nl = memchr(l, '\n', n - i), *sp;
        size_t len = nl ? (size_t)(nl - l) : n - i;
        char *v;

        i += len + 1;
        sp = memchr(l, ' ', len);
        if (sp == NULL)
            continue;
        v = xstrndup(sp + 1, len - (size_t)(sp + 1 - l));
        if ((size_t)(sp - l) == 13 && memcmp(l, "refresh_token", 13) == 0 && !*refresh &&
            token_ok(v)) {
            *refresh = v;
        } else if ((size_t)(sp - l) == 12 && memcmp(l, "access_token", 12) == 0 && !*access &&
                   token_ok(v)) {
            *access = v;
        } else {
            if ((size_t)(sp - l) == 7 && memcmp(l, "expires", 7) == 0) {
                long long x = strtoll(v, NULL, 10);

                *expires = x > 0 ? x : 0;
            }
            secret_free(v);
        }
    }
}

static int tokens_load(const char *path, struct tokens *t, struct err *e)
{
    struct buf b = BUF_INIT;

    memset(t, 0, sizeof *t);
    if (fs_read_file(path, &b, e) < 0) {
        wipe(&b);
        return errno == ENOENT ? 1 : -1;
    }
    oauth_tokens_parse(b.ptr ? b.ptr : "", b.len, &t->refresh, &t->access, &t->expires);
    wipe(&b);
    return 0;
}

static int tokens_save(const char *path, const struct tokens *t, struct err *e)
{
    struct buf b = BUF_INIT;
    char *dir = fs_dirname(path);
    int rc;

    rc = fs_mkdir_p(dir, 0700, e);
    free(dir);
    if (rc < 0)
        return -1;
    if (t->refresh)
        buf_printf(&b, "refresh_token %s\n", t->refresh);
    if (t->access)
        buf_printf(&b, "access_token %s\nexpires %lld\n", t->access, t->expires);
    rc = fs_write_atomic(path, b.ptr ? b.ptr : "", b.len, 0600, e);
    wipe(&b);
    return rc;
}

/* A value that goes into the token file and into SASL: printable, no spaces. */
static bool token_ok(const char *s)
{
    if (s == NULL || *s == '\0' || strlen(s) > 16384)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

/*
 * Take a successful token reply into t: the access token, its expiry (early by a tenth of
 * its lifetime, at least a second and at most a minute, so that it is renewed before a server refuses it), and
 * a new refresh token when the server rotates it.
 */
static int tokens_take(const struct account *a, const struct json *j, struct tokens *t,
                       struct err *e)
{
    const char *acc = json_get_str(j, "access_token");
    const char *ref = json_get_str(j, "refresh_token");
    const char *type = json_get_str(j, "token_type");
    long life = 3600;

    if (!token_ok(acc))
        return err_set(e, ERR_PROTO, "account %s: the token endpoint sent no usable "
                       "access_token", a->name);
    if (type && str_casecmp(type, "bearer") != 0)
        return err_set(e, ERR_PROTO, "account %s: token_type %s is not Bearer", a->name,
                       token_ok(type) ? type : "?");
    if (json_get(j, "expires_in") && json_get_long(j, "expires_in", 0, 10L * 365 * 86400,
                                                      &life) < 0)
        return err_set(e, ERR_PROTO, "account %s: bad expires_in from the token endpoint",
                       a->name);
    if (ref && !token_ok(ref))
        return err_set(e, ERR_PROTO, "account %s: bad refresh_token from the token endpoint",
                       a->name);
    secret_free(t->access);
    t->access = xstrdup(acc);
    t->expires = (long long)time(NULL) + life - (life >= 600 ? 60 : life >= 10 ? life / 10 : 1);
    if (ref) {
        secret_free(t->refresh);
        t->refresh = xstrdup(ref);
    }
    return 0;
}

static void form_client(struct buf *f, const struct account *a)
{
    form_add(f, "client_id", a->oauth_client_id);
    form_add(f, "client_secret", a->oauth_client_secret);
}

static int oauth_refresh(const struct account *a, const struct oauth_endpoints *ep,
                         struct tokens *t, struct err *e)
{
    struct buf form = BUF_INIT;
    struct json *j;
    long status;
    int rc;

    form_add(&form, "grant_type", "refresh_token");
    form_add(&form, "refresh_token", t->refresh);
    form_client(&form, a);
    j = http_post(a, ep->token_url, &form, &status, e);
    wipe(&form);
    if (j == NULL)
        return -1;
    if (status == 200) {
        rc = tokens_take(a, j, t, e);
    } else {
        char why[300];
        const char *code = json_get_str(j, "error");

        oauth_error_text(j, why, sizeof why);
        if (code && (strcmp(code, "invalid_grant") == 0 || strcmp(code, "invalid_client") == 0 ||
                     strcmp(code, "unauthorized_client") == 0))
            rc = err_set(e, ERR_AUTH, "account %s: the authorization was revoked or has expired "
                         "(%s): run `tern auth %s` again", a->name, why, a->name);
        else
            rc = err_set(e, status >= 500 ? ERR_TEMP : ERR_AUTH, "account %s: token refresh "
                         "failed: HTTP %ld, %s", a->name, status, why);
    }
    json_free(j);
    return rc;
}

/* A blocking lock: a background fetch and a flush refreshing at once must not lose a rotated
 * refresh token. */
static int oauth_lock(const char *path, struct err *e)
{
    struct buf b = BUF_INIT;
    char *dir = fs_dirname(path);
    int fd;

    if (fs_mkdir_p(dir, 0700, e) < 0) {
        free(dir);
        return -1;
    }
    free(dir);
    buf_printf(&b, "%s.lock", path);
    fd = open(b.ptr, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        err_sys(e, "%s", b.ptr);
        buf_free(&b);
        return -1;
    }
    while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
        ;
    buf_free(&b);
    return fd;
}

char *oauth_token(const struct config *cfg, const struct account *a, bool refresh,
                  struct err *e)
{
    struct oauth_endpoints ep;
    struct tokens t;
    char *path, *res = NULL;
    int lock, r;

    if (a->oauth_token_command) {
        res = secret_command(a->name, "oauth_token_command", a->oauth_token_command, e);
        if (res && !token_ok(res)) {
            secret_free(res);
            res = NULL;
            err_set(e, ERR_AUTH, "account %s: oauth_token_command printed a token with spaces "
                    "or control characters", a->name);
        }
        return res;
    }
    oauth_endpoints(a, &ep);
    if (ep.token_url == NULL) {
        err_set(e, ERR_CONFIG, "account %s: no oauth_token_url, oauth_provider or "
                "oauth_token_command", a->name);
        return NULL;
    }
    path = oauth_token_path(cfg, a);
    if ((lock = oauth_lock(path, e)) < 0) {
        free(path);
        return NULL;
    }
    r = tokens_load(path, &t, e);
    if (r != 0 || t.refresh == NULL) {
        if (r >= 0)
            err_set(e, ERR_AUTH, "account %s: not authorized yet: run `tern auth %s`", a->name,
                    a->name);
        goto out;
    }
    if (!refresh && t.access && t.expires > (long long)time(NULL)) {
        res = xstrdup(t.access);
        goto out;
    }
    if (oauth_refresh(a, &ep, &t, e) < 0 || tokens_save(path, &t, e) < 0)
        goto out;
    res = xstrdup(t.access);
out:
    tokens_free(&t);
    close(lock);
    free(path);
    return res;
}

/* ---- authorization: the device flow (RFC 8628) ---- */

static void say(const struct oauth_ui *ui, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say(const struct oauth_ui *ui, const char *fmt, ...)
{
    char line[1200], clean[1600];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    str_sanitize_to(line, strlen(line), clean, sizeof clean);
    if (ui && ui->say)
        ui->say(ui->ctx, clean);
}

static void sleep_s(long s)
{
    struct timespec ts = { s, 0 };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* A text from the endpoint that we show: printable and bounded, else "?". */
static const char *shown(const char *s)
{
    if (s == NULL || strlen(s) > 512)
        return "?";
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            return "?";     /* URLs and user codes are ASCII: no room for bidi tricks */
    return s;
}

static int oauth_device(const struct account *a, const struct oauth_endpoints *ep,
                        const struct oauth_ui *ui, struct tokens *t, struct err *e)
{
    struct buf form = BUF_INIT;
    struct json *j;
    const char *uri, *code;
    char *device_code = NULL;
    long status, interval = 5, life = 600;
    time_t deadline;
    int rc = -1;

    form_add(&form, "client_id", a->oauth_client_id);
    form_add(&form, "scope", ep->scope);
    j = http_post(a, ep->device_url, &form, &status, e);
    buf_free(&form);
    if (j == NULL)
        return -1;
    if (status != 200) {
        char why[300];

        oauth_error_text(j, why, sizeof why);
        json_free(j);
        return err_set(e, ERR_AUTH, "account %s: the device authorization was refused: HTTP "
                       "%ld, %s", a->name, status, why);
    }
    uri = json_get_str(j, "verification_uri_complete");
    if (uri == NULL)
        uri = json_get_str(j, "verification_uri");
    if (uri == NULL)
        uri = json_get_str(j, "verification_url");   /* Google's older name */
    code = json_get_str(j, "user_code");
    device_code = wipe_dup(json_get_str(j, "device_code"));
    if (uri == NULL || code == NULL || !token_ok(device_code)) {
        json_free(j);
        secret_free(device_code);
        return err_set(e, ERR_PROTO, "account %s: the device authorization reply lacks "
                       "verification_uri, user_code or device_code", a->name);
    }
    if (json_get(j, "interval"))
        (void)json_get_long(j, "interval", 1, 300, &interval);
    if (json_get(j, "expires_in"))
        (void)json_get_long(j, "expires_in", 1, 86400, &life);
    say(ui, "To let tern use account %s, open %s", a->name, shown(uri));
    say(ui, "and enter the code %s (waiting up to %ld seconds)", shown(code), life);
    json_free(j);
    deadline = time(NULL) + life;
    for (;;) {
        const char *err;

        sleep_s(interval);
        if (time(NULL) > deadline) {
            rc = err_set(e, ERR_AUTH, "account %s: the code expired before it was entered",
                         a->name);
            break;
        }
        form_add(&form, "grant_type", "urn:ietf:params:oauth:grant-type:device_code");
        form_add(&form, "device_code", device_code);
        form_client(&form, a);
        j = http_post(a, ep->token_url, &form, &status, e);
        wipe(&form);
        if (j == NULL)
            break;
        if (status == 200) {
            rc = tokens_take(a, j, t, e);
            json_free(j);
            break;
        }
        err = json_get_str(j, "error");
        if (err && strcmp(err, "authorization_pending") == 0) {
            json_free(j);
            continue;
        }
        if (err && strcmp(err, "slow_down") == 0) {
            interval += 5;
            json_free(j);
            continue;
        }
        {
            char why[300];

            oauth_error_text(j, why, sizeof why);
            rc = err_set(e, ERR_AUTH, "account %s: authorization failed: %s", a->name, why);
        }
        json_free(j);
        break;
    }
    secret_free(device_code);
    return rc;
}

/* ---- authorization: the browser, PKCE (RFC 7636) and a loopback redirect (RFC 8252) ---- */

static void b64url(struct buf *out, const unsigned char *p, size_t n)
{
    unsigned char enc[128];
    int len = EVP_EncodeBlock(enc, p, (int)n);

    for (int i = 0; i < len; i++) {
        if (enc[i] == '=')
            break;
        buf_addc(out, enc[i] == '+' ? '-' : enc[i] == '/' ? '_' : (char)enc[i]);
    }
}

/* Start $BROWSER URL without a shell: the URL is ours, but the browser string is split
 * on spaces only. */
static int run_browser(const char *browser, const char *url, struct err *e)
{
    char *copy = xstrdup(browser), *argv[16], *save = NULL;
    int n = 0;
    pid_t pid;

    for (char *w = strtok_r(copy, " ", &save); w && n < 14; w = strtok_r(NULL, " ", &save))
        argv[n++] = w;
    if (n == 0) {
        free(copy);
        return err_set(e, ERR_CONFIG, "$BROWSER is empty");
    }
    argv[n++] = (char *)url;
    argv[n] = NULL;
    pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

        if (fd >= 0) {
            dup2(fd, STDIN_FILENO);
            dup2(fd, STDOUT_FILENO);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    free(copy);
    if (pid < 0)
        return err_sys(e, "fork");
    return 0;   /* not waited for: a browser may stay; SIGCHLD is default, reaped at exit */
}

char *oauth_query_get(const char *q, size_t n, const char *name)
{
    size_t nl = strlen(name);

    for (size_t i = 0; i < n;) {
        size_t j = i;

        while (j < n && q[j] != '&')
            j++;
        if (j - i > nl && memcmp(q + i, name, nl) == 0 && q[i + nl] == '=') {
            struct buf b = BUF_INIT;

            for (size_t k = i + nl + 1; k < j; k++) {
                if (q[k] == '%') {
                    int hi = k + 2 < j ? str_hexval(q[k + 1]) : -1;
                    int lo = k + 2 < j ? str_hexval(q[k + 2]) : -1;

                    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                        buf_free(&b);
                        return NULL;
                    }
                    buf_addc(&b, (char)(hi * 16 + lo));
                    k += 2;
                } else if (q[k] == '\0') {
                    buf_free(&b);
                    return NULL;
                } else {
                    buf_addc(&b, q[k] == '+' ? ' ' : q[k]);
                }
            }
            buf_cstr(&b);
            return buf_detach(&b);
        }
        i = j + 1;
    }
    return NULL;
}

/* Wait for the browser's redirect on the listener and return the code (state checked). */
static char *loopback_wait(int lfd, const char *state, long timeout, struct err *e)
{
    time_t deadline = time(NULL) + timeout;

    for (;;) {
        struct pollfd pf = { lfd, POLLIN, 0 };
        char req[8192];
        size_t got = 0;
        char *code = NULL, *st = NULL, *err = NULL, *q, *sp;
        const char *page;
        int fd;
        long left = (long)(deadline - time(NULL));

        if (left <= 0 || poll(&pf, 1, (int)left * 1000) <= 0) {
            err_set(e, ERR_AUTH, "no answer from the browser within %ld seconds", timeout);
            return NULL;
        }
        fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        /* The request line is all we need; a slow or silent client is dropped. */
        while (got < sizeof req - 1) {
            struct pollfd cp = { fd, POLLIN, 0 };
            ssize_t n;

            if (poll(&cp, 1, 5000) <= 0)
                break;
            n = read(fd, req + got, sizeof req - 1 - got);
            if (n <= 0)
                break;
            got += (size_t)n;
            if (memchr(req, '\n', got))
                break;
        }
        req[got] = '\0';
        q = strncmp(req, "GET /", 5) == 0 ? strchr(req, '?') : NULL;
        sp = q ? strpbrk(q, " \r\n") : NULL;
        if (q && sp) {
            code = oauth_query_get(q + 1, (size_t)(sp - q - 1), "code");
            st = oauth_query_get(q + 1, (size_t)(sp - q - 1), "state");
            err = oauth_query_get(q + 1, (size_t)(sp - q - 1), "error");
        }
        page = code && st && strcmp(st, state) == 0
                   ? "tern has the authorization: you can close this page.\n"
                   : "tern did not get an authorization from this request.\n";
        {
            char resp[512];
            int n = snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Type: text/plain"
                             "\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                             strlen(page), page);

            if (n > 0)
                (void)fs_write_all(fd, resp, (size_t)n);
        }
        close(fd);
        if (err && st && strcmp(st, state) == 0) {
            err_set(e, ERR_AUTH, "the browser reported: %s", shown(err));
            free(err), free(st), secret_free(code);
            return NULL;
        }
        if (code && st && strcmp(st, state) == 0 && token_ok(code)) {
            free(st), free(err);
            return code;
        }
        free(err), free(st), secret_free(code);   /* a stray request: keep waiting */
    }
}

static int oauth_browser(const struct account *a, const struct oauth_endpoints *ep,
                         const struct oauth_ui *ui, struct tokens *t, struct err *e)
{
    unsigned char rnd[32], md[32], srnd[16];
    struct buf verifier = BUF_INIT, challenge = BUF_INIT, state = BUF_INIT, url = BUF_INIT,
               redirect = BUF_INIT, q = BUF_INIT, form = BUF_INIT;
    struct sockaddr_in sin = { 0 };
    socklen_t sl = sizeof sin;
    unsigned mdlen = 0;
    char *code = NULL;
    struct json *j = NULL;
    long status;
    int lfd = -1, rc = -1;

    if (RAND_bytes(rnd, sizeof rnd) != 1 || RAND_bytes(srnd, sizeof srnd) != 1)
        return err_set(e, ERR_SYS, "no random bytes for PKCE");
    b64url(&verifier, rnd, sizeof rnd);
    b64url(&state, srnd, sizeof srnd);
    EVP_Digest(verifier.ptr, verifier.len, md, &mdlen, EVP_sha256(), NULL);
    b64url(&challenge, md, mdlen);
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(lfd, 4) < 0 ||
        getsockname(lfd, (struct sockaddr *)&sin, &sl) < 0) {
        err_sys(e, "loopback listener on 127.0.0.1");
        goto out;
    }
    buf_printf(&redirect, "http://127.0.0.1:%u/", (unsigned)ntohs(sin.sin_port));
    form_add(&q, "response_type", "code");
    form_add(&q, "client_id", a->oauth_client_id);
    form_add(&q, "redirect_uri", buf_cstr(&redirect));
    form_add(&q, "scope", ep->scope);
    form_add(&q, "state", buf_cstr(&state));
    form_add(&q, "code_challenge", buf_cstr(&challenge));
    form_add(&q, "code_challenge_method", "S256");
    buf_printf(&url, "%s%c%s", ep->auth_url, strchr(ep->auth_url, '?') ? '&' : '?',
               buf_cstr(&q));
    say(ui, "Opening the browser to authorize account %s; if it does not open, visit:",
        a->name);
    say(ui, "%s", url.ptr);
    if (run_browser(ui->browser, url.ptr, e) < 0)
        goto out;
    code = loopback_wait(lfd, state.ptr, 300, e);
    if (code == NULL) {
        err_prefix(e, "account %s", a->name);
        goto out;
    }
    form_add(&form, "grant_type", "authorization_code");
    form_add(&form, "code", code);
    form_add(&form, "redirect_uri", redirect.ptr);
    form_add(&form, "code_verifier", verifier.ptr);
    form_client(&form, a);
    j = http_post(a, ep->token_url, &form, &status, e);
    if (j == NULL)
        goto out;
    if (status == 200) {
        rc = tokens_take(a, j, t, e);
    } else {
        char why[300];

        oauth_error_text(j, why, sizeof why);
        rc = err_set(e, ERR_AUTH, "account %s: the code was refused: HTTP %ld, %s", a->name,
                     status, why);
    }
out:
    if (lfd >= 0)
        close(lfd);
    json_free(j);
    secret_free(code);
    wipe(&verifier);
    wipe(&form);
    buf_free(&challenge);
    buf_free(&state);
    buf_free(&url);
    buf_free(&redirect);
    buf_free(&q);
    return rc;
}

int oauth_authorize(const struct config *cfg, const struct account *a, const struct oauth_ui *ui,
                    struct err *e)
{
    struct oauth_endpoints ep;
    struct tokens t = { NULL, NULL, 0 };
    char *path;
    int rc, lock;

    if (a->oauth_token_command)
        return err_set(e, ERR_CONFIG, "account %s uses oauth_token_command: tern auth has "
                       "nothing to do", a->name);
    oauth_endpoints(a, &ep);
    if (ep.token_url == NULL || a->oauth_client_id == NULL)
        return err_set(e, ERR_CONFIG, "account %s: set oauth_provider (or oauth_token_url) "
                       "and oauth_client_id", a->name);
    if (ui->browser && ep.auth_url)
        rc = oauth_browser(a, &ep, ui, &t, e);
    else if (ep.device_url)
        rc = oauth_device(a, &ep, ui, &t, e);
    else
        return err_set(e, ERR_CONFIG, "account %s: no oauth_device_url for the device flow, "
                       "and no $BROWSER for oauth_auth_url", a->name);
    if (rc == 0 && t.refresh == NULL)
        rc = err_set(e, ERR_PROTO, "account %s: the token endpoint gave no refresh_token "
                     "(is offline access in oauth_scope?)", a->name);
    if (rc < 0) {
        tokens_free(&t);
        return -1;
    }
    path = oauth_token_path(cfg, a);
    lock = oauth_lock(path, e);
    rc = lock < 0 ? -1 : tokens_save(path, &t, e);
    if (lock >= 0)
        close(lock);
    if (rc == 0)
        say(ui, "account %s is authorized (tokens in %s)", a->name, path);
    free(path);
    tokens_free(&t);
    return rc;
}
