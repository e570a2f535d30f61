/* Winnow's compiled core: the per-character loops of text normalisation.
 *
 * The tables (what each code point folds to, its character class, its leetspeak letter) are
 * built in Python by winnow.media.normalize and passed in as buffers; this file only walks the
 * text. Each function makes one or a few passes over the characters and returns plain bytes
 * objects that numpy wraps without copying. The rules are documented in normalize.py; a
 * property test checks this code against a pure numpy reference of the same rules.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define N_CODEPOINTS 0x110000
#define DELETE 0xFFFFFFFFu
#define EXPAND 0xFFFFFFFEu

enum { WORD = 1, LEET = 2, SEP = 4, CJK = 8, LETTER = 16, INNER = 32 };

/* A growing sequence of code points, each with the index of the original character it came
 * from. */
typedef struct {
    uint32_t *codes;
    int64_t *src;
    Py_ssize_t len;
    Py_ssize_t cap;
} Seq;

/* Scratch space kept between calls and only ever grown: a fresh multi-megabyte buffer per call
 * costs more in page faults than the loops cost in instructions. The GIL is held throughout
 * and nothing here calls back into Python code, so one set of buffers is enough. */
static Seq scratch;
static uint8_t *scratch_bytes;
static Py_ssize_t scratch_bytes_cap;
static Py_ssize_t *scratch_iso;
static Py_ssize_t scratch_iso_cap;

static void *grow(void *p, Py_ssize_t *cap, Py_ssize_t need, size_t itemsize) {
    if (need <= *cap) return p;
    Py_ssize_t n = need + need / 4 + 64;
    void *q = PyMem_Realloc(p, (size_t)n * itemsize);
    if (q == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    *cap = n;
    return q;
}

static int seq_reserve(Seq *s, Py_ssize_t need) {
    if (need <= s->cap) return 0;
    Py_ssize_t cap = need + need / 4 + 64;
    uint32_t *codes = PyMem_Realloc(s->codes, (size_t)cap * sizeof(uint32_t));
    if (codes == NULL) { PyErr_NoMemory(); return -1; }
    s->codes = codes;
    int64_t *src = PyMem_Realloc(s->src, (size_t)cap * sizeof(int64_t));
    if (src == NULL) { PyErr_NoMemory(); return -1; }
    s->src = src;
    s->cap = cap;
    return 0;
}

/* Append the pair (a, b) to a growing int32 array; on failure frees it and returns -1. */
static int push_pair(int32_t **out, Py_ssize_t *cap, Py_ssize_t *len, int32_t a, int32_t b) {
    int32_t *grown = grow(*out, cap, *len + 2, sizeof(int32_t));
    if (grown == NULL) {
        PyMem_Free(*out);
        *out = NULL;
        return -1;
    }
    *out = grown;
    grown[(*len)++] = a;
    grown[(*len)++] = b;
    return 0;
}

/* Offsets are written as int32: refuse a text whose offsets could exceed that. */
static int check_length(Py_ssize_t n, Py_ssize_t limit) {
    if (n <= limit) return 0;
    PyErr_SetString(PyExc_ValueError, "text too long for one scan (scan it in chunks)");
    return -1;
}

static int check_table(Py_buffer *buf, Py_ssize_t itemsize, const char *what) {
    if (buf->len != (Py_ssize_t)N_CODEPOINTS * itemsize) {
        PyErr_Format(PyExc_ValueError, "%s table must have one entry per code point", what);
        return -1;
    }
    return 0;
}

/* Map every character of `text` through `table`: DELETE drops it, EXPAND replaces it with the
 * string `expand[cp]`. Sets *reshaped when anything was dropped or expanded. */
static int fold_into(Seq *out, PyObject *text, const uint32_t *table, PyObject *expand,
                     int *reshaped) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    if (seq_reserve(out, n + 1) < 0) return -1;
    Py_ssize_t m = 0;
    *reshaped = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 cp = PyUnicode_READ(kind, data, i);
        uint32_t v = table[cp];
        if (v == DELETE) {
            *reshaped = 1;
            continue;
        }
        if (v == EXPAND) {
            *reshaped = 1;
            PyObject *key = PyLong_FromUnsignedLong(cp);
            if (key == NULL) return -1;
            PyObject *piece = PyDict_GetItemWithError(expand, key); /* borrowed */
            Py_DECREF(key);
            if (piece == NULL) {
                if (!PyErr_Occurred())
                    PyErr_Format(PyExc_KeyError, "no expansion for U+%04X", (unsigned)cp);
                return -1;
            }
            if (!PyUnicode_Check(piece)) {
                PyErr_SetString(PyExc_TypeError, "expansions must be str");
                return -1;
            }
            Py_ssize_t k = PyUnicode_GET_LENGTH(piece);
            if (seq_reserve(out, m + k + (n - i)) < 0) return -1;
            int pkind = PyUnicode_KIND(piece);
            const void *pdata = PyUnicode_DATA(piece);
            for (Py_ssize_t j = 0; j < k; j++) {
                out->codes[m] = PyUnicode_READ(pkind, pdata, j);
                out->src[m] = i;
                m++;
            }
            continue;
        }
        out->codes[m] = v;
        out->src[m] = i;
        m++;
    }
    out->len = m;
    return 0;
}

static PyObject *make_str(const uint32_t *codes, Py_ssize_t n) {
    Py_UCS4 maxchar = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (codes[i] > maxchar) maxchar = codes[i];
    PyObject *s = PyUnicode_New(n, maxchar);
    if (s == NULL) return NULL;
    int kind = PyUnicode_KIND(s);
    void *data = PyUnicode_DATA(s);
    for (Py_ssize_t i = 0; i < n; i++) PyUnicode_WRITE(kind, data, i, codes[i]);
    return s;
}

static PyObject *bytes_of(const void *p, Py_ssize_t size) {
    return PyBytes_FromStringAndSize((const char *)p, size);
}

/* fold(text, table, expand) -> (str, codes: bytes of uint32, src: bytes of int64 or None)
 * src[i] is the original index of output character i; None when nothing was dropped or
 * expanded (output index = original index). */
static PyObject *native_fold(PyObject *self, PyObject *args) {
    PyObject *text, *expand;
    Py_buffer table;
    if (!PyArg_ParseTuple(args, "UO!y*", &text, &PyDict_Type, &expand, &table)) return NULL;
    PyObject *result = NULL;
    Seq *seq = &scratch;
    int reshaped = 0;
    if (check_table(&table, sizeof(uint32_t), "fold") < 0) goto done;
    if (fold_into(seq, text, (const uint32_t *)table.buf, expand, &reshaped) < 0) goto done;
    PyObject *s = make_str(seq->codes, seq->len);
    PyObject *codes = s ? bytes_of(seq->codes, seq->len * (Py_ssize_t)sizeof(uint32_t)) : NULL;
    PyObject *src = NULL;
    if (codes != NULL) {
        if (reshaped) {
            src = bytes_of(seq->src, seq->len * (Py_ssize_t)sizeof(int64_t));
        } else {
            src = Py_None;
            Py_INCREF(src);
        }
    }
    if (s && codes && src) result = PyTuple_Pack(3, s, codes, src);
    Py_XDECREF(s);
    Py_XDECREF(codes);
    Py_XDECREF(src);
done:
    PyBuffer_Release(&table);
    return result;
}

/* Separators to drop: inside spaced-out words ("f r e e") and between CJK characters. */
static int mark_drops(const uint8_t *cls, Py_ssize_t m, uint8_t *drop) {
    if (m < 3) return 0;
    int any = 0;
    Py_ssize_t *iso = grow(scratch_iso, &scratch_iso_cap, m, sizeof(Py_ssize_t));
    if (iso == NULL) return -1;
    scratch_iso = iso;
    Py_ssize_t n_iso = 0;
    for (Py_ssize_t k = 0; k < m; k++) {
        int unit = (cls[k] & (WORD | LEET)) != 0;
        if (!unit) continue;
        int prev = k > 0 && (cls[k - 1] & (WORD | LEET));
        int next = k + 1 < m && (cls[k + 1] & (WORD | LEET));
        if (!prev && !next) iso[n_iso++] = k;
    }
    /* link j joins isolated j and j+1: one or two separators between them. A run of two or
     * more links (three or more letters) is a spaced-out word. */
    Py_ssize_t j = 0;
    while (j + 1 < n_iso) {
        Py_ssize_t run_start = j;
        while (j + 1 < n_iso) {
            Py_ssize_t a = iso[j], b = iso[j + 1], gap = b - a - 1;
            int ok = (gap == 1 || gap == 2) && (cls[a + 1] & SEP) &&
                     (gap == 1 || (cls[a + 2] & SEP));
            if (!ok) break;
            j++;
        }
        if (j - run_start >= 2) {
            for (Py_ssize_t t = run_start; t < j; t++)
                for (Py_ssize_t k = iso[t] + 1; k < iso[t + 1]; k++) drop[k] = 1;
            any = 1;
        }
        if (j == run_start) j++;
    }
    for (Py_ssize_t k = 0; k < m; k++) {
        if (!(cls[k] & SEP)) continue;
        int prev_cjk = k >= 1 && (cls[k - 1] & CJK);
        int next_cjk = k + 1 < m && (cls[k + 1] & CJK);
        int single = prev_cjk && next_cjk;
        int first_of_two =
            prev_cjk && k + 2 < m && (cls[k + 1] & SEP) && (cls[k + 2] & CJK);
        int second_of_two = k >= 2 && (cls[k - 1] & SEP) && (cls[k - 2] & CJK) && next_cjk;
        if (single || first_of_two || second_of_two) {
            drop[k] = 1;
            any = 1;
        }
    }
    return any;
}

/* Leetspeak inside words that contain a letter (see normalize.py for the rules). */
static void undo_leet(uint32_t *codes, const uint8_t *cls, Py_ssize_t m, const uint32_t *leet) {
    int touching = 0;
    for (Py_ssize_t k = 0; k < m && !touching; k++) {
        if (!(cls[k] & LEET)) continue;
        touching = (k > 0 && (cls[k - 1] & LETTER)) || (k + 1 < m && (cls[k + 1] & LETTER));
    }
    if (!touching) return;
    Py_ssize_t k = 0;
    while (k < m) {
        if (!(cls[k] & (WORD | LEET))) { k++; continue; }
        Py_ssize_t lo = k, hi = k;
        int has_letter = 0, has_leet = 0;
        while (hi < m && (cls[hi] & (WORD | LEET))) {
            has_letter |= (cls[hi] & LETTER) != 0;
            has_leet |= (cls[hi] & LEET) != 0;
            hi++;
        }
        if (has_letter && has_leet) {
            for (Py_ssize_t c = lo; c < hi; c++) {
                if (!(cls[c] & LEET)) continue;
                if ((cls[c] & INNER) && c + 1 >= hi) continue;  /* '!' at a word's end */
                codes[c] = leet[codes[c]];
            }
        }
        k = hi;
    }
}

/* match(text, fold_table, expand, cls_table, leet_table)
 *   -> (str, codes: uint32 bytes, lo: int32 bytes, hi: int32 bytes, runs: int32 bytes)
 * View character i came from original characters lo[i]..hi[i] (inclusive) and stood for a run
 * of runs[i] equal characters. */
static PyObject *native_match(PyObject *self, PyObject *args) {
    PyObject *text, *expand;
    Py_buffer table, clsbuf, leetbuf;
    if (!PyArg_ParseTuple(args, "UO!y*y*y*", &text, &PyDict_Type, &expand, &table, &clsbuf,
                          &leetbuf))
        return NULL;
    PyObject *result = NULL;
    PyObject *s = NULL, *b_codes = NULL, *b_lo = NULL, *b_hi = NULL, *b_runs = NULL;
    Seq *seq = &scratch;
    int reshaped = 0;
    if (check_table(&table, sizeof(uint32_t), "fold") < 0 ||
        check_table(&clsbuf, 1, "class") < 0 || check_table(&leetbuf, sizeof(uint32_t), "leet") < 0)
        goto done;
    if (check_length(PyUnicode_GET_LENGTH(text), INT32_MAX / 4) < 0) goto done;
    if (fold_into(seq, text, (const uint32_t *)table.buf, expand, &reshaped) < 0) goto done;
    Py_ssize_t m = seq->len;
    uint8_t *bytes = grow(scratch_bytes, &scratch_bytes_cap, 2 * m + 2, 1);
    if (bytes == NULL) goto done;
    scratch_bytes = bytes;
    uint8_t *cls = bytes, *drop = bytes + m + 1;
    memset(drop, 0, (size_t)m + 1);
    const uint8_t *ctab = (const uint8_t *)clsbuf.buf;
    uint32_t *codes = seq->codes;
    int64_t *src = seq->src;
    for (Py_ssize_t k = 0; k < m; k++) cls[k] = ctab[codes[k]];
    int any = mark_drops(cls, m, drop);
    if (any < 0) goto done;
    if (any) {
        Py_ssize_t w = 0;
        for (Py_ssize_t k = 0; k < m; k++) {
            if (drop[k]) continue;
            codes[w] = codes[k];
            src[w] = src[k];
            cls[w] = cls[k];
            w++;
        }
        m = w;
    }
    undo_leet(codes, cls, m, (const uint32_t *)leetbuf.buf);
    /* Squeeze runs of one character, keeping each run's length and original extent: count the
     * runs first so the results are written straight into bytes objects of the right size. */
    Py_ssize_t w = m > 0;
    for (Py_ssize_t k = 1; k < m; k++) w += codes[k] != codes[k - 1];
    b_codes = PyBytes_FromStringAndSize(NULL, w * (Py_ssize_t)sizeof(uint32_t));
    b_lo = PyBytes_FromStringAndSize(NULL, w * (Py_ssize_t)sizeof(int32_t));
    b_hi = PyBytes_FromStringAndSize(NULL, w * (Py_ssize_t)sizeof(int32_t));
    b_runs = PyBytes_FromStringAndSize(NULL, w * (Py_ssize_t)sizeof(int32_t));
    if (!b_codes || !b_lo || !b_hi || !b_runs) goto done;
    uint32_t *out = (uint32_t *)PyBytes_AS_STRING(b_codes);
    int32_t *lo = (int32_t *)PyBytes_AS_STRING(b_lo);
    int32_t *hi = (int32_t *)PyBytes_AS_STRING(b_hi);
    int32_t *runs = (int32_t *)PyBytes_AS_STRING(b_runs);
    Py_ssize_t r = -1;
    for (Py_ssize_t k = 0; k < m; k++) {
        if (r >= 0 && codes[k] == out[r]) {
            runs[r]++;
            hi[r] = (int32_t)src[k];
            continue;
        }
        r++;
        out[r] = codes[k];
        lo[r] = hi[r] = (int32_t)src[k];
        runs[r] = 1;
    }
    s = make_str(out, w);
    if (s != NULL) result = PyTuple_Pack(5, s, b_codes, b_lo, b_hi, b_runs);
done:
    Py_XDECREF(s);
    Py_XDECREF(b_codes);
    Py_XDECREF(b_lo);
    Py_XDECREF(b_hi);
    Py_XDECREF(b_runs);
    PyBuffer_Release(&table);
    PyBuffer_Release(&clsbuf);
    PyBuffer_Release(&leetbuf);
    return result;
}

/* runs(text, table, mask, need, min_len) -> bytes of int32 (start, end) pairs
 * The maximal runs of characters whose class (table[cp]) has a bit of `mask`, at least
 * `min_len` long and holding at least one character with a bit of `need` (need 0: any). Cheap
 * pre-scans for detectors that then run their exact patterns only inside these runs. */
static PyObject *native_runs(PyObject *self, PyObject *args) {
    PyObject *text;
    Py_buffer table;
    unsigned int mask, need;
    Py_ssize_t min_len;
    if (!PyArg_ParseTuple(args, "Uy*IIn", &text, &table, &mask, &need, &min_len)) return NULL;
    PyObject *result = NULL;
    if (check_table(&table, 1, "class") < 0) goto done;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (check_length(n, INT32_MAX) < 0) goto done;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    const uint8_t *ctab = (const uint8_t *)table.buf;
    Py_ssize_t cap = 0, len = 0;
    int32_t *out = NULL;
    Py_ssize_t i = 0;
    while (i < n) {
        if (!(ctab[PyUnicode_READ(kind, data, i)] & mask)) {
            i++;
            continue;
        }
        Py_ssize_t start = i;
        int has = need == 0;
        while (i < n) {
            uint8_t c = ctab[PyUnicode_READ(kind, data, i)];
            if (!(c & mask)) break;
            has |= (c & need) != 0;
            i++;
        }
        if (has && i - start >= min_len &&
            push_pair(&out, &cap, &len, (int32_t)start, (int32_t)i) < 0)
            goto done;
    }
    result = bytes_of(out, len * (Py_ssize_t)sizeof(int32_t));
    PyMem_Free(out);
done:
    PyBuffer_Release(&table);
    return result;
}

/* byte_starts(text) -> bytes of int32, len(text) + 1 entries: where each character starts in
 * the text's UTF-8 encoding (the last entry is the encoding's length). */
static PyObject *native_byte_starts(PyObject *self, PyObject *args) {
    PyObject *text;
    if (!PyArg_ParseTuple(args, "U", &text)) return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (check_length(n, INT32_MAX / 4) < 0) return NULL;
    PyObject *result = PyBytes_FromStringAndSize(NULL, (n + 1) * (Py_ssize_t)sizeof(int32_t));
    if (result == NULL) return NULL;
    int32_t *out = (int32_t *)PyBytes_AS_STRING(result);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    int32_t at = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        out[i] = at;
        Py_UCS4 cp = PyUnicode_READ(kind, data, i);
        at += 1 + (cp >= 0x80) + (cp >= 0x800) + (cp >= 0x10000);
    }
    out[n] = at;
    return result;
}

/* link_markers(text) -> bytes of int32 (position, kind) pairs, in text order
 * Where a link or a defanged link may start, for the links detector to check with its exact
 * patterns: 1 an opening bracket before '.', ':' or 'd' ("[.]", "(dot)", "[://]"); 2 " dot "
 * in any ASCII case; 3 "hxxp" or "h**p" in any case; 4 the ideographic full stop before an ASCII
 * letter or digit; 5 "://"; 6 "www.", "WWW." or "Www.". */
static inline Py_UCS4 ascii_lower(Py_UCS4 c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

static PyObject *native_link_markers(PyObject *self, PyObject *args) {
    PyObject *text;
    if (!PyArg_ParseTuple(args, "U", &text)) return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (check_length(n, INT32_MAX) < 0) return NULL;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
#define AT(j) ((j) < n ? PyUnicode_READ(kind, data, (j)) : 0)
    Py_ssize_t cap = 0, len = 0;
    int32_t *out = NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        int found = 0;
        switch (c) {
            case '[': case '(': case '{': {
                Py_UCS4 d = ascii_lower(AT(i + 1));
                if (d == '.' || d == ':' || d == 'd') found = 1;
                break;
            }
            case ' ':
                if (ascii_lower(AT(i + 1)) == 'd' && ascii_lower(AT(i + 2)) == 'o' &&
                    ascii_lower(AT(i + 3)) == 't' && AT(i + 4) == ' ')
                    found = 2;
                break;
            case 'h': case 'H': {
                Py_UCS4 a = ascii_lower(AT(i + 1)), b = ascii_lower(AT(i + 2));
                if (((a == 'x' && b == 'x') || (a == '*' && b == '*')) &&
                    ascii_lower(AT(i + 3)) == 'p')
                    found = 3;
                break;
            }
            case 0x3002: {
                Py_UCS4 a = AT(i + 1);
                if ((a >= '0' && a <= '9') || (a >= 'a' && a <= 'z') || (a >= 'A' && a <= 'Z'))
                    found = 4;
                break;
            }
            case ':':
                if (AT(i + 1) == '/' && AT(i + 2) == '/') found = 5;
                break;
            case 'w': case 'W':
                if (AT(i + 3) == '.' && ((c == 'w' && AT(i + 1) == 'w' && AT(i + 2) == 'w') ||
                                         (AT(i + 1) == 'W' && AT(i + 2) == 'W' && c == 'W') ||
                                         (c == 'W' && AT(i + 1) == 'w' && AT(i + 2) == 'w')))
                    found = 6;
                break;
            default:
                break;
        }
        if (found && push_pair(&out, &cap, &len, (int32_t)i, found) < 0) return NULL;
    }
#undef AT
    PyObject *result = bytes_of(out, len * (Py_ssize_t)sizeof(int32_t));
    PyMem_Free(out);
    return result;
}

static PyMethodDef methods[] = {
    {"fold", native_fold, METH_VARARGS,
     "fold(text, table, expand) -> (str, codes, src or None): map each character through a table."},
    {"match", native_match, METH_VARARGS,
     "match(text, table, expand, cls, leet) -> (str, codes, lo, hi, runs): the match view."},
    {"runs", native_runs, METH_VARARGS,
     "runs(text, table, mask, need, min_len) -> int32 (start, end) pairs of class runs."},
    {"byte_starts", native_byte_starts, METH_VARARGS,
     "byte_starts(text) -> int32 offsets of each character in the UTF-8 encoding."},
    {"link_markers", native_link_markers, METH_VARARGS,
     "link_markers(text) -> int32 (position, kind) pairs where links may start."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "winnow._native", "Winnow's compiled text-normalisation loops.", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
