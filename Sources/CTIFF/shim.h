#ifndef TESSERA_CTIFF_SHIM_H
#define TESSERA_CTIFF_SHIM_H
#include <tiffio.h>
#include <libdeflate.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An in-memory TIFF stream for TIFFClientOpenExt: reads from caller-owned bytes or writes
   into a growing malloc'd buffer. Also collects the first libtiff error message of the handle
   (per handle, via TIFFOpenOptions — no process-global handlers). */
typedef struct {
    unsigned char *data;
    size_t size;
    size_t capacity;
    size_t pos;
    int writable; /* 1: `data` is ours (malloc'd), grows on write */
    char error[512];
} tessera_tiff_stream;

static tmsize_t tessera_tiff_stream_read(thandle_t h, void *buf, tmsize_t n) {
    tessera_tiff_stream *s = (tessera_tiff_stream *)h;
    if (n <= 0 || s->pos >= s->size) return 0;
    size_t avail = s->size - s->pos;
    size_t count = (size_t)n < avail ? (size_t)n : avail;
    memcpy(buf, s->data + s->pos, count);
    s->pos += count;
    return (tmsize_t)count;
}

static tmsize_t tessera_tiff_stream_write(thandle_t h, void *buf, tmsize_t n) {
    tessera_tiff_stream *s = (tessera_tiff_stream *)h;
    if (!s->writable || n < 0) return -1;
    size_t end = s->pos + (size_t)n;
    if (end > s->capacity) {
        size_t cap = s->capacity ? s->capacity : 65536;
        while (cap < end) cap *= 2;
        unsigned char *grown = (unsigned char *)realloc(s->data, cap);
        if (!grown) return -1;
        s->data = grown;
        s->capacity = cap;
    }
    /* A write past the end (after a seek) leaves a gap: zero it, so the bytes are deterministic.
       (Bytes past `size` are never exposed, so the rest of the capacity stays untouched.) */
    if (s->pos > s->size) memset(s->data + s->size, 0, s->pos - s->size);
    memcpy(s->data + s->pos, buf, (size_t)n);
    s->pos = end;
    if (end > s->size) s->size = end;
    return n;
}

static toff_t tessera_tiff_stream_seek(thandle_t h, toff_t off, int whence) {
    tessera_tiff_stream *s = (tessera_tiff_stream *)h;
    long long base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (long long)s->pos : (long long)s->size;
    long long target = base + (long long)off;
    if (target < 0) return (toff_t)-1;
    s->pos = (size_t)target;
    return (toff_t)s->pos;
}

static int tessera_tiff_stream_close(thandle_t h) { (void)h; return 0; }
static toff_t tessera_tiff_stream_size(thandle_t h) { return (toff_t)((tessera_tiff_stream *)h)->size; }
static int tessera_tiff_stream_map(thandle_t h, void **base, toff_t *size) { (void)h; (void)base; (void)size; return 0; }
static void tessera_tiff_stream_unmap(thandle_t h, void *base, toff_t size) { (void)h; (void)base; (void)size; }

static int tessera_tiff_error_handler(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap) {
    (void)tif;
    tessera_tiff_stream *s = (tessera_tiff_stream *)user;
    if (s && !s->error[0]) {
        int n = snprintf(s->error, sizeof s->error, "%s: ", module ? module : "libtiff");
        if (n < 0) n = 0;
        if ((size_t)n < sizeof s->error) vsnprintf(s->error + n, sizeof s->error - (size_t)n, fmt, ap);
    }
    return 1;
}

static int tessera_tiff_warning_handler(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap) {
    (void)tif; (void)user; (void)module; (void)fmt; (void)ap;
    return 1; /* warnings (unknown tags, …) are not errors; keep stderr quiet */
}

/* A stream reading `size` bytes at `bytes` (not copied: they must outlive the TIFF handle). */
static inline tessera_tiff_stream *tessera_tiff_stream_reader(const void *bytes, size_t size) {
    tessera_tiff_stream *s = (tessera_tiff_stream *)calloc(1, sizeof(tessera_tiff_stream));
    if (!s) return NULL;
    s->data = (unsigned char *)bytes;
    s->size = size;
    return s;
}

static inline tessera_tiff_stream *tessera_tiff_stream_writer(void) {
    tessera_tiff_stream *s = (tessera_tiff_stream *)calloc(1, sizeof(tessera_tiff_stream));
    if (s) s->writable = 1;
    return s;
}

/* Grows a writer's buffer to at least `capacity` bytes up front (one allocation for an output
   of known size instead of repeated doubling). Returns 1, or 0 when out of memory. */
static inline int tessera_tiff_stream_reserve(tessera_tiff_stream *s, size_t capacity) {
    if (!s->writable || capacity <= s->capacity) return 1;
    unsigned char *grown = (unsigned char *)realloc(s->data, capacity);
    if (!grown) return 0;
    s->data = grown;
    s->capacity = capacity;
    return 1;
}

/* Writes `n` bytes at the current end of a writer's data, after zero padding to a multiple of
   4, and returns the offset they start at (or -1 when out of memory). libtiff places the next
   directory after them (it seeks to the end to write one). The stream position is restored. */
static inline long long tessera_tiff_stream_append_aligned(tessera_tiff_stream *s, const void *bytes, size_t n) {
    size_t saved = s->pos;
    size_t at = (s->size + 3) & ~(size_t)3;
    s->pos = at;
    if (tessera_tiff_stream_write((thandle_t)s, (void *)bytes, (tmsize_t)n) != (tmsize_t)n) { s->pos = saved; return -1; }
    s->pos = saved;
    return (long long)at;
}

static inline void tessera_tiff_stream_free(tessera_tiff_stream *s) {
    if (!s) return;
    if (s->writable) free(s->data);
    free(s);
}

static inline const unsigned char *tessera_tiff_stream_data(const tessera_tiff_stream *s) { return s->data; }
/* Hands a writer's buffer (tessera_tiff_stream_size_bytes of data) to the caller, who free()s
   it, and leaves the stream empty. NULL for a reader or an empty writer. */
static inline unsigned char *tessera_tiff_stream_take(tessera_tiff_stream *s) {
    if (!s->writable || !s->data) return NULL;
    unsigned char *data = s->data;
    s->data = NULL;
    s->size = s->capacity = s->pos = 0;
    return data;
}
static inline size_t tessera_tiff_stream_size_bytes(const tessera_tiff_stream *s) { return s->size; }
static inline const char *tessera_tiff_stream_error(const tessera_tiff_stream *s) { return s->error; }

/* Opens a TIFF handle over the stream; `mode` as TIFFOpen ("r", "wl", …). NULL on failure
   (the reason is in tessera_tiff_stream_error). */
static inline TIFF *tessera_tiff_open_stream(tessera_tiff_stream *s, const char *name, const char *mode) {
    TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
    if (!opts) return NULL;
    TIFFOpenOptionsSetErrorHandlerExtR(opts, tessera_tiff_error_handler, s);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, tessera_tiff_warning_handler, s);
    TIFF *tif = TIFFClientOpenExt(name, mode, (thandle_t)s, tessera_tiff_stream_read, tessera_tiff_stream_write,
                                  tessera_tiff_stream_seek, tessera_tiff_stream_close, tessera_tiff_stream_size,
                                  tessera_tiff_stream_map, tessera_tiff_stream_unmap, opts);
    TIFFOpenOptionsFree(opts);
    return tif;
}

/* Typed wrappers for the variadic TIFFSetField / TIFFGetField (return 1 on success). */
static inline int tessera_tiff_set_u16(TIFF *tif, uint32_t tag, uint16_t value) { return TIFFSetField(tif, tag, value); }
static inline int tessera_tiff_set_u32(TIFF *tif, uint32_t tag, uint32_t value) { return TIFFSetField(tif, tag, value); }
static inline int tessera_tiff_set_u64(TIFF *tif, uint32_t tag, uint64_t value) { return TIFFSetField(tif, tag, value); }
static inline int tessera_tiff_get_u16(TIFF *tif, uint32_t tag, uint16_t *value) { return TIFFGetField(tif, tag, value); }
static inline int tessera_tiff_get_u32(TIFF *tif, uint32_t tag, uint32_t *value) { return TIFFGetField(tif, tag, value); }
static inline int tessera_tiff_get_u16_defaulted(TIFF *tif, uint32_t tag, uint16_t *value) { return TIFFGetFieldDefaulted(tif, tag, value); }

/* ICC profile (TIFFTAG_ICCPROFILE, 34675) and ASCII tags, typed. */
static inline int tessera_tiff_set_icc(TIFF *tif, const void *profile, uint32_t size) { return TIFFSetField(tif, TIFFTAG_ICCPROFILE, size, profile); }
static inline int tessera_tiff_get_icc(TIFF *tif, const void **profile, uint32_t *size) { return TIFFGetField(tif, TIFFTAG_ICCPROFILE, size, profile); }
static inline int tessera_tiff_set_ascii(TIFF *tif, uint32_t tag, const char *value) { return TIFFSetField(tif, tag, value); }
static inline int tessera_tiff_get_ascii(TIFF *tif, uint32_t tag, const char **value) { return TIFFGetField(tif, tag, value); }

/* One strip of a 16-bit, `samples`-per-pixel contiguous image as libtiff's ADOBE_DEFLATE codec
   with the horizontal predictor writes it: each of the `rows` rows of `row_samples` samples at
   `pixels` is differenced (sample minus the same channel of the previous pixel, modulo 2^16;
   the row's first pixel kept) into `scratch` (`rows * row_samples` samples; the source is
   never modified), in little-endian byte order, and compressed by `compressor` into one zlib
   stream at `out` (`capacity` bytes: at least libdeflate_zlib_compress_bound of the strip).
   Returns the compressed size, or 0 when it does not fit. Thread-safe for distinct
   compressors and scratch buffers. */
static inline size_t tessera_tiff_deflate_strip16(struct libdeflate_compressor *compressor, const uint16_t *pixels,
                                                  size_t rows, size_t row_samples, size_t samples, uint16_t *scratch,
                                                  void *out, size_t capacity) {
    size_t first = samples < row_samples ? samples : row_samples;
    for (size_t r = 0; r < rows; r++) {
        const uint16_t *src = pixels + r * row_samples;
        uint16_t *dst = scratch + r * row_samples;
        for (size_t i = 0; i < first; i++) dst[i] = src[i];
        for (size_t i = first; i < row_samples; i++) dst[i] = (uint16_t)(src[i] - src[i - samples]);
    }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    for (size_t i = 0; i < rows * row_samples; i++) scratch[i] = (uint16_t)((scratch[i] >> 8) | (scratch[i] << 8));
#endif
    return libdeflate_zlib_compress(compressor, scratch, rows * row_samples * sizeof(uint16_t), out, capacity);
}

#endif
