/* drivers/serial.h — 16550 UART (COM1) console output. */
#ifndef ZEBU_DRIVERS_SERIAL_H
#define ZEBU_DRIVERS_SERIAL_H

#include <stddef.h>

/* Programs COM1 for 115200 8N1. Returns 0, or -ENODEV when no UART answers. */
int serial_init(void);

/* Writes len bytes, turning "\n" into "\r\n"; programs the UART first if
 * serial_init has not run. No-op when no UART was found. */
void serial_write(const char *buf, size_t len);

#endif
