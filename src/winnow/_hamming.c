/* Winnow's exact Hamming-radius index for 256-bit hashes (PDQ).
 *
 * Multi-index hashing (Norouzi, Punjani and Fleet, "Fast Exact Search in Hamming Space with
 * Multi-Index Hashing", 2014): the 256 bits are cut into m contiguous chunks. If two hashes are
 * within distance r, then by pigeonhole at least one chunk differs in at most floor(r / m) bits.
 * Each chunk has a table: rows sorted by that chunk's value (counting sort), with an offsets array
 * of 2^width + 1 entries. A lookup enumerates, for every chunk, each value within floor(r / m)
 * bits of the query's chunk, gathers the rows in those buckets, and checks each candidate's full
 * distance. Every row within r is a candidate of some table, so the result is exact; a row is
 * reported only by the first table that produced it, so it is reported once.
 *
 * An index with no tables scans every row (small indexes, and radii the tables cannot serve).
 *
 * Memory: 32 bytes per hash, 8 per key, 3 per row per table (row numbers are 24-bit, so one
 * index holds at most 2^24 - 1 rows; the Python side splits larger sets into segments), and
 * 4 * 2^width per table. Candidates are read with software prefetch: a lookup costs mostly
 * cache misses, and issuing them early lets them overlap. Large buffers are mmap-ed with
 * transparent huge pages advised, which removes most TLB misses on random reads.
 *
 * Bit order: bit 0 is the most significant bit of the first byte of the hash as stored (the
 * first hex digit), so chunks are ranges of hex digits.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define MAX_TABLES 64
#define MAX_ROWS ((int64_t)(1 << 24) - 1)
#define BLOCK 4096   /* candidates gathered before they are checked */
#define AHEAD 32     /* prefetch distance, in candidates or probes (24-40 measured best) */

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HOT __attribute__((target_clones("popcnt", "default")))
#else
#define HOT
#endif

typedef struct {
    PyObject_HEAD
    int64_t n;
    int m;
    int width[MAX_TABLES];
    int start[MAX_TABLES];
    uint64_t *hashes; /* n * 4 words; word k holds bytes 8k..8k+7, big-endian */
    int64_t *keys;
    uint32_t *offsets[MAX_TABLES];
    uint8_t *rows[MAX_TABLES]; /* n * 3 bytes + 1 byte of padding, little-endian row numbers */
    size_t sizes[2 + 2 * MAX_TABLES];
    int built;
} Index;

/* ---------------------------------------------------------------- memory */

static void *big_alloc(size_t size) {
    if (size == 0) size = 1;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
#ifdef MADV_HUGEPAGE
    if (size >= (2u << 20)) madvise(p, size, MADV_HUGEPAGE);
#endif
    return p;
}

static void big_free(void *p, size_t size) {
    if (p != NULL) munmap(p, size == 0 ? 1 : size);
}

/* ---------------------------------------------------------------- bits */

static inline uint64_t load_be64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
    return v;
}

static inline uint32_t chunk_of(const uint64_t *h, int start, int width) {
    int w = start >> 6, off = start & 63;
    uint64_t bits = h[w] << off;
    if (off != 0 && off + width > 64) bits |= h[w + 1] >> (64 - off);
    return (uint32_t)(bits >> (64 - width));
}

static inline uint32_t row_at(const uint8_t *rows, int64_t i) {
    const uint8_t *p = rows + 3 * i;
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16);
}

static inline int distance(const uint64_t *a, const uint64_t *b) {
    return __builtin_popcountll(a[0] ^ b[0]) + __builtin_popcountll(a[1] ^ b[1]) +
           __builtin_popcountll(a[2] ^ b[2]) + __builtin_popcountll(a[3] ^ b[3]);
}

/* ---------------------------------------------------------------- results */

typedef struct {
    int64_t *keys;
    uint8_t *dists;
    int64_t len, cap;
    int failed;
} Results;

static int results_push(Results *r, int64_t key, int d) {
    if (r->len == r->cap) {
        int64_t cap = r->cap ? 2 * r->cap : 256;
        int64_t *k = realloc(r->keys, (size_t)cap * sizeof(int64_t));
        if (k == NULL) return r->failed = -1;
        r->keys = k;
        uint8_t *dd = realloc(r->dists, (size_t)cap);
        if (dd == NULL) return r->failed = -1;
        r->dists = dd;
        r->cap = cap;
    }
    r->keys[r->len] = key;
    r->dists[r->len] = (uint8_t)d;
    r->len++;
    return 0;
}

/* ---------------------------------------------------------------- search */

typedef struct {
    uint32_t row;
    uint8_t table;
} Candidate;

/* Every value within `radius` bits of `value` (width bits), radius <= 3. */
static int neighbours(uint32_t value, int width, int radius, uint32_t *out) {
    int k = 0;
    out[k++] = value;
    if (radius >= 1)
        for (int a = 0; a < width; a++) {
            uint32_t va = value ^ (1u << a);
            out[k++] = va;
            if (radius >= 2)
                for (int b = a + 1; b < width; b++) {
                    uint32_t vb = va ^ (1u << b);
                    out[k++] = vb;
                    if (radius >= 3)
                        for (int c = b + 1; c < width; c++) out[k++] = vb ^ (1u << c);
                }
        }
    return k;
}

static int64_t probes_per_table(int width, int radius) {
    int64_t n = 1, c = 1;
    for (int i = 1; i <= radius; i++) {
        c = c * (width - i + 1) / i;
        n += c;
    }
    return n;
}

/* Report a candidate within the radius only from the first table whose chunk is within s. */
static inline int first_table(const Index *ix, const uint64_t *h, const uint32_t *qchunks, int s,
                              int table) {
    for (int t = 0; t < table; t++)
        if (__builtin_popcount(chunk_of(h, ix->start[t], ix->width[t]) ^ qchunks[t]) <= s) return 0;
    return 1;
}

HOT static int64_t check_block(const Index *ix, const uint64_t *q, const uint32_t *qchunks, int s,
                               int radius, const Candidate *cand, int64_t n, Results *out,
                               int64_t limit) {
    int64_t over = 0;
    for (int64_t i = 0; i < n; i++) {
        if (i + AHEAD < n) __builtin_prefetch(ix->hashes + 4 * (int64_t)cand[i + AHEAD].row);
        const uint64_t *h = ix->hashes + 4 * (int64_t)cand[i].row;
        int d = distance(h, q);
        if (d <= radius && first_table(ix, h, qchunks, s, cand[i].table)) {
            if (out->len >= limit) over++;
            else if (results_push(out, ix->keys[cand[i].row], d) < 0) return -1;
        }
    }
    return over;
}

HOT static int64_t scan_all(const Index *ix, const uint64_t *q, int radius, Results *out,
                            int64_t limit) {
    int64_t over = 0;
    for (int64_t i = 0; i < ix->n; i++) {
        int d = distance(ix->hashes + 4 * i, q);
        if (d <= radius) {
            if (out->len >= limit) over++;
            else if (results_push(out, ix->keys[i], d) < 0) return -1;
        }
    }
    return over;
}

typedef struct {
    uint32_t *probes;
    uint8_t *probe_table;
    Candidate *cand;
    int64_t probe_cap;
} Scratch;

static void scratch_free(Scratch *sc) {
    free(sc->probes);
    free(sc->probe_table);
    free(sc->cand);
}

/* One lookup. Returns the number of matches past `limit` (counted, not kept), or -1 on memory
 * failure. */
HOT static int64_t search_one(const Index *ix, const uint64_t *q, int radius, Results *out,
                              int64_t limit, Scratch *sc) {
    if (ix->n == 0) return 0;
    int s = ix->m ? radius / ix->m : 99;
    if (s > 3) return scan_all(ix, q, radius, out, limit);
    int64_t need = 0;
    for (int t = 0; t < ix->m; t++) need += probes_per_table(ix->width[t], s);
    if (need > sc->probe_cap) {
        free(sc->probes);
        free(sc->probe_table);
        sc->probes = malloc((size_t)need * sizeof(uint32_t));
        sc->probe_table = malloc((size_t)need);
        sc->probe_cap = need;
        if (sc->probes == NULL || sc->probe_table == NULL) {
            sc->probe_cap = 0;
            return -1;
        }
    }
    if (sc->cand == NULL && (sc->cand = malloc(BLOCK * sizeof(Candidate))) == NULL) return -1;
    uint32_t qchunks[MAX_TABLES];
    int64_t np = 0;
    for (int t = 0; t < ix->m; t++) {
        qchunks[t] = chunk_of(q, ix->start[t], ix->width[t]);
        int k = neighbours(qchunks[t], ix->width[t], s, sc->probes + np);
        memset(sc->probe_table + np, t, (size_t)k);
        np += k;
    }
    int64_t nc = 0, over = 0;
    /* Two prefetch stages: a probe's offsets 2 * AHEAD probes early, then its first rows
     * AHEAD probes early (once its offsets have arrived). */
    for (int64_t p = 0; p < np; p++) {
        if (p + 2 * AHEAD < np)
            __builtin_prefetch(ix->offsets[sc->probe_table[p + 2 * AHEAD]] +
                               sc->probes[p + 2 * AHEAD]);
        if (p + AHEAD < np) {
            int ta = sc->probe_table[p + AHEAD];
            __builtin_prefetch(ix->rows[ta] + 3 * (int64_t)ix->offsets[ta][sc->probes[p + AHEAD]]);
        }
        int t = sc->probe_table[p];
        const uint32_t *off = ix->offsets[t];
        uint32_t lo = off[sc->probes[p]], hi = off[sc->probes[p] + 1];
        const uint8_t *rows = ix->rows[t];
        for (uint32_t i = lo; i < hi; i++) {
            if (nc == BLOCK) {
                int64_t o = check_block(ix, q, qchunks, s, radius, sc->cand, nc, out, limit);
                if (o < 0) return -1;
                over += o;
                nc = 0;
            }
            sc->cand[nc].row = row_at(rows, i);
            sc->cand[nc].table = (uint8_t)t;
            nc++;
        }
    }
    int64_t o = check_block(ix, q, qchunks, s, radius, sc->cand, nc, out, limit);
    return o < 0 ? -1 : over + o;
}

/* ---------------------------------------------------------------- threads */

typedef struct {
    const Index *ix;
    const uint64_t *queries; /* k * 4 words */
    int64_t first, last;
    int radius;
    int64_t limit;
    Results res;
    uint32_t *counts; /* per query, shared array, disjoint ranges */
    int64_t *over;
    int failed;
} Job;

static void *run_job(void *arg) {
    Job *j = arg;
    Scratch sc = {0};
    for (int64_t i = j->first; i < j->last; i++) {
        int64_t before = j->res.len;
        int64_t o = search_one(j->ix, j->queries + 4 * i, j->radius, &j->res, before + j->limit, &sc);
        if (o < 0 || j->res.failed) {
            j->failed = 1;
            break;
        }
        j->counts[i] = (uint32_t)(j->res.len - before);
        j->over[i] = o;
    }
    scratch_free(&sc);
    return NULL;
}

/* ---------------------------------------------------------------- build */

typedef struct {
    Index *ix;
    int t;
    int failed;
} BuildJob;

static void *build_table(void *arg) {
    BuildJob *b = arg;
    Index *ix = b->ix;
    int t = b->t, width = ix->width[t], start = ix->start[t];
    uint32_t *off = ix->offsets[t];
    size_t nb = (size_t)1 << width;
    memset(off, 0, (nb + 1) * sizeof(uint32_t));
    for (int64_t i = 0; i < ix->n; i++) off[chunk_of(ix->hashes + 4 * i, start, width) + 1]++;
    for (size_t v = 0; v < nb; v++) off[v + 1] += off[v];
    uint32_t *cursor = malloc(nb * sizeof(uint32_t));
    if (cursor == NULL) {
        b->failed = 1;
        return NULL;
    }
    memcpy(cursor, off, nb * sizeof(uint32_t));
    uint8_t *rows = ix->rows[t];
    for (int64_t i = 0; i < ix->n; i++) {
        uint32_t pos = cursor[chunk_of(ix->hashes + 4 * i, start, width)]++;
        rows[3 * (int64_t)pos] = (uint8_t)i;
        rows[3 * (int64_t)pos + 1] = (uint8_t)(i >> 8);
        rows[3 * (int64_t)pos + 2] = (uint8_t)(i >> 16);
    }
    free(cursor);
    return NULL;
}

/* ---------------------------------------------------------------- the type */

static void Index_dealloc(Index *ix) {
    big_free(ix->hashes, ix->sizes[0]);
    big_free(ix->keys, ix->sizes[1]);
    for (int t = 0; t < ix->m; t++) {
        big_free(ix->offsets[t], ix->sizes[2 + 2 * t]);
        big_free(ix->rows[t], ix->sizes[3 + 2 * t]);
    }
    Py_TYPE(ix)->tp_free((PyObject *)ix);
}

/* Index(n, widths): empty buffers for n rows and one table per width (widths sum to 256, or
 * no widths for a scan-only index). Fill with build() or with load through buffers(). */
static PyObject *Index_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"n", "widths", NULL};
    Py_ssize_t n;
    PyObject *widths;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "nO", kwlist, &n, &widths)) return NULL;
    PyObject *seq = PySequence_Fast(widths, "widths must be a sequence of ints");
    if (seq == NULL) return NULL;
    Py_ssize_t m = PySequence_Fast_GET_SIZE(seq);
    if (n < 0 || n > MAX_ROWS) {
        Py_DECREF(seq);
        return PyErr_Format(PyExc_ValueError, "an index holds 0..%lld rows, not %zd",
                            (long long)MAX_ROWS, n);
    }
    if (m > MAX_TABLES) {
        Py_DECREF(seq);
        return PyErr_Format(PyExc_ValueError, "at most %d tables", MAX_TABLES);
    }
    int w[MAX_TABLES], total = 0;
    for (Py_ssize_t t = 0; t < m; t++) {
        long v = PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, t));
        if (v == -1 && PyErr_Occurred()) {
            Py_DECREF(seq);
            return NULL;
        }
        if (v < 1 || v > 28) {
            Py_DECREF(seq);
            return PyErr_Format(PyExc_ValueError, "table widths are 1..28 bits, not %ld", v);
        }
        w[t] = (int)v;
        total += (int)v;
    }
    Py_DECREF(seq);
    if (m > 0 && total != 256)
        return PyErr_Format(PyExc_ValueError, "table widths must sum to 256, not %d", total);
    Index *ix = (Index *)type->tp_alloc(type, 0);
    if (ix == NULL) return NULL;
    ix->n = n;
    ix->m = (int)m;
    ix->sizes[0] = (size_t)n * 32;
    ix->sizes[1] = (size_t)n * 8;
    ix->hashes = big_alloc(ix->sizes[0]);
    ix->keys = big_alloc(ix->sizes[1]);
    int ok = ix->hashes != NULL && ix->keys != NULL;
    for (int t = 0, start = 0; t < ix->m; start += w[t], t++) {
        ix->width[t] = w[t];
        ix->start[t] = start;
        ix->sizes[2 + 2 * t] = (((size_t)1 << w[t]) + 1) * sizeof(uint32_t);
        ix->sizes[3 + 2 * t] = (size_t)n * 3 + 1;
        ix->offsets[t] = big_alloc(ix->sizes[2 + 2 * t]);
        ix->rows[t] = big_alloc(ix->sizes[3 + 2 * t]);
        ok = ok && ix->offsets[t] != NULL && ix->rows[t] != NULL;
    }
    if (!ok) {
        Py_DECREF(ix);
        return PyErr_NoMemory();
    }
    return (PyObject *)ix;
}

static int check_count(Py_buffer *b, Py_ssize_t item, Py_ssize_t n, const char *what) {
    if (b->len != item * n) {
        PyErr_Format(PyExc_ValueError, "%s must be %zd bytes (%zd rows), not %zd", what, item * n,
                     n, b->len);
        return -1;
    }
    return 0;
}

/* build(hashes, keys): hashes is n * 32 bytes, keys n int64 (native order). */
static PyObject *Index_build(Index *ix, PyObject *args) {
    Py_buffer hb, kb;
    if (!PyArg_ParseTuple(args, "y*y*", &hb, &kb)) return NULL;
    if (check_count(&hb, 32, ix->n, "hashes") < 0 || check_count(&kb, 8, ix->n, "keys") < 0) {
        PyBuffer_Release(&hb);
        PyBuffer_Release(&kb);
        return NULL;
    }
    const uint8_t *src = hb.buf;
    for (int64_t i = 0; i < 4 * ix->n; i++) ix->hashes[i] = load_be64(src + 8 * i);
    memcpy(ix->keys, kb.buf, (size_t)ix->n * 8);
    PyBuffer_Release(&hb);
    PyBuffer_Release(&kb);
    BuildJob jobs[MAX_TABLES];
    pthread_t threads[MAX_TABLES];
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    /* two tables at a time: this machine class has two cores, and more only thrashes memory */
    for (int t0 = 0; t0 < ix->m; t0 += 2) {
        int started = 0;
        for (int t = t0; t < ix->m && t < t0 + 2; t++) {
            jobs[t] = (BuildJob){ix, t, 0};
            if (pthread_create(&threads[t], NULL, build_table, &jobs[t]) == 0) started |= 1 << (t - t0);
            else build_table(&jobs[t]);
        }
        for (int t = t0; t < ix->m && t < t0 + 2; t++) {
            if (started & (1 << (t - t0))) pthread_join(threads[t], NULL);
            failed |= jobs[t].failed;
        }
    }
    Py_END_ALLOW_THREADS
    if (failed) return PyErr_NoMemory();
    ix->built = 1;
    Py_RETURN_NONE;
}

/* search(queries, radius, limit, threads) -> (counts, keys, distances, over)
 * queries: k * 32 bytes. counts: k uint32, matches kept per query; keys: int64 per match, query
 * by query; distances: uint8 per match; over: k int64, matches past `limit` per query (counted,
 * not kept). The GIL is released throughout. */
static PyObject *Index_search(Index *ix, PyObject *args) {
    Py_buffer qb;
    int radius, nthreads;
    Py_ssize_t limit;
    if (!PyArg_ParseTuple(args, "y*ini", &qb, &radius, &limit, &nthreads)) return NULL;
    if (qb.len % 32 != 0) {
        PyBuffer_Release(&qb);
        PyErr_SetString(PyExc_ValueError, "queries must be 32 bytes each");
        return NULL;
    }
    if (radius < 0 || radius > 256 || limit < 0) {
        PyBuffer_Release(&qb);
        PyErr_SetString(PyExc_ValueError, "radius must be 0..256 and limit >= 0");
        return NULL;
    }
    if (!ix->built) {
        PyBuffer_Release(&qb);
        PyErr_SetString(PyExc_RuntimeError, "the index has not been built or loaded");
        return NULL;
    }
    int64_t k = qb.len / 32;
    uint64_t *queries = malloc((size_t)(k ? k : 1) * 32);
    uint32_t *counts = malloc((size_t)(k ? k : 1) * sizeof(uint32_t));
    int64_t *over = malloc((size_t)(k ? k : 1) * sizeof(int64_t));
    if (queries == NULL || counts == NULL || over == NULL) {
        free(queries);
        free(counts);
        free(over);
        PyBuffer_Release(&qb);
        return PyErr_NoMemory();
    }
    for (int64_t i = 0; i < 4 * k; i++) queries[i] = load_be64((const uint8_t *)qb.buf + 8 * i);
    PyBuffer_Release(&qb);
    if (nthreads < 1) nthreads = 1;
    if (nthreads > 64) nthreads = 64;
    if (nthreads > k) nthreads = k > 0 ? (int)k : 1;
    Job jobs[64];
    pthread_t threads[64];
    int started[64] = {0};
    Py_BEGIN_ALLOW_THREADS
    for (int j = 0; j < nthreads; j++) {
        jobs[j] = (Job){ix, queries, k * j / nthreads, k * (j + 1) / nthreads, radius, limit,
                        {0}, counts, over, 0};
        if (j > 0) started[j] = pthread_create(&threads[j], NULL, run_job, &jobs[j]) == 0;
        if (j > 0 && !started[j]) run_job(&jobs[j]);
    }
    run_job(&jobs[0]);
    for (int j = 1; j < nthreads; j++)
        if (started[j]) pthread_join(threads[j], NULL);
    Py_END_ALLOW_THREADS
    free(queries);
    int failed = 0;
    int64_t total = 0;
    for (int j = 0; j < nthreads; j++) {
        failed |= jobs[j].failed;
        total += jobs[j].res.len;
    }
    PyObject *result = NULL;
    if (failed) {
        PyErr_NoMemory();
    } else {
        PyObject *kc = PyBytes_FromStringAndSize((const char *)counts, (Py_ssize_t)k * 4);
        PyObject *kk = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)total * 8);
        PyObject *kd = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)total);
        PyObject *ko = PyBytes_FromStringAndSize((const char *)over, (Py_ssize_t)k * 8);
        if (kc && kk && kd && ko) {
            char *pk = PyBytes_AS_STRING(kk), *pd = PyBytes_AS_STRING(kd);
            for (int j = 0; j < nthreads; j++) {
                memcpy(pk, jobs[j].res.keys, (size_t)jobs[j].res.len * 8);
                memcpy(pd, jobs[j].res.dists, (size_t)jobs[j].res.len);
                pk += jobs[j].res.len * 8;
                pd += jobs[j].res.len;
            }
            result = PyTuple_Pack(4, kc, kk, kd, ko);
        }
        Py_XDECREF(kc);
        Py_XDECREF(kk);
        Py_XDECREF(kd);
        Py_XDECREF(ko);
    }
    for (int j = 0; j < nthreads; j++) {
        free(jobs[j].res.keys);
        free(jobs[j].res.dists);
    }
    free(counts);
    free(over);
    return result;
}

/* buffers() -> list of writable memoryviews over the index's arrays, in file order: hashes
 * (n * 4 big-endian-loaded uint64 words, native order), keys, then per table its offsets and its
 * rows. Used to save and load; the views must not outlive the index. */
static PyObject *Index_buffers(Index *ix, PyObject *Py_UNUSED(args)) {
    PyObject *list = PyList_New(0);
    if (list == NULL) return NULL;
    void *ptrs[2 + 2 * MAX_TABLES];
    ptrs[0] = ix->hashes;
    ptrs[1] = ix->keys;
    for (int t = 0; t < ix->m; t++) {
        ptrs[2 + 2 * t] = ix->offsets[t];
        ptrs[3 + 2 * t] = ix->rows[t];
    }
    for (int i = 0; i < 2 + 2 * ix->m; i++) {
        PyObject *v = PyMemoryView_FromMemory(ptrs[i], (Py_ssize_t)ix->sizes[i], PyBUF_WRITE);
        if (v == NULL || PyList_Append(list, v) < 0) {
            Py_XDECREF(v);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(v);
    }
    return list;
}

static PyObject *Index_mark_built(Index *ix, PyObject *Py_UNUSED(args)) {
    ix->built = 1;
    Py_RETURN_NONE;
}

/* hashes() -> n * 32 bytes, as given to build(). */
static PyObject *Index_hashes(Index *ix, PyObject *Py_UNUSED(args)) {
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)ix->n * 32);
    if (out == NULL) return NULL;
    uint8_t *p = (uint8_t *)PyBytes_AS_STRING(out);
    for (int64_t i = 0; i < 4 * ix->n; i++)
        for (int b = 0; b < 8; b++) p[8 * i + b] = (uint8_t)(ix->hashes[i] >> (56 - 8 * b));
    return out;
}

static PyObject *Index_get_n(Index *ix, void *Py_UNUSED(c)) { return PyLong_FromLongLong(ix->n); }

static PyObject *Index_get_widths(Index *ix, void *Py_UNUSED(c)) {
    PyObject *t = PyTuple_New(ix->m);
    if (t == NULL) return NULL;
    for (int i = 0; i < ix->m; i++) PyTuple_SET_ITEM(t, i, PyLong_FromLong(ix->width[i]));
    return t;
}

static PyObject *Index_get_nbytes(Index *ix, void *Py_UNUSED(c)) {
    size_t total = 0;
    for (int i = 0; i < 2 + 2 * ix->m; i++) total += ix->sizes[i];
    return PyLong_FromSize_t(total);
}

static PyMethodDef Index_methods[] = {
    {"build", (PyCFunction)Index_build, METH_VARARGS, "build(hashes, keys)"},
    {"search", (PyCFunction)Index_search, METH_VARARGS,
     "search(queries, radius, limit, threads) -> (counts, keys, distances, over)"},
    {"buffers", (PyCFunction)Index_buffers, METH_NOARGS, "writable views of the arrays"},
    {"mark_built", (PyCFunction)Index_mark_built, METH_NOARGS, "after filling buffers()"},
    {"hashes", (PyCFunction)Index_hashes, METH_NOARGS, "the hashes, n * 32 bytes"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Index_getset[] = {
    {"n", (getter)Index_get_n, NULL, "rows", NULL},
    {"widths", (getter)Index_get_widths, NULL, "table widths in bits", NULL},
    {"nbytes", (getter)Index_get_nbytes, NULL, "bytes held", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject IndexType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "winnow._hamming.Index",
    .tp_basicsize = sizeof(Index),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = Index_new,
    .tp_dealloc = (destructor)Index_dealloc,
    .tp_methods = Index_methods,
    .tp_getset = Index_getset,
    .tp_doc = "An exact Hamming-radius index of 256-bit hashes (multi-index hashing).",
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_hamming", NULL, -1, NULL};

PyMODINIT_FUNC PyInit__hamming(void) {
    if (PyType_Ready(&IndexType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    Py_INCREF(&IndexType);
    if (PyModule_AddObject(m, "Index", (PyObject *)&IndexType) < 0) {
        Py_DECREF(&IndexType);
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "MAX_ROWS", (long)MAX_ROWS) < 0) return NULL;
    return m;
}
