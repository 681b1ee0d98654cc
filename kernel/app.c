/*
 * kernel/app.c — the app's life: its main thread, exit, and the C library's
 * hooks into the kernel (console output, abort, assert), plus what an app
 * may read about how it was booted (command line, boot protocol, modules,
 * time since entry). The rest of include/zebu.h is implemented next to its
 * subsystem: kernel/api.c (threads, cores, events, mailboxes, memory) and
 * kernel/net.c, kernel/net_api.c (the network).
 */
#include <assert.h>
#include <zebu.h>

#include "drivers/platform.h"
#include "kernel/app.h"
#include "kernel/boot.h"
#include "kernel/boottrace.h"
#include "kernel/cmdline.h"
#include "kernel/kmalloc.h"
#include "kernel/net.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
#include "kernel/sched.h"
#include "kernel/time.h"
#include "libc/libc_platform.h"

/* Weak: the network is linked only into apps that use it (kernel/net.h). */
#pragma weak knet_exit_report

/* With its guard page, one 256 KiB block (see THREAD_STACK_DEFAULT). */
#define APP_STACK_SIZE (252 * 1024)

static const struct boot_info *app_boot_info;
static bool mem_stats_on_exit;
ZEBU_OPTION_BOOL("mem.stats", mem_stats_on_exit, "print allocator statistics when the app exits");

void libc_console_write(const char *buf, size_t len)
{
    console_write(buf, len);
}

void zebu_console_write(const char *buf, size_t len)
{
    console_write(buf, len);
}

void app_exit(int status)
{
    if (status < 0 || status > 125)
        status = 125;
    if (mem_stats_on_exit)
        kmalloc_print_stats();
    if (knet_exit_report != NULL)
        knet_exit_report();
    pr_info("app", "exited with status %d", status);
    console_flush(); /* the last lines may still be in the virtio console */
    platform_exit(status);
}

void zebu_exit(int status)
{
    app_exit(status);
}

void exit(int status)
{
    app_exit(status);
}

void abort(void)
{
    panic("abort() called");
}

void __assert_fail(const char *expr, const char *file, int line, const char *func)
{
    panic("assertion failed: %s in %s at %s:%d", expr, func, file, line);
}

const char *zebu_cmdline(void)
{
    return cmdline_raw();
}

const char *zebu_boot_protocol(void)
{
    return app_boot_info ? boot_protocol_name(app_boot_info->protocol) : "unknown";
}

const void *zebu_module(int i, size_t *len, const char **cmdline)
{
    if (app_boot_info == NULL || i < 0 || i >= app_boot_info->nmodules)
        return NULL;
    const struct boot_module *m = &app_boot_info->modules[i];
    if (len != NULL)
        *len = (size_t)(m->end - m->start);
    if (cmdline != NULL)
        *cmdline = m->cmdline;
    return (const void *)(uintptr_t)m->start; /* RAM is identity-mapped */
}

uint64_t zebu_time_ns(void)
{
    return time_since_entry_ns();
}

static void *app_main_thread(void *arg)
{
    (void)arg;
    boot_trace_mark("main thread running", 0);
    pr_info("app", "starting %s", zebu_app_name);
    boot_trace_print(app_boot_info->tsc_entry);
    int status = main(cmdline_argc(), cmdline_argv());
    zebu_exit(status);
}

void app_start(const struct boot_info *bi)
{
    /* The main thread's stack wants one contiguous block: in a guest of a
     * few MiB the largest free one may be smaller (it moves with the image
     * and module sizes), so take half, then a quarter, rather than stop. */
    static const size_t sizes[] = {APP_STACK_SIZE, 124 * 1024, 60 * 1024};
    struct thread *t = NULL;
    app_boot_info = bi;
    for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]) && t == NULL; i++) {
        t = thread_create(app_main_thread, NULL, 0, "main", sizes[i]);
        if (t != NULL && i > 0)
            pr_warn("app", "main thread stack %zu KiB: no free block for %zu KiB",
                    sizes[i] / 1024, sizes[0] / 1024);
    }
    if (t == NULL)
        panic("app: no memory for the main thread");
    thread_detach(t);
}
