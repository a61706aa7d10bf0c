#ifndef TESSERA_CTURBOJPEG_SHIM_H
#define TESSERA_CTURBOJPEG_SHIM_H
#include <turbojpeg.h>

#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>
#include <jerror.h>

/* A streaming JPEG encoder on libjpeg's own API (jpeg_write_scanlines), for rows that arrive
   band by band. Its settings are those tjCompress2 applies for TJPF_RGB with
   TJFLAG_ACCURATEDCT (turbojpeg.c, setCompDefaults): JCS_EXT_RGB input, jpeg_set_defaults,
   jpeg_set_quality(quality, TRUE), JDCT_ISLOW, YCbCr, the luma sampling factors of the
   subsampling, 1 for chroma — so the same pixels give the same bytes (tested against
   tjCompress2). libjpeg reports errors by longjmp; the setjmp lives in this function, and
   everything it touches after setjmp is on the heap. */

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    JSAMPROW *rows;        /* row pointers of the current band */
    uint32_t rowCapacity;
} tessera_jpeg_error;

static void tessera_jpeg_error_exit(j_common_ptr cinfo) {
    tessera_jpeg_error *err = (tessera_jpeg_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, err->message);
    longjmp(err->jump, 1);
}

static void tessera_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

/* Returns the next band of rows (interleaved 8-bit RGB, `width * 3` bytes per row, valid until
   the next call) and sets *rows to its row count; NULL when the source failed. */
typedef const unsigned char *(*tessera_jpeg_rows_fn)(void *context, uint32_t *rows);

/* Encodes `height` rows pulled from `next` into a baseline JPEG (hSamp × vSamp luma sampling:
   1×1 for 4:4:4, 2×1 for 4:2:2, 2×2 for 4:2:0). Returns 1 with a malloc'd *out (free it with
   tessera_jpeg_free); 0 with a message in `error` when libjpeg fails; -1 when `next` returned
   NULL or too many rows (the caller knows why). */
static int tessera_jpeg_encode_rows(uint32_t width, uint32_t height, int quality, int hSamp, int vSamp,
                                    tessera_jpeg_rows_fn next, void *context,
                                    unsigned char **out, unsigned long *outSize, char *error, size_t errorSize) {
    *out = NULL;
    *outSize = 0;
    struct jpeg_compress_struct *cinfo = (struct jpeg_compress_struct *)calloc(1, sizeof(struct jpeg_compress_struct));
    tessera_jpeg_error *err = (tessera_jpeg_error *)calloc(1, sizeof(tessera_jpeg_error));
    if (!cinfo || !err) {
        free(cinfo);
        free(err);
        strncpy(error, "out of memory", errorSize - 1);
        return 0;
    }
    cinfo->err = jpeg_std_error(&err->pub);
    err->pub.error_exit = tessera_jpeg_error_exit;
    err->pub.output_message = tessera_jpeg_output_message;
    if (setjmp(err->jump)) {
        jpeg_destroy_compress(cinfo);
        strncpy(error, err->message[0] ? err->message : "libjpeg error", errorSize - 1);
        free(*out);
        *out = NULL;
        *outSize = 0;
        free(err->rows);
        free(err);
        free(cinfo);
        return 0;
    }
    jpeg_create_compress(cinfo);
    jpeg_mem_dest(cinfo, out, outSize);
    cinfo->image_width = width;
    cinfo->image_height = height;
    cinfo->in_color_space = JCS_EXT_RGB;
    cinfo->input_components = 3;
    jpeg_set_defaults(cinfo);
    jpeg_set_quality(cinfo, quality, TRUE);
    cinfo->dct_method = JDCT_ISLOW;
    jpeg_set_colorspace(cinfo, JCS_YCbCr);
    cinfo->comp_info[0].h_samp_factor = hSamp;
    cinfo->comp_info[1].h_samp_factor = 1;
    cinfo->comp_info[2].h_samp_factor = 1;
    cinfo->comp_info[0].v_samp_factor = vSamp;
    cinfo->comp_info[1].v_samp_factor = 1;
    cinfo->comp_info[2].v_samp_factor = 1;
    jpeg_start_compress(cinfo, TRUE);
    while (cinfo->next_scanline < cinfo->image_height) {
        uint32_t rows = 0;
        const unsigned char *band = next(context, &rows);
        if (!band || rows == 0 || rows > cinfo->image_height - cinfo->next_scanline) {
            jpeg_destroy_compress(cinfo);
            free(*out);
            *out = NULL;
            *outSize = 0;
            free(err->rows);
            free(err);
            free(cinfo);
            strncpy(error, "the row source failed", errorSize - 1);
            return -1;
        }
        if (rows > err->rowCapacity) {
            JSAMPROW *grown = (JSAMPROW *)realloc(err->rows, rows * sizeof(JSAMPROW));
            if (!grown) ERREXIT(cinfo, JERR_OUT_OF_MEMORY);
            err->rows = grown;
            err->rowCapacity = rows;
        }
        for (uint32_t i = 0; i < rows; i++) err->rows[i] = (JSAMPROW)(band + (size_t)i * width * 3);
        uint32_t done = 0;
        while (done < rows) done += jpeg_write_scanlines(cinfo, err->rows + done, rows - done);
    }
    jpeg_finish_compress(cinfo);
    jpeg_destroy_compress(cinfo);
    free(err->rows);
    free(err);
    free(cinfo);
    return 1;
}

static inline void tessera_jpeg_free(void *p) { free(p); }

#endif
