/*
 * drivers/acpi_pm.c — soft-off and the power button through ACPI's fixed
 * PM1 registers (see acpi_pm.h). QEMU's pc (PIIX4 PM) and q35 (ICH9 LPC)
 * have them; `virsh shutdown`, QEMU's system_powerdown and a VMM's
 * power-button request all arrive as PWRBTN_STS with an SCI.
 */
#include <errno.h>

#include "drivers/acpi_pm.h"
#include "drivers/env.h"

/* PM1 status and enable registers (4.8.3.1, Tables 4.13 and 4.14), 16 bits
 * each: status at the block's start, enable half way through it. */
#define PM1_PWRBTN (1u << 8) /* PWRBTN_STS / PWRBTN_EN: the one event we enable */
/* PM1 control (4.8.3.2.1, Table 4.16). */
#define PM1_SCI_EN     (1u << 0)
#define PM1_SLP_TYP(t) ((uint16_t)((t) & 7) << 10)
#define PM1_SLP_EN     (1u << 13)

static struct acpi_pm pm;
static int button_armed;

static uint16_t pm1_enable_port(uint32_t evt)
{
    return (uint16_t)(evt + pm.pm1_evt_len / 2);
}

/* SCI_EN set: the OS, not SMM, owns the PM events (4.8.3.2.1). If the
 * firmware left SMM in charge, ask it over SMI_CMD (5.2.9: ACPI_ENABLE)
 * and wait a bounded while for the handover. */
static int acpi_mode(void)
{
    if (cpu_inw((uint16_t)pm.pm1a_cnt) & PM1_SCI_EN)
        return 1;
    if (pm.smi_cmd == 0 || pm.acpi_enable == 0)
        return 0;
    cpu_outb((uint16_t)pm.smi_cmd, pm.acpi_enable);
    for (int i = 0; i < 100000; i++) {
        if (cpu_inw((uint16_t)pm.pm1a_cnt) & PM1_SCI_EN)
            return 1;
        cpu_relax();
    }
    return 0;
}

int acpi_pm_init(const struct acpi_pm *from)
{
    pm = *from;
    button_armed = 0;
    if (pm.pm1a_evt == 0 || pm.pm1a_cnt == 0 || pm.pm1_evt_len < 4 || pm.sci_irq == 0 ||
        !acpi_mode())
        return 0;
    /* Clear a stale press, then enable the button's event. */
    cpu_outw((uint16_t)pm.pm1a_evt, PM1_PWRBTN);
    cpu_outw(pm1_enable_port(pm.pm1a_evt), PM1_PWRBTN);
    if (pm.pm1b_evt != 0) {
        cpu_outw((uint16_t)pm.pm1b_evt, PM1_PWRBTN);
        cpu_outw(pm1_enable_port(pm.pm1b_evt), PM1_PWRBTN);
    }
    button_armed = 1;
    return 1;
}

static int pressed(uint32_t evt)
{
    if (evt == 0)
        return 0;
    if (!(cpu_inw((uint16_t)evt) & PM1_PWRBTN))
        return 0;
    cpu_outw((uint16_t)evt, PM1_PWRBTN); /* status bits clear by writing 1 */
    return 1;
}

int acpi_pm_sci(void)
{
    if (!button_armed)
        return 0;
    int a = pressed(pm.pm1a_evt), b = pressed(pm.pm1b_evt);
    return a || b;
}

int acpi_pm_poweroff(void)
{
    if (pm.pm1a_cnt == 0 || !pm.s5)
        return -ENODEV;
    /* SLP_TYPa and SLP_TYPb are written to their own blocks (4.8.3.2.1). */
    cpu_outw((uint16_t)pm.pm1a_cnt, PM1_SLP_TYP(pm.s5_typa) | PM1_SLP_EN);
    if (pm.pm1b_cnt != 0)
        cpu_outw((uint16_t)pm.pm1b_cnt, PM1_SLP_TYP(pm.s5_typb) | PM1_SLP_EN);
    for (int i = 0; i < 1000000; i++)
        cpu_relax(); /* the VMM stops us here */
    return -EIO;
}
