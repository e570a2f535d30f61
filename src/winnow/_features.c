/* The text classifiers' features: hashed n-grams of a normalised text, in one pass.
 *
 * ngrams(text, buckets[, placeholder]) -> (ids, starts, ends): three bytes objects, uint32 /
 * int32 / int32, one entry per n-gram occurrence: the bucket it hashes to (buckets is a power of
 * two) and the span of text characters it covers [start, end), which is how a finding explains
 * itself. With a placeholder code point (the classifiers' stand-in for an identity term), an
 * n-gram whose span holds no character but placeholders and ASCII punctuation or spaces is left
 * out: naming a group adds nothing by itself.
 *
 * The n-grams, over a text already folded by the match view (lower case, leetspeak undone):
 *   kind 1  a word: a run of alphanumeric characters that are not CJK;
 *   kind 2  two consecutive words;
 *   kind 3  3, 4 and 5 characters of a word framed as <word> (at most its first 24 characters);
 *   kind 4  1, 2 and 3 consecutive CJK characters (Chinese is not split into words).
 * Each is hashed with 64-bit FNV-1a over its kind and its code points. The pure Python reference
 * in tests/features_reference.py defines the same thing; a property test holds the two equal.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull
#define MAX_WORD_GRAMS 24

static int is_cjk(Py_UCS4 c) {
    return (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x3040 && c <= 0x30FF) ||
           (c >= 0xAC00 && c <= 0xD7AF) || (c >= 0x20000 && c <= 0x2FA1F);
}

typedef struct {
    uint32_t *ids;
    int32_t *starts;
    int32_t *ends;
    Py_ssize_t len, cap;
    uint32_t mask;
    const int32_t *real; /* with a placeholder: real[i] = word characters before i, else NULL */
} Out;

static int emit(Out *o, uint64_t h, Py_ssize_t start, Py_ssize_t end) {
    if (o->real != NULL && o->real[end] == o->real[start]) return 0; /* placeholders alone */
    if (o->len == o->cap) {
        Py_ssize_t cap = o->cap ? o->cap * 2 : 256;
        uint32_t *ids = PyMem_Realloc(o->ids, (size_t)cap * sizeof(uint32_t));
        if (ids == NULL) return -1;
        o->ids = ids;
        int32_t *s = PyMem_Realloc(o->starts, (size_t)cap * sizeof(int32_t));
        if (s == NULL) return -1;
        o->starts = s;
        int32_t *e = PyMem_Realloc(o->ends, (size_t)cap * sizeof(int32_t));
        if (e == NULL) return -1;
        o->ends = e;
        o->cap = cap;
    }
    o->ids[o->len] = (uint32_t)((h ^ (h >> 32)) & o->mask);
    o->starts[o->len] = (int32_t)start;
    o->ends[o->len] = (int32_t)end;
    o->len++;
    return 0;
}

static inline uint64_t mix(uint64_t h, Py_UCS4 c) { return (h ^ (uint64_t)c) * FNV_PRIME; }
static inline uint64_t begin(int kind) { return mix(FNV_OFFSET, (Py_UCS4)kind); }

static PyObject *ngrams(PyObject *self, PyObject *args) {
    PyObject *text;
    unsigned long buckets;
    unsigned long placeholder = 0;
    if (!PyArg_ParseTuple(args, "Uk|k", &text, &buckets, &placeholder)) return NULL;
    if (buckets == 0 || (buckets & (buckets - 1)) != 0 || buckets > (1ul << 31)) {
        PyErr_SetString(PyExc_ValueError, "buckets must be a power of two up to 2**31");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (n > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "text too long for int32 offsets");
        return NULL;
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    int32_t *real = NULL;
    if (placeholder != 0) {
        /* a word character: an ASCII letter or digit, or any non-ASCII code point but the
         * placeholder (n-grams only start and end on word characters, so counting all of
         * non-ASCII misreads only punctuation inside a span) */
        real = PyMem_Malloc((size_t)(n + 1) * sizeof(int32_t));
        if (real == NULL) return PyErr_NoMemory();
        real[0] = 0;
        for (Py_ssize_t k = 0; k < n; k++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, k);
            int word = c < 128 ? ((c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z'))
                               : c != (Py_UCS4)placeholder;
            real[k + 1] = real[k] + word;
        }
    }
    Out o = {NULL, NULL, NULL, 0, 0, (uint32_t)(buckets - 1), real};
    Py_ssize_t prev_start = -1, prev_end = -1; /* the previous word, for bigrams */
    Py_ssize_t i = 0;
    while (i < n) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (is_cjk(c)) {
            Py_ssize_t j = i;
            while (j < n && is_cjk(PyUnicode_READ(kind, data, j))) j++;
            for (Py_ssize_t a = i; a < j; a++) {
                uint64_t h = begin(4);
                for (Py_ssize_t k = 0; k < 3 && a + k < j; k++) {
                    h = mix(h, PyUnicode_READ(kind, data, a + k));
                    if (emit(&o, h, a, a + k + 1) < 0) goto fail;
                }
            }
            i = j;
            continue;
        }
        if (!Py_UNICODE_ISALNUM(c)) {
            i++;
            continue;
        }
        Py_ssize_t j = i;
        while (j < n) {
            Py_UCS4 d = PyUnicode_READ(kind, data, j);
            if (is_cjk(d) || !Py_UNICODE_ISALNUM(d)) break;
            j++;
        }
        /* the word [i, j) */
        uint64_t h = begin(1);
        for (Py_ssize_t k = i; k < j; k++) h = mix(h, PyUnicode_READ(kind, data, k));
        if (emit(&o, h, i, j) < 0) goto fail;
        if (prev_start >= 0) {
            uint64_t b = begin(2);
            for (Py_ssize_t k = prev_start; k < prev_end; k++)
                b = mix(b, PyUnicode_READ(kind, data, k));
            b = mix(b, ' ');
            for (Py_ssize_t k = i; k < j; k++) b = mix(b, PyUnicode_READ(kind, data, k));
            if (emit(&o, b, prev_start, j) < 0) goto fail;
        }
        prev_start = i;
        prev_end = j;
        /* character n-grams of <word>: framed positions 0..m+1, m = min(len, 24) */
        Py_ssize_t m = j - i < MAX_WORD_GRAMS ? j - i : MAX_WORD_GRAMS;
        Py_ssize_t framed = m + 2;
        for (Py_ssize_t g = 3; g <= 5; g++) {
            for (Py_ssize_t a = 0; a + g <= framed; a++) {
                uint64_t x = begin(3);
                for (Py_ssize_t k = a; k < a + g; k++) {
                    Py_UCS4 ch = k == 0 ? '<' : (k == m + 1 ? '>' : PyUnicode_READ(kind, data, i + k - 1));
                    x = mix(x, ch);
                }
                Py_ssize_t s = i + (a == 0 ? 0 : a - 1);
                Py_ssize_t e = i + (a + g - 1 > m ? m : a + g - 1);
                if (emit(&o, x, s, e) < 0) goto fail;
            }
        }
        i = j;
    }
    PyObject *ids = PyBytes_FromStringAndSize((const char *)o.ids, o.len * (Py_ssize_t)sizeof(uint32_t));
    PyObject *starts = PyBytes_FromStringAndSize((const char *)o.starts, o.len * (Py_ssize_t)sizeof(int32_t));
    PyObject *ends = PyBytes_FromStringAndSize((const char *)o.ends, o.len * (Py_ssize_t)sizeof(int32_t));
    PyMem_Free(o.ids);
    PyMem_Free(o.starts);
    PyMem_Free(o.ends);
    PyMem_Free(real);
    if (ids == NULL || starts == NULL || ends == NULL) {
        Py_XDECREF(ids);
        Py_XDECREF(starts);
        Py_XDECREF(ends);
        return NULL;
    }
    return Py_BuildValue("(NNN)", ids, starts, ends);
fail:
    PyMem_Free(o.ids);
    PyMem_Free(o.starts);
    PyMem_Free(o.ends);
    PyMem_Free(real);
    return PyErr_NoMemory();
}

/* vector(ids) -> (cols, vals, first): the sparse feature vector of n-gram occurrences (uint32
 * ids): each distinct id once, in order of first occurrence (uint32), its value
 * 1 + log(count) normalised to unit length (float32), and the index of its first occurrence
 * (int32). An open-addressing table twice the number of occurrences. */
static PyObject *vector(PyObject *self, PyObject *args) {
    Py_buffer buf;
    if (!PyArg_ParseTuple(args, "y*", &buf)) return NULL;
    Py_ssize_t n = buf.len / (Py_ssize_t)sizeof(uint32_t);
    const uint32_t *ids = buf.buf;
    Py_ssize_t size = 16;
    while (size < 2 * n) size <<= 1;
    int32_t *slot = PyMem_Malloc(sizeof(int32_t) * (size_t)size); /* -1 or index into out */
    uint32_t *cols = PyMem_Malloc(sizeof(uint32_t) * (size_t)(n + 1));
    uint32_t *count = PyMem_Malloc(sizeof(uint32_t) * (size_t)(n + 1));
    int32_t *first = PyMem_Malloc(sizeof(int32_t) * (size_t)(n + 1));
    float *vals = PyMem_Malloc(sizeof(float) * (size_t)(n + 1));
    PyObject *result = NULL;
    if (!slot || !cols || !count || !first || !vals) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < size; i++) slot[i] = -1;
    Py_ssize_t m = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint32_t id = ids[i];
        Py_ssize_t h = (Py_ssize_t)((id * 2654435761u) & (uint32_t)(size - 1));
        while (slot[h] >= 0 && cols[slot[h]] != id) h = (h + 1) & (size - 1);
        if (slot[h] < 0) {
            slot[h] = (int32_t)m;
            cols[m] = id;
            count[m] = 1;
            first[m] = (int32_t)i;
            m++;
        } else {
            count[slot[h]]++;
        }
    }
    double norm = 0.0;
    for (Py_ssize_t k = 0; k < m; k++) {
        double v = 1.0 + log((double)count[k]);
        vals[k] = (float)v;
        norm += v * v;
    }
    norm = norm > 0 ? sqrt(norm) : 1.0;
    for (Py_ssize_t k = 0; k < m; k++) vals[k] = (float)(vals[k] / norm);
    result = Py_BuildValue("(y#y#y#)", (const char *)cols, m * (Py_ssize_t)sizeof(uint32_t),
                           (const char *)vals, m * (Py_ssize_t)sizeof(float),
                           (const char *)first, m * (Py_ssize_t)sizeof(int32_t));
done:
    PyMem_Free(slot);
    PyMem_Free(cols);
    PyMem_Free(count);
    PyMem_Free(first);
    PyMem_Free(vals);
    PyBuffer_Release(&buf);
    return result;
}

/* A finite half-precision float (IEEE 754 binary16, as numpy's float16 stores it) as a float,
 * exactly: its exponent and mantissa bits moved into a float's places read 2**-112 times the
 * value (zero and subnormals included), so one multiplication rescales it. The model loader
 * refuses weights that are not finite. */
static inline float half_to_float(uint16_t h) {
    uint32_t bits = (uint32_t)(h & 0x7fffu) << 13;
    float f;
    memcpy(&f, &bits, sizeof f);
    f *= 0x1p112f;
    memcpy(&bits, &f, sizeof bits);
    bits |= (uint32_t)(h & 0x8000u) << 16;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* margins(cols, vals, matrix, bias) -> float64 bytes: for each head r, bias[r] + sum over k of
 * matrix[cols[k], r] * vals[k] (cols uint32, vals float32, matrix float16 laid out buckets x
 * heads so that one n-gram's weights for every head share a cache line, bias float64 per head):
 * every classifier head scored in one pass, no copies. The weights stay in half precision, as
 * they are stored: half the memory of float32, so more of them stay in the cache. */
static PyObject *margins(PyObject *self, PyObject *args) {
    Py_buffer cb, vb, mb, bb;
    if (!PyArg_ParseTuple(args, "y*y*y*y*", &cb, &vb, &mb, &bb)) return NULL;
    PyObject *result = NULL;
    Py_ssize_t n = cb.len / (Py_ssize_t)sizeof(uint32_t);
    Py_ssize_t rows = bb.len / (Py_ssize_t)sizeof(double);
    Py_ssize_t buckets = rows ? mb.len / (Py_ssize_t)sizeof(uint16_t) / rows : 0;
    if (vb.len != n * (Py_ssize_t)sizeof(float) || rows == 0 ||
        mb.len != rows * buckets * (Py_ssize_t)sizeof(uint16_t)) {
        PyErr_SetString(PyExc_ValueError, "margins: arrays do not fit together");
        goto done;
    }
    const uint32_t *cols = cb.buf;
    const float *vals = vb.buf;
    const uint16_t *m = mb.buf;
    const double *bias = bb.buf;
    double out[64];
    if (rows > 64) {
        PyErr_SetString(PyExc_ValueError, "margins: at most 64 heads");
        goto done;
    }
    for (Py_ssize_t r = 0; r < rows; r++) out[r] = bias[r];
#if defined(__GNUC__)
    /* the rows are scattered over megabytes: ask for all of them before reading any, so that
     * their cache misses overlap instead of following one another */
    for (Py_ssize_t k = 0; k < n; k++)
        if ((Py_ssize_t)cols[k] < buckets) __builtin_prefetch(m + (Py_ssize_t)cols[k] * rows);
#endif
    for (Py_ssize_t k = 0; k < n; k++) {
        if ((Py_ssize_t)cols[k] >= buckets) continue;
        const uint16_t *w = m + (Py_ssize_t)cols[k] * rows;
        double v = (double)vals[k];
        for (Py_ssize_t r = 0; r < rows; r++) out[r] += (double)half_to_float(w[r]) * v;
    }
    result = PyBytes_FromStringAndSize((const char *)out, rows * (Py_ssize_t)sizeof(double));
done:
    PyBuffer_Release(&cb);
    PyBuffer_Release(&vb);
    PyBuffer_Release(&mb);
    PyBuffer_Release(&bb);
    return result;
}

/* langid(text_utf8, nextmove, out_offsets, out_feats, ptc, pc, scratch) -> (class, probability)
 *
 * py3langid's naive Bayes language identifier (Lui & Baldwin's langid.py) without its
 * per-byte Python loop: the bytes walk the byte-n-gram automaton (nextmove: uint16,
 * states x 256), each state adds the features listed for it (out_offsets: int32, states + 1;
 * out_feats: int32), and each class's log-probability is pc[c] + sum over features of
 * count * ptc[f * classes + c]. The probability is that of the best class after
 * normalising (1 / sum_j exp(pd[j] - pd[best]), as py3langid's norm_probs). scratch: a
 * writable uint16 buffer of one count per feature, all zero, left zero. */
static PyObject *langid(PyObject *self, PyObject *args) {
    Py_buffer text, nm, off, feats, ptc, pc, scratch;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*w*", &text, &nm, &off, &feats, &ptc, &pc, &scratch))
        return NULL;
    PyObject *result = NULL;
    const uint8_t *bytes = text.buf;
    const uint16_t *nextmove = nm.buf;
    const int32_t *offsets = off.buf;
    const int32_t *flist = feats.buf;
    const float *w = ptc.buf;
    const float *prior = pc.buf;
    uint16_t *count = scratch.buf;
    Py_ssize_t states = nm.len / (Py_ssize_t)(256 * sizeof(uint16_t));
    Py_ssize_t classes = pc.len / (Py_ssize_t)sizeof(float);
    Py_ssize_t nfeats = scratch.len / (Py_ssize_t)sizeof(uint16_t);
    if (classes <= 0 || ptc.len != nfeats * classes * (Py_ssize_t)sizeof(float) ||
        off.len != (states + 1) * (Py_ssize_t)sizeof(int32_t)) {
        PyErr_SetString(PyExc_ValueError, "langid: model arrays do not fit together");
        goto done;
    }
    int32_t *touched = PyMem_Malloc(sizeof(int32_t) * (size_t)(text.len * 4 + 16));
    double *pd = PyMem_Malloc(sizeof(double) * (size_t)classes);
    if (touched == NULL || pd == NULL) {
        PyMem_Free(touched);
        PyMem_Free(pd);
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t nt = 0, cap = text.len * 4 + 16;
    uint32_t state = 0;
    for (Py_ssize_t i = 0; i < text.len; i++) {
        state = nextmove[((Py_ssize_t)state << 8) + bytes[i]];
        if ((Py_ssize_t)state >= states) continue;
        for (int32_t k = offsets[state]; k < offsets[state + 1]; k++) {
            int32_t f = flist[k];
            if (f < 0 || f >= nfeats) continue;
            if (count[f] == 0) {
                if (nt == cap) {
                    cap *= 2;
                    int32_t *t = PyMem_Realloc(touched, sizeof(int32_t) * (size_t)cap);
                    if (t == NULL) {
                        for (Py_ssize_t j = 0; j < nt; j++) count[touched[j]] = 0;
                        PyMem_Free(touched);
                        PyMem_Free(pd);
                        PyErr_NoMemory();
                        goto done;
                    }
                    touched = t;
                }
                touched[nt++] = f;
#if defined(__GNUC__)
                /* the feature's row of class weights, wanted once the walk is done: fetched
                 * while the walk goes on (its cache miss overlaps the walk's) */
                for (Py_ssize_t c = 0; c < classes; c += 16) __builtin_prefetch(w + f * classes + c);
#endif
            }
            if (count[f] < 65535) count[f]++;
        }
    }
    /* float32 sums, as py3langid's numpy dot computes them (and vectorised by the compiler) */
    float *acc = PyMem_Malloc(sizeof(float) * (size_t)classes);
    if (acc == NULL) {
        for (Py_ssize_t j = 0; j < nt; j++) count[touched[j]] = 0;
        PyMem_Free(touched);
        PyMem_Free(pd);
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t c = 0; c < classes; c++) acc[c] = 0.0f;
    for (Py_ssize_t j = 0; j < nt; j++) {
        int32_t f = touched[j];
        float n = (float)count[f];
        const float *row = w + (Py_ssize_t)f * classes;
        for (Py_ssize_t c = 0; c < classes; c++) acc[c] += n * row[c];
        count[f] = 0;
    }
    for (Py_ssize_t c = 0; c < classes; c++) pd[c] = (double)acc[c];
    PyMem_Free(acc);
    Py_ssize_t best = 0;
    for (Py_ssize_t c = 0; c < classes; c++) {
        pd[c] += (double)prior[c];
        if (pd[c] > pd[best]) best = c;
    }
    double total = 0.0;
    for (Py_ssize_t c = 0; c < classes; c++) total += exp(pd[c] - pd[best]);
    result = Py_BuildValue("(nd)", best, 1.0 / total);
    PyMem_Free(touched);
    PyMem_Free(pd);
done:
    PyBuffer_Release(&text);
    PyBuffer_Release(&nm);
    PyBuffer_Release(&off);
    PyBuffer_Release(&feats);
    PyBuffer_Release(&ptc);
    PyBuffer_Release(&pc);
    PyBuffer_Release(&scratch);
    return result;
}

static PyMethodDef methods[] = {
    {"ngrams", ngrams, METH_VARARGS,
     "ngrams(text, buckets[, placeholder]) -> (uint32 ids, int32 starts, int32 ends) of hashed "
     "n-grams."},
    {"vector", vector, METH_VARARGS,
     "vector(uint32 ids) -> (uint32 cols, float32 vals, int32 first): the unit feature vector."},
    {"margins", margins, METH_VARARGS,
     "margins(cols, vals, matrix, bias) -> float64 per head: bias + weights . vector."},
    {"langid", langid, METH_VARARGS,
     "langid(utf8, nextmove, offsets, feats, ptc, pc, scratch) -> (class index, probability)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "winnow._features", "Hashed n-gram features for text classifiers.",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__features(void) { return PyModule_Create(&module); }
