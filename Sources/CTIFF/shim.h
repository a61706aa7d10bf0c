#ifndef TESSERA_CTIFF_SHIM_H
#define TESSERA_CTIFF_SHIM_H
#include <tiffio.h>
#endif
