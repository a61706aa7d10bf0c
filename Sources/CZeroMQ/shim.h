#ifndef TESSERA_CZEROMQ_SHIM_H
#define TESSERA_CZEROMQ_SHIM_H
#include <zmq.h>
#endif
