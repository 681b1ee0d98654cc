/*
 * drivers/rtc_time.c — decoding the CMOS RTC's registers (drivers/rtc.h).
 * Pure: no port access, no kernel headers; tests/host/rtc_test.c runs it.
 */
#include <errno.h>
#include <stdbool.h>

#include "drivers/rtc.h"

/* A register in the mode status B gives: BCD (two digits, each 0..9) or
 * binary. -1 when it is not valid BCD. */
static int field(uint8_t v, bool binary)
{
    if (binary)
        return v;
    if ((v & 0x0F) > 9 || (v >> 4) > 9)
        return -1;
    return (v >> 4) * 10 + (v & 0x0F);
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const unsigned char days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* The hour register: in 12-hour mode 1..12 with bit 7 for PM (12 AM is
 * midnight, 12 PM noon); in 24-hour mode 0..23. -1 when out of range. */
static int decode_hour(uint8_t v, uint8_t status_b)
{
    bool binary = status_b & RTC_B_BINARY;
    if (status_b & RTC_B_24H) {
        int h = field(v, binary);
        return h >= 0 && h <= 23 ? h : -1;
    }
    int h = field(v & (uint8_t)~RTC_HOUR_PM, binary);
    if (h < 1 || h > 12)
        return -1;
    return h % 12 + (v & RTC_HOUR_PM ? 12 : 0);
}

int rtc_decode(const struct rtc_regs *r, struct rtc_date *d)
{
    bool binary = r->status_b & RTC_B_BINARY;
    int yy = field(r->year, binary), cc = field(r->century, binary);
    d->sec = field(r->sec, binary);
    d->min = field(r->min, binary);
    d->hour = decode_hour(r->hour, r->status_b);
    d->day = field(r->day, binary);
    d->month = field(r->month, binary);
    if (yy < 0 || yy > 99)
        return -EINVAL;
    /* A century register that holds 19 or 20 (in the same mode) names the
     * century; anything else (0, 0xFF, garbage) is no century register. */
    if (cc == 19 || cc == 20)
        d->year = cc * 100 + yy;
    else
        d->year = yy >= 70 ? 1900 + yy : 2000 + yy;
    if (d->year < 1970 || d->month < 1 || d->month > 12 || d->hour < 0 || d->min < 0 ||
        d->min > 59 || d->sec < 0 || d->sec > 59)
        return -EINVAL;
    if (d->day < 1 || d->day > days_in_month(d->year, d->month))
        return -EINVAL;
    return 0;
}

uint64_t rtc_date_to_unix(const struct rtc_date *d)
{
    uint64_t days = 0;
    for (int y = 1970; y < d->year; y++)
        days += leap(y) ? 366 : 365;
    for (int m = 1; m < d->month; m++)
        days += (uint64_t)days_in_month(d->year, m);
    days += (uint64_t)d->day - 1;
    return ((days * 24 + (uint64_t)d->hour) * 60 + (uint64_t)d->min) * 60 + (uint64_t)d->sec;
}
