/*
 * money_math.c - exact integer-cents arithmetic (see money_math.h).
 *
 * Products are formed in 128-bit integers, so cents * ratio and
 * cents * percentage never overflow before the final range check.
 */
#include <string.h>

#include "money_math.h"

typedef __int128 wide;

static const char *const rounding_names[] = {
    "half_even", "half_up", "half_down", "up", "down", "ceil", "floor", NULL
};

int ps_rounding_from_name(const char *name)
{
    int i;

    for (i = 0; rounding_names[i] != NULL; i++)
        if (strcmp(rounding_names[i], name) == 0)
            return i;
    return -1;
}

const char *ps_rounding_name(ps_rounding mode)
{
    if (mode >= PS_ROUND_HALF_EVEN && mode <= PS_ROUND_FLOOR)
        return rounding_names[mode];
    return "none";
}

const char *ps_money_strerror(ps_money_status status)
{
    switch (status) {
    case PS_MONEY_OK:
        return "ok";
    case PS_MONEY_SYNTAX:
        return "not a decimal amount";
    case PS_MONEY_PRECISION:
        return "more than two decimals (give a rounding mode to round them)";
    case PS_MONEY_RANGE:
        return "out of range (|cents| > 2^53-1)";
    case PS_MONEY_ARGUMENT:
        return "invalid argument";
    }
    return "unknown error";
}

/*
 * Whether a result truncated toward zero must move one unit away from
 * zero. cmp compares the discarded part with one half (-1, 0, 1); inexact
 * says it is not zero; odd is the parity of the truncated magnitude.
 */
static int round_away(ps_rounding mode, int inexact, int cmp, int negative, int odd)
{
    if (!inexact)
        return 0;
    switch (mode) {
    case PS_ROUND_HALF_EVEN:
        return cmp > 0 || (cmp == 0 && odd);
    case PS_ROUND_HALF_UP:
        return cmp >= 0;
    case PS_ROUND_HALF_DOWN:
        return cmp > 0;
    case PS_ROUND_UP:
        return 1;
    case PS_ROUND_DOWN:
        return 0;
    case PS_ROUND_CEIL:
        return !negative;
    case PS_ROUND_FLOOR:
        return negative;
    case PS_ROUND_NONE:
        break;
    }
    return 0;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Count the digits starting at s[i]. */
static size_t digit_run(const char *s, size_t len, size_t i)
{
    size_t j = i;

    while (j < len && is_digit(s[j]))
        j++;
    return j - i;
}

/*
 * The integer part of an amount at s[i]: digits, or groups of three
 * separated by ',' after a first group of one to three digits not starting
 * with 0 ("1,234,567"). Returns the index after it; *ok is 0 on a syntax
 * error.
 */
static size_t scan_units(const char *s, size_t len, size_t i, int *ok)
{
    size_t run = digit_run(s, len, i);

    *ok = run > 0;
    if (!*ok)
        return i;
    if (i + run < len && s[i + run] == ',') {
        if (run > 3 || s[i] == '0') {
            *ok = 0;
            return i;
        }
        i += run;
        while (i < len && s[i] == ',') {
            if (digit_run(s, len, i + 1) != 3) {
                *ok = 0;
                return i;
            }
            i += 4;
        }
        return i;
    }
    return i + run;
}

ps_money_status ps_money_parse(const char *s, size_t len, ps_rounding mode, int64_t *cents)
{
    size_t i = 0, units_start, units_end, frac_start = 0, frac_len = 0, k;
    int negative = 0, ok, rest_nonzero = 0, cmp;
    uint64_t magnitude = 0;
    const uint64_t limit = (uint64_t)PS_MONEY_MAX;
    char extra = '0';

    if (i < len && s[i] == '-') {
        negative = 1;
        i++;
    }
    if (i < len && s[i] == '$')
        i++;
    units_start = i;
    units_end = scan_units(s, len, i, &ok);
    if (!ok)
        return PS_MONEY_SYNTAX;
    i = units_end;
    if (i < len && s[i] == '.') {
        frac_start = i + 1;
        frac_len = digit_run(s, len, frac_start);
        if (frac_len == 0)
            return PS_MONEY_SYNTAX;
        i = frac_start + frac_len;
    }
    if (i != len)
        return PS_MONEY_SYNTAX;
    if (frac_len > 2 && mode == PS_ROUND_NONE)
        return PS_MONEY_PRECISION;

    /* Units, saturating just above the limit so that any number of
     * leading zeros is fine and any long number is out of range. */
    for (k = units_start; k < units_end; k++) {
        if (s[k] == ',')
            continue;
        magnitude = magnitude * 10 + (uint64_t)(s[k] - '0');
        if (magnitude > limit)
            return PS_MONEY_RANGE;
    }
    /* Two decimals make the cents; the third digit and the rest decide the
     * rounding. */
    for (k = 0; k < 2; k++) {
        char d = k < frac_len ? s[frac_start + k] : '0';
        magnitude = magnitude * 10 + (uint64_t)(d - '0');
    }
    if (frac_len > 2) {
        extra = s[frac_start + 2];
        for (k = 3; k < frac_len; k++)
            if (s[frac_start + k] != '0')
                rest_nonzero = 1;
    }
    cmp = extra > '5' ? 1 : extra < '5' ? -1 : (rest_nonzero ? 1 : 0);
    if (round_away(mode, extra != '0' || rest_nonzero, cmp, negative, (int)(magnitude & 1)))
        magnitude++;
    if (magnitude > limit)
        return PS_MONEY_RANGE;
    *cents = negative ? -(int64_t)magnitude : (int64_t)magnitude;
    return PS_MONEY_OK;
}

ps_money_status ps_decimal_parse(const char *s, size_t len, int64_t *num, int64_t *den)
{
    size_t i = 0, int_len, frac_len = 0, k;
    int negative = 0, significant = 0;
    int64_t n = 0, d = 1;

    if (i < len && s[i] == '-') {
        negative = 1;
        i++;
    }
    int_len = digit_run(s, len, i);
    if (int_len == 0)
        return PS_MONEY_SYNTAX;
    if (i + int_len < len && s[i + int_len] == '.') {
        frac_len = digit_run(s, len, i + int_len + 1);
        if (frac_len == 0)
            return PS_MONEY_SYNTAX;
    }
    if (i + int_len + (frac_len ? frac_len + 1 : 0) != len)
        return PS_MONEY_SYNTAX;
    /* Trailing zeros of the fraction add nothing. */
    while (frac_len > 0 && s[i + int_len + frac_len] == '0')
        frac_len--;
    if (frac_len > 16)
        return PS_MONEY_ARGUMENT;
    for (k = 0; k < int_len + (frac_len ? frac_len + 1 : 0); k++) {
        char c = s[i + k];
        if (c == '.')
            continue;
        if (n == 0 && c == '0')
            continue; /* leading zeros */
        if (++significant > 18)
            return PS_MONEY_ARGUMENT;
        n = n * 10 + (c - '0');
    }
    for (k = 0; k < frac_len; k++)
        d *= 10;
    *num = negative ? -n : n;
    *den = d;
    return PS_MONEY_OK;
}

static ps_money_status checked(wide v, int64_t *out)
{
    if (v > PS_MONEY_MAX || v < -PS_MONEY_MAX)
        return PS_MONEY_RANGE;
    *out = (int64_t)v;
    return PS_MONEY_OK;
}

ps_money_status ps_money_muldiv(int64_t cents, int64_t num, int64_t den, ps_rounding mode,
                                int64_t *out)
{
    wide product, q, r, twice;
    int negative, cmp;

    if (den <= 0)
        return PS_MONEY_ARGUMENT;
    product = (wide)cents * num;
    q = product / den; /* truncates toward zero */
    r = product % den; /* same sign as product */
    negative = product < 0;
    twice = (r < 0 ? -r : r) * 2;
    cmp = twice > den ? 1 : twice < den ? -1 : 0;
    if (r != 0 && mode == PS_ROUND_NONE)
        return PS_MONEY_PRECISION;
    if (round_away(mode, r != 0, cmp, negative, (int)(q & 1)))
        q += negative ? -1 : 1;
    return checked(q, out);
}

ps_money_status ps_money_sum(const int64_t *amounts, size_t n, int64_t *out)
{
    wide total = 0; /* 2^53 * SIZE_MAX would overflow, but n is bounded by memory */
    size_t i;

    for (i = 0; i < n; i++)
        total += amounts[i];
    return checked(total, out);
}

ps_money_status ps_money_add(int64_t a, int64_t b, int64_t *out)
{
    return checked((wide)a + b, out);
}

ps_money_status ps_money_sub(int64_t a, int64_t b, int64_t *out)
{
    return checked((wide)a - b, out);
}

ps_money_status ps_money_mul(int64_t a, int64_t n, int64_t *out)
{
    return checked((wide)a * n, out);
}

ps_money_status ps_money_allocate(int64_t cents, const int64_t *ratios, size_t n, int64_t *parts)
{
    wide sum = 0, given = 0;
    int64_t leftover, step;
    size_t i;

    if (n == 0)
        return PS_MONEY_ARGUMENT;
    for (i = 0; i < n; i++) {
        if (ratios[i] < 0 || ratios[i] > PS_MONEY_MAX)
            return PS_MONEY_ARGUMENT;
        sum += ratios[i]; /* n * 2^53 stays far inside 128 bits */
    }
    if (sum == 0)
        return PS_MONEY_ARGUMENT;
    for (i = 0; i < n; i++) {
        parts[i] = (int64_t)((wide)cents * ratios[i] / sum);
        given += parts[i];
    }
    /* Each truncation lost less than one cent, so fewer cents are left
     * than there are parts with a non-zero ratio. */
    leftover = (int64_t)(cents - given);
    step = leftover < 0 ? -1 : 1;
    for (i = 0; i < n && leftover != 0; i++) {
        if (ratios[i] != 0) {
            parts[i] += step;
            leftover -= step;
        }
    }
    return PS_MONEY_OK;
}

static size_t append(char *buf, size_t at, const char *s)
{
    size_t len = strlen(s);

    memcpy(buf + at, s, len);
    return at + len;
}

size_t ps_money_format(int64_t cents, const ps_money_style *style, char *buf)
{
    uint64_t magnitude = cents < 0 ? (uint64_t)(-cents) : (uint64_t)cents;
    uint64_t units = magnitude / 100;
    unsigned cc = (unsigned)(magnitude % 100);
    char digits[24];
    size_t ndigits = 0, at = 0, i;
    size_t sep_len = strlen(style->thousands);

    do {
        digits[ndigits++] = (char)('0' + units % 10);
        units /= 10;
    } while (units > 0);

    if (cents < 0)
        buf[at++] = '-';
    if (!style->symbol_after)
        at = append(buf, at, style->symbol);
    for (i = ndigits; i > 0; i--) {
        buf[at++] = digits[i - 1];
        if (sep_len > 0 && i > 1 && (i - 1) % 3 == 0)
            at = append(buf, at, style->thousands);
    }
    at = append(buf, at, style->decimal);
    buf[at++] = (char)('0' + cc / 10);
    buf[at++] = (char)('0' + cc % 10);
    if (style->symbol_after)
        at = append(buf, at, style->symbol);
    buf[at] = '\0';
    return at;
}
