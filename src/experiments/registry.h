/* The experiments this build knows: the registry the command line (and
 * the tests that run real experiments) hand to the engine. */
#ifndef EX_REGISTRY_H
#define EX_REGISTRY_H

#include "sweep/kinds.h"

extern const sw_registry ex_registry;

#endif
