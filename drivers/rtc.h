/*
 * drivers/rtc.h — the CMOS real-time clock (MC146818 and its PC
 * descendants), read once for the wall clock (zebu_wall_time_ns).
 *
 * The decoding is pure (drivers/rtc_time.c, host-tested): the registers as
 * read, in BCD or binary, 12- or 24-hour form as status register B says,
 * to a date and to seconds since the Unix epoch. The RTC is taken to keep
 * UTC, as QEMU's does by default (-rtc base=utc).
 */
#ifndef ZEBU_DRIVERS_RTC_H
#define ZEBU_DRIVERS_RTC_H

#include <stdint.h>

/* The time and date registers as read, and status register B. */
struct rtc_regs {
    uint8_t sec, min, hour, day, month, year;
    uint8_t century;  /* register 0x32, where PCs keep it (0 or 0xFF: none) */
    uint8_t status_b; /* bit 1: 24-hour mode; bit 2: binary (else BCD) */
};

#define RTC_B_24H    0x02
#define RTC_B_BINARY 0x04
#define RTC_HOUR_PM  0x80 /* 12-hour mode: the hour's top bit */

struct rtc_date {
    int year, month, day; /* 1970.., 1..12, 1..31 */
    int hour, min, sec;   /* 0..23, 0..59, 0..59 */
};

/* regs to a date: 0, or -EINVAL when a field is out of range or not valid
 * BCD (a missing RTC reads all 0xFF). Without a century register, years
 * 70..99 are 19xx and 00..69 20xx. */
int rtc_decode(const struct rtc_regs *regs, struct rtc_date *date);

/* Seconds from 1970-01-01 00:00:00 UTC to date (a valid one, 1970..). */
uint64_t rtc_date_to_unix(const struct rtc_date *date);

/* Reads the RTC (waiting out an update in progress, reading until two
 * reads agree): 0 with the time in *unix_sec and the TSC of the read in
 * *tsc, or -ENODEV when there is no sane RTC. Port accesses: about 30. */
int rtc_read(uint64_t *unix_sec, uint64_t *tsc);

#endif
