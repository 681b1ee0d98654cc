/*
 * kernel/option.h — how kernel code declares a boot command-line option.
 *
 * The same ZEBU_OPTION_INT/BOOL/STRING macros as an app's, from the one
 * definition in include/zebu_option.h (kernel/cmdline.c parses the line
 * against every declaration, kernel's and app's alike), without the app API
 * of <zebu.h>: only the files that implement that API include it
 * (tests/system/test_tree.py keeps the list).
 */
#ifndef ZEBU_KERNEL_OPTION_H
#define ZEBU_KERNEL_OPTION_H

#include <stdbool.h>
#include <zebu_option.h>

#endif
