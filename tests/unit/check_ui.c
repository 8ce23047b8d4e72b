/* The pure parts of the full-screen client: layout geometry, key names and bindings,
 * colour specs, width-correct clipping, the prompt's line editor. */
#include "config.h"

#include <locale.h>

#include "testutil.h"
#include "tern/buf.h"
#include "../../src/ui/tcurses.h"
#include "../../src/ui/ui.h"

static bool inside(const struct rect *r, int rows, int cols)
{
    return r->h == 0 || (r->y >= 0 && r->x >= 0 && r->y + r->h <= rows && r->x + r->w <= cols);
}

START_TEST(layout_sizes)
{
    static const int sizes[][2] = { { 1, 1 }, { 2, 10 }, { 3, 30 }, { 10, 40 }, { 24, 80 },
                                    { 40, 120 }, { 60, 250 }, { 5, 300 } };

    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int rows = sizes[i][0], cols = sizes[i][1];

        for (int open = 0; open < 2; open++)
            for (int zoom = -1; zoom < NPANES; zoom++) {
                struct layout l;

                layout_compute(rows, cols, 22, open, zoom, &l);
                for (int p = 0; p < NPANES; p++)
                    ck_assert_msg(inside(&l.pane[p], rows, cols), "%dx%d pane %d", rows, cols,
                                  p);
                ck_assert(inside(&l.status, rows, cols));
                ck_assert_int_eq(l.prompt.y, rows - 1);
                if (rows >= 3 && zoom < 0) {
                    /* The list never overlaps the pager and both stay above the status. */
                    ck_assert_int_gt(l.pane[PANE_LIST].h, 0);
                    if (open && rows >= 4)
                        ck_assert_int_eq(l.pane[PANE_PAGER].y,
                                         l.pane[PANE_LIST].y + l.pane[PANE_LIST].h);
                    ck_assert_int_le(l.pane[PANE_LIST].y + l.pane[PANE_LIST].h, rows - 2);
                }
                if (rows >= 3 && zoom >= 0) {
                    ck_assert_int_eq(l.pane[zoom].w, cols);
                    ck_assert_int_eq(l.pane[zoom].h, rows - 2);
                }
            }
    }
}
END_TEST

START_TEST(layout_folders_and_hit)
{
    struct layout l;

    layout_compute(40, 120, 22, true, -1, &l);
    ck_assert_int_eq(l.pane[PANE_FOLDERS].w, 22);
    ck_assert_int_eq(l.vsep_x, 22);
    ck_assert_int_eq(l.pane[PANE_LIST].x, 23);
    ck_assert_int_eq(l.pane[PANE_LIST].w, 97);
    ck_assert_int_eq(layout_hit(&l, 0, 0), PANE_FOLDERS);
    ck_assert_int_eq(layout_hit(&l, 0, 30), PANE_LIST);
    ck_assert_int_eq(layout_hit(&l, 30, 30), PANE_PAGER);
    ck_assert_int_eq(layout_hit(&l, 39, 30), -1);
    /* Too narrow for a folder pane: the list takes the width. */
    layout_compute(24, 50, 22, false, -1, &l);
    ck_assert_int_eq(l.pane[PANE_FOLDERS].w, 0);
    ck_assert_int_eq(l.pane[PANE_LIST].w, 50);
    ck_assert_int_eq(l.vsep_x, -1);
}
END_TEST

START_TEST(key_names)
{
    static const struct { const char *name; int key; } t[] = {
        { "j", 'j' }, { "J", 'J' }, { "^D", 4 }, { "C-d", 4 }, { "<Down>", KEYF(KEY_DOWN) },
        { "down", KEYF(KEY_DOWN) }, { "<PageDown>", KEYF(KEY_NPAGE) },
        { "<pgup>", KEYF(KEY_PPAGE) }, { "<Tab>", '\t' }, { "<Enter>", '\r' },
        { "<Space>", ' ' }, { "<F5>", KEYF(KEY_F(5)) }, { "$", '$' }, { "é", 0xe9 },
        { "^?", 127 }, { "<Esc>v", KEYM('v') }, { "M-V", KEYM('V') }, { "<esc>/", KEYM('/') },
        { "<Esc>^D", KEYM(4) },
    };
    static const char *const bad[] = { "", "<>", "<Nope>", "ab", "^1", "F99", "C-",
                                       "M-", "<Esc><Esc>v", "M-<Nope>" };
    int key;

    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        ck_assert_msg(ui_key_parse(t[i].name, &key) == 0, "%s", t[i].name);
        ck_assert_int_eq(key, t[i].key);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(ui_key_parse(bad[i], &key) < 0, "'%s' parsed", bad[i]);
    /* Names round-trip. */
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char nm[32];
        int back;

        ui_key_name(t[i].key, nm, sizeof nm);
        ck_assert_msg(ui_key_parse(nm, &back) == 0 && back == t[i].key, "%s -> %s", t[i].name, nm);
    }
}
END_TEST

START_TEST(keymap_defaults_and_rebind)
{
    struct keymap km;
    struct buf warn = BUF_INIT;
    struct config_pair p[] = {
        { "fetch", "G", 1 },            /* takes G away from last */
        { "last", "<End> L", 2 },
        { "nosuch", "x", 3 },
        { "flag", "<Bogus>", 4 },
        { "zoom", "none", 5 },
    };
    struct buf keys = BUF_INIT;

    keymap_defaults(&km);
    ck_assert_int_eq(keymap_lookup(&km, 'j'), ACT_DOWN);
    ck_assert_int_eq(keymap_lookup(&km, KEYF(KEY_DOWN)), ACT_DOWN);
    ck_assert_int_eq(keymap_lookup(&km, 'G'), ACT_LAST);
    ck_assert_int_eq(keymap_lookup(&km, '$'), ACT_EXPUNGE);
    ck_assert_int_eq(keymap_lookup(&km, '?'), ACT_HELP);
    ck_assert_int_eq(keymap_lookup(&km, 'z'), ACT_ZOOM);
    ck_assert_int_eq(keymap_lookup(&km, 'F'), ACT_FLAG);
    keymap_apply(&km, p, sizeof p / sizeof p[0], &warn);
    ck_assert_int_eq(keymap_lookup(&km, 'G'), ACT_FETCH);
    ck_assert_int_eq(keymap_lookup(&km, 'i'), ACT_NONE);     /* the user's list replaces */
    ck_assert_int_eq(keymap_lookup(&km, 'L'), ACT_LAST);
    ck_assert_int_eq(keymap_lookup(&km, KEYF(KEY_END)), ACT_LAST);
    ck_assert_int_eq(keymap_lookup(&km, 'z'), ACT_NONE);
    ck_assert_ptr_nonnull(strstr(buf_cstr(&warn), "line 3"));
    ck_assert_ptr_nonnull(strstr(buf_cstr(&warn), "line 4"));
    ck_assert_ptr_null(strstr(buf_cstr(&warn), "line 1"));
    keymap_keys_of(&km, ACT_LAST, &keys);
    ck_assert_str_eq(buf_cstr(&keys), "<End> L");
    ck_assert_int_eq(act_lookup("page-down"), ACT_PAGE_DOWN);
    ck_assert_int_eq(act_lookup("PAGE-DOWN"), ACT_PAGE_DOWN);
    ck_assert_int_eq(act_lookup("nope"), ACT_NONE);
    for (int c = 1; c < NACTIONS; c++)
        ck_assert_int_eq(act_lookup(act_name((enum action)c)), c);
    buf_free(&keys);
    buf_free(&warn);
    keymap_free(&km);
}
END_TEST

/* tern.1's "For mutt users" says these keys do what mutt's do (and the others differ). */
START_TEST(mutt_keys)
{
    static const struct { const char *key; enum action act; } t[] = {
        { "m", ACT_COMPOSE }, { "r", ACT_REPLY }, { "g", ACT_GROUP_REPLY },
        { "L", ACT_LIST_REPLY }, { "f", ACT_FORWARD }, { "F", ACT_FLAG }, { "d", ACT_DELETE },
        { "u", ACT_UNDELETE }, { "s", ACT_MOVE }, { "C", ACT_COPY }, { "c", ACT_CHANGE_FOLDER },
        { "l", ACT_LIMIT }, { "o", ACT_SORT }, { "O", ACT_SORT_REVERSE },
        { "v", ACT_ATTACHMENTS }, { "h", ACT_HEADERS }, { "|", ACT_PIPE }, { "/", ACT_SEARCH },
        { "<Esc>/", ACT_SEARCH_BACK }, { "n", ACT_SEARCH_NEXT }, { "?", ACT_HELP },
        { ":", ACT_COMMAND }, { "$", ACT_EXPUNGE }, { "q", ACT_QUIT }, { "t", ACT_TAG },
        { "T", ACT_TAG_PATTERN }, { "^T", ACT_UNTAG_PATTERN }, { ";", ACT_TAG_PREFIX },
        { "<Esc>v", ACT_COLLAPSE_THREAD }, { "<Esc>V", ACT_COLLAPSE_ALL },
        { "^D", ACT_DELETE_THREAD }, { "^U", ACT_UNDELETE_THREAD }, { "^R", ACT_READ_THREAD },
        { "^N", ACT_NEXT_THREAD }, { "^P", ACT_PREV_THREAD }, { "P", ACT_PARENT },
        /* the differences the section lists */
        { "G", ACT_LAST }, { "i", ACT_FETCH }, { "Q", ACT_EXIT }, { "N", ACT_SEARCH_PREV },
        { "U", ACT_TOGGLE_READ }, { "<Tab>", ACT_NEXT_PANE }, { "#", ACT_THREADS },
        { "z", ACT_ZOOM }, { "^F", ACT_PAGE_DOWN }, { "^B", ACT_URLS }, { "S", ACT_FLUSH },
        { "y", ACT_FOLDERS }, { "e", ACT_EDIT_DRAFT }, { "a", ACT_ALIAS }, { "b", ACT_BOUNCE },
        { "M", ACT_MESSAGES }, { "x", ACT_NONE }, { "D", ACT_NONE },
        { "[", ACT_NONE }, { "]", ACT_NONE }, { "*", ACT_NONE },
    };
    struct keymap km;

    keymap_defaults(&km);
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int key;

        ck_assert_int_eq(ui_key_parse(t[i].key, &key), 0);
        ck_assert_msg(keymap_lookup(&km, key) == t[i].act, "%s is %s, not %s", t[i].key,
                      act_name(keymap_lookup(&km, key)), act_name(t[i].act));
    }
    keymap_free(&km);
}
END_TEST

START_TEST(colors)
{
    struct color_spec s, spec[NCOLOBJ];
    struct buf warn = BUF_INIT;
    struct config_pair p[] = { { "status", "white blue bold", 7 }, { "quote9", "red", 8 },
                               { "new", "purple", 9 } };

    ck_assert_int_eq(color_parse("red", &s), 0);
    ck_assert_int_eq(s.fg, 1);
    ck_assert_int_eq(s.bg, -1);
    ck_assert_int_eq(color_parse("brightgreen default underline reverse", &s), 0);
    ck_assert_int_eq(s.fg, 10);
    ck_assert_int_eq(s.bg, -1);
    ck_assert_uint_eq(s.attrs, COLA_UNDERLINE | COLA_REVERSE);
    ck_assert_int_eq(color_parse("color200 colour17", &s), 0);
    ck_assert_int_eq(s.fg, 200);
    ck_assert_int_eq(s.bg, 17);
    ck_assert_int_eq(color_parse("bold", &s), 0);
    ck_assert_int_eq(s.fg, -1);
    ck_assert_int_lt(color_parse("red green blue", &s), 0);
    ck_assert_int_lt(color_parse("color256", &s), 0);
    ck_assert_int_lt(color_parse("mauve", &s), 0);
    colors_defaults(spec);
    colors_apply(spec, p, 3, &warn);
    ck_assert_int_eq(spec[COL_STATUS].fg, 7);
    ck_assert_int_eq(spec[COL_STATUS].bg, 4);
    ck_assert_uint_eq(spec[COL_STATUS].attrs, COLA_BOLD);
    ck_assert_ptr_nonnull(strstr(buf_cstr(&warn), "line 8"));
    ck_assert_ptr_nonnull(strstr(buf_cstr(&warn), "line 9"));
    /* Every default keeps a meaning on a monochrome terminal where it needs one. */
    ck_assert(spec[COL_CURSOR].attrs & COLA_REVERSE);
    buf_free(&warn);
}
END_TEST

START_TEST(clip_by_width)
{
    static const struct { const char *s; int cols; size_t bytes; int used; } t[] = {
        { "hello", 3, 3, 3 },
        { "hello", 10, 5, 5 },
        { "日本語", 4, 6, 4 },             /* 2 columns each */
        { "日本語", 5, 6, 4 },             /* never half a wide character */
        { "e\xcc\x81t\xc3\xa9", 1, 3, 1 }, /* e + combining acute stays whole */
        { "e\xcc\x81t\xc3\xa9", 3, 6, 3 },
        { "\xf0\x9f\x98\x80x", 1, 0, 0 },  /* emoji: 2 columns */
        { "\xf0\x9f\x98\x80x", 3, 5, 3 },
        { "a\tb", 3, 3, 3 },               /* a control shows as one '?' */
        { "\xff\xfe", 1, 1, 1 },           /* invalid bytes: one column each */
        { "abc", 0, 0, 0 },
        /* invisible format characters take the columns of their "<U+XXXX>" (item 3) */
        { "a\xe2\x80\xae" "b", 20, 5, 10 },    /* U+202E, never a zero-width mark on 'a' */
        { "a\xe2\x81\xa6" "b", 5, 1, 1 },      /* U+2066 does not fit whole: not drawn */
        { "a\xe2\x80\x8b" "b", 20, 5, 10 },    /* U+200B zero width space */
        { "a\xe2\x80\x8f" "b", 20, 5, 10 },    /* U+200F right-to-left mark */
        { "a\xd8\x9c" "b", 20, 4, 10 },         /* U+061C arabic letter mark */
        { "a\xf3\xa0\x81\x81" "b", 20, 6, 11 }, /* U+E0041 tag latin capital A */
    };

    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int used = -1;
        size_t b = ui_clip(t[i].s, strlen(t[i].s), t[i].cols, &used);

        ck_assert_msg(b == t[i].bytes && used == t[i].used, "case %zu: %zu bytes %d cols", i,
                      b, used);
    }
}
END_TEST

START_TEST(wrap_at_spaces)
{
    static const struct {
        const char *s;
        int cols;
        size_t bytes;
    } t[] = {
        { "hello world", 8, 6 },           /* "hello " then "world" */
        { "hello world", 11, 11 },         /* fits */
        { "hello world", 5, 6 },           /* the space ends the line, not starts one */
        { "hello world", 6, 6 },
        { "abcdefghij", 4, 4 },            /* a long word is still broken */
        { "a bcdefghij", 4, 2 },
        { "日本 語", 4, 7 },               /* "日本 " */
        { "日本 語", 3, 3 },               /* "日" */
        { "日本語", 1, 3 },                /* wider than the pane: one character */
        { "x", 0, 1 },
    };

    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        size_t b = ui_wrap(t[i].s, strlen(t[i].s), t[i].cols);

        ck_assert_msg(b == t[i].bytes, "case %zu: %zu bytes", i, b);
    }
}
END_TEST

static void type(struct buf *b, size_t *cur, const char *keys)
{
    for (const char *p = keys; *p; p++)
        ck_assert_int_eq(prompt_edit(b, cur, (unsigned char)*p), 0);
}

START_TEST(line_editor)
{
    struct buf b = BUF_INIT;
    size_t cur = 0;

    type(&b, &cur, "hello");
    ck_assert_str_eq(buf_cstr(&b), "hello");
    ck_assert_int_eq(prompt_edit(&b, &cur, KEYF(KEY_LEFT)), 0);
    ck_assert_int_eq(prompt_edit(&b, &cur, KEYF(KEY_LEFT)), 0);
    ck_assert_int_eq(prompt_edit(&b, &cur, 0x65e5), 0);     /* 日 in the middle */
    ck_assert_str_eq(buf_cstr(&b), "hel日lo");
    ck_assert_int_eq(prompt_edit(&b, &cur, KEYF(KEY_BACKSPACE)), 0);
    ck_assert_str_eq(buf_cstr(&b), "hello");
    ck_assert_int_eq(prompt_edit(&b, &cur, 1), 0);          /* ^A */
    ck_assert_int_eq(prompt_edit(&b, &cur, KEYF(KEY_DC)), 0);
    ck_assert_str_eq(buf_cstr(&b), "ello");
    ck_assert_int_eq(prompt_edit(&b, &cur, 5), 0);          /* ^E */
    type(&b, &cur, " world");
    ck_assert_int_eq(prompt_edit(&b, &cur, 23), 0);         /* ^W */
    ck_assert_str_eq(buf_cstr(&b), "ello ");
    ck_assert_int_eq(prompt_edit(&b, &cur, 21), 0);         /* ^U */
    ck_assert_str_eq(buf_cstr(&b), "");
    ck_assert_int_eq(prompt_edit(&b, &cur, KEYF(KEY_BACKSPACE)), -1);
    ck_assert_int_eq(prompt_edit(&b, &cur, '\r'), 1);
    ck_assert_int_eq(prompt_edit(&b, &cur, 27), -1);
    buf_free(&b);
}
END_TEST

static Suite *ui_suite(void)
{
    Suite *s = suite_create("ui");
    TCase *tc = tcase_create("pure");

    setlocale(LC_ALL, "C.UTF-8");
    tcase_add_test(tc, layout_sizes);
    tcase_add_test(tc, layout_folders_and_hit);
    tcase_add_test(tc, key_names);
    tcase_add_test(tc, wrap_at_spaces);
    tcase_add_test(tc, keymap_defaults_and_rebind);
    tcase_add_test(tc, mutt_keys);
    tcase_add_test(tc, colors);
    tcase_add_test(tc, clip_by_width);
    tcase_add_test(tc, line_editor);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(ui_suite)
