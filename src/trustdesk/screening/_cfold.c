/* The compiled normalizer behind trustdesk.screening.normalize: the same folding table and the
 * same separator-skipping rules as the pure-Python implementation in normalize.py, which is
 * the reference (tests hold the two to identical text and offsets on arbitrary Unicode).
 *
 * A Folder holds one Steps' packed table (code point -> class << 24 | folded code point, or a
 * DELETE / EXPAND marker) and its expansions. For a text it makes, in one pass over the code
 * points, the folded code points with one class byte each (and, for map(), the original
 * index and span end of each), then marks the separators that skipping drops and compacts.
 * Everything is linear in the input; nothing here calls back into Python.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* Character classes; normtables.py defines the same values (a test holds them equal). */
enum { WORD = 0, SEP = 1, EDGE = 2, LATIN = 3, CJK = 4, DIGIT = 5, EXPAND = 8, DELETE = 9 };
#define PAYLOAD 0x00FFFFFFu
#define EXPANDED 0xD800u
#define TABLE_SIZE 0x110000
#define STACK_CHARS 1024
#if defined(__GNUC__) || defined(__clang__)
#define HOT static inline __attribute__((always_inline))
#else
#define HOT static inline
#endif

typedef struct {
    PyObject_HEAD
    Py_buffer table;
    const uint32_t *packed;
    Py_buffer words;            /* one byte per code point: a word character (locate) */
    Py_ssize_t expansions;
    uint32_t *expansion_chars;  /* all expansions, end to end */
    uint8_t *expansion_classes;
    Py_ssize_t *expansion_starts; /* expansions + 1 offsets into the two arrays above */
    int separators;
    int ascii;                  /* ASCII folds within ASCII (ascii_into applies) */
    uint8_t ascii_fold[128];    /* what each ASCII character folds to */
    uint8_t ascii_kind[128];    /* and its class (DELETE: dropped) */
    uint32_t *utf8;             /* BMP code point -> its folding's UTF-8, see utf8_table() */
} Folder;

/* The folded text being built: code points, classes and (when wanted) original spans. */
typedef struct {
    uint32_t *cp;
    uint8_t *cls;
    int64_t *starts;
    int64_t *ends;
    Py_ssize_t len;
    Py_ssize_t cap;
    int offsets;
    int heap;
    uint32_t widest;     /* the largest code point */
    Py_ssize_t marked;   /* marked DELETE while folding (the CJK rule) */
    Py_ssize_t single;   /* where the Latin rule may start, or -1 */
    int junction;        /* whether the mixed rule may apply */
    uint32_t stack_cp[STACK_CHARS];
    uint8_t stack_cls[STACK_CHARS];
    int64_t stack_starts[STACK_CHARS];
    int64_t stack_ends[STACK_CHARS];
} Out;

static void out_init(Out *out, int offsets) {
    out->cp = out->stack_cp;
    out->cls = out->stack_cls;
    out->starts = out->stack_starts;
    out->ends = out->stack_ends;
    out->len = 0;
    out->cap = STACK_CHARS;
    out->offsets = offsets;
    out->heap = 0;
    out->widest = 0;
    out->marked = 0;
    out->single = -1;
    out->junction = 0;
}

static void out_free(Out *out) {
    if (out->heap) {
        PyMem_Free(out->cp);
        PyMem_Free(out->cls);
        PyMem_Free(out->starts);
        PyMem_Free(out->ends);
    }
}

/* Make room for ``more`` further characters; 0 on success, -1 (MemoryError set) otherwise. */
static int out_reserve(Out *out, Py_ssize_t more) {
    if (out->len + more <= out->cap) {
        return 0;
    }
    Py_ssize_t cap = out->cap * 2;
    if (cap < out->len + more) {
        cap = out->len + more;
    }
    if ((size_t)cap > PY_SSIZE_T_MAX / sizeof(int64_t)) {
        PyErr_NoMemory();
        return -1;
    }
    uint32_t *cp = PyMem_Malloc(cap * sizeof(uint32_t));
    uint8_t *cls = PyMem_Malloc(cap);
    int64_t *starts = out->offsets ? PyMem_Malloc(cap * sizeof(int64_t)) : NULL;
    int64_t *ends = out->offsets ? PyMem_Malloc(cap * sizeof(int64_t)) : NULL;
    if (!cp || !cls || (out->offsets && (!starts || !ends))) {
        PyMem_Free(cp);
        PyMem_Free(cls);
        PyMem_Free(starts);
        PyMem_Free(ends);
        PyErr_NoMemory();
        return -1;
    }
    memcpy(cp, out->cp, out->len * sizeof(uint32_t));
    memcpy(cls, out->cls, out->len);
    if (out->offsets) {
        memcpy(starts, out->starts, out->len * sizeof(int64_t));
        memcpy(ends, out->ends, out->len * sizeof(int64_t));
    }
    out_free(out);
    out->cp = cp;
    out->cls = cls;
    out->starts = starts;
    out->ends = ends;
    out->cap = cap;
    out->heap = 1;
    return 0;
}

/* -- separator skipping: each rule mirrors a regex of normalize.py, marking DELETE -------- */

static inline int latin_or_digit(uint8_t k) { return k == LATIN || k == DIGIT; }
static inline int cjk_or_digit(uint8_t k) { return k == CJK || k == DIGIT; }
static inline int wordlike(uint8_t k) { return k == WORD || k == LATIN || k == DIGIT; }

/* What folding learns about the classes as it emits them. The CJK rule (normalize's
 * _cjk_replace: one to three separators between two CJK characters) is applied right
 * there; the other two rules only learn whether they can apply: the Latin rule needs a
 * single between separators (every run's second single is one), the mixed rule a junction
 * (one to three separators between a CJK character and a digit). */
typedef struct {
    Py_ssize_t run;      /* separators just emitted */
    uint8_t before;      /* the class before them (EDGE at the start: neither CJK nor digit) */
    uint8_t last;        /* the class emitted last, and the one before it */
    uint8_t previous;
    int skipping;        /* separator skipping is on */
    int junction;        /* the mixed rule may apply */
    Py_ssize_t marked;   /* characters marked DELETE */
    Py_ssize_t single;   /* the first single between separators, or -1 */
} Track;

HOT void track(Track *t, uint8_t *cls, Py_ssize_t at, uint8_t kind) {
    if (kind == SEP) {
        if (t->run == 0 && latin_or_digit(t->last) && t->previous == SEP && t->single < 0) {
            t->single = at - 1;
        }
        t->run++;
    } else {
        if (t->run >= 1 && t->run <= 3) {
            if (kind == CJK && t->before == CJK && t->skipping) {
                memset(cls + at - t->run, DELETE, (size_t)t->run);
                t->marked += t->run;
            } else if ((kind == CJK && t->before == DIGIT) || (kind == DIGIT && t->before == CJK)) {
                t->junction = 1;
            }
        }
        t->run = 0;
        t->before = kind;
    }
    t->previous = t->last;
    t->last = kind;
}

/* Fold every code point through the table. A character's span runs from its original index
 * to the next original character that produces something (deleted ones join the span).
 * The loop keeps the buffer in locals (stores through uint8_t may alias anything, so fields
 * read through ``out`` would be reloaded after every class byte). */
#define FOLD_LOOP(TYPE, OFFSETS)                                                            \
    do {                                                                                    \
        const TYPE *data = (const TYPE *)raw;                                               \
        uint32_t *cp = out->cp;                                                             \
        uint8_t *cls = out->cls;                                                            \
        int64_t *starts = out->starts, *ends = out->ends;                                   \
        Py_ssize_t len = 0, open = 0;                                                       \
        uint32_t widest = 0;                                                                \
        for (Py_ssize_t i = 0; i < n; i++) {                                                \
            uint32_t entry = packed[data[i]];                                               \
            uint8_t kind = (uint8_t)(entry >> 24);                                          \
            if (kind == DELETE) {                                                           \
                continue;                                                                   \
            }                                                                               \
            if (OFFSETS) {                                                                  \
                for (; open < len; open++) {                                                \
                    ends[open] = i;                                                         \
                }                                                                           \
            }                                                                               \
            if (kind != EXPAND) {                                                           \
                uint32_t c = entry & PAYLOAD;                                               \
                widest = c > widest ? c : widest;                                           \
                cp[len] = c;                                                                \
                cls[len] = kind;                                                            \
                track(&t, cls, len, kind);                                                  \
                if (OFFSETS) {                                                              \
                    starts[len] = i;                                                        \
                }                                                                           \
                len++;                                                                      \
                continue;                                                                   \
            }                                                                               \
            Py_ssize_t e = (Py_ssize_t)((entry & PAYLOAD) - EXPANDED);                      \
            Py_ssize_t from = self->expansion_starts[e];                                    \
            Py_ssize_t size = self->expansion_starts[e + 1] - from;                         \
            out->len = len;                                                                 \
            if (out_reserve(out, size + (n - i)) < 0) {                                     \
                return -1;                                                                  \
            }                                                                               \
            cp = out->cp;                                                                   \
            cls = out->cls;                                                                 \
            starts = out->starts;                                                           \
            ends = out->ends;                                                               \
            for (Py_ssize_t j = 0; j < size; j++) {                                         \
                uint32_t c = self->expansion_chars[from + j];                               \
                uint8_t expanded = self->expansion_classes[from + j];                       \
                widest = c > widest ? c : widest;                                           \
                cp[len] = c;                                                                \
                cls[len] = expanded;                                                        \
                track(&t, cls, len, expanded);                                              \
                if (OFFSETS) {                                                              \
                    starts[len] = i;                                                        \
                }                                                                           \
                len++;                                                                      \
            }                                                                               \
        }                                                                                   \
        if (OFFSETS) {                                                                      \
            for (; open < len; open++) {                                                    \
                ends[open] = n;                                                             \
            }                                                                               \
        }                                                                                   \
        out->len = len;                                                                     \
        out->widest = widest;                                                               \
    } while (0)

static int fold(Folder *self, PyObject *text, Out *out) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    const void *raw = PyUnicode_DATA(text);
    int width = PyUnicode_KIND(text);
    const uint32_t *packed = self->packed;
    Track t = {0, EDGE, EDGE, EDGE, self->separators, 0, 0, -1};
    if (out_reserve(out, n) < 0) {
        return -1;
    }
    if (out->offsets) {
        if (width == PyUnicode_1BYTE_KIND) {
            FOLD_LOOP(Py_UCS1, 1);
        } else if (width == PyUnicode_2BYTE_KIND) {
            FOLD_LOOP(Py_UCS2, 1);
        } else {
            FOLD_LOOP(Py_UCS4, 1);
        }
    } else if (width == PyUnicode_1BYTE_KIND) {
        FOLD_LOOP(Py_UCS1, 0);
    } else if (width == PyUnicode_2BYTE_KIND) {
        FOLD_LOOP(Py_UCS2, 0);
    } else {
        FOLD_LOOP(Py_UCS4, 0);
    }
    out->marked = t.marked;
    out->single = t.single;
    out->junction = t.junction;
    return 0;
}


/* The first separator at or after ``i`` (separators are a few per cent of a text: memchr
 * jumps between them), or ``n``. */
static inline Py_ssize_t next_sep(const uint8_t *k, Py_ssize_t i, Py_ssize_t n) {
    if (i >= n) {
        return n;
    }
    const uint8_t *at = memchr(k + i, SEP, (size_t)(n - i));
    return at == NULL ? n : at - k;
}

/* Runs of three or more single letters or digits, one to three separators apart
 * (normalize._LATIN_RUN_AFTER_EDGE, then normalize._LATIN_RUN). A run starts at a single
 * after a separator, an edge or the start; later singles must not touch a word or CJK.
 * Every run starts just before a separator, so the scan jumps from one to the next. */
static Py_ssize_t skip_latin(uint8_t *k, Py_ssize_t n, Py_ssize_t from) {
    Py_ssize_t marked = 0;
    for (Py_ssize_t s = next_sep(k, from > 1 ? from : 1, n); s < n; s = next_sep(k, s + 1, n)) {
        Py_ssize_t i = s - 1;
        if (!latin_or_digit(k[i]) || !(i == 0 || k[i - 1] == SEP || k[i - 1] == EDGE)) {
            continue;
        }
        Py_ssize_t last = i;
        Py_ssize_t singles = 1;
        for (;;) {
            Py_ssize_t g = last + 1;
            while (g < n && k[g] == SEP) {
                g++;
            }
            Py_ssize_t gap = g - last - 1;
            if (gap < 1 || gap > 3 || g >= n || !latin_or_digit(k[g])) {
                break;
            }
            if (g + 1 < n && (wordlike(k[g + 1]) || k[g + 1] == CJK)) {
                break;
            }
            last = g;
            singles++;
        }
        if (singles >= 3) {
            for (Py_ssize_t j = i + 1; j < last; j++) {
                if (k[j] == SEP) {
                    k[j] = DELETE;
                    marked++;
                }
            }
            s = last; /* the next run starts after this one */
        }
    }
    return marked;
}

/* The end of the atomic token (?>[CD](?:X*[CD])*) starting at ``j``. */
static Py_ssize_t token_end(const uint8_t *k, Py_ssize_t j, Py_ssize_t b) {
    j++;
    for (;;) {
        Py_ssize_t m = j;
        while (m < b && k[m] == DELETE) {
            m++;
        }
        if (m < b && cjk_or_digit(k[m])) {
            j = m + 1;
        } else {
            return j;
        }
    }
}

/* normalize._MIXED_RUN over one text [a, b): tokens of CJK and digits, one to three
 * separators apart, not after a word, CJK, digit or deletion, not before a word or digit
 * (giving back the last token when it is); a run holding both CJK and a digit collapses. */
static Py_ssize_t skip_mixed_in(uint8_t *k, Py_ssize_t a, Py_ssize_t b) {
    Py_ssize_t i = a, marked = 0;
    while (i < b) {
        uint8_t before = i > a ? k[i - 1] : EDGE;
        if (!cjk_or_digit(k[i]) || wordlike(before) || before == CJK || before == DELETE) {
            i++;
            continue;
        }
        Py_ssize_t previous = -1;
        Py_ssize_t end = token_end(k, i, b);
        Py_ssize_t tokens = 1;
        for (;;) {
            Py_ssize_t g = end;
            while (g < b && k[g] == SEP) {
                g++;
            }
            if (g - end < 1 || g - end > 3 || g >= b || !cjk_or_digit(k[g])) {
                break;
            }
            previous = end;
            end = token_end(k, g, b);
            tokens++;
        }
        Py_ssize_t stop = -1;
        if (tokens >= 2 && (end >= b || !wordlike(k[end]))) {
            stop = end;
        } else if (tokens >= 3) {
            stop = previous;
        }
        if (stop < 0) {
            i++;
            continue;
        }
        int cjk = 0, digit = 0;
        for (Py_ssize_t j = i; j < stop; j++) {
            cjk |= k[j] == CJK;
            digit |= k[j] == DIGIT;
        }
        if (cjk && digit) {
            for (Py_ssize_t j = i; j < stop; j++) {
                if (k[j] == SEP) {
                    k[j] = DELETE;
                    marked++;
                }
            }
        }
        i = stop;
    }
    return marked;
}

/* A junction in [a, b): one to three separators between a CJK character and a digit. */
static int has_junction(const uint8_t *k, Py_ssize_t a, Py_ssize_t b) {
    for (Py_ssize_t i = next_sep(k, a + 1, b); i < b; i = next_sep(k, i, b)) {
        Py_ssize_t j = i;
        while (j < b && k[j] == SEP) {
            j++;
        }
        if (j - i <= 3 && j < b) {
            uint8_t left = k[i - 1], right = k[j];
            if ((left == CJK && right == DIGIT) || (left == DIGIT && right == CJK)) {
                return 1;
            }
        }
        i = j;
    }
    return 0;
}

/* normalize._mixed: the mixed rule runs on the texts (between edges) that hold a junction. */
static Py_ssize_t skip_mixed(uint8_t *k, Py_ssize_t n) {
    Py_ssize_t marked = 0;
    Py_ssize_t a = 0;
    while (a <= n) {
        const uint8_t *edge = a < n ? memchr(k + a, EDGE, (size_t)(n - a)) : NULL;
        Py_ssize_t b = edge == NULL ? n : edge - k;
        if (has_junction(k, a, b)) {
            marked += skip_mixed_in(k, a, b);
        }
        a = b + 1;
    }
    return marked;
}

/* Apply the Latin and mixed rules where folding saw they may apply; the CJK rule already
 * ran. The number of characters marked, all told. */
static Py_ssize_t skip(Out *out) {
    Py_ssize_t marked = out->marked;
    if (out->single >= 0) {
        /* A run's first single lies at most four characters before its second. */
        marked += skip_latin(out->cls, out->len, out->single - 3);
    }
    if (out->junction) {
        marked += skip_mixed(out->cls, out->len);
    }
    return marked;
}

/* Skip separators and drop what was marked: out then holds the normalized text. Marks are
 * few, so the kept stretches between them move as blocks. */
static void settle(Folder *self, Out *out) {
    if (!self->separators || skip(out) == 0) {
        return;
    }
    Py_ssize_t n = out->len, kept = 0, r = 0;
    uint32_t *cp = out->cp;
    int64_t *starts = out->starts, *ends = out->ends;
    const uint8_t *cls = out->cls;
    uint32_t dropped = 0; /* the largest code point dropped */
    while (r < n) {
        const uint8_t *mark = memchr(cls + r, DELETE, (size_t)(n - r));
        Py_ssize_t stop = mark == NULL ? n : mark - cls;
        Py_ssize_t size = stop - r;
        if (size > 0 && kept != r) {
            memmove(cp + kept, cp + r, size * sizeof(uint32_t));
            if (out->offsets) {
                memmove(starts + kept, starts + r, size * sizeof(int64_t));
                memmove(ends + kept, ends + r, size * sizeof(int64_t));
            }
        }
        kept += size;
        if (stop < n) {
            dropped = cp[stop] > dropped ? cp[stop] : dropped;
        }
        r = stop + 1;
    }
    out->len = kept;
    if (dropped >= out->widest) { /* the widest character may be gone: look again */
        uint32_t widest = 0;
        for (Py_ssize_t j = 0; j < kept; j++) {
            widest = cp[j] > widest ? cp[j] : widest;
        }
        out->widest = widest;
    }
}

/* The normalized text as a str (in its most compact representation, as CPython requires). */
static PyObject *as_str(Out *out) {
    Py_ssize_t len = out->len;
    PyObject *result = PyUnicode_New(len, out->widest);
    if (result == NULL) {
        return NULL;
    }
    void *data = PyUnicode_DATA(result);
    const uint32_t *cp = out->cp;
    switch (PyUnicode_KIND(result)) {
    case PyUnicode_1BYTE_KIND:
        for (Py_ssize_t j = 0; j < len; j++) {
            ((Py_UCS1 *)data)[j] = (Py_UCS1)cp[j];
        }
        break;
    case PyUnicode_2BYTE_KIND:
        for (Py_ssize_t j = 0; j < len; j++) {
            ((Py_UCS2 *)data)[j] = (Py_UCS2)cp[j];
        }
        break;
    default:
        memcpy(data, cp, len * sizeof(Py_UCS4));
    }
    return result;
}

static int ready(Folder *self) {
    if (self->packed == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Folder was not initialized");
        return 0;
    }
    return 1;
}

/* A str whose code points can be read (before 3.12 a legacy str may need readying). */
static int readable(PyObject *text, const char *what) {
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "%s() takes a str", what);
        return 0;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(text) < 0) {
        return 0;
    }
#endif
    return 1;
}

static PyObject *normalize_one(Folder *self, PyObject *text) {
    if (!readable(text, "normalize")) {
        return NULL;
    }
    Out out;
    out_init(&out, 0);
    PyObject *result = NULL;
    if (fold(self, text, &out) == 0) {
        settle(self, &out);
        result = as_str(&out);
    }
    out_free(&out);
    return result;
}

static PyObject *Folder_normalize(Folder *self, PyObject *text) {
    return ready(self) ? normalize_one(self, text) : NULL;
}

/* -- straight to UTF-8: the common case in one pass -------------------------------------
 *
 * Folding writes UTF-8 as it goes and applies the CJK rule by going back over the one to
 * three separators just written when the next character drops them. The other two rules need the
 * whole class sequence, so when the text may hold what they act on (two single letters or
 * digits one to three separators apart, the second followed by a separator; or a junction)
 * this gives up and the general path (fold, skip, encode) runs instead. */

typedef struct {
    unsigned char *at;
    unsigned char *end;
    unsigned char *start;
    int heap;        /* 0: not ours (on the stack), 1: PyMem, 2: the storage of ``obj`` */
    PyObject *obj;   /* (2) a bytes object written in place, then cut to size: no copy */
} Bytes;

/* Make room for ``more`` further bytes: 0, or -1 with MemoryError set. */
static int bytes_reserve(Bytes *b, Py_ssize_t more) {
    size_t used = (size_t)(b->at - b->start), cap = (size_t)(b->end - b->start);
    if ((size_t)more <= cap - used) {
        return 0;
    }
    if ((size_t)more > (size_t)PY_SSIZE_T_MAX / 2 - used) {
        PyErr_NoMemory();
        return -1;
    }
    size_t want = used + (size_t)more;
    cap = cap * 2 > want ? cap * 2 : want;
    unsigned char *bigger;
    if (b->heap == 2) {
        if (_PyBytes_Resize(&b->obj, (Py_ssize_t)cap) < 0) { /* obj is NULL now */
            b->start = b->at = b->end = NULL;
            b->heap = 0;
            return -1;
        }
        bigger = (unsigned char *)PyBytes_AS_STRING(b->obj);
    } else if (b->heap) {
        bigger = PyMem_Realloc(b->start, cap);
    } else {
        bigger = PyMem_Malloc(cap);
        if (bigger != NULL) {
            memcpy(bigger, b->start, used);
        }
    }
    if (bigger == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->start = bigger;
    b->at = bigger + used;
    b->end = bigger + cap;
    b->heap = b->heap == 2 ? 2 : 1;
    return 0;
}

static void bytes_free(Bytes *b) {
    if (b->heap == 2) {
        Py_CLEAR(b->obj);
    } else if (b->heap) {
        PyMem_Free(b->start);
    }
}

HOT unsigned char *put_utf8(unsigned char *at, uint32_t c) {
    if (c < 0x80) {
        *at++ = (unsigned char)c;
    } else if (c < 0x800) {
        *at++ = (unsigned char)(0xC0 | (c >> 6));
        *at++ = (unsigned char)(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        *at++ = (unsigned char)(0xE0 | (c >> 12));
        *at++ = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        *at++ = (unsigned char)(0x80 | (c & 0x3F));
    } else {
        *at++ = (unsigned char)(0xF0 | (c >> 18));
        *at++ = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
        *at++ = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        *at++ = (unsigned char)(0x80 | (c & 0x3F));
    }
    return at;
}

static inline Py_ssize_t utf8_size(uint32_t c) {
    return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
}

/* The hot loop's table, one uint32 per BMP code point: when the code point folds to one
 * plain character (not deleted, not expanded) in the BMP, the UTF-8 of that character in
 * the low three bytes (first byte lowest), its length (1 to 3) in bits 24-25 and its class
 * in bits 28-31, PLAIN (bit 27) unless it is a separator or an edge; otherwise 0 (length
 * 0: the loop reads the packed table instead). Stored
 * as one four-byte write and an advance by the length (the fourth byte written is
 * overwritten by the next character or lies past the end). */
#define UTF8_SIZE(e) (((e) >> 24) & 3u)
#define UTF8_KIND(e) ((uint8_t)((e) >> 28))
#define PLAIN (1u << 27) /* not a separator, not an edge: the tight loop takes it */

static uint32_t utf8_entry(uint32_t entry) {
    uint32_t kind = entry >> 24, c = entry & PAYLOAD;
    if (kind == EXPAND || kind == DELETE || c >= 0x10000) {
        return 0;
    }
    uint32_t meta = kind << 28 | (kind != SEP && kind != EDGE ? PLAIN : 0);
    if (c < 0x80) {
        return c | 1u << 24 | meta;
    }
    if (c < 0x800) {
        return (0xC0 | (c >> 6)) | (0x80 | (c & 0x3F)) << 8 | 2u << 24 | meta;
    }
    return (0xE0 | (c >> 12)) | (0x80 | ((c >> 6) & 0x3F)) << 8 | (0x80 | (c & 0x3F)) << 16 |
           3u << 24 | meta;
}

/* A character's UTF-8 as a Word: up to four bytes (first byte lowest) and their count. */
typedef struct {
    uint32_t bytes;
    uint32_t size;
} Word;

static inline Word word_of(uint32_t c) {
    Word w;
    if (c < 0x80) {
        w.bytes = c;
        w.size = 1;
    } else if (c < 0x800) {
        w.bytes = (0xC0 | (c >> 6)) | (0x80 | (c & 0x3F)) << 8;
        w.size = 2;
    } else if (c < 0x10000) {
        w.bytes = (0xE0 | (c >> 12)) | (0x80 | ((c >> 6) & 0x3F)) << 8 | (0x80 | (c & 0x3F)) << 16;
        w.size = 3;
    } else {
        w.bytes = (0xF0 | (c >> 18)) | (0x80 | ((c >> 12) & 0x3F)) << 8 |
                  (0x80 | ((c >> 6) & 0x3F)) << 16 | (0x80 | (c & 0x3F)) << 24;
        w.size = 4;
    }
    return w;
}

/* Write a Word: one four-byte store where the byte order allows it. The caller has made
 * room for four bytes. */
HOT unsigned char *put_word(unsigned char *at, uint32_t bytes, uint32_t size) {
#if PY_LITTLE_ENDIAN
    memcpy(at, &bytes, 4);
#else
    at[0] = (unsigned char)bytes;
    at[1] = (unsigned char)(bytes >> 8);
    at[2] = (unsigned char)(bytes >> 16);
    at[3] = (unsigned char)(bytes >> 24);
#endif
    return at + size;
}

typedef struct {
    Py_ssize_t run;      /* separators just written */
    unsigned char *mark; /* where they begin */
    uint8_t before;      /* the class before them */
    uint8_t last;        /* the class seen last */
    int lone;            /* the last character is a letter or digit after a separator or edge */
    int chained;         /* ... and one to three separators after another such one */
    int single;          /* the character before the separators was a single */
    int general;         /* the Latin or the mixed rule may apply: take the general path */
} Direct;

#define STACK_BYTES 4096
#define BATCH_BYTES ((Py_ssize_t)1 << 24) /* the most a batch allocates before it needs to */

/* One folded character, written at ``*at``. Separators are written as they come; when the
 * character after one to three of them drops them (the CJK rule), writing goes back to
 * where they began. The caller has made room: four bytes for every character still to
 * come and four more (every write is a four-byte store). */
HOT unsigned char *direct(Direct *d, unsigned char *at, Word w, uint8_t kind, int skipping) {
    if (kind == SEP) {
        if (d->run == 0) {
            d->general |= d->lone & d->chained;
            d->single = d->lone;
            d->mark = at;
        }
        d->run++;
        d->last = kind;
        return put_word(at, w.bytes, w.size);
    }
    int gap = d->run >= 1 && d->run <= 3;
    if (gap) {
        if (skipping && kind == CJK && d->before == CJK) {
            at = d->mark;
        }
        d->general |= (kind == CJK && d->before == DIGIT) || (kind == DIGIT && d->before == CJK);
    }
    int lone = latin_or_digit(kind) && (d->last == SEP || d->last == EDGE);
    d->chained = lone && d->single && gap;
    d->lone = lone;
    d->single = 0;
    d->run = 0;
    d->before = kind;
    d->last = kind;
    return put_word(at, w.bytes, w.size);
}

/* A separator (its utf8 entry ``sep``) after no separator, then a PLAIN character
 * (``next``): direct() for the two, with selects where it branches (whether the CJK rule
 * drops the separator depends on the text, so a branch there is mispredicted often). */
HOT unsigned char *one_gap(Direct *d, unsigned char *at, uint32_t sep, uint32_t next,
                           int skipping) {
    uint8_t kind = UTF8_KIND(next), before = d->before;
    int lone = latin_or_digit(kind);
    int dropped = skipping & (kind == CJK) & (before == CJK);
    d->general |= (d->lone & d->chained) | ((kind == CJK) & (before == DIGIT)) |
                  ((kind == DIGIT) & (before == CJK));
    d->chained = lone & d->lone;
    d->lone = lone;
    d->single = 0;
    d->before = kind;
    d->last = kind;
    unsigned char *after = put_word(at, sep, UTF8_SIZE(sep));
    at = dropped ? at : after;
    return put_word(at, next, UTF8_SIZE(next));
}

/* The common case first: a stretch of code points whose foldings are plain BMP characters
 * (PLAIN in the utf8 table: not separators, not edges) after no separator, where direct()
 * would only write each and note its class (``single`` and ``chained`` stay 0, ``lone``
 * can only hold for a stretch of one character after an edge); a tight loop writes them.
 * Every other character goes through direct(), from the utf8 table where it holds the
 * character, from the packed table (deletions, expansions, astral characters) otherwise. */
#define DIRECT_LOOP(TYPE)                                                                   \
    do {                                                                                    \
        const TYPE *data = (const TYPE *)raw;                                               \
        Py_ssize_t i = 0;                                                                   \
        while (i < n && !(d.general && skipping)) {                                         \
            if (d.run == 0) {                                                               \
                Py_ssize_t first = i;                                                       \
                uint32_t kind = d.last;                                                     \
                for (; i < n; i++) {                                                        \
                    uint32_t c = data[i];                                                   \
                    uint32_t fast = sizeof(TYPE) < 4 || c < 0x10000 ? utf8[c] : 0;          \
                    if (!(fast & PLAIN)) {                                                  \
                        break;                                                              \
                    }                                                                       \
                    at = put_word(at, fast, UTF8_SIZE(fast));                               \
                    kind = UTF8_KIND(fast);                                                 \
                }                                                                           \
                if (i > first) {                                                            \
                    d.lone = i - first == 1 && d.last == EDGE && latin_or_digit(kind);      \
                    d.chained = 0;                                                          \
                    d.before = (uint8_t)kind;                                               \
                    d.last = (uint8_t)kind;                                                 \
                }                                                                           \
                if (i >= n) {                                                               \
                    break;                                                                  \
                }                                                                           \
            }                                                                               \
            uint32_t c = data[i];                                                           \
            uint32_t fast = sizeof(TYPE) < 4 || c < 0x10000 ? utf8[c] : 0;                  \
            if (UTF8_KIND(fast) == SEP && d.run == 0 && i + 1 < n) {                        \
                uint32_t c2 = data[i + 1];                                                  \
                uint32_t next = sizeof(TYPE) < 4 || c2 < 0x10000 ? utf8[c2] : 0;            \
                if (next & PLAIN) {                                                         \
                    at = one_gap(&d, at, fast, next, skipping);                             \
                    i += 2;                                                                 \
                    continue;                                                               \
                }                                                                           \
            }                                                                               \
            if (fast != 0) {                                                                \
                Word w = {fast & 0x00FFFFFFu, UTF8_SIZE(fast)};                             \
                at = direct(&d, at, w, UTF8_KIND(fast), skipping);                          \
                i++;                                                                        \
                continue;                                                                   \
            }                                                                               \
            uint32_t entry = packed[c];                                                     \
            uint8_t kind = (uint8_t)(entry >> 24);                                          \
            if (kind == DELETE) {                                                           \
                i++;                                                                        \
                continue;                                                                   \
            }                                                                               \
            if (kind != EXPAND) {                                                           \
                at = direct(&d, at, word_of(entry & PAYLOAD), kind, skipping);              \
                i++;                                                                        \
                continue;                                                                   \
            }                                                                               \
            Py_ssize_t e = (Py_ssize_t)((entry & PAYLOAD) - EXPANDED);                      \
            Py_ssize_t from = self->expansion_starts[e];                                    \
            Py_ssize_t size = self->expansion_starts[e + 1] - from;                         \
            b->at = at;                                                                     \
            if (bytes_reserve(b, 4 * (size + n - i) + 16) < 0) {                            \
                return -1;                                                                  \
            }                                                                               \
            at = b->at;                                                                     \
            for (Py_ssize_t j = from; j < from + size; j++) {                               \
                at = direct(&d, at, word_of(self->expansion_chars[j]),                      \
                            self->expansion_classes[j], skipping);                          \
            }                                                                               \
            i++;                                                                            \
        }                                                                                   \
    } while (0)

/* Append the UTF-8 of the normalized text to ``b`` in one pass. 0 when done; 1, with ``b``
 * as it was, when the general path must run; -1 with an exception set on failure. */
static int direct_raw(Folder *self, const void *raw, Py_ssize_t n, int width, Bytes *b) {
    const uint32_t *packed = self->packed;
    const uint32_t *utf8 = self->utf8;
    int skipping = self->separators;
    Direct d = {0, NULL, EDGE, EDGE, 0, 0, 0, 0};
    Py_ssize_t mark = b->at - b->start;
    if (n > (PY_SSIZE_T_MAX - 16) / 4) {
        PyErr_NoMemory();
        return -1;
    }
    if (bytes_reserve(b, 4 * n + 16) < 0) {
        return -1;
    }
    unsigned char *at = b->at;
    if (width == PyUnicode_1BYTE_KIND) {
        DIRECT_LOOP(Py_UCS1);
    } else if (width == PyUnicode_2BYTE_KIND) {
        DIRECT_LOOP(Py_UCS2);
    } else {
        DIRECT_LOOP(Py_UCS4);
    }
    if (d.general && skipping) {
        b->at = b->start + mark;
        return 1;
    }
    b->at = at;
    return 0;
}

static int direct_into(Folder *self, PyObject *text, Bytes *b) {
    return direct_raw(self, PyUnicode_DATA(text), PyUnicode_GET_LENGTH(text),
                      PyUnicode_KIND(text), b);
}

/* Append the UTF-8 of the normalized text to ``b``: 0, or -1 with an exception set. */
/* ASCII text (about a third of messages), where CPython's own encoding is a copy: fold
 * byte by byte through a 128-entry table, without the separator state machine. Only the
 * Latin rule can apply to ASCII (no CJK), and only where a letter or digit stands alone
 * between separators; then this gives up (1, ``b`` as it was) for direct_into. */
static int ascii_into(Folder *self, PyObject *text, Bytes *b) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    const Py_UCS1 *data = PyUnicode_1BYTE_DATA(text);
    if (bytes_reserve(b, n + 16) < 0) {
        return -1;
    }
    unsigned char *at = b->at;
    unsigned last = EDGE, lone = 0, single = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned c = data[i], kind = self->ascii_kind[c];
        unsigned keep = kind != DELETE;
        single |= keep & (kind == SEP) & lone;
        lone = keep ? (kind == LATIN || kind == DIGIT) & (last == SEP || last == EDGE) : lone;
        last = keep ? kind : last;
        *at = self->ascii_fold[c];
        at += keep;
    }
    if (single && self->separators) {
        return 1;
    }
    b->at = at;
    return 0;
}

static int utf8_into(Folder *self, PyObject *text, Bytes *b) {
    if (self->ascii && PyUnicode_IS_ASCII(text)) {
        int ascii_result = ascii_into(self, text, b);
        if (ascii_result <= 0) {
            return ascii_result;
        }
    }
    int direct_result = direct_into(self, text, b);
    if (direct_result <= 0) {
        return direct_result;
    }
    Out out;
    out_init(&out, 0);
    int result = -1;
    if (fold(self, text, &out) == 0) {
        settle(self, &out);
        Py_ssize_t size = 0;
        for (Py_ssize_t j = 0; j < out.len; j++) {
            size += utf8_size(out.cp[j]);
        }
        if (bytes_reserve(b, size) == 0) {
            for (Py_ssize_t j = 0; j < out.len; j++) {
                b->at = put_utf8(b->at, out.cp[j]);
            }
            result = 0;
        }
    }
    out_free(&out);
    return result;
}

static PyObject *Folder_normalize_utf8(Folder *self, PyObject *text) {
    if (!ready(self) || !readable(text, "normalize_utf8")) {
        return NULL;
    }
    unsigned char stack[STACK_BYTES];
    Bytes b = {stack, stack + STACK_BYTES, stack, 0, NULL};
    PyObject *result = NULL;
    if (utf8_into(self, text, &b) == 0) {
        result = PyBytes_FromStringAndSize((const char *)b.start, b.at - b.start);
    }
    bytes_free(&b);
    return result;
}

/* -- batches: many texts into one buffer, for one scan -----------------------------------
 *
 * utf8_batch(texts, start, budget) -> (data, offsets, stop): the normalized UTF-8 of
 * texts[start:stop], each followed by the byte 0xFF (which UTF-8 never holds, so no term can
 * match across it), where ``stop`` is the first text that would begin past ``budget`` bytes
 * (at least one text is taken); ``offsets`` holds, as native int64, where each text begins,
 * then the length of ``data``. */

static PyObject *Folder_utf8_batch(Folder *self, PyObject *const *args, Py_ssize_t nargs) {
    if (!ready(self)) {
        return NULL;
    }
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "utf8_batch(texts, start, budget)");
        return NULL;
    }
    Py_ssize_t start = PyLong_AsSsize_t(args[1]);
    Py_ssize_t budget = start == -1 && PyErr_Occurred() ? -1 : PyLong_AsSsize_t(args[2]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    PyObject *seq = PySequence_Fast(args[0], "utf8_batch() takes a sequence of str");
    if (seq == NULL) {
        return NULL;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq);
    if (start < 0 || start > count) {
        Py_DECREF(seq);
        PyErr_SetString(PyExc_IndexError, "start is not an index of texts");
        return NULL;
    }
    /* Written in place into the bytes object answered, sized once for the budget (capped:
     * it grows by doubling past that). */
    Py_ssize_t initial = budget < BATCH_BYTES ? (budget > 0 ? budget : 0) : BATCH_BYTES;
    Bytes b = {NULL, NULL, NULL, 2, PyBytes_FromStringAndSize(NULL, initial + STACK_BYTES)};
    Py_ssize_t cap = 64, taken = 0;
    int64_t *offsets = PyMem_Malloc(cap * sizeof(int64_t));
    PyObject *result = NULL;
    if (b.obj == NULL) {
        b.heap = 0;
        goto done;
    }
    b.start = b.at = (unsigned char *)PyBytes_AS_STRING(b.obj);
    b.end = b.start + PyBytes_GET_SIZE(b.obj);
    if (offsets == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t stop = start;
    for (; stop < count; stop++) {
        Py_ssize_t used = b.at - b.start;
        if (stop > start && used >= budget) {
            break;
        }
        PyObject *text = PySequence_Fast_GET_ITEM(seq, stop);
        if (!readable(text, "utf8_batch")) {
            goto done;
        }
        if (taken + 2 > cap) {
            int64_t *more = PyMem_Realloc(offsets, 2 * cap * sizeof(int64_t));
            if (more == NULL) {
                PyErr_NoMemory();
                goto done;
            }
            offsets = more;
            cap *= 2;
        }
        offsets[taken++] = used;
        if (utf8_into(self, text, &b) < 0 || bytes_reserve(&b, 1) < 0) {
            goto done;
        }
        *b.at++ = 0xFF;
    }
    offsets[taken] = b.at - b.start;
    if (_PyBytes_Resize(&b.obj, b.at - b.start) < 0) {
        b.heap = 0;
        goto done;
    }
    PyObject *data = b.obj;
    b.obj = NULL;
    b.heap = 0;
    PyObject *starts = PyBytes_FromStringAndSize((const char *)offsets,
                                                 (taken + 1) * (Py_ssize_t)sizeof(int64_t));
    if (data != NULL && starts != NULL) {
        result = Py_BuildValue("(OOn)", data, starts, stop);
    }
    Py_XDECREF(data);
    Py_XDECREF(starts);
done:
    PyMem_Free(offsets);
    bytes_free(&b);
    Py_DECREF(seq);
    return result;
}

/* -- JSON Lines straight to the batch: trustdesk scan's usual line without Python objects --
 *
 * json_lines(block, max_line) -> (data, offsets, items, odd): the lines of ``block`` (split at
 * '\n'; a last line without one counts) that are exactly an object of a string or integer
 * "id" and a string "text" (in either order, JSON whitespace anywhere, no other key) are
 * parsed here: each text is decoded (UTF-8 checked as strictly as Python's decoder, JSON
 * escapes resolved) and normalized into ``data`` as utf8_batch() does, followed by 0xFF;
 * ``offsets`` (native int64) is where each begins, then the end. ``items`` (native int64,
 * five per parsed line): the line's index in the block, the id's token (its quotes
 * included; a string id here has no escape, so the token is how json.dumps writes it) as
 * start and end, and the text's token (quotes included) as start and end. Every other line
 * (anything else, or anything doubtful: an escaped key or id, a lone surrogate, a number id
 * json.dumps would write differently, a line over ``max_line`` bytes) is left to the caller:
 * ``odd`` (native int64, three per line) holds its index, start and end. Nothing here
 * decides that a line is bad; it only declines the lines it does not handle. */

typedef struct {
    void *cps;         /* code points, two or four bytes each (as widest needs) */
    Py_ssize_t cap;    /* room for this many of four bytes */
    uint32_t widest;   /* every bit of every code point */
} Points;

static inline const unsigned char *json_ws(const unsigned char *p, const unsigned char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
        p++;
    }
    return p;
}

static inline int hex4(const unsigned char *p, uint32_t *value) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= c - '0';
        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            v |= (c | 0x20) - 'a' + 10;
        } else {
            return 0;
        }
    }
    *value = v;
    return 1;
}

/* ASCII that a JSON string cannot hold as it is, or that ends it: controls, '"', '\\'. */
static const uint8_t JSON_SPECIAL[128] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

#define PUT_POINT(cp)                                                                       \
    do {                                                                                    \
        if (width == 2) {                                                                   \
            ((uint16_t *)out)[k] = (uint16_t)(cp);                                          \
        } else if (width == 4) {                                                            \
            ((uint32_t *)out)[k] = (cp);                                                    \
        }                                                                                   \
    } while (0)

/* The JSON string whose opening quote is at ``p``: the position after its closing quote, or
 * NULL when it is not one this path takes. Its code points go to ``out`` (room for one per
 * byte; ``width`` 2 or 4 bytes each, 0: nowhere), their number to ``*n``; ``*escaped``
 * says whether it held an escape, ``*widest`` has every bit of every code point. */
HOT const unsigned char *json_string(const unsigned char *p, const unsigned char *end,
                                    void *out, int width, Py_ssize_t *n, int *escaped,
                                    uint32_t *widest) {
    Py_ssize_t k = 0;
    uint32_t any = 0, bad = 0;
    *escaped = 0;
    p++;
    while (p < end) {
        /* The usual characters first, with one predictable branch each: plain ASCII, and
         * three-byte sequences (CJK) whose checks are gathered in ``bad``, looked at once at
         * the end. Anything else takes the careful path below, one character at a time. */
        for (;;) {
            unsigned c = *p;
            if (c < 0x80 && end - p >= 8) { /* eight plain ASCII bytes at once, if they are */
                uint64_t v;
                memcpy(&v, p, 8);
                uint64_t high = 0x8080808080808080u, ones = 0x0101010101010101u;
                uint64_t quote = v ^ (ones * '"'), slash = v ^ (ones * '\\');
                uint64_t odd = (v | ((v - ones * 0x20) & ~v)) | ((quote - ones) & ~quote) |
                               ((slash - ones) & ~slash);
                if (!(odd & high)) {
                    for (int j = 0; j < 8; j++) {
                        PUT_POINT(p[j]);
                        k++;
                    }
                    p += 8;
                    continue;
                }
            }
            if (c < 0x80) {
                if (JSON_SPECIAL[c]) {
                    break;
                }
                PUT_POINT(c);
                k++;
                if (++p >= end) {
                    break;
                }
            } else if (c - 0xE0u < 0x10u && end - p >= 4) {
                uint32_t t1 = p[1], t2 = p[2];
                uint32_t cp = (c & 0x0F) << 12 | (t1 & 0x3F) << 6 | (t2 & 0x3F);
                bad |= ((t1 & 0xC0) ^ 0x80) | ((t2 & 0xC0) ^ 0x80) | (cp < 0x800) |
                       (cp - 0xD800u < 0x800u);
                PUT_POINT(cp);
                any |= cp;
                k++;
                p += 3;
            } else {
                break;
            }
        }
        if (bad) {
            return NULL;
        }
        if (p >= end) {
            break;
        }
        unsigned c = *p;
        if (c == '"') {
            *n = k;
            *widest = any;
            return p + 1;
        }
        if (c < 0x80) {
            if (c < 0x20) {
                return NULL; /* a raw control character: not JSON */
            }
            if (c != '\\') {
                PUT_POINT(c);
                k++;
                p++;
                continue;
            }
            *escaped = 1;
            if (end - p < 2) {
                return NULL;
            }
            uint32_t cp;
            switch (p[1]) {
            case '"': cp = '"'; break;
            case '\\': cp = '\\'; break;
            case '/': cp = '/'; break;
            case 'b': cp = '\b'; break;
            case 'f': cp = '\f'; break;
            case 'n': cp = '\n'; break;
            case 'r': cp = '\r'; break;
            case 't': cp = '\t'; break;
            case 'u':
                if (end - p < 6 || !hex4(p + 2, &cp)) {
                    return NULL;
                }
                if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    return NULL; /* a lone low surrogate: the caller's */
                }
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    uint32_t low;
                    if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || !hex4(p + 8, &low) ||
                        low < 0xDC00 || low > 0xDFFF) {
                        return NULL; /* a lone high surrogate: the caller's */
                    }
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    p += 6;
                }
                p += 4;
                break;
            default:
                return NULL;
            }
            PUT_POINT(cp);
            any |= cp;
            k++;
            p += 2;
            continue;
        }
        uint32_t cp;
        if (c < 0xC2) {
            return NULL;
        } else if (c < 0xE0) {
            if (end - p < 2 || (p[1] & 0xC0) != 0x80) {
                return NULL;
            }
            cp = (c & 0x1F) << 6 | (p[1] & 0x3F);
            p += 2;
        } else if (c < 0xF0) {
            if (end - p < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
                (c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0)) {
                return NULL;
            }
            cp = (c & 0x0F) << 12 | (p[1] & 0x3F) << 6 | (p[2] & 0x3F);
            p += 3;
        } else if (c < 0xF5) {
            if (end - p < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
                (p[3] & 0xC0) != 0x80 || (c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90)) {
                return NULL;
            }
            cp = (c & 0x07) << 18 | (p[1] & 0x3F) << 12 | (p[2] & 0x3F) << 6 | (p[3] & 0x3F);
            p += 4;
        } else {
            return NULL;
        }
        PUT_POINT(cp);
        any |= cp;
        k++;
    }
    return NULL;
}
#undef PUT_POINT

/* An integer id as json.dumps writes it back (no "-0", at most 18 digits): the position
 * after it, or NULL. */
static const unsigned char *json_integer(const unsigned char *p, const unsigned char *end) {
    const unsigned char *start = p;
    if (p < end && *p == '-') {
        p++;
    }
    const unsigned char *digits = p;
    if (p >= end || *p < '0' || *p > '9') {
        return NULL;
    }
    if (*p == '0') {
        p++;
        if (p - start == 2) {
            return NULL; /* -0 */
        }
    } else {
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }
    if (p - digits > 18 || (p < end && (*p == '.' || *p == 'e' || *p == 'E' ||
                                        (*p >= '0' && *p <= '9')))) {
        return NULL;
    }
    return p;
}

/* One line: 1 and ``span`` (id start and end, text start and end, from ``base``) with the text's code
 * points in ``points`` (``*n`` of them, ``*escaped`` for an escape) when it is the usual
 * line; 0 otherwise. */
static int json_line(const unsigned char *base, const unsigned char *p, const unsigned char *end,
                     Points *points, int64_t *span, Py_ssize_t *n, int *escaped) {
    int have_id = 0, have_text = 0;
    p = json_ws(p, end);
    if (p >= end || *p != '{') {
        return 0;
    }
    p = json_ws(p + 1, end);
    for (;;) {
        if (p >= end || *p != '"') {
            return 0;
        }
        const unsigned char *key = p + 1, *close = key;
        while (close < end && *close != '"' && *close != '\\' && *close >= 0x20) {
            close++;
        }
        if (close >= end || *close != '"') {
            return 0;
        }
        Py_ssize_t size = close - key;
        p = json_ws(close + 1, end);
        if (p >= end || *p != ':') {
            return 0;
        }
        p = json_ws(p + 1, end);
        if (p >= end) {
            return 0;
        }
        if (size == 2 && key[0] == 'i' && key[1] == 'd' && !have_id) {
            const unsigned char *after;
            if (*p == '"') {
                Py_ssize_t ignored;
                int id_escaped;
                uint32_t bits;
                after = json_string(p, end, NULL, 0, &ignored, &id_escaped, &bits);
                if (after == NULL || id_escaped) {
                    return 0;
                }
            } else {
                after = json_integer(p, end);
                if (after == NULL) {
                    return 0;
                }
            }
            span[0] = p - base;
            span[1] = after - base;
            have_id = 1;
            p = after;
        } else if (size == 4 && memcmp(key, "text", 4) == 0 && !have_text && *p == '"') {
            const unsigned char *after = json_string(p, end, points->cps, 2, n, escaped,
                                                     &points->widest);
            if (after == NULL) {
                return 0;
            }
            if (points->widest >= 0x10000) { /* beyond the BMP: again, four bytes each */
                json_string(p, end, points->cps, 4, n, escaped, &points->widest);
            }
            span[2] = p - base;
            span[3] = after - base;
            have_text = 1;
            p = after;
        } else {
            return 0;
        }
        p = json_ws(p, end);
        if (p < end && *p == ',') {
            p = json_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == '}') {
            break;
        }
        return 0;
    }
    return have_id && have_text && json_ws(p + 1, end) == end;
}

/* A growing array of int64. */
typedef struct {
    int64_t *at;
    Py_ssize_t len;
    Py_ssize_t cap;
} Longs;

static int longs_put(Longs *l, const int64_t *values, Py_ssize_t count) {
    if (l->len + count > l->cap) {
        Py_ssize_t cap = l->cap * 2 > l->len + count ? l->cap * 2 : l->len + count + 64;
        int64_t *more = PyMem_Realloc(l->at, cap * sizeof(int64_t));
        if (more == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        l->at = more;
        l->cap = cap;
    }
    memcpy(l->at + l->len, values, count * sizeof(int64_t));
    l->len += count;
    return 0;
}

static PyObject *longs_bytes(const Longs *l) {
    return PyBytes_FromStringAndSize((const char *)l->at, l->len * (Py_ssize_t)sizeof(int64_t));
}

/* The normalized UTF-8 of ``n`` code points (``escaped``: not the line's own bytes) into
 * ``b``, as utf8_into() writes a str of them. */
static int points_into(Folder *self, const unsigned char *raw, const Points *points,
                       Py_ssize_t n, int escaped, Bytes *b) {
    int kind = points->widest >= 0x10000 ? PyUnicode_4BYTE_KIND : PyUnicode_2BYTE_KIND;
    int result;
    if (!escaped && points->widest < 0x80) { /* the text's bytes are its code points */
        result = direct_raw(self, raw, n, PyUnicode_1BYTE_KIND, b);
    } else {
        result = direct_raw(self, points->cps, n, kind, b);
    }
    if (result <= 0) {
        return result;
    }
    PyObject *text = PyUnicode_FromKindAndData(kind, points->cps, n);
    if (text == NULL) {
        return -1;
    }
    result = utf8_into(self, text, b);
    Py_DECREF(text);
    return result;
}

static PyObject *Folder_json_lines(Folder *self, PyObject *const *args, Py_ssize_t nargs) {
    if (!ready(self)) {
        return NULL;
    }
    Py_buffer view;
    Py_ssize_t max_line;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "json_lines(block, max_line)");
        return NULL;
    }
    max_line = PyLong_AsSsize_t(args[1]);
    if (max_line == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    const unsigned char *base = view.buf, *stop = base + view.len;
    Py_ssize_t initial = view.len < BATCH_BYTES ? view.len : BATCH_BYTES;
    Bytes b = {NULL, NULL, NULL, 2, PyBytes_FromStringAndSize(NULL, initial + STACK_BYTES)};
    Longs offsets = {NULL, 0, 0}, items = {NULL, 0, 0}, odd = {NULL, 0, 0};
    Points points = {NULL, 0, 0};
    PyObject *result = NULL;
    if (b.obj == NULL) {
        b.heap = 0;
        goto done;
    }
    b.start = b.at = (unsigned char *)PyBytes_AS_STRING(b.obj);
    b.end = b.start + PyBytes_GET_SIZE(b.obj);
    const unsigned char *line = base;
    for (int64_t index = 0; line < stop; index++) {
        const unsigned char *end = memchr(line, '\n', stop - line);
        const unsigned char *next = end ? end + 1 : stop;
        end = end ? end : stop;
        int64_t entry[5] = {index, 0, 0, 0, 0};
        Py_ssize_t n = 0;
        int escaped = 0, usual = 0;
        if (end - line <= max_line) {
            if (end - line > points.cap) {
                uint32_t *more = PyMem_Realloc(points.cps, (end - line) * sizeof(uint32_t));
                if (more == NULL) {
                    PyErr_NoMemory();
                    goto done;
                }
                points.cps = more;
                points.cap = end - line;
            }
            usual = json_line(base, line, end, &points, entry + 1, &n, &escaped);
        }
        if (usual) {
            int64_t at = b.at - b.start;
            if (longs_put(&offsets, &at, 1) < 0 || longs_put(&items, entry, 5) < 0 ||
                points_into(self, base + entry[3] + 1, &points, n, escaped, &b) < 0 ||
                bytes_reserve(&b, 1) < 0) {
                goto done;
            }
            *b.at++ = 0xFF;
        } else {
            int64_t where[3] = {index, line - base, end - base};
            if (longs_put(&odd, where, 3) < 0) {
                goto done;
            }
        }
        line = next;
    }
    int64_t at = b.at - b.start;
    if (longs_put(&offsets, &at, 1) < 0) {
        goto done;
    }
    if (_PyBytes_Resize(&b.obj, at) < 0) {
        b.heap = 0;
        goto done;
    }
    PyObject *starts = longs_bytes(&offsets), *spans = longs_bytes(&items);
    PyObject *others = longs_bytes(&odd);
    if (starts != NULL && spans != NULL && others != NULL) {
        result = PyTuple_Pack(4, b.obj, starts, spans, others);
    }
    Py_XDECREF(starts);
    Py_XDECREF(spans);
    Py_XDECREF(others);
done:
    PyMem_Free(points.cps);
    PyMem_Free(offsets.at);
    PyMem_Free(items.at);
    PyMem_Free(odd.at);
    bytes_free(&b);
    PyBuffer_Release(&view);
    return result;
}

/* render(block, items, tail, hits, others) -> bytes: the output lines of a block, in input
 * order. Item k of ``items`` (json_lines()'s) is written as '{"id": ' + its id token + its
 * own tail, the one in ``hits`` (a list of (k, tail) sorted by k) when it has one, else
 * ``tail``; the lines of ``others`` ((line index, line) sorted by index) go in among them by
 * line index. Every line gets a '\n'. */
static int put_line(Bytes *b, const char *parts[], const Py_ssize_t sizes[], int count) {
    Py_ssize_t total = 1;
    for (int i = 0; i < count; i++) {
        total += sizes[i];
    }
    if (bytes_reserve(b, total) < 0) {
        return -1;
    }
    for (int i = 0; i < count; i++) {
        memcpy(b->at, parts[i], sizes[i]);
        b->at += sizes[i];
    }
    *b->at++ = '\n';
    return 0;
}

/* Entry ``at`` of a sorted list of (int, bytes): its int (or -1 past the end) and bytes. */
static int64_t pair_at(PyObject *list, Py_ssize_t at, PyObject **line) {
    if (at >= PyList_GET_SIZE(list)) {
        return -1;
    }
    PyObject *pair = PyList_GET_ITEM(list, at);
    if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2 ||
        !PyBytes_Check(PyTuple_GET_ITEM(pair, 1))) {
        PyErr_SetString(PyExc_TypeError, "render() takes lists of (int, bytes)");
        return -2;
    }
    *line = PyTuple_GET_ITEM(pair, 1);
    int64_t index = PyLong_AsLongLong(PyTuple_GET_ITEM(pair, 0));
    if (index < 0 && !PyErr_Occurred()) { /* -1 and -2 say "past the end" and "failed" */
        PyErr_SetString(PyExc_ValueError, "render() takes indexes from 0");
    }
    return index < 0 ? -2 : index;
}

static PyObject *render(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 5 || !PyBytes_Check(args[0]) || !PyBytes_Check(args[1]) ||
        !PyBytes_Check(args[2]) || !PyList_Check(args[3]) || !PyList_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError, "render(block, items, tail, hits, others)");
        return NULL;
    }
    const char *block = PyBytes_AS_STRING(args[0]);
    Py_ssize_t block_size = PyBytes_GET_SIZE(args[0]);
    const int64_t *items = (const int64_t *)PyBytes_AS_STRING(args[1]);
    Py_ssize_t count = PyBytes_GET_SIZE(args[1]) / (5 * (Py_ssize_t)sizeof(int64_t));
    const char *tail = PyBytes_AS_STRING(args[2]);
    Py_ssize_t tail_size = PyBytes_GET_SIZE(args[2]);
    PyObject *hits = args[3], *others = args[4], *hit_line = NULL, *other_line = NULL;
    Py_ssize_t hit_at = 0, other_at = 0, size = count * (tail_size + 8) + 16;
    for (Py_ssize_t k = 0; k < count; k++) { /* sized once: no copy as it grows */
        size += (Py_ssize_t)(items[5 * k + 2] - items[5 * k + 1]);
    }
    for (int pass = 0; pass < 2; pass++) {
        PyObject *list = pass ? others : hits;
        for (Py_ssize_t k = 0; k < PyList_GET_SIZE(list); k++) {
            PyObject *pair = PyList_GET_ITEM(list, k);
            if (PyTuple_Check(pair) && PyTuple_GET_SIZE(pair) == 2 &&
                PyBytes_Check(PyTuple_GET_ITEM(pair, 1))) {
                size += PyBytes_GET_SIZE(PyTuple_GET_ITEM(pair, 1)) + 1;
            }
        }
    }
    int64_t hit = pair_at(hits, 0, &hit_line), other = pair_at(others, 0, &other_line);
    Bytes b = {NULL, NULL, NULL, 2, PyBytes_FromStringAndSize(NULL, size)};
    if (b.obj == NULL) {
        return NULL;
    }
    b.start = b.at = (unsigned char *)PyBytes_AS_STRING(b.obj);
    b.end = b.start + PyBytes_GET_SIZE(b.obj);
    for (Py_ssize_t k = 0; k <= count && hit > -2 && other > -2; k++) {
        int64_t line = k < count ? items[5 * k] : INT64_MAX;
        while (other >= 0 && other < line) {
            const char *parts[] = {PyBytes_AS_STRING(other_line)};
            Py_ssize_t sizes[] = {PyBytes_GET_SIZE(other_line)};
            if (put_line(&b, parts, sizes, 1) < 0) {
                goto failed;
            }
            other = pair_at(others, ++other_at, &other_line);
        }
        if (k == count || other == -2) {
            break;
        }
        int64_t id_start = items[5 * k + 1], id_end = items[5 * k + 2];
        if (id_start < 0 || id_end < id_start || id_end > block_size) {
            PyErr_SetString(PyExc_ValueError, "render(): an id beyond the block");
            goto failed;
        }
        const char *parts[] = {"{\"id\": ", block + id_start, tail};
        Py_ssize_t sizes[] = {7, (Py_ssize_t)(id_end - id_start), tail_size};
        if (hit == k) {
            parts[2] = PyBytes_AS_STRING(hit_line);
            sizes[2] = PyBytes_GET_SIZE(hit_line);
            hit = pair_at(hits, ++hit_at, &hit_line);
        }
        if (put_line(&b, parts, sizes, 3) < 0) {
            goto failed;
        }
    }
    if (hit == -2 || other == -2) {
        goto failed;
    }
    if (_PyBytes_Resize(&b.obj, b.at - b.start) < 0) {
        return NULL;
    }
    return b.obj;
failed:
    bytes_free(&b);
    return NULL;
}

/* -- hits back into the original text ---------------------------------------------------
 *
 * locate(text, found, sizes, bounds, base=0): ``found`` holds (term index, end) pairs, each
 * the end of a term's UTF-8 in the normalized text's UTF-8 (at ``base`` in a batch), as
 * hyperscan reports them; ``sizes`` (native int32) the length of each term in characters,
 * ``bounds`` (one byte each) whether it needs a word boundary before (1) and after (2) it.
 * Folds the text again, now with offsets, and answers the hits that keep their word
 * boundaries as sorted, distinct (start, end, index, folded start, folded end): the span in
 * the original text, then in the normalized one. normalize.Normalizer.locate is the
 * reference, in Python. */

typedef struct {
    Py_ssize_t end;
    Py_ssize_t index;
} Found;

typedef struct {
    Py_ssize_t at[5];
} Located;

static int found_order(const void *a, const void *b) {
    const Found *x = a, *y = b;
    return (x->end > y->end) - (x->end < y->end);
}

static int located_order(const void *a, const void *b) {
    const Located *x = a, *y = b;
    for (int k = 0; k < 5; k++) {
        if (x->at[k] != y->at[k]) {
            return x->at[k] < y->at[k] ? -1 : 1;
        }
    }
    return 0;
}

/* ``found`` as Found, checked against the term count. Returns the count, or -1. */
static Py_ssize_t read_found(PyObject *seq, Py_ssize_t base, Py_ssize_t terms, Found *hits) {
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq);
    int sorted = 1;
    for (Py_ssize_t h = 0; h < count; h++) {
        PyObject *pair = PySequence_Fast_GET_ITEM(seq, h);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
            PyErr_SetString(PyExc_TypeError, "found holds (term index, end) tuples");
            return -1;
        }
        Py_ssize_t index = PyLong_AsSsize_t(PyTuple_GET_ITEM(pair, 0));
        Py_ssize_t end = index == -1 && PyErr_Occurred()
                             ? -1
                             : PyLong_AsSsize_t(PyTuple_GET_ITEM(pair, 1));
        if (PyErr_Occurred()) {
            return -1;
        }
        if (index < 0 || index >= terms) {
            PyErr_Format(PyExc_IndexError, "term index %zd out of range", index);
            return -1;
        }
        if (end < base) {
            PyErr_SetString(PyExc_ValueError, "a match ends before its text begins");
            return -1;
        }
        hits[h].end = end - base;
        hits[h].index = index;
        sorted &= h == 0 || hits[h - 1].end <= hits[h].end;
    }
    if (!sorted) {
        qsort(hits, (size_t)count, sizeof(Found), found_order);
    }
    return count;
}

/* Boundary-checked spans of ``hits`` (sorted by end) over the folded ``out``. */
static Py_ssize_t spans(Folder *self, const Out *out, const Found *hits, Py_ssize_t count,
                        const int32_t *sizes, const uint8_t *bounds, Located *located) {
    const uint8_t *words = self->words.buf;
    Py_ssize_t j = 0, at = 0, kept = 0;
    for (Py_ssize_t h = 0; h < count; h++) {
        while (at < hits[h].end && j < out->len) {
            at += utf8_size(out->cp[j++]);
        }
        if (at != hits[h].end) {
            PyErr_SetString(PyExc_ValueError,
                            "a match end that is not a character boundary of the normalized text");
            return -1;
        }
        Py_ssize_t index = hits[h].index, fend = j, fstart = j - sizes[index];
        if (sizes[index] <= 0 || fstart < 0) {
            PyErr_SetString(PyExc_ValueError, "a match longer than the text before its end");
            return -1;
        }
        if ((bounds[index] & 1) && fstart > 0 && words[out->cp[fstart - 1]]) {
            continue;
        }
        if ((bounds[index] & 2) && fend < out->len && words[out->cp[fend]]) {
            continue;
        }
        Located *span = &located[kept++];
        span->at[0] = (Py_ssize_t)out->starts[fstart];
        span->at[1] = (Py_ssize_t)out->ends[fend - 1];
        span->at[2] = index;
        span->at[3] = fstart;
        span->at[4] = fend;
    }
    return kept;
}

/* The distinct ``located`` (sorted here) as a list of tuples. */
static PyObject *located_list(Located *located, Py_ssize_t kept) {
    qsort(located, (size_t)kept, sizeof(Located), located_order);
    PyObject *result = PyList_New(0);
    for (Py_ssize_t k = 0; result != NULL && k < kept; k++) {
        if (k > 0 && located_order(&located[k - 1], &located[k]) == 0) {
            continue;
        }
        const Py_ssize_t *v = located[k].at;
        PyObject *span = Py_BuildValue("(nnnnn)", v[0], v[1], v[2], v[3], v[4]);
        if (span == NULL || PyList_Append(result, span) < 0) {
            Py_XDECREF(span);
            Py_CLEAR(result);
            break;
        }
        Py_DECREF(span);
    }
    return result;
}

static PyObject *Folder_locate(Folder *self, PyObject *const *args, Py_ssize_t nargs) {
    if (!ready(self)) {
        return NULL;
    }
    if (self->words.buf == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "this Folder was built without a word table");
        return NULL;
    }
    if (nargs != 4 && nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "locate(text, found, sizes, bounds, base=0)");
        return NULL;
    }
    if (!readable(args[0], "locate")) {
        return NULL;
    }
    Py_ssize_t base = nargs == 5 ? PyLong_AsSsize_t(args[4]) : 0;
    if (base == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_buffer sizes = {0}, bounds = {0};
    PyObject *seq = NULL, *result = NULL;
    Found *hits = NULL;
    Located *located = NULL;
    Out out;
    out_init(&out, 1);
    if (PyObject_GetBuffer(args[2], &sizes, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    if (PyObject_GetBuffer(args[3], &bounds, PyBUF_SIMPLE) < 0) {
        goto done;
    }
    if (sizes.len != bounds.len * (Py_ssize_t)sizeof(int32_t)) {
        PyErr_SetString(PyExc_ValueError, "one int32 size and one bounds byte per term");
        goto done;
    }
    seq = PySequence_Fast(args[1], "locate() takes a sequence of (term index, end)");
    if (seq == NULL) {
        goto done;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq);
    hits = PyMem_Malloc((size_t)(count + 1) * sizeof(Found));
    located = PyMem_Malloc((size_t)(count + 1) * sizeof(Located));
    if (hits == NULL || located == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (read_found(seq, base, bounds.len, hits) < 0 || fold(self, args[0], &out) < 0) {
        goto done;
    }
    settle(self, &out);
    Py_ssize_t kept = spans(self, &out, hits, count, sizes.buf, bounds.buf, located);
    if (kept >= 0) {
        result = located_list(located, kept);
    }
done:
    out_free(&out);
    PyMem_Free(hits);
    PyMem_Free(located);
    Py_XDECREF(seq);
    PyBuffer_Release(&sizes);
    if (bounds.obj != NULL) {
        PyBuffer_Release(&bounds);
    }
    return result;
}

static PyObject *Folder_map(Folder *self, PyObject *text) {
    if (!ready(self)) {
        return NULL;
    }
    if (!readable(text, "map")) {
        return NULL;
    }
    Out out;
    out_init(&out, 1);
    PyObject *result = NULL;
    PyObject *folded = NULL;
    if (fold(self, text, &out) == 0) {
        settle(self, &out);
        folded = as_str(&out);
    }
    if (folded != NULL) {
        Py_ssize_t size = out.len * (Py_ssize_t)sizeof(int64_t);
        PyObject *starts = PyBytes_FromStringAndSize((const char *)out.starts, size);
        PyObject *ends = PyBytes_FromStringAndSize((const char *)out.ends, size);
        if (starts != NULL && ends != NULL) {
            result = PyTuple_Pack(3, folded, starts, ends);
        }
        Py_XDECREF(starts);
        Py_XDECREF(ends);
        Py_DECREF(folded);
    }
    out_free(&out);
    return result;
}

static PyObject *Folder_normalize_many(Folder *self, PyObject *texts) {
    if (!ready(self)) {
        return NULL;
    }
    PyObject *seq = PySequence_Fast(texts, "normalize_many() takes a sequence of str");
    if (seq == NULL) {
        return NULL;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq);
    PyObject *results = PyList_New(count);
    if (results == NULL) {
        Py_DECREF(seq);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *folded = normalize_one(self, PySequence_Fast_GET_ITEM(seq, i));
        if (folded == NULL) {
            Py_DECREF(results);
            Py_DECREF(seq);
            return NULL;
        }
        PyList_SET_ITEM(results, i, folded);
    }
    Py_DECREF(seq);
    return results;
}

/* Folder(packed, expansions, expansion_classes, separators): checks everything it will use,
 * so no table can make it read out of bounds. */
static int Folder_init(Folder *self, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"packed", "expansions", "expansion_classes", "separators",
                               "words", NULL};
    PyObject *packed, *expansions, *classes, *words = Py_None;
    int separators;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO!O!p|O", keywords, &packed, &PyTuple_Type,
                                     &expansions, &PyTuple_Type, &classes, &separators, &words)) {
        return -1;
    }
    if (self->packed != NULL || self->expansion_chars != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "a Folder is initialized once");
        return -1;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(expansions);
    if (PyTuple_GET_SIZE(classes) != count) {
        PyErr_SetString(PyExc_ValueError, "one class string per expansion");
        return -1;
    }
    Py_ssize_t total = 0;
    for (Py_ssize_t e = 0; e < count; e++) {
        PyObject *text = PyTuple_GET_ITEM(expansions, e);
        PyObject *kinds = PyTuple_GET_ITEM(classes, e);
        if (!PyUnicode_Check(text) || !PyBytes_Check(kinds) ||
            PyBytes_GET_SIZE(kinds) != PyUnicode_GET_LENGTH(text)) {
            PyErr_SetString(PyExc_ValueError, "expansions are str, their classes bytes of its length");
            return -1;
        }
        total += PyUnicode_GET_LENGTH(text);
    }
    self->expansion_chars = PyMem_Malloc((total + 1) * sizeof(uint32_t));
    self->expansion_classes = PyMem_Malloc(total + 1);
    self->expansion_starts = PyMem_Malloc((count + 1) * sizeof(Py_ssize_t));
    if (!self->expansion_chars || !self->expansion_classes || !self->expansion_starts) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t at = 0;
    for (Py_ssize_t e = 0; e < count; e++) {
        PyObject *text = PyTuple_GET_ITEM(expansions, e);
        const char *kinds = PyBytes_AS_STRING(PyTuple_GET_ITEM(classes, e));
        self->expansion_starts[e] = at;
        for (Py_ssize_t j = 0; j < PyUnicode_GET_LENGTH(text); j++) {
            uint8_t kind = (uint8_t)kinds[j];
            if (kind == EXPAND || kind == DELETE || kind > 31) {
                PyErr_SetString(PyExc_ValueError, "an expansion's class is a plain class");
                return -1;
            }
            self->expansion_chars[at] = PyUnicode_READ_CHAR(text, j);
            self->expansion_classes[at] = kind;
            at++;
        }
    }
    self->expansion_starts[count] = at;
    self->expansions = count;
    if (PyObject_GetBuffer(packed, &self->table, PyBUF_SIMPLE) < 0) {
        return -1;
    }
    const uint32_t *table = self->table.buf;
    if (self->table.len != TABLE_SIZE * (Py_ssize_t)sizeof(uint32_t)) {
        PyBuffer_Release(&self->table);
        PyErr_SetString(PyExc_ValueError, "the packed table holds one uint32 per code point");
        return -1;
    }
    for (Py_ssize_t cp = 0; cp < TABLE_SIZE; cp++) {
        uint32_t kind = table[cp] >> 24, payload = table[cp] & PAYLOAD;
        int bad = kind > 31 ||
                  (kind == EXPAND && (payload < EXPANDED || payload - EXPANDED >= (uint32_t)count)) ||
                  (kind != EXPAND && kind != DELETE && payload >= TABLE_SIZE);
        if (bad) {
            PyBuffer_Release(&self->table);
            PyErr_Format(PyExc_ValueError, "bad table entry for U+%04X", (unsigned)cp);
            return -1;
        }
    }
    if (words != Py_None) {
        if (PyObject_GetBuffer(words, &self->words, PyBUF_SIMPLE) < 0) {
            PyBuffer_Release(&self->table);
            return -1;
        }
        if (self->words.len != TABLE_SIZE) {
            PyBuffer_Release(&self->words);
            PyBuffer_Release(&self->table);
            self->words.buf = NULL;
            PyErr_SetString(PyExc_ValueError, "the word table holds one byte per code point");
            return -1;
        }
    }
    self->utf8 = PyMem_Malloc(0x10000 * sizeof(uint32_t));
    if (self->utf8 == NULL) {
        if (self->words.buf != NULL) {
            PyBuffer_Release(&self->words);
            self->words.buf = NULL;
        }
        PyBuffer_Release(&self->table);
        PyErr_NoMemory();
        return -1;
    }
    for (uint32_t cp = 0; cp < 0x10000; cp++) {
        self->utf8[cp] = utf8_entry(table[cp]);
    }
    self->packed = table;
    self->separators = separators;
    self->ascii = 1;
    for (int c = 0; c < 128; c++) {
        uint32_t kind = table[c] >> 24, payload = table[c] & PAYLOAD;
        self->ascii_kind[c] = (uint8_t)kind;
        self->ascii_fold[c] = (uint8_t)payload;
        if (kind == EXPAND || (kind != DELETE && payload >= 128)) {
            self->ascii = 0; /* no step does this; the general loops handle it */
        }
    }
    return 0;
}

static void Folder_dealloc(Folder *self) {
    if (self->packed != NULL) {
        PyBuffer_Release(&self->table);
    }
    if (self->words.buf != NULL) {
        PyBuffer_Release(&self->words);
    }
    PyMem_Free(self->expansion_chars);
    PyMem_Free(self->expansion_classes);
    PyMem_Free(self->expansion_starts);
    PyMem_Free(self->utf8);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef Folder_methods[] = {
    {"normalize", (PyCFunction)Folder_normalize, METH_O,
     "normalize(text) -> the folded text with separators skipped"},
    {"normalize_utf8", (PyCFunction)Folder_normalize_utf8, METH_O,
     "normalize_utf8(text) -> normalize(text) encoded as UTF-8"},
    {"map", (PyCFunction)Folder_map, METH_O,
     "map(text) -> (folded text, starts, ends): int64 native-endian bytes, one per character"},
    {"normalize_many", (PyCFunction)Folder_normalize_many, METH_O,
     "normalize_many(texts) -> [normalize(text) for text in texts]"},
    {"utf8_batch", (PyCFunction)(void (*)(void))Folder_utf8_batch, METH_FASTCALL,
     "utf8_batch(texts, start, budget) -> (data, offsets, stop): texts[start:stop] "
     "normalized to UTF-8, each followed by 0xFF; offsets: native int64, one per text and "
     "the end"},
    {"json_lines", (PyCFunction)(void (*)(void))Folder_json_lines, METH_FASTCALL,
     "json_lines(block, max_line) -> (data, offsets, items, odd): the usual JSON Lines of "
     "block parsed and their texts normalized as utf8_batch() does; the others declined"},
    {"locate", (PyCFunction)(void (*)(void))Folder_locate, METH_FASTCALL,
     "locate(text, found, sizes, bounds, base=0) -> sorted distinct (start, end, index, "
     "folded start, folded end) of the hits that keep their word boundaries"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject FolderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "trustdesk.screening._cfold.Folder",
    .tp_doc = "Folding and separator skipping of one Steps, over its packed table",
    .tp_basicsize = sizeof(Folder),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Folder_init,
    .tp_dealloc = (destructor)Folder_dealloc,
    .tp_methods = Folder_methods,
};

static PyMethodDef module_methods[] = {
    {"render", (PyCFunction)(void (*)(void))render, METH_FASTCALL,
     "render(block, items, tail, hits, others) -> the output lines of a json_lines() block"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_methods = module_methods,
    .m_name = "trustdesk.screening._cfold",
    .m_doc = "The compiled normalizer (see trustdesk.screening.normalize)",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__cfold(void) {
    if (PyType_Ready(&FolderType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    PyObject *classes = Py_BuildValue("(iiiiiiii)", WORD, SEP, EDGE, LATIN, CJK, DIGIT, EXPAND,
                                      DELETE);
    int failed = classes == NULL || PyModule_AddObjectRef(m, "CLASSES", classes) < 0 ||
                 PyModule_AddObjectRef(m, "Folder", (PyObject *)&FolderType) < 0;
    Py_XDECREF(classes);
    if (failed) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
