/* The full-screen client: `tern [-f FOLDER]` with no subcommand. */
#ifndef TERN_UI_H
#define TERN_UI_H

#include "tern/cmd.h"

/* argv[0] is the program; options: -f FOLDER. Returns an exit status. */
int ui_main(int argc, char **argv, const struct globals *g);

#endif
