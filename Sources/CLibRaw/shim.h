#ifndef TESSERA_CLIBRAW_SHIM_H
#define TESSERA_CLIBRAW_SHIM_H
#include <libraw/libraw.h>
#include <string.h>

/* Accessors for the fields of libraw_data_t that Swift cannot import (C arrays over 4096
   elements such as color.cblack / color.curve make the enclosing struct awkward) or that are
   simply easier to read through a function. All take the handle from libraw_init(). */

/* Counts LibRaw's data-error callbacks ("unexpected end of file", "data corrupted at ...")
   into the int pointed to by `data`; installed instead of LibRaw's stderr printer. */
static void tessera_libraw_count_data_error(void *data, const char *file, const int offset) {
    (void)file;
    int *counter = (int *)data;
    if (counter) {
        counter[0] += 1;
        if (offset < 0) counter[1] += 1; /* end of file */
    }
}

/* `counters` must point at two ints that outlive the handle: [0] all data errors, [1] EOFs. */
static inline void tessera_libraw_install_data_error_counter(libraw_data_t *lr, int *counters) {
    libraw_set_dataerror_handler(lr, tessera_libraw_count_data_error, counters);
}

static inline void tessera_libraw_set_max_raw_memory_mb(libraw_data_t *lr, unsigned mb) {
    lr->params.max_raw_memory_mb = mb;
}

static inline int tessera_libraw_raw_width(const libraw_data_t *lr) { return lr->sizes.raw_width; }
static inline int tessera_libraw_raw_height(const libraw_data_t *lr) { return lr->sizes.raw_height; }
static inline int tessera_libraw_width(const libraw_data_t *lr) { return lr->sizes.width; }
static inline int tessera_libraw_height(const libraw_data_t *lr) { return lr->sizes.height; }
static inline int tessera_libraw_top_margin(const libraw_data_t *lr) { return lr->sizes.top_margin; }
static inline int tessera_libraw_left_margin(const libraw_data_t *lr) { return lr->sizes.left_margin; }
/* Row pitch of rawdata.raw_image in bytes. */
static inline unsigned tessera_libraw_raw_pitch(const libraw_data_t *lr) { return lr->sizes.raw_pitch; }
static inline int tessera_libraw_flip(const libraw_data_t *lr) { return lr->sizes.flip; }

static inline unsigned tessera_libraw_filters(const libraw_data_t *lr) { return lr->idata.filters; }
static inline int tessera_libraw_colors(const libraw_data_t *lr) { return lr->idata.colors; }
static inline unsigned tessera_libraw_is_foveon(const libraw_data_t *lr) { return lr->idata.is_foveon; }
static inline unsigned tessera_libraw_dng_version(const libraw_data_t *lr) { return lr->idata.dng_version; }
/* 1 when every colour named in idata.cdesc is R, G or B (an RGB Bayer camera), else 0. */
static inline int tessera_libraw_cdesc_is_rgbg(const libraw_data_t *lr) {
    for (int i = 0; i < 4 && lr->idata.cdesc[i]; i++) {
        char c = lr->idata.cdesc[i];
        if (c != 'R' && c != 'G' && c != 'B') return 0;
    }
    return 1;
}
static inline const char *tessera_libraw_make(const libraw_data_t *lr) { return lr->idata.make; }
static inline const char *tessera_libraw_model(const libraw_data_t *lr) { return lr->idata.model; }
static inline const char *tessera_libraw_lens(const libraw_data_t *lr) { return lr->lens.Lens; }
static inline const char *tessera_libraw_makernotes_lens(const libraw_data_t *lr) { return lr->lens.makernotes.Lens; }

/* dcraw's FC(): the colour index (0 R, 1 G, 2 B, 3 second G) at active-area (row, col). */
static inline int tessera_libraw_fc(const libraw_data_t *lr, int row, int col) {
    unsigned filters = lr->idata.filters;
    return (int)(filters >> ((((row) << 1 & 14) + ((col) & 1)) << 1) & 3);
}

static inline unsigned tessera_libraw_black(const libraw_data_t *lr) { return lr->color.black; }
/* color.cblack[index] for 0 <= index < LIBRAW_CBLACK_SIZE, else 0. */
static inline unsigned tessera_libraw_cblack(const libraw_data_t *lr, int index) {
    if (index < 0 || index >= LIBRAW_CBLACK_SIZE) return 0;
    return lr->color.cblack[index];
}
static inline int tessera_libraw_cblack_size(void) { return LIBRAW_CBLACK_SIZE; }
static inline unsigned tessera_libraw_maximum(const libraw_data_t *lr) { return lr->color.maximum; }
static inline float tessera_libraw_cam_mul(const libraw_data_t *lr, int i) { return (i >= 0 && i < 4) ? lr->color.cam_mul[i] : 0.0f; }
static inline float tessera_libraw_pre_mul(const libraw_data_t *lr, int i) { return (i >= 0 && i < 4) ? lr->color.pre_mul[i] : 0.0f; }
static inline float tessera_libraw_rgb_cam(const libraw_data_t *lr, int row, int col) {
    return (row >= 0 && row < 3 && col >= 0 && col < 4) ? lr->color.rgb_cam[row][col] : 0.0f;
}
static inline float tessera_libraw_asshotneutral(const libraw_data_t *lr, int i) {
    return (i >= 0 && i < 4) ? lr->color.dng_levels.asshotneutral[i] : 0.0f;
}

static inline float tessera_libraw_iso(const libraw_data_t *lr) { return lr->other.iso_speed; }
static inline float tessera_libraw_shutter(const libraw_data_t *lr) { return lr->other.shutter; }
static inline float tessera_libraw_aperture(const libraw_data_t *lr) { return lr->other.aperture; }
static inline float tessera_libraw_focal_len(const libraw_data_t *lr) { return lr->other.focal_len; }
static inline long long tessera_libraw_timestamp(const libraw_data_t *lr) { return (long long)lr->other.timestamp; }

static inline unsigned tessera_libraw_process_warnings(const libraw_data_t *lr) { return lr->process_warnings; }
/* The unpacked single-channel Bayer image (raw_width x raw_height, raw_pitch bytes per row),
   or NULL when the format decoded into another layout (colour, float). */
static inline const unsigned short *tessera_libraw_raw_image(const libraw_data_t *lr) { return lr->rawdata.raw_image; }
static inline int tessera_libraw_has_float_or_color_image(const libraw_data_t *lr) {
    return lr->rawdata.float_image != NULL || lr->rawdata.color3_image != NULL || lr->rawdata.color4_image != NULL;
}

/* DNG colour tags as LibRaw 0.20 parsed them (imgdata.color.dng_color[0/1], dng_levels) and
   LibRaw's own camera matrices. Out-of-range indices read as 0. `which` selects the DNG
   illuminant slot: 0 = ColorMatrix1/ForwardMatrix1/CameraCalibration1, 1 = the "2" tags. */
static inline int tessera_libraw_dng_illuminant(const libraw_data_t *lr, int which) {
    return (which >= 0 && which < 2) ? (int)lr->color.dng_color[which].illuminant : 0;
}
/* ColorMatrix (XYZ -> camera), camera row 0..3, XYZ column 0..2. */
static inline float tessera_libraw_dng_colormatrix(const libraw_data_t *lr, int which, int row, int col) {
    return (which >= 0 && which < 2 && row >= 0 && row < 4 && col >= 0 && col < 3)
        ? lr->color.dng_color[which].colormatrix[row][col] : 0.0f;
}
/* ForwardMatrix (white-balanced camera -> XYZ D50), XYZ row 0..2, camera column 0..3. */
static inline float tessera_libraw_dng_forwardmatrix(const libraw_data_t *lr, int which, int row, int col) {
    return (which >= 0 && which < 2 && row >= 0 && row < 3 && col >= 0 && col < 4)
        ? lr->color.dng_color[which].forwardmatrix[row][col] : 0.0f;
}
/* CameraCalibration, camera row 0..3, camera column 0..3. */
static inline float tessera_libraw_dng_calibration(const libraw_data_t *lr, int which, int row, int col) {
    return (which >= 0 && which < 2 && row >= 0 && row < 4 && col >= 0 && col < 4)
        ? lr->color.dng_color[which].calibration[row][col] : 0.0f;
}
static inline float tessera_libraw_analogbalance(const libraw_data_t *lr, int i) {
    return (i >= 0 && i < 4) ? lr->color.dng_levels.analogbalance[i] : 0.0f;
}
static inline float tessera_libraw_baseline_exposure(const libraw_data_t *lr) {
    return lr->color.dng_levels.baseline_exposure;
}
/* LibRaw's cam_xyz (XYZ D65 -> camera, its built-in or the file's matrix), row 0..3, col 0..2. */
static inline float tessera_libraw_cam_xyz(const libraw_data_t *lr, int row, int col) {
    return (row >= 0 && row < 4 && col >= 0 && col < 3) ? lr->color.cam_xyz[row][col] : 0.0f;
}

#endif
