/* The compiled inner loops behind trustdesk.signals.pdq_index: multi-index hashing over
 * 256-bit PDQ hashes. pdq_index.py holds a pure-numpy implementation of the same functions,
 * which is the reference (tests hold the two to identical answers).
 *
 * A hash is 4 native uint64 words (the 32 bytes of its hex text, in order). A table covers
 * `width` bits (<= 24) starting at bit `start` of the hash (bit p is bit p % 64 of word p / 64)
 * and is a compressed sparse row: rows[offsets[v] .. offsets[v + 1]] are the rows whose bits
 * there equal v. Every loop is bounded by the sizes of the buffers it was given, which are
 * checked before use; the heavy loops run without the GIL.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WIDTH 24
/* The verifying loops are compiled twice, with the POPCNT instruction and without, and the
 * loader picks the one the processor runs (GCC's target_clones; elsewhere: portable only). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define CLONES __attribute__((target_clones("popcnt", "default")))
#else
#define CLONES
#endif

static inline int popcount64(uint64_t x) {
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_popcountll(x);
#else
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    return (int)((x * 0x0101010101010101ULL) >> 56);
#endif
}

static inline int distance(const uint64_t *a, const uint64_t *b) {
    return popcount64(a[0] ^ b[0]) + popcount64(a[1] ^ b[1]) + popcount64(a[2] ^ b[2]) +
           popcount64(a[3] ^ b[3]);
}

static inline uint32_t extract(const uint64_t *h, int start, int width) {
    int word = start >> 6, shift = start & 63;
    uint64_t v = h[word] >> shift;
    if (shift + width > 64) v |= h[word + 1] << (64 - shift);
    return (uint32_t)(v & ((1ULL << width) - 1));
}

typedef struct {
    Py_buffer hashes, offsets, rows;
    int start, width, radius;
    uint32_t total; /* rows in the table */
} Table;

static int get(PyObject *o, Py_buffer *b, int writable, Py_ssize_t item) {
    if (PyObject_GetBuffer(o, b, writable ? PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS : PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    if (b->len % item != 0) {
        PyBuffer_Release(b);
        PyErr_SetString(PyExc_ValueError, "buffer size is not a multiple of its item size");
        return -1;
    }
    return 0;
}

/* Rows [lo, n) sorted by their bits of a table, stably (by row within a value): an LSD radix
 * sort in passes of at most 12 bits, so each pass's counts stay in the cache and its writes go
 * to a few thousand sequential streams. keys and rows receive the sorted values and rows. */
static int sort_rows(const uint64_t *hashes, Py_ssize_t lo, Py_ssize_t n, int start, int width,
                     uint32_t *keys, uint32_t *rows) {
    Py_ssize_t k = n - lo;
    uint32_t *k0 = malloc((k ? k : 1) * 4), *r0 = malloc((k ? k : 1) * 4);
    uint32_t *k1 = malloc((k ? k : 1) * 4), *r1 = malloc((k ? k : 1) * 4);
    uint32_t *count = malloc(((1u << 12) + 1) * 4);
    if (!k0 || !r0 || !k1 || !r1 || !count) {
        free(k0); free(r0); free(k1); free(r1); free(count);
        return -1;
    }
    for (Py_ssize_t i = 0; i < k; i++) {
        k0[i] = extract(hashes + 4 * (lo + i), start, width);
        r0[i] = (uint32_t)(lo + i);
    }
    int passes = width > 12 ? 2 : 1, low = passes == 2 ? width / 2 : width;
    for (int pass = 0; pass < passes; pass++) {
        int shift = pass ? low : 0, bits = pass ? width - low : low;
        uint32_t mask = (1u << bits) - 1;
        const uint32_t *kin = pass ? k1 : k0, *rin = pass ? r1 : r0;
        uint32_t *kout = pass == passes - 1 ? keys : k1, *rout = pass == passes - 1 ? rows : r1;
        memset(count, 0, ((1u << bits) + 1) * 4);
        for (Py_ssize_t i = 0; i < k; i++) count[((kin[i] >> shift) & mask) + 1]++;
        for (uint32_t v = 0; v < mask + 1; v++) count[v + 1] += count[v];
        for (Py_ssize_t i = 0; i < k; i++) {
            uint32_t at = count[(kin[i] >> shift) & mask]++;
            kout[at] = kin[i];
            rout[at] = rin[i];
        }
    }
    free(k0); free(r0); free(k1); free(r1); free(count);
    return 0;
}

/* offsets[v] = base[v] (0 without one) + how many of the sorted keys are below v */
static void fill_offsets(uint32_t *offsets, const uint32_t *base, Py_ssize_t buckets,
                         const uint32_t *keys, Py_ssize_t k) {
    Py_ssize_t j = 0;
    for (Py_ssize_t v = 0; v <= buckets; v++) {
        while (j < k && keys[j] < (uint64_t)v) j++;
        offsets[v] = (base ? base[v] : 0) + (uint32_t)j;
    }
}

/* build(hashes, start, width, offsets, rows): fill one table from all rows of hashes. */
static PyObject *build(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *ho, *oo, *ro;
    int start, width;
    Py_buffer h, o, r;
    if (!PyArg_ParseTuple(args, "OiiOO", &ho, &start, &width, &oo, &ro)) return NULL;
    if (width < 1 || width > MAX_WIDTH || start < 0 || start + width > 256) {
        PyErr_SetString(PyExc_ValueError, "bad table bits");
        return NULL;
    }
    if (get(ho, &h, 0, 32) < 0) return NULL;
    if (get(oo, &o, 1, 4) < 0) { PyBuffer_Release(&h); return NULL; }
    if (get(ro, &r, 1, 4) < 0) { PyBuffer_Release(&h); PyBuffer_Release(&o); return NULL; }
    Py_ssize_t n = h.len / 32, buckets = (Py_ssize_t)1 << width;
    if (o.len / 4 != buckets + 1 || r.len / 4 != n || n > UINT32_MAX) {
        PyBuffer_Release(&h); PyBuffer_Release(&o); PyBuffer_Release(&r);
        PyErr_SetString(PyExc_ValueError, "table buffers do not fit the hashes");
        return NULL;
    }
    const uint64_t *hashes = h.buf;
    uint32_t *offsets = o.buf, *rows = r.buf;
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    uint32_t *keys = malloc((n ? n : 1) * 4);
    failed = !keys || sort_rows(hashes, 0, n, start, width, keys, rows) < 0;
    if (!failed) fill_offsets(offsets, NULL, buckets, keys, n);
    free(keys);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&h); PyBuffer_Release(&o); PyBuffer_Release(&r);
    if (failed) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* extend(hashes, start, width, offsets, rows, new_offsets, new_rows): a table over rows
 * [0, old) (offsets, rows) merged with rows [old, n) of hashes into new_offsets and new_rows:
 * the new rows are sorted, then the old table is copied in runs with them in between, in one
 * sequential pass: no row already indexed is hashed or sorted again. */
static PyObject *extend(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *ho, *oo, *ro, *no, *nro;
    int start, width;
    Py_buffer h, o, r, no_b, nr;
    if (!PyArg_ParseTuple(args, "OiiOOOO", &ho, &start, &width, &oo, &ro, &no, &nro)) return NULL;
    if (width < 1 || width > MAX_WIDTH || start < 0 || start + width > 256) {
        PyErr_SetString(PyExc_ValueError, "bad table bits");
        return NULL;
    }
    if (get(ho, &h, 0, 32) < 0) return NULL;
    if (get(oo, &o, 0, 4) < 0) { PyBuffer_Release(&h); return NULL; }
    if (get(ro, &r, 0, 4) < 0) { PyBuffer_Release(&h); PyBuffer_Release(&o); return NULL; }
    if (get(no, &no_b, 1, 4) < 0) {
        PyBuffer_Release(&h); PyBuffer_Release(&o); PyBuffer_Release(&r); return NULL;
    }
    if (get(nro, &nr, 1, 4) < 0) {
        PyBuffer_Release(&h); PyBuffer_Release(&o); PyBuffer_Release(&r);
        PyBuffer_Release(&no_b); return NULL;
    }
    Py_ssize_t n = h.len / 32, old = r.len / 4, buckets = (Py_ssize_t)1 << width;
    const uint32_t *offsets = o.buf, *rows = r.buf;
    int fits = o.len / 4 == buckets + 1 && no_b.len / 4 == buckets + 1 && nr.len / 4 == n &&
               old <= n && n <= UINT32_MAX && offsets[buckets] == (uint32_t)old;
    if (!fits) {
        PyBuffer_Release(&h); PyBuffer_Release(&o); PyBuffer_Release(&r);
        PyBuffer_Release(&no_b); PyBuffer_Release(&nr);
        PyErr_SetString(PyExc_ValueError, "table buffers do not fit the hashes");
        return NULL;
    }
    const uint64_t *hashes = h.buf;
    uint32_t *out = nr.buf, *new_offsets = no_b.buf;
    Py_ssize_t k = n - old;
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    uint32_t *keys = malloc((k ? k : 1) * 4), *added = malloc((k ? k : 1) * 4);
    failed = !keys || !added || sort_rows(hashes, old, n, start, width, keys, added) < 0;
    if (!failed) {
        /* the old rows in runs, each new row after the old rows of its bucket */
        Py_ssize_t from = 0, to = 0;
        for (Py_ssize_t j = 0; j < k; j++) {
            Py_ssize_t end = offsets[keys[j] + 1];
            memcpy(out + to, rows + from, (size_t)(end - from) * 4);
            to += end - from;
            from = end;
            out[to++] = added[j];
        }
        memcpy(out + to, rows + from, (size_t)(old - from) * 4);
        fill_offsets(new_offsets, offsets, buckets, keys, k);
    }
    free(keys);
    free(added);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&h); PyBuffer_Release(&o); PyBuffer_Release(&r);
    PyBuffer_Release(&no_b); PyBuffer_Release(&nr);
    if (failed) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

typedef struct {
    uint64_t *items; /* row << 16 | distance, so sorting groups a row's duplicates */
    Py_ssize_t len, cap;
} Found;

static int push(Found *f, uint32_t row, int d) {
    if (f->len == f->cap) {
        Py_ssize_t cap = f->cap ? f->cap * 2 : 64;
        uint64_t *items = realloc(f->items, cap * sizeof(uint64_t));
        if (!items) return -1;
        f->items = items;
        f->cap = cap;
    }
    f->items[f->len++] = ((uint64_t)row << 16) | (uint64_t)d;
    return 0;
}

static int compare(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static PyObject *answer(Found *f) {
    qsort(f->items, f->len, sizeof(uint64_t), compare);
    PyObject *out = PyList_New(0);
    for (Py_ssize_t i = 0; out && i < f->len; i++) {
        if (i && (f->items[i] >> 16) == (f->items[i - 1] >> 16)) continue;
        PyObject *pair = Py_BuildValue("(kk)", (unsigned long)(f->items[i] >> 16),
                                       (unsigned long)(f->items[i] & 0xFFFF));
        if (!pair || PyList_Append(out, pair) < 0) Py_CLEAR(out);
        Py_XDECREF(pair);
    }
    free(f->items);
    return out;
}

static int read_query(PyObject *qo, uint64_t q[4]) {
    Py_buffer b;
    if (PyObject_GetBuffer(qo, &b, PyBUF_C_CONTIGUOUS) < 0) return -1;
    int ok = b.len == 32;
    if (ok) memcpy(q, b.buf, 32);
    PyBuffer_Release(&b);
    if (!ok) PyErr_SetString(PyExc_ValueError, "a query is 32 bytes");
    return ok ? 0 : -1;
}

CLONES static int scan_all(const uint64_t *hashes, Py_ssize_t n, const uint8_t *alive,
                          const uint64_t *q, int threshold, Found *f) {
    for (Py_ssize_t i = 0; i < n; i++) {
        int d = distance(hashes + 4 * i, q);
        if (d <= threshold && alive[i] && push(f, (uint32_t)i, d) < 0) return -1;
    }
    return 0;
}

/* scan(hashes, alive, query, threshold) -> [(row, distance)]: every live row within threshold */
static PyObject *scan(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *ho, *ao, *qo;
    int threshold;
    uint64_t q[4];
    Py_buffer h, a;
    if (!PyArg_ParseTuple(args, "OOOi", &ho, &ao, &qo, &threshold)) return NULL;
    if (read_query(qo, q) < 0 || get(ho, &h, 0, 32) < 0) return NULL;
    if (get(ao, &a, 0, 1) < 0) { PyBuffer_Release(&h); return NULL; }
    Py_ssize_t n = h.len / 32;
    if (a.len < n || n > UINT32_MAX) {
        PyBuffer_Release(&h); PyBuffer_Release(&a);
        PyErr_SetString(PyExc_ValueError, "alive mask shorter than the hashes");
        return NULL;
    }
    const uint64_t *hashes = h.buf;
    const uint8_t *alive = a.buf;
    Found f = {0};
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    failed = scan_all(hashes, n, alive, q, threshold, &f);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&h); PyBuffer_Release(&a);
    if (failed) { free(f.items); return PyErr_NoMemory(); }
    return answer(&f);
}

#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)0)
#endif
#define AHEAD 16 /* how far ahead to prefetch, so random reads overlap (best of 4..64, measured) */

typedef struct {
    uint32_t *items;
    Py_ssize_t len, cap;
} U32s;

static int add32(U32s *v, uint32_t x) {
    if (v->len == v->cap) {
        Py_ssize_t cap = v->cap ? v->cap * 2 : 1024;
        uint32_t *items = realloc(v->items, cap * sizeof(uint32_t));
        if (!items) return -1;
        v->items = items;
        v->cap = cap;
    }
    v->items[v->len++] = x;
    return 0;
}

/* Every bucket within each table's radius of the query's bits there, then every row in them,
 * verified by its exact distance. Done in passes (buckets, then their bounds, then their rows,
 * then the rows' hashes) so that each pass's random reads are independent and prefetched. */
CLONES static int probe_all(const Table *tables, Py_ssize_t count, const uint64_t *hashes, Py_ssize_t n,
                     const uint8_t *alive, const uint64_t *q, int threshold, Found *f) {
    U32s buckets = {0}, owner = {0}, bounds = {0}, rows = {0};
    int failed = 0;
    for (Py_ssize_t ti = 0; ti < count && !failed; ti++) {
        const Table *t = &tables[ti];
        uint32_t v = extract(q, t->start, t->width), limit = 1u << t->width;
        for (int k = 0; k <= t->radius && k <= t->width && !failed; k++) {
            uint32_t mask = k ? (1u << k) - 1 : 0;
            while (mask < limit && !failed) {
                failed = add32(&buckets, v ^ mask) | add32(&owner, (uint32_t)ti);
                if (!mask) break;
                uint32_t c = mask & -mask, r = mask + c; /* Gosper: next mask with k bits */
                mask = (((r ^ mask) >> 2) / c) | r;
            }
        }
    }
    /* bounds of each bucket: [lo, hi) in its table's rows */
    for (Py_ssize_t i = 0; i < buckets.len && !failed; i++) {
        if (i + AHEAD < buckets.len)
            PREFETCH((const uint32_t *)tables[owner.items[i + AHEAD]].offsets.buf +
                     buckets.items[i + AHEAD]);
        const Table *t = &tables[owner.items[i]];
        const uint32_t *offsets = t->offsets.buf;
        uint32_t lo = offsets[buckets.items[i]], hi = offsets[buckets.items[i] + 1];
        if (hi > t->total) hi = t->total;
        if (lo < hi) failed = add32(&bounds, lo) | add32(&bounds, hi) | add32(&owner, owner.items[i]);
    }
    /* owner now also holds, after the buckets' entries, one table per non-empty bucket */
    Py_ssize_t first = buckets.len, ranges = bounds.len / 2;
    for (Py_ssize_t i = 0; i < ranges && !failed; i++) {
        if (i + AHEAD < ranges)
            PREFETCH((const uint32_t *)tables[owner.items[first + i + AHEAD]].rows.buf +
                     bounds.items[2 * (i + AHEAD)]);
        const uint32_t *trows = tables[owner.items[first + i]].rows.buf;
        for (uint32_t j = bounds.items[2 * i]; j < bounds.items[2 * i + 1] && !failed; j++)
            if ((Py_ssize_t)trows[j] < n) failed = add32(&rows, trows[j]);
    }
    for (Py_ssize_t i = 0; i < rows.len && !failed; i++) {
        if (i + AHEAD < rows.len) PREFETCH(hashes + 4 * (Py_ssize_t)rows.items[i + AHEAD]);
        uint32_t row = rows.items[i];
        int d = distance(hashes + 4 * (Py_ssize_t)row, q);
        if (d <= threshold && alive[row]) failed = push(f, row, d);
    }
    free(buckets.items); free(owner.items); free(bounds.items); free(rows.items);
    return failed ? -1 : 0;
}

/* search(hashes, alive, tables, query, threshold) -> [(row, distance)]
 * tables: a sequence of (start, width, radius, offsets, rows); radius < 0 skips the table. */
static PyObject *search(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *ho, *ao, *to, *qo;
    int threshold;
    uint64_t q[4];
    if (!PyArg_ParseTuple(args, "OOOOi", &ho, &ao, &to, &qo, &threshold)) return NULL;
    if (read_query(qo, q) < 0) return NULL;
    PyObject *seq = PySequence_Fast(to, "tables must be a sequence");
    if (!seq) return NULL;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq), ready = 0;
    Table *tables = calloc(count ? count : 1, sizeof(Table));
    Py_buffer h = {0}, a = {0};
    int have_h = 0, have_a = 0, failed = 0;
    PyObject *out = NULL;
    if (!tables) { Py_DECREF(seq); return PyErr_NoMemory(); }
    if (get(ho, &h, 0, 32) < 0) goto done;
    have_h = 1;
    if (get(ao, &a, 0, 1) < 0) goto done;
    have_a = 1;
    Py_ssize_t n = h.len / 32;
    if (a.len < n) { PyErr_SetString(PyExc_ValueError, "alive mask too short"); goto done; }
    for (; ready < count; ready++) {
        Table *t = &tables[ready];
        PyObject *oo, *ro;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, ready), "iiiOO", &t->start,
                              &t->width, &t->radius, &oo, &ro)) goto done;
        if (t->width < 1 || t->width > MAX_WIDTH || t->start < 0 || t->start + t->width > 256) {
            PyErr_SetString(PyExc_ValueError, "bad table bits");
            goto done;
        }
        if (get(oo, &t->offsets, 0, 4) < 0) goto done;
        if (get(ro, &t->rows, 0, 4) < 0) { PyBuffer_Release(&t->offsets); goto done; }
        Py_ssize_t total = t->rows.len / 4;
        t->total = total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
        if (t->offsets.len / 4 != ((Py_ssize_t)1 << t->width) + 1) {
            PyBuffer_Release(&t->offsets); PyBuffer_Release(&t->rows);
            PyErr_SetString(PyExc_ValueError, "table offsets do not fit its rows");
            goto done;
        }
    }
    Found f = {0};
    Py_BEGIN_ALLOW_THREADS
    failed = probe_all(tables, count, h.buf, n, a.buf, q, threshold, &f);
    Py_END_ALLOW_THREADS
    if (failed) { free(f.items); PyErr_NoMemory(); goto done; }
    out = answer(&f);
done:
    for (Py_ssize_t i = 0; i < ready; i++) {
        PyBuffer_Release(&tables[i].offsets);
        PyBuffer_Release(&tables[i].rows);
    }
    free(tables);
    if (have_h) PyBuffer_Release(&h);
    if (have_a) PyBuffer_Release(&a);
    Py_DECREF(seq);
    return out;
}

static PyMethodDef methods[] = {
    {"build", build, METH_VARARGS, "build(hashes, start, width, offsets, rows): fill a table"},
    {"extend", extend, METH_VARARGS,
     "extend(hashes, start, width, offsets, rows, new_offsets, new_rows): merge new rows"},
    {"scan", scan, METH_VARARGS, "scan(hashes, alive, query, threshold) -> [(row, distance)]"},
    {"search", search, METH_VARARGS,
     "search(hashes, alive, tables, query, threshold) -> [(row, distance)]"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_pdqindex",
                                    "Multi-index hashing over PDQ hashes (compiled).", -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__pdqindex(void) { return PyModule_Create(&module); }
