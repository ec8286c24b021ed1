/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kit/uspace/report.h: the result lines of the kit's user-space checks,
 * "ok NAME: ..." or "not ok NAME: ...", and their count of failures.
 */
#ifndef KIT_USPACE_REPORT_H
#define KIT_USPACE_REPORT_H

#include <stdarg.h>
#include <stdio.h>

static int failures;

static void report(int ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void report(int ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%s %s: ", ok ? "ok" : "not ok", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		failures++;
}

#endif /* KIT_USPACE_REPORT_H */
