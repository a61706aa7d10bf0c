#ifndef TESSERA_CLIBRAW_SHIM_H
#define TESSERA_CLIBRAW_SHIM_H
#include <libraw/libraw.h>
#endif
