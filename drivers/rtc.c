/*
 * drivers/rtc.c — reading the CMOS RTC through ports 0x70 (index) and 0x71
 * (data). The decoding is drivers/rtc_time.c.
 *
 * The RTC updates its registers once a second; status register A's UIP bit
 * is set from 244 us before an update until it ends (MC146818 data sheet),
 * and registers read meanwhile may be half old, half new. So: wait for UIP
 * to be clear, read everything, and read again the same way until two
 * reads agree (an update between them makes them differ).
 */
#include <errno.h>

#include "drivers/env.h"
#include "drivers/rtc.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA  0x71

enum {
    RTC_SEC = 0x00,
    RTC_MIN = 0x02,
    RTC_HOUR = 0x04,
    RTC_DAY = 0x07,
    RTC_MONTH = 0x08,
    RTC_YEAR = 0x09,
    RTC_STATUS_A = 0x0A,
    RTC_STATUS_B = 0x0B,
    RTC_CENTURY = 0x32, /* the IBM PC convention, which QEMU and SeaBIOS keep */
};
#define RTC_A_UIP 0x80

/* An update lasts under 2 ms; each look is two port accesses, a few us. */
#define UIP_LOOKS  20000
#define READ_TRIES 5

static uint8_t cmos_read(uint8_t reg)
{
    cpu_outb(CMOS_INDEX, reg); /* bit 7 clear: NMIs stay enabled */
    return cpu_inb(CMOS_DATA);
}

/* 0 once no update is in progress; -ENODEV when UIP never clears (no RTC:
 * the port reads 0xFF). */
static int wait_no_update(void)
{
    for (int i = 0; i < UIP_LOOKS; i++)
        if (!(cmos_read(RTC_STATUS_A) & RTC_A_UIP))
            return 0;
    return -ENODEV;
}

static int read_regs(struct rtc_regs *r)
{
    if (wait_no_update() != 0)
        return -ENODEV;
    r->sec = cmos_read(RTC_SEC);
    r->min = cmos_read(RTC_MIN);
    r->hour = cmos_read(RTC_HOUR);
    r->day = cmos_read(RTC_DAY);
    r->month = cmos_read(RTC_MONTH);
    r->year = cmos_read(RTC_YEAR);
    r->century = cmos_read(RTC_CENTURY);
    r->status_b = cmos_read(RTC_STATUS_B);
    return 0;
}

static int same(const struct rtc_regs *a, const struct rtc_regs *b)
{
    return a->sec == b->sec && a->min == b->min && a->hour == b->hour && a->day == b->day &&
           a->month == b->month && a->year == b->year && a->century == b->century &&
           a->status_b == b->status_b;
}

int rtc_read(uint64_t *unix_sec, uint64_t *tsc)
{
    struct rtc_regs a, b;
    for (int i = 0; i < READ_TRIES; i++) {
        if (read_regs(&a) != 0)
            return -ENODEV;
        uint64_t t = cpu_rdtsc();
        if (read_regs(&b) != 0)
            return -ENODEV;
        if (!same(&a, &b))
            continue; /* a second ticked between the reads */
        struct rtc_date d;
        if (rtc_decode(&a, &d) != 0)
            return -ENODEV;
        *unix_sec = rtc_date_to_unix(&d);
        *tsc = t;
        return 0;
    }
    return -ENODEV;
}
