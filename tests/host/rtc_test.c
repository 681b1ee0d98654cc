/*
 * rtc_test.c - drivers/rtc_time.c: the CMOS RTC's registers in every mode
 * (BCD or binary, 12- or 24-hour, with or without a century register) to
 * dates, and dates to Unix time, against glibc's timegm().
 */
#define _DEFAULT_SOURCE /* timegm */
#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "drivers/rtc.h"
#include "runner.h"

static uint8_t bcd(int v)
{
    return (uint8_t)((v / 10) << 4 | v % 10);
}

/* The registers an RTC in mode status_b shows for a date. */
static struct rtc_regs encode(const struct rtc_date *d, uint8_t status_b, int with_century)
{
    int binary = status_b & RTC_B_BINARY;
    uint8_t (*enc)(int) = binary ? NULL : bcd;
#define ENC(v) (enc ? enc(v) : (uint8_t)(v))
    struct rtc_regs r = {0};
    r.sec = ENC(d->sec);
    r.min = ENC(d->min);
    if (status_b & RTC_B_24H) {
        r.hour = ENC(d->hour);
    } else {
        int h12 = d->hour % 12 == 0 ? 12 : d->hour % 12;
        r.hour = (uint8_t)(ENC(h12) | (d->hour >= 12 ? RTC_HOUR_PM : 0));
    }
    r.day = ENC(d->day);
    r.month = ENC(d->month);
    r.year = ENC(d->year % 100);
    r.century = with_century ? ENC(d->year / 100) : 0;
    r.status_b = status_b;
#undef ENC
    return r;
}

static uint64_t timegm_of(const struct rtc_date *d)
{
    struct tm tm = {0};
    tm.tm_year = d->year - 1900;
    tm.tm_mon = d->month - 1;
    tm.tm_mday = d->day;
    tm.tm_hour = d->hour;
    tm.tm_min = d->min;
    tm.tm_sec = d->sec;
    return (uint64_t)timegm(&tm);
}

TEST(rtc_decodes_every_mode_of_many_dates)
{
    static const uint8_t modes[] = {0, RTC_B_24H, RTC_B_BINARY, RTC_B_24H | RTC_B_BINARY};
    uint32_t x = 12345;
    for (int i = 0; i < 20000; i++) {
        x = x * 1103515245u + 12345u;
        struct rtc_date d = {1970 + (int)(x >> 8) % 130, 1 + (int)(x >> 3) % 12, 1, 0, 0, 0};
        static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int leap = (d.year % 4 == 0 && d.year % 100 != 0) || d.year % 400 == 0;
        int dim = d.month == 2 && leap ? 29 : mdays[d.month - 1];
        d.day = 1 + (int)(x >> 13) % dim;
        d.hour = (int)(x >> 17) % 24;
        d.min = (int)(x >> 21) % 60;
        d.sec = (int)(x >> 11) % 60;
        for (unsigned m = 0; m < 4; m++) {
            for (int cen = 0; cen < 2; cen++) {
                if (!cen && d.year >= 2070)
                    continue; /* two digits alone cannot say 2070.. */
                struct rtc_regs r = encode(&d, modes[m], cen);
                struct rtc_date got;
                int err = rtc_decode(&r, &got);
                CHECK_AT(__FILE__, __LINE__,
                         err == 0 && got.year == d.year && got.month == d.month &&
                             got.day == d.day && got.hour == d.hour && got.min == d.min &&
                             got.sec == d.sec,
                         "%04d-%02d-%02d %02d:%02d:%02d mode %#x century %d: err %d, got "
                         "%04d-%02d-%02d %02d:%02d:%02d",
                         d.year, d.month, d.day, d.hour, d.min, d.sec, modes[m], cen, err,
                         got.year, got.month, got.day, got.hour, got.min, got.sec);
            }
        }
        CHECK_AT(__FILE__, __LINE__, rtc_date_to_unix(&d) == timegm_of(&d),
                 "%04d-%02d-%02d %02d:%02d:%02d: %llu, timegm %llu", d.year, d.month, d.day,
                 d.hour, d.min, d.sec, (unsigned long long)rtc_date_to_unix(&d),
                 (unsigned long long)timegm_of(&d));
    }
}

TEST(rtc_twelve_hour_midnight_and_noon)
{
    struct rtc_regs r = {.sec = 0, .min = 0, .hour = 0x12, .day = 1, .month = 1, .year = 0x24,
                         .century = 0x20, .status_b = 0};
    struct rtc_date d;
    CHECK_INT_EQ(rtc_decode(&r, &d), 0);
    CHECK_INT_EQ(d.hour, 0); /* 12 AM */
    r.hour = 0x12 | RTC_HOUR_PM;
    CHECK_INT_EQ(rtc_decode(&r, &d), 0);
    CHECK_INT_EQ(d.hour, 12); /* 12 PM */
    r.hour = 0x01 | RTC_HOUR_PM;
    CHECK_INT_EQ(rtc_decode(&r, &d), 0);
    CHECK_INT_EQ(d.hour, 13);
    r.hour = 0x00; /* there is no hour 0 in 12-hour mode */
    CHECK_INT_EQ(rtc_decode(&r, &d), -EINVAL);
}

TEST(rtc_known_instants)
{
    struct rtc_date epoch = {1970, 1, 1, 0, 0, 0};
    struct rtc_date y2k_march = {2000, 3, 1, 0, 0, 0};
    struct rtc_date leap_day = {2024, 2, 29, 12, 34, 56};
    CHECK_UINT_EQ(rtc_date_to_unix(&epoch), 0);
    CHECK_UINT_EQ(rtc_date_to_unix(&y2k_march), 951868800);
    CHECK_UINT_EQ(rtc_date_to_unix(&leap_day), 1709210096);
}

TEST(rtc_refuses_what_no_clock_shows)
{
    struct rtc_date d;
    struct rtc_regs none = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}; /* no RTC */
    CHECK_INT_EQ(rtc_decode(&none, &d), -EINVAL);
    struct rtc_regs ok = {0x30, 0x15, 0x09, 0x28, 0x02, 0x23, 0x20, RTC_B_24H};
    CHECK_INT_EQ(rtc_decode(&ok, &d), 0);
    struct rtc_regs bad = ok;
    bad.sec = 0x5A; /* not BCD */
    CHECK_INT_EQ(rtc_decode(&bad, &d), -EINVAL);
    bad = ok;
    bad.day = 0x29; /* 2023-02-29 */
    CHECK_INT_EQ(rtc_decode(&bad, &d), -EINVAL);
    bad = ok;
    bad.month = 0x13;
    CHECK_INT_EQ(rtc_decode(&bad, &d), -EINVAL);
    bad = ok;
    bad.hour = 0x24;
    CHECK_INT_EQ(rtc_decode(&bad, &d), -EINVAL);
    bad = ok;
    bad.century = 0x00; /* no century register: 23 is 2023 */
    CHECK_INT_EQ(rtc_decode(&bad, &d), 0);
    CHECK_INT_EQ(d.year, 2023);
}
