#ifndef TESSERA_CLCMS2_SHIM_H
#define TESSERA_CLCMS2_SHIM_H
#include <lcms2.h>

/* lcms2's pixel-format macros are bit-field expressions Swift cannot import; these return them. */
static inline cmsUInt32Number tessera_lcms_type_rgb_dbl(void) { return TYPE_RGB_DBL; }
static inline cmsUInt32Number tessera_lcms_type_xyz_dbl(void) { return TYPE_XYZ_DBL; }
static inline cmsUInt32Number tessera_lcms_type_rgb_16(void) { return TYPE_RGB_16; }

#endif
