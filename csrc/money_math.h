/*
 * money_math.h - exact integer-cents arithmetic with no Lua in it: parsing,
 * rounding, percentages, allocation and formatting. money.c binds it to
 * Lua; fuzz/ links it alone.
 *
 * Every amount is an int64_t number of cents within +/-PS_MONEY_MAX
 * (2^53 - 1), the range exact both as a Lua 5.4 integer and as a LuaJIT
 * double. Functions return PS_MONEY_OK or an error code and never write a
 * result out of that range.
 */
#ifndef PROXYSHARD_MONEY_MATH_H
#define PROXYSHARD_MONEY_MATH_H

#include <stddef.h>
#include <stdint.h>

#define PS_MONEY_MAX INT64_C(9007199254740991) /* 2^53 - 1 */

typedef enum {
    PS_ROUND_HALF_EVEN = 0, /* the default wherever one is needed */
    PS_ROUND_HALF_UP,       /* ties away from zero */
    PS_ROUND_HALF_DOWN,     /* ties toward zero */
    PS_ROUND_UP,            /* away from zero */
    PS_ROUND_DOWN,          /* toward zero */
    PS_ROUND_CEIL,          /* toward +infinity */
    PS_ROUND_FLOOR,         /* toward -infinity */
    PS_ROUND_NONE           /* inexact results are an error */
} ps_rounding;

typedef enum {
    PS_MONEY_OK = 0,
    PS_MONEY_SYNTAX,     /* not a decimal amount */
    PS_MONEY_PRECISION,  /* more decimals than cents and no rounding mode */
    PS_MONEY_RANGE,      /* the result is beyond +/-(2^53 - 1) cents */
    PS_MONEY_ARGUMENT    /* a bad ratio list, count, percentage or mode */
} ps_money_status;

/* A rounding mode by name ("half_even", ...); -1 when unknown. */
int ps_rounding_from_name(const char *name);
const char *ps_rounding_name(ps_rounding mode);

/* A one-line English description of a status, for error messages. */
const char *ps_money_strerror(ps_money_status status);

/*
 * Parse decimal text: an optional '-', an optional '$', digits (optionally
 * grouped by ',' in threes: "1,234,567"), an optional '.' and at least one
 * digit after it. No spaces, no '+', no exponent. More than two decimals is
 * PS_MONEY_PRECISION unless mode rounds (mode != PS_ROUND_NONE).
 * Examples: "12.34" -> 1234, "-0.05" -> -5, "12" -> 1200, "-$0.05" -> -5,
 * "0.125" with half_even -> 12.
 */
ps_money_status ps_money_parse(const char *text, size_t len, ps_rounding mode,
                               int64_t *cents);

/*
 * A decimal string ("12.5", "-3", "0.075": an optional '-', digits, an
 * optional '.' and digits) as an exact fraction *num / *den, *den a power
 * of ten. At most 18 significant digits and 16 decimals (after dropping
 * trailing zeros): PS_MONEY_ARGUMENT beyond.
 */
ps_money_status ps_decimal_parse(const char *text, size_t len, int64_t *num,
                                 int64_t *den);

/* cents * num / den rounded by mode (PS_ROUND_NONE: PS_MONEY_PRECISION
 * when inexact); den > 0. */
ps_money_status ps_money_muldiv(int64_t cents, int64_t num, int64_t den,
                                ps_rounding mode, int64_t *out);

/* The sum of n amounts; only the total must be in range (the partial
 * sums may leave it). */
ps_money_status ps_money_sum(const int64_t *amounts, size_t n, int64_t *out);

/* Checked a + b, a - b, a * n (n an integer within +/-(2^53 - 1)). */
ps_money_status ps_money_add(int64_t a, int64_t b, int64_t *out);
ps_money_status ps_money_sub(int64_t a, int64_t b, int64_t *out);
ps_money_status ps_money_mul(int64_t a, int64_t n, int64_t *out);

/*
 * Split cents by n non-negative ratios (sum > 0, each <= 2^53 - 1):
 * part i is the share cents * r[i] / sum truncated toward zero, then the
 * leftover cents go one each, in order, to the parts whose ratio is not
 * zero. The parts always sum exactly to cents.
 */
ps_money_status ps_money_allocate(int64_t cents, const int64_t *ratios,
                                  size_t n, int64_t *parts);

/*
 * Write cents as text into buf (size at least PS_MONEY_TEXT_MAX):
 * [-][symbol]units[decimal]cc, units grouped in threes by thousands (when
 * non-empty). The sign goes before the symbol: "-$1,234.56".
 * symbol_after puts the symbol after the number: "-1.234,56 €" with
 * symbol " €". Returns the length written.
 */
#define PS_MONEY_TEXT_MAX 128
typedef struct {
    const char *symbol;    /* "" for none; at most 16 bytes */
    const char *decimal;   /* at most 8 bytes */
    const char *thousands; /* "" for no grouping; at most 8 bytes */
    int symbol_after;
} ps_money_style;

size_t ps_money_format(int64_t cents, const ps_money_style *style, char *buf);

#endif /* PROXYSHARD_MONEY_MATH_H */
