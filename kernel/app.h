/* kernel/app.h — starting the app linked into the image. */
#ifndef ZEBU_KERNEL_APP_H
#define ZEBU_KERNEL_APP_H

#include "kernel/boot.h"

/* The app's name (apps/<name>), from the build's generated appinfo.c. */
extern const char zebu_app_name[];

/* Runs the app's main() and ends the VM with its status. */
void app_run(const struct boot_info *bi) __attribute__((noreturn));

#endif
