#ifndef TESSERA_CPNG_SHIM_H
#define TESSERA_CPNG_SHIM_H
#include <png.h>

/* Constants of the simplified API as plain functions (the macros are composite). */
static inline png_uint_32 tessera_png_image_version(void) { return PNG_IMAGE_VERSION; }
static inline png_uint_32 tessera_png_format_rgb(void) { return PNG_FORMAT_RGB; }
static inline png_uint_32 tessera_png_format_linear_rgb(void) { return PNG_FORMAT_LINEAR_RGB; }
static inline int tessera_png_image_failed(const png_image *image) { return PNG_IMAGE_FAILED(*image); }

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

/* Full-API PNG writer and metadata reader. libpng reports errors by longjmp; the setjmp lives
   inside these C functions so Swift never sees it. Buffers are heap objects (not locals modified
   after setjmp). Results are malloc'd; free them with tessera_png_free. */
typedef struct {
    unsigned char *data;
    size_t size;
    size_t capacity;
    const unsigned char *input; /* reader: caller-owned bytes */
    size_t inputSize;
    size_t inputPos;
    char error[256];
} tessera_png_io;

static void tessera_png_error_fn(png_structp png, png_const_charp message) {
    tessera_png_io *io = (tessera_png_io *)png_get_error_ptr(png);
    if (io && !io->error[0]) {
        strncpy(io->error, message ? message : "libpng error", sizeof io->error - 1);
    }
    png_longjmp(png, 1);
}

static void tessera_png_warning_fn(png_structp png, png_const_charp message) { (void)png; (void)message; }

static void tessera_png_write_fn(png_structp png, png_bytep data, size_t length) {
    tessera_png_io *io = (tessera_png_io *)png_get_io_ptr(png);
    if (io->size + length > io->capacity) {
        size_t cap = io->capacity ? io->capacity : 65536;
        while (cap < io->size + length) cap *= 2;
        unsigned char *grown = (unsigned char *)realloc(io->data, cap);
        if (!grown) png_error(png, "out of memory");
        io->data = grown;
        io->capacity = cap;
    }
    memcpy(io->data + io->size, data, length);
    io->size += length;
}

static void tessera_png_flush_fn(png_structp png) { (void)png; }

static void tessera_png_read_fn(png_structp png, png_bytep data, size_t length) {
    tessera_png_io *io = (tessera_png_io *)png_get_io_ptr(png);
    if (length > io->inputSize - io->inputPos) png_error(png, "PNG data ends early");
    memcpy(data, io->input + io->inputPos, length);
    io->inputPos += length;
}

static inline void tessera_png_free(void *p) { free(p); }

/* Returns the next band of rows (interleaved RGB, `width * 3` samples per row, valid until the
   next call) and sets *rows to its row count; NULL when the source failed. */
typedef const void *(*tessera_png_rows_fn)(void *context, uint32_t *rows);

/* Encodes `height` rows of interleaved RGB (bitDepth 8: bytes; 16: host-endian uint16), pulled
   band by band from `next`, into a PNG with an iCCP chunk (when iccSize > 0; zlib-compressed by
   libpng) or else an sRGB chunk, and an eXIf chunk (when exifSize > 0). Returns 1 and a
   malloc'd *out on success; 0 and a message in `error` on failure; -1 when `next` returned
   NULL or too many rows. Deterministic: a fixed zlib level per bit depth, adaptive filters. */
static int tessera_png_encode_rows(uint32_t width, uint32_t height, int bitDepth,
                                   const unsigned char *icc, uint32_t iccSize,
                                   const unsigned char *exif, uint32_t exifSize,
                                   tessera_png_rows_fn next, void *context,
                                   unsigned char **out, size_t *outSize, char *error, size_t errorSize) {
    tessera_png_io *io = (tessera_png_io *)calloc(1, sizeof(tessera_png_io));
    if (!io) { strncpy(error, "out of memory", errorSize - 1); return 0; }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, io, tessera_png_error_fn, tessera_png_warning_fn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        if (png) png_destroy_write_struct(&png, NULL);
        free(io);
        strncpy(error, "cannot create libpng write structures", errorSize - 1);
        return 0;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        strncpy(error, io->error[0] ? io->error : "libpng error", errorSize - 1);
        free(io->data);
        free(io);
        return 0;
    }
    png_set_write_fn(png, io, tessera_png_write_fn, tessera_png_flush_fn);
    png_set_IHDR(png, info, width, height, bitDepth, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    /* zlib level, measured on a developed 24 MP frame (docs/performance.md, "PNG"): 16 bits
       at level 1, as the deflate TIFF (level 6 saves 3 % of size for 1.9x the time; noisy low
       bits do not match); 8 bits at level 4 (0.7 % larger than level 6 at a third of the time,
       while level 1 would be 13 % larger). */
    png_set_compression_level(png, bitDepth == 16 ? 1 : 4);
    if (icc && iccSize > 0) {
        png_set_iCCP(png, info, "ICC profile", PNG_COMPRESSION_TYPE_BASE, icc, iccSize);
        if (!png_get_valid(png, info, PNG_INFO_iCCP)) png_error(png, "the ICC profile was rejected by libpng (not an RGB profile?)");
    } else {
        png_set_sRGB(png, info, PNG_sRGB_INTENT_PERCEPTUAL);
    }
    png_write_info(png, info);
    /* eXIf before IDAT (libpng 1.6.39 would write a png_set_eXIf_1 chunk after IDAT, where
       some readers ignore it), so it is written here as a raw chunk. */
    if (exif && exifSize > 0) png_write_chunk(png, (png_const_bytep)"eXIf", exif, exifSize);
    if (bitDepth == 16) {
        const uint16_t one = 1;
        if (*(const unsigned char *)&one == 1) png_set_swap(png);
    }
    size_t rowBytes = (size_t)width * 3 * (bitDepth == 16 ? 2 : 1);
    for (uint32_t y = 0; y < height;) {
        uint32_t rows = 0;
        const void *band = next(context, &rows);
        if (!band || rows == 0 || rows > height - y) {
            png_destroy_write_struct(&png, &info);
            strncpy(error, "the row source failed", errorSize - 1);
            free(io->data);
            free(io);
            return -1;
        }
        for (uint32_t i = 0; i < rows; i++) png_write_row(png, (png_const_bytep)band + rowBytes * i);
        y += rows;
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    *out = io->data;
    *outSize = io->size;
    free(io);
    return 1;
}

/* The row source of a whole image in memory: every row in one band. */
typedef struct { const void *pixels; uint32_t height; int given; } tessera_png_whole;

static const void *tessera_png_whole_rows(void *context, uint32_t *rows) {
    tessera_png_whole *whole = (tessera_png_whole *)context;
    if (whole->given) return NULL;
    whole->given = 1;
    *rows = whole->height;
    return whole->pixels;
}

/* tessera_png_encode_rows for `height` rows at `pixels` (the whole image in memory). */
static inline int tessera_png_encode_rgb(const void *pixels, uint32_t width, uint32_t height, int bitDepth,
                                         const unsigned char *icc, uint32_t iccSize,
                                         const unsigned char *exif, uint32_t exifSize,
                                         unsigned char **out, size_t *outSize, char *error, size_t errorSize) {
    tessera_png_whole whole = { pixels, height, 0 };
    return tessera_png_encode_rows(width, height, bitDepth, icc, iccSize, exif, exifSize, tessera_png_whole_rows, &whole,
                                   out, outSize, error, errorSize);
}

/* Reads the ICC profile (decompressed) and eXIf payload of a PNG without decoding pixels.
   Either output is NULL/0 when absent. Returns 1 on success, 0 with a message on failure. */
static inline int tessera_png_read_metadata(const unsigned char *bytes, size_t size,
                                            unsigned char **icc, size_t *iccSize,
                                            unsigned char **exif, size_t *exifSize, char *error, size_t errorSize) {
    *icc = NULL; *iccSize = 0; *exif = NULL; *exifSize = 0;
    tessera_png_io *io = (tessera_png_io *)calloc(1, sizeof(tessera_png_io));
    if (!io) { strncpy(error, "out of memory", errorSize - 1); return 0; }
    io->input = bytes;
    io->inputSize = size;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, io, tessera_png_error_fn, tessera_png_warning_fn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        if (png) png_destroy_read_struct(&png, NULL, NULL);
        free(io);
        strncpy(error, "cannot create libpng read structures", errorSize - 1);
        return 0;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        strncpy(error, io->error[0] ? io->error : "libpng error", errorSize - 1);
        free(io);
        free(*icc); *icc = NULL; *iccSize = 0;
        return 0;
    }
    png_set_read_fn(png, io, tessera_png_read_fn);
    png_read_info(png, info);
    png_charp name = NULL;
    int compression = 0;
    png_bytep profile = NULL;
    png_uint_32 profileSize = 0;
    if (png_get_iCCP(png, info, &name, &compression, &profile, &profileSize) && profileSize > 0) {
        *icc = (unsigned char *)malloc(profileSize);
        if (*icc) { memcpy(*icc, profile, profileSize); *iccSize = profileSize; }
    }
    png_bytep exifData = NULL;
    png_uint_32 exifLength = 0;
    if (png_get_eXIf_1(png, info, &exifLength, &exifData) && exifLength > 0) {
        *exif = (unsigned char *)malloc(exifLength);
        if (*exif) { memcpy(*exif, exifData, exifLength); *exifSize = exifLength; }
    }
    png_destroy_read_struct(&png, &info, NULL);
    free(io);
    return 1;
}

#endif
