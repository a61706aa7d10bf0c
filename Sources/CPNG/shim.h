#ifndef TESSERA_CPNG_SHIM_H
#define TESSERA_CPNG_SHIM_H
#include <png.h>

/* Constants of the simplified API as plain functions (the macros are composite). */
static inline png_uint_32 tessera_png_image_version(void) { return PNG_IMAGE_VERSION; }
static inline png_uint_32 tessera_png_format_rgb(void) { return PNG_FORMAT_RGB; }
static inline png_uint_32 tessera_png_format_linear_rgb(void) { return PNG_FORMAT_LINEAR_RGB; }
static inline int tessera_png_image_failed(const png_image *image) { return PNG_IMAGE_FAILED(*image); }

#endif
