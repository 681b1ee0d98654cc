/*
 * kernel/main.c — kernel_main, the boot story.
 *
 * boot/start32.asm calls kernel_main on the boot processor in long mode, with
 * RAM identity-mapped and .bss zeroed. Boot time, as the Toro work defines
 * it, ends here. Each step below is one call; the order matters where noted.
 */
#include "drivers/pci.h"
#include "drivers/pit.h"
#include "drivers/platform.h"
#include "kernel/arch/cpu.h"
#include "kernel/arch/trap.h"
#include "kernel/app.h"
#include "kernel/boot.h"
#include "kernel/boottrace.h"
#include "kernel/cmdline.h"
#include "kernel/net.h"
#include "kernel/option.h"
#include "kernel/paging.h"
#include "kernel/percpu.h"
#include "kernel/panic.h"
#include "kernel/pmem.h"
#include "kernel/power.h"
#include "kernel/printk.h"
#include "kernel/sched.h"
#include "kernel/smp.h"
#include "kernel/time.h"

/* Weak: the network is linked only into apps that use it (kernel/net.h). */
#pragma weak knet_start

#define ZEBU_VERSION "0.1.0"

void kernel_main(const struct boot_handoff *handoff);

extern char boot_stack_bottom[], boot_stack_top[];

static struct boot_info boot_info;

/* Warnings and errors by default: at boot the console then shows the banner
 * and what went wrong, and every byte on COM1 is a device access (a VM exit
 * under a hypervisor). loglevel=2 brings back the info lines (docs/boot.md). */
static long loglevel = LOG_WARN;
ZEBU_OPTION_INT("loglevel", loglevel, 0, 3,
                "console log level: 0 error, 1 warn (default), 2 info, 3 debug");
static bool help;
ZEBU_OPTION_BOOL("help", help, "list the options and exit");

static void print_banner(void)
{
    kprintf("Zebu %s: booted via %s%s%s%s, app \"%s\", %lu MiB usable\n", ZEBU_VERSION,
            boot_protocol_name(boot_info.protocol), boot_info.loader_name[0] ? " (" : "",
            boot_info.loader_name, boot_info.loader_name[0] ? ")" : "", zebu_app_name,
            (unsigned long)(boot_usable_bytes(&boot_info) >> 20));
}

static void print_memory_map(void)
{
    pr_debug("boot", "loader information at %#lx, %d regions, %d modules, RSDP %#lx",
             boot_info.info_addr, boot_info.nregions, boot_info.nmodules, boot_info.rsdp);
    for (int i = 0; i < boot_info.nregions; i++) {
        const struct mem_region *r = &boot_info.regions[i];
        pr_debug("mem", "%016lx-%016lx %s", r->base, r->base + r->len,
                 r->type == MEM_USABLE ? "usable" : "reserved");
    }
}

static void pci_scan(void)
{
    int n = pci_init(smp_platform());
    pr_info("pci", "%d function%s (config access: %s)", n, n == 1 ? "" : "s",
            pci_access_method());
    for (int i = 0; i < n; i++) {
        struct pci_device *d = pci_device_at(i);
        console_attach_pci(d); /* a virtio console on PCI: output moves there */
        pr_debug("pci", "%02x:%02x.%u %04x:%04x class %02x.%02x%s%s", d->bus, d->dev, d->fn,
                d->vendor, d->device, d->class_code, d->subclass, d->cap_msix ? " msi-x" : "",
                d->cap_msi ? " msi" : "");
    }
}

static void parse_command_line(void)
{
    if (boot_info.cmdline_truncated)
        pr_warn("cmdline", "command line longer than %d bytes was truncated", BOOT_CMDLINE_MAX);
    int refused = cmdline_parse(boot_info.cmdline, zebu_app_name);
    log_level_console = loglevel;
    if (refused < 0) {
        pr_err("cmdline", "refusing to start: %d malformed option%s", -refused,
               refused == -1 ? "" : "s");
        console_flush();
        platform_exit(ZEBU_EXIT_USAGE);
    }
    if (help) {
        cmdline_print_help();
        console_flush();
        platform_exit(0);
    }
}

void kernel_main(const struct boot_handoff *handoff)
{
    uint64_t tsc_main = cpu_rdtsc();

    /* Exceptions and per-core state 0 first: from here on a fault is
     * reported, not a reset, and this_cpu() works. */
    idt_init();
    smp_init_bsp((uint64_t)(uintptr_t)boot_stack_bottom, (uint64_t)(uintptr_t)boot_stack_top);
    backtrace_add_stack((uint64_t)(uintptr_t)boot_stack_bottom,
                        (uint64_t)(uintptr_t)boot_stack_top);

    /* Consoles, then what the loader told us, then the virtio console if
     * the VMM has one (it takes a whole line per device access, the UART
     * one byte), then the banner. */
    console_init();
    if (boot_info_parse(handoff, &boot_info) != 0)
        panic("unknown boot protocol %u", handoff->protocol);
    console_attach(boot_info.cmdline, boot_info.rsdp);
    print_banner();
    boot_trace_mark("stub: page tables, long mode", boot_info.tsc_ap_wake_start);
    boot_trace_mark("stub: other cores sent INIT/SIPI", boot_info.tsc_ap_wake_end);
    boot_trace_mark("kernel_main", tsc_main);
    boot_trace_mark("exception tables, consoles, boot info, banner", 0);

    /* The TSC frequency: every timestamp after this line is in ms. */
    time_init(boot_info.tsc_entry);
    boot_trace_mark("TSC calibrated", 0);

    /* Options may change the log level, or stop the boot when malformed. */
    parse_command_line();
    pr_info("time", "TSC %lu kHz (from %s); entry to kernel_main took %lu us (starting the "
            "other cores: %lu us)", time_tsc_khz(), time_source(),
            time_tsc_to_ns(tsc_main - boot_info.tsc_entry) / 1000,
            time_tsc_to_ns(boot_info.tsc_ap_wake_end - boot_info.tsc_ap_wake_start) / 1000);

    /* Legacy PIC masked: no stray vectors before the APIC drivers exist. */
    pic_disable();

    /* Physical memory, then the page-table fix-ups that need pages. */
    print_memory_map();
    pmem_init(&boot_info);
    if (paging_init(&boot_info) != 0)
        panic("paging: out of memory for page tables");
    console_map_devices();
    struct pmem_stats ps;
    pmem_get_stats(&ps);
    pr_info("mem", "%lu KiB free for the heap, RAM mapped up to %lu MiB, page 0 unmapped",
            ps.free_bytes >> 10, paging_mapped_top() >> 20);
    boot_trace_mark("command line, memory, page tables", 0);

    /* Scheduling on this core, then every other core into its own. */
    sched_init_cpu(this_cpu(), (uint64_t)(uintptr_t)boot_stack_bottom,
                   (uint64_t)(uintptr_t)boot_stack_top);
    smp_discover(&boot_info);
    boot_trace_mark("firmware tables, local APIC, I/O APIC", 0);

    /* Devices, before the other cores run: mapping their registers edits
     * page tables that no other core has cached yet. */
    pci_scan();
    boot_trace_mark("PCI enumerated", 0);

    smp_start();
    boot_trace_mark("cores online, memory pools", 0);

    /* The network: its own thread on core 0 (DHCP runs meanwhile). */
    if (knet_start != NULL) /* linked when the app uses the network */
        knet_start();
    boot_trace_mark("network device up", 0);

    /* The app's main() as a thread on core 0; this context becomes core 0's
     * idle loop. */
    app_start(&boot_info);
    /* ACPI's power button, where the machine has one: its small thread
     * after the app's, so that a 2 MiB guest still has a block for main. */
    power_init();
    sched_run_idle();
}
