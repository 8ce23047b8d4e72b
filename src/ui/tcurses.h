/* The one place the client includes curses, in its wide-character flavour. */
#ifndef TERN_UI_TCURSES_H
#define TERN_UI_TCURSES_H

#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <curses.h>

#endif
