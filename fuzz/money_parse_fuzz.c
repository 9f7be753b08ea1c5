/*
 * money_parse_fuzz.c - libFuzzer harness for the money parser in
 * csrc/money_math.c (linked alone, no Lua). scripts/fuzz.sh builds it with
 * ASan and UBSan and runs it for a bounded time.
 *
 * For every input it parses the bytes (not NUL-terminated: the parser must
 * respect the length) in every rounding mode and checks what docs/money.md
 * promises:
 *   - an accepted amount is within +/-PS_MONEY_MAX;
 *   - formatting it and parsing the text back gives the same cents;
 *   - the modes agree with each other: the same syntax verdict in every
 *     mode, an exact text gives the same cents in every mode, and every
 *     rounded result lies between floor and ceil, one cent apart at most;
 *   - ps_decimal_parse and ps_money_muldiv stay in range and agree with
 *     the parser on plain decimals.
 * A broken promise prints what happened and aborts (a crash for libFuzzer).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "money_math.h"

#define NMODES 8 /* PS_ROUND_HALF_EVEN .. PS_ROUND_NONE */

static const ps_money_style plain = { "", ".", "", 0 };
static const ps_money_style dollars = { "$", ".", ",", 0 };

static void fail(const char *what, const uint8_t *data, size_t size, int64_t a, int64_t b)
{
    size_t i;

    fprintf(stderr, "money_parse_fuzz: %s (%" PRId64 ", %" PRId64 ") for input \"", what, a, b);
    for (i = 0; i < size && i < 200; i++) {
        if (data[i] >= 0x20 && data[i] < 0x7f && data[i] != '"' && data[i] != '\\')
            fputc(data[i], stderr);
        else
            fprintf(stderr, "\\x%02x", data[i]);
    }
    fprintf(stderr, "\"%s\n", size > 200 ? "..." : "");
    abort();
}

static int in_range(int64_t v)
{
    return v >= -PS_MONEY_MAX && v <= PS_MONEY_MAX;
}

static int valid_status(ps_money_status st)
{
    return st >= PS_MONEY_OK && st <= PS_MONEY_ARGUMENT
           && ps_money_strerror(st) != NULL;
}

/* Format cents in a style and parse the text back exactly. */
static void round_trip(int64_t cents, const ps_money_style *style, const uint8_t *data, size_t size)
{
    char buf[PS_MONEY_TEXT_MAX + 1];
    size_t len;
    int64_t back = 0;
    ps_money_status st;

    memset(buf, 'x', sizeof buf);
    len = ps_money_format(cents, style, buf);
    if (len < 4 || len >= PS_MONEY_TEXT_MAX || memchr(buf, '\0', len) != NULL)
        fail("format wrote a bad length", data, size, cents, (int64_t)len);
    st = ps_money_parse(buf, len, PS_ROUND_NONE, &back);
    if (st != PS_MONEY_OK)
        fail("formatted text does not parse back", data, size, cents, st);
    if (back != cents)
        fail("formatted text parses back to other cents", data, size, cents, back);
}

/*
 * Results of one computation in every mode, checked against each other:
 * st[PS_ROUND_NONE] OK means exact, so every mode gives that value; a
 * rounded value lies between floor and ceil, which differ by one at most.
 */
static void check_modes(const char *what, const ps_money_status *st, const int64_t *v,
                        const uint8_t *data, size_t size)
{
    int m;

    for (m = 0; m < NMODES; m++) {
        if (!valid_status(st[m]))
            fail(what, data, size, m, st[m]);
        if (st[m] == PS_MONEY_OK && !in_range(v[m]))
            fail("result out of range", data, size, m, v[m]);
    }
    if (st[PS_ROUND_NONE] == PS_MONEY_OK) {
        for (m = 0; m < PS_ROUND_NONE; m++)
            if (st[m] != PS_MONEY_OK || v[m] != v[PS_ROUND_NONE])
                fail("an exact value differs in a rounding mode", data, size, m, v[m]);
    }
    if (st[PS_ROUND_FLOOR] == PS_MONEY_OK && st[PS_ROUND_CEIL] == PS_MONEY_OK) {
        int64_t lo = v[PS_ROUND_FLOOR], hi = v[PS_ROUND_CEIL];
        if (hi < lo || hi - lo > 1)
            fail("floor and ceil are not one cent apart at most", data, size, lo, hi);
        for (m = 0; m < PS_ROUND_NONE; m++)
            if (st[m] == PS_MONEY_OK && (v[m] < lo || v[m] > hi))
                fail("a rounded value is outside [floor, ceil]", data, size, m, v[m]);
    }
    if (st[PS_ROUND_DOWN] == PS_MONEY_OK && st[PS_ROUND_UP] == PS_MONEY_OK) {
        int64_t d = v[PS_ROUND_DOWN], u = v[PS_ROUND_UP];
        if ((d < 0 ? -d : d) > (u < 0 ? -u : u))
            fail("down is farther from zero than up", data, size, d, u);
    }
}

/*
 * A second, independent reading of docs/money.md's parse rules, to compare
 * with ps_money_parse: [-][$]units[.digits], units plain digits or groups
 * of three after a first group of 1-3 digits (not starting with 0, as the
 * implementation has it). Returns -1 for a syntax error; otherwise the
 * status and cents expected in mode (status PS_MONEY_PRECISION or
 * PS_MONEY_RANGE may both be right when both apply: *either is set).
 */
static int reference_parse(const char *s, size_t len, int mode, int64_t *cents, int *either)
{
    size_t i = 0, start, n, frac = 0, fstart = 0, k;
    int neg = 0, grouped = 0, bump, cls;
    unsigned __int128 mag = 0;
    const unsigned __int128 big = (unsigned __int128)PS_MONEY_MAX * 1000;

    *either = 0;
    if (i < len && s[i] == '-') {
        neg = 1;
        i++;
    }
    if (i < len && s[i] == '$')
        i++;
    start = i;
    for (n = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
        n++;
    if (n == 0)
        return -1;
    while (i < len && s[i] == ',') {
        if ((!grouped && (n > 3 || s[start] == '0')) || len - i < 4)
            return -1;
        for (k = 1; k <= 3; k++)
            if (s[i + k] < '0' || s[i + k] > '9')
                return -1;
        grouped = 1;
        i += 4;
        if (i < len && s[i] >= '0' && s[i] <= '9')
            return -1;
    }
    if (i < len && s[i] == '.') {
        fstart = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            i++;
            frac++;
        }
        if (frac == 0)
            return -1;
    }
    if (i != len)
        return -1;

    for (k = start; k < (fstart ? fstart - 1 : len); k++)
        if (s[k] != ',' && mag <= big)
            mag = mag * 10 + (unsigned)(s[k] - '0');
    for (k = 0; k < 2; k++)
        if (mag <= big)
            mag = mag * 10 + (unsigned)(k < frac ? s[fstart + k] - '0' : 0);
    /* the dropped digits against one half: 0 none, 1 below, 2 tie, 3 above */
    cls = 0;
    if (frac > 2) {
        int rest = 0;
        for (k = 3; k < frac; k++)
            rest |= s[fstart + k] != '0';
        if (s[fstart + 2] > '5' || (s[fstart + 2] == '5' && rest))
            cls = 3;
        else if (s[fstart + 2] == '5')
            cls = 2;
        else if (s[fstart + 2] > '0' || rest)
            cls = 1;
    }
    if (mode == PS_ROUND_NONE) {
        if (frac > 2) {
            *either = mag > (unsigned __int128)PS_MONEY_MAX;
            return PS_MONEY_PRECISION;
        }
        bump = 0;
    } else {
        switch (mode) {
        case PS_ROUND_HALF_EVEN: bump = cls == 3 || (cls == 2 && (mag & 1)); break;
        case PS_ROUND_HALF_UP: bump = cls >= 2; break;
        case PS_ROUND_HALF_DOWN: bump = cls == 3; break;
        case PS_ROUND_UP: bump = cls >= 1; break;
        case PS_ROUND_DOWN: bump = 0; break;
        case PS_ROUND_CEIL: bump = cls >= 1 && !neg; break;
        default: bump = cls >= 1 && neg; break; /* floor */
        }
    }
    mag += (unsigned)bump;
    if (mag > (unsigned __int128)PS_MONEY_MAX)
        return PS_MONEY_RANGE;
    *cents = neg ? -(int64_t)mag : (int64_t)mag;
    return PS_MONEY_OK;
}

static void fuzz_parse(const char *text, const uint8_t *data, size_t size,
                       ps_money_status *st, int64_t *cents)
{
    int m;
    int syntax;

    for (m = 0; m < NMODES; m++) {
        cents[m] = 0;
        st[m] = ps_money_parse(text, size, (ps_rounding)m, &cents[m]);
        if (st[m] == PS_MONEY_OK) {
            if (!in_range(cents[m]))
                fail("parse gave cents out of range", data, size, m, cents[m]);
            round_trip(cents[m], &plain, data, size);
            round_trip(cents[m], &dollars, data, size);
        }
    }
    check_modes("parse gave an unknown status", st, cents, data, size);

    /* The same verdict and cents as the reference reading, in every mode. */
    for (m = 0; m < NMODES; m++) {
        int64_t want = 0;
        int either;
        int ref = reference_parse(text, size, m, &want, &either);
        if (ref < 0) {
            if (st[m] != PS_MONEY_SYNTAX)
                fail("parse accepts what the reference calls a syntax error", data, size, m, st[m]);
        } else if (st[m] != (ps_money_status)ref
                   && !(either && (st[m] == PS_MONEY_RANGE || st[m] == PS_MONEY_PRECISION))) {
            fail("parse status differs from the reference", data, size, st[m], ref);
        } else if (ref == PS_MONEY_OK && cents[m] != want) {
            fail("parse cents differ from the reference", data, size, cents[m], want);
        }
    }

    /* The syntax verdict does not depend on the mode. */
    syntax = st[0] == PS_MONEY_SYNTAX;
    for (m = 1; m < NMODES; m++)
        if ((st[m] == PS_MONEY_SYNTAX) != syntax)
            fail("the syntax verdict depends on the mode", data, size, m, st[m]);
    /* An exact amount out of range is out of range in every mode. */
    if (st[PS_ROUND_NONE] == PS_MONEY_RANGE)
        for (m = 0; m < PS_ROUND_NONE; m++)
            if (st[m] != PS_MONEY_RANGE)
                fail("exact amount out of range, but not in a mode", data, size, m, st[m]);
    /* Precision is the only refusal a rounding mode lifts. */
    for (m = 0; m < PS_ROUND_NONE; m++)
        if (st[m] == PS_MONEY_PRECISION || st[m] == PS_MONEY_ARGUMENT)
            fail("a rounding mode gave a precision/argument error", data, size, m, st[m]);

    /* The parts of an accepted amount sum back to it. */
    if (st[PS_ROUND_FLOOR] == PS_MONEY_OK) {
        const int64_t ratios[4] = { 3, 0, 1, PS_MONEY_MAX };
        int64_t parts[4], sum = 0;
        int i;
        if (ps_money_allocate(cents[PS_ROUND_FLOOR], ratios, 4, parts) != PS_MONEY_OK)
            fail("allocate refused valid ratios", data, size, cents[PS_ROUND_FLOOR], 0);
        for (i = 0; i < 4; i++)
            sum += parts[i];
        if (sum != cents[PS_ROUND_FLOOR] || parts[1] != 0)
            fail("allocate parts do not sum to the amount", data, size, cents[PS_ROUND_FLOOR], sum);
    }
}

static void fuzz_decimal(const char *text, const uint8_t *data, size_t size,
                         const ps_money_status *parse_st, const int64_t *parse_cents)
{
    static const int64_t amounts[] = { 0, 1, -1, 3, -99, 100, 12345, -1234567, PS_MONEY_MAX,
                                       -PS_MONEY_MAX, PS_MONEY_MAX - 1, 4503599627370496 };
    int64_t num = 0, den = 0, d;
    ps_money_status st = ps_decimal_parse(text, size, &num, &den);
    size_t a;
    int m;

    if (!valid_status(st))
        fail("decimal_parse gave an unknown status", data, size, st, 0);
    if (st != PS_MONEY_OK)
        return;
    /* den is a power of ten, at most 10^18 */
    for (d = den; d > 1 && d % 10 == 0; d /= 10)
        ;
    if (den < 1 || den > INT64_C(1000000000000000000) || d != 1)
        fail("decimal_parse gave a bad denominator", data, size, num, den);

    for (a = 0; a < sizeof amounts / sizeof amounts[0]; a++) {
        ps_money_status mst[NMODES];
        int64_t out[NMODES];
        for (m = 0; m < NMODES; m++) {
            out[m] = 0;
            mst[m] = ps_money_muldiv(amounts[a], num, den, (ps_rounding)m, &out[m]);
        }
        check_modes("muldiv gave an unknown status", mst, out, data, size);
        /* as a percentage, like m:percent(p) */
        for (m = 0; m < NMODES; m++) {
            if (den <= INT64_C(10000000000000000)) {
                int64_t r = 0;
                ps_money_status pst = ps_money_muldiv(amounts[a], num, den * 100, (ps_rounding)m, &r);
                if (!valid_status(pst) || (pst == PS_MONEY_OK && !in_range(r)))
                    fail("percent muldiv out of range", data, size, m, r);
            }
        }
    }

    /* A plain decimal read as dollars: parse and 100 * num / den agree in
     * every rounding mode (not in PS_ROUND_NONE: "1.230" is refused by the
     * parser but is an exact fraction). */
    for (m = 0; m < PS_ROUND_NONE; m++) {
        int64_t r = 0;
        ps_money_status mst = ps_money_muldiv(100, num, den, (ps_rounding)m, &r);
        if (mst == PS_MONEY_OK && parse_st[m] == PS_MONEY_OK && r != parse_cents[m])
            fail("parse and decimal_parse disagree", data, size, parse_cents[m], r);
        if (mst == PS_MONEY_OK && parse_st[m] == PS_MONEY_SYNTAX)
            fail("decimal_parse accepts what parse calls a syntax error", data, size, m, r);
    }
}

static void fuzz_names(const uint8_t *data, size_t size)
{
    char *name = (char *)malloc(size + 1);
    int mode;

    if (name == NULL)
        return;
    memcpy(name, data, size);
    name[size] = '\0';
    mode = ps_rounding_from_name(name);
    if (mode < -1 || mode >= PS_ROUND_NONE)
        fail("rounding_from_name gave a bad mode", data, size, mode, 0);
    if (mode >= 0 && strcmp(ps_rounding_name((ps_rounding)mode), name) != 0)
        fail("rounding names do not round-trip", data, size, mode, 0);
    free(name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy: ASan sees any read past the length. */
    char *text = (char *)malloc(size ? size : 1);
    ps_money_status st[NMODES];
    int64_t cents[NMODES];

    if (text == NULL)
        return 0;
    if (size)
        memcpy(text, data, size);
    fuzz_parse(text, data, size, st, cents);
    fuzz_decimal(text, data, size, st, cents);
    fuzz_names(data, size);
    free(text);
    return 0;
}
