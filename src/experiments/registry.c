#include "config.h"

#include "registry.h"

/* One entry per kind, in the order `plan` and error messages list them:
 * kind_NAME.c defines ex_kind_NAME. */
#define EX_KINDS(X) X(mf) X(train) X(sfmnist) X(noop)

#define EX_DECLARE(name) extern const sw_kind ex_kind_##name;
EX_KINDS(EX_DECLARE)

#define EX_ENTRY(name) &ex_kind_##name,
static const sw_kind *const kinds[] = {EX_KINDS(EX_ENTRY)};

const sw_registry ex_registry = {kinds, sizeof kinds / sizeof *kinds};
