/* PDQ perceptual hashes of RGB pixels, bit for bit those of python-threatexchange (pdqhash).
 *
 * The algorithm is Meta's PDQ (ThreatExchange, pdq/README.md and the hashing paper): luminance,
 * two passes each of row and column box filters ("Jarosz" filters, window 1/128 of the side),
 * decimation to 64x64, the 16x16 low-frequency block of a 2D DCT, and one bit per coefficient:
 * above the median or not. Quality counts significant gradients of the 64x64 image.
 *
 * Why Winnow computes it itself: pdqhash converts pixels to luminance with three full-size float64
 * numpy temporaries and walks each column of the full-size image with a row-sized stride; on a
 * 1080p photo that is 30 ms, half of the time budget of a whole image scan. Here the luminance is
 * fused into the first row pass, the column filters run row by row over a vector of running sums
 * (each column sees exactly the same float operations in the same order, so the result is
 * bit-identical), and the full-size buffers are reused between calls.
 *
 * Bit-exactness rests on doing every float operation in the reference's order and precision: the
 * luminance in double (as numpy evaluates r*0.299 + g*0.587 + b*0.114) rounded once to float, the
 * box sums in float, no fused multiply-add (built with -ffp-contract=off). The test suite checks
 * equality with pdqhash on Meta's reference images and on random images of many shapes.
 *
 * Scratch buffers are static and grow only; like the rest of Winnow's C core this relies on the
 * GIL being held throughout.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MIN_HASHABLE_DIM 5
#define JAROSZ_PASSES 2

static float *buf1, *buf2, *sums;
static size_t buf_cap, sums_cap;
static float dct[16][64];
static int dct_ready;

static int reserve(size_t pixels, size_t cols) {
    if (pixels > buf_cap) {
        float *a = realloc(buf1, pixels * sizeof(float));
        if (a == NULL) return -1;
        buf1 = a;
        float *b = realloc(buf2, pixels * sizeof(float));
        if (b == NULL) return -1;
        buf2 = b;
        buf_cap = pixels;
    }
    if (cols > sums_cap) {
        float *s = realloc(sums, cols * sizeof(float));
        if (s == NULL) return -1;
        sums = s;
        sums_cap = cols;
    }
    return 0;
}

static void init_dct(void) {
    const float scale = (float)sqrt(2.0 / 64.0);
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 64; j++)
            dct[i][j] = (float)(scale * cos((M_PI / 2.0 / 64.0) * (i + 1) * (2 * j + 1)));
    dct_ready = 1;
}

static int window_size(int old_dim) { return (old_dim + 2 * 64 - 1) / (2 * 64); }

/* One box filter along a line of n floats (stride 1): the reference's four phases. */
static void box_line(const float *in, float *out, int n, int window) {
    int half = (window + 2) / 2;
    int p1 = half - 1, p2 = window - half + 1, p3 = n - window, p4 = half - 1;
    int li = 0, ri = 0, oi = 0, count = 0;
    float sum = 0.0f;
    for (int i = 0; i < p1; i++) { sum += in[ri++]; count++; }
    for (int i = 0; i < p2; i++) { sum += in[ri++]; count++; out[oi++] = sum / count; }
    for (int i = 0; i < p3; i++) { sum += in[ri++]; sum -= in[li++]; out[oi++] = sum / count; }
    for (int i = 0; i < p4; i++) { sum -= in[li++]; count--; out[oi++] = sum / count; }
}

/* The same filter down every column at once: row by row, one running sum per column. */
static void box_columns(const float *in, float *out, int rows, int cols, int window) {
    int half = (window + 2) / 2;
    int p1 = half - 1, p2 = window - half + 1, p3 = rows - window, p4 = half - 1;
    int li = 0, ri = 0, oi = 0, count = 0;
    float *s = sums;
    memset(s, 0, (size_t)cols * sizeof(float));
    for (int i = 0; i < p1; i++, ri++, count++) {
        const float *r = in + (size_t)ri * cols;
        for (int j = 0; j < cols; j++) s[j] += r[j];
    }
    for (int i = 0; i < p2; i++, ri++, oi++) {
        const float *r = in + (size_t)ri * cols;
        float *o = out + (size_t)oi * cols;
        count++;
        const float c = (float)count;
        for (int j = 0; j < cols; j++) { s[j] += r[j]; o[j] = s[j] / c; }
    }
    const float c = (float)count;
    for (int i = 0; i < p3; i++, ri++, li++, oi++) {
        const float *r = in + (size_t)ri * cols, *l = in + (size_t)li * cols;
        float *o = out + (size_t)oi * cols;
        for (int j = 0; j < cols; j++) { s[j] += r[j]; s[j] -= l[j]; o[j] = s[j] / c; }
    }
    for (int i = 0; i < p4; i++, li++, oi++) {
        const float *l = in + (size_t)li * cols;
        float *o = out + (size_t)oi * cols;
        count--;
        const float cc = (float)count;
        for (int j = 0; j < cols; j++) { s[j] -= l[j]; o[j] = s[j] / cc; }
    }
}

/* RGB (or grey, channels == 1) pixels to a 64x64 blurred, decimated luminance image. */
static void downsample(const uint8_t *px, int rows, int cols, int channels, float out[64][64]) {
    int wr = window_size(cols), wc = window_size(rows);
    float *line = buf2; /* first row pass: luminance of one row, then its box filter into buf1 */
    for (int i = 0; i < rows; i++) {
        const uint8_t *p = px + (size_t)i * cols * channels;
        if (channels == 3) {
            for (int j = 0; j < cols; j++, p += 3) {
                double y = (double)p[0] * 0.299 + (double)p[1] * 0.587;
                y += (double)p[2] * 0.114;
                line[j] = (float)y;
            }
        } else {
            for (int j = 0; j < cols; j++)
                line[j] = (float)((double)p[j] * 0.299 + (double)p[j] * 0.587 + (double)p[j] * 0.114);
        }
        box_line(line, buf1 + (size_t)i * cols, cols, wr);
    }
    box_columns(buf1, buf2, rows, cols, wc);
    for (int rep = 1; rep < JAROSZ_PASSES; rep++) {
        for (int i = 0; i < rows; i++)
            box_line(buf2 + (size_t)i * cols, buf1 + (size_t)i * cols, cols, wr);
        box_columns(buf1, buf2, rows, cols, wc);
    }
    for (int oi = 0; oi < 64; oi++) {
        int ii = (int)(((oi + 0.5) * rows) / 64);
        for (int oj = 0; oj < 64; oj++) {
            int jj = (int)(((oj + 0.5) * cols) / 64);
            out[oi][oj] = buf2[(size_t)ii * cols + jj];
        }
    }
}

static int quality_of(float a[64][64]) {
    int sum = 0;
    for (int i = 0; i < 63; i++)
        for (int j = 0; j < 64; j++) {
            int d = (int)(((a[i][j] - a[i + 1][j]) * 100) / 255);
            sum += abs(d);
        }
    for (int i = 0; i < 64; i++)
        for (int j = 0; j < 63; j++) {
            int d = (int)(((a[i][j] - a[i][j + 1]) * 100) / 255);
            sum += abs(d);
        }
    int q = sum / 90;
    return q > 100 ? 100 : q;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* B = D A D^T (16x16), summed in the reference's order. */
static void dct_of(float a[64][64], float b[256]) {
    float t[16][64];
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 64; j++) {
            float s = 0.0f;
            for (int k = 0; k < 64; k++) s += dct[i][k] * a[k][j];
            t[i][j] = s;
        }
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++) {
            float s = 0.0f;
            for (int k = 0; k < 64; k++) s += t[i][k] * dct[j][k];
            b[i * 16 + j] = s;
        }
}

/* Bits above the median, big-endian hex order: byte 0 holds coefficients 255..248. */
static void bits_of(const float b[256], uint8_t out[32]) {
    float sorted[256];
    memcpy(sorted, b, sizeof sorted);
    qsort(sorted, 256, sizeof(float), cmp_float);
    float median = sorted[127]; /* Torben's median of 256 values: the 128th smallest */
    memset(out, 0, 32);
    for (int k = 0; k < 256; k++)
        if (b[k] > median) out[31 - k / 8] |= (uint8_t)(1u << (k % 8));
}

/* The coefficients of the seven other dihedral transforms of the image (in the reference's
 * order: rotated 90 degrees counter-clockwise, 180, 90 clockwise, flipped top-bottom, mirrored
 * left-right, transposed, anti-transposed; checked against pixel transforms) follow from
 * the original's without another DCT: mirroring an axis negates that axis's odd-frequency terms
 * (cos(pi * u * (2 * (63 - x) + 1) / 128) = (-1)^u cos(pi * u * (2x + 1) / 128), and row i holds
 * frequency u = i + 1), and swapping the axes transposes the block. */
static void dihedral_of(const float a[256], int transform, float out[256]) {
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++) {
            float v = a[i * 16 + j];
            int neg_i = (i & 1) == 0, neg_j = (j & 1) == 0; /* even i: odd frequency */
            switch (transform) {
            case 1: out[j * 16 + i] = neg_j ? -v : v; break;            /* rotate 90 ccw */
            case 2: out[i * 16 + j] = (neg_i ^ neg_j) ? -v : v; break;  /* rotate 180 */
            case 3: out[j * 16 + i] = neg_i ? -v : v; break;            /* rotate 90 cw */
            case 4: out[i * 16 + j] = neg_i ? -v : v; break;            /* flip top-bottom */
            case 5: out[i * 16 + j] = neg_j ? -v : v; break;            /* mirror left-right */
            case 6: out[j * 16 + i] = v; break;                         /* transpose */
            case 7: out[j * 16 + i] = (neg_i ^ neg_j) ? -v : v; break;  /* anti-transpose */
            default: out[i * 16 + j] = v;
            }
        }
}

/* Parse (pixels, rows, cols, channels) and hash: the first `variants` dihedral hashes (1: the
 * plain hash; 8: all). Returns (hashes bytes, quality). */
static PyObject *hash_variants(PyObject *args, int variants) {
    Py_buffer view;
    int rows, cols, channels;
    if (!PyArg_ParseTuple(args, "y*iii", &view, &rows, &cols, &channels)) return NULL;
    if ((channels != 1 && channels != 3) || rows < 0 || cols < 0 ||
        view.len != (Py_ssize_t)rows * cols * channels) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "pixels must be rows x cols x channels (1 or 3) bytes");
        return NULL;
    }
    uint8_t hashes[8][32];
    memset(hashes, 0, sizeof hashes);
    int quality = 0;
    if (rows >= MIN_HASHABLE_DIM && cols >= MIN_HASHABLE_DIM) {
        if (reserve((size_t)rows * cols, (size_t)cols) < 0) {
            PyBuffer_Release(&view);
            return PyErr_NoMemory();
        }
        if (!dct_ready) init_dct();
        float small[64][64], b[256], d[256];
        downsample((const uint8_t *)view.buf, rows, cols, channels, small);
        quality = quality_of(small);
        dct_of(small, b);
        for (int t = 0; t < variants; t++) {
            dihedral_of(b, t, d);
            bits_of(d, hashes[t]);
        }
    }
    PyBuffer_Release(&view);
    return Py_BuildValue("(y#i)", (const char *)hashes, (Py_ssize_t)(32 * variants), quality);
}

static PyObject *pdq_hash(PyObject *self, PyObject *args) { return hash_variants(args, 1); }

static PyObject *pdq_dihedral(PyObject *self, PyObject *args) { return hash_variants(args, 8); }

static PyMethodDef methods[] = {
    {"hash", pdq_hash, METH_VARARGS,
     "hash(pixels, rows, cols, channels) -> (32-byte PDQ hash, quality 0..100)"},
    {"dihedral", pdq_dihedral, METH_VARARGS,
     "dihedral(pixels, rows, cols, channels) -> (8 PDQ hashes of 32 bytes: original, rotated "
     "90 ccw, 180, 90 cw, flipped top-bottom, mirrored, transposed, anti-transposed; "
     "quality), in the order of the reference's dihedral hashes"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_pdq", NULL, -1, methods};

PyMODINIT_FUNC PyInit__pdq(void) { return PyModule_Create(&module); }
