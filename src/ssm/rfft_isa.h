/* rfft_body.h in both precisions for one instruction set: the includer
 * defines ISA and CW_F32, the floats per machine vector (doubles: half).
 * Included once per instruction set by rfft.c. */
#define REAL float
#define SUF f32
#define LANES SSM_RFFT_LANES_F32
#define CW CW_F32
#include "rfft_body.h"
#undef CW
#undef LANES
#undef SUF
#undef REAL
#define REAL double
#define SUF f64
#define LANES SSM_RFFT_LANES_F64
#define CW (CW_F32 / 2)
#include "rfft_body.h"
#undef CW
#undef LANES
#undef SUF
#undef REAL
#undef CW_F32
#undef ISA
