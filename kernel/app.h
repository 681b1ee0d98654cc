/* kernel/app.h — starting the app linked into the image. */
#ifndef ZEBU_KERNEL_APP_H
#define ZEBU_KERNEL_APP_H

#include "kernel/boot.h"

/* The app's name (apps/<name>), from the build's generated appinfo.c. */
extern const char zebu_app_name[];

/* Starts the app's main() as thread "main" on core 0; when main returns the
 * VM ends with its status. */
void app_start(const struct boot_info *bi);

/* Ends the app as zebu_exit(status) does (status 0..125, else 125): the
 * exit reports, the network's drain, the console flushed, then the VM
 * ends. For kernel code that stops the app (the power button). */
void app_exit(int status) __attribute__((noreturn));

#endif
