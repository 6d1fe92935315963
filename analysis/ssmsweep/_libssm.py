"""libssm through ctypes: where it is, and the prototypes of its flat entry
points (src/ssm/ffi.h).  Loaded at the first call, not at import, so that
reading results files works without the library."""
import ctypes
import os

ENV = "SSMSWEEP_LIBSSM"   # a path to libssm.so: the tests point it at the build tree
SONAME = "libssm.so.0"
FFI_VERSION = 1           # the ssm_ffi_* functions this module calls exist since this version

_double_p = ctypes.POINTER(ctypes.c_double)
PROTOTYPES = {
    "ssm_ffi_version": (ctypes.c_int, []),
    "ssm_ffi_mf": (ctypes.c_int, [ctypes.c_size_t, _double_p, _double_p, ctypes.c_char_p, ctypes.c_size_t,
                                  ctypes.c_size_t, ctypes.c_double, _double_p, _double_p, ctypes.c_char_p,
                                  ctypes.c_size_t]),
    "ssm_ffi_eig": (ctypes.c_int, [ctypes.c_char_p, ctypes.c_long, ctypes.c_size_t,
                                   ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_char_p), _double_p,
                                   _double_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t), ctypes.c_char_p,
                                   ctypes.c_size_t]),
}
MESSAGE_SIZE = 1024
# ssm_status (src/ssm/error.h)
STATUS_NAMES = {1: "invalid argument", 2: "out of memory", 3: "input/output error", 4: "numerical failure"}
SSM_EINVAL, SSM_EIO = 1, 3
# indices of ssm_ffi_mf's stats
MC, RANK, MEMORY_LENGTH, COND, RCOND, N_STATS = range(6)

_lib = None


def candidates():
    """Where to look, in order: $SSMSWEEP_LIBSSM alone when set; else the
    libdir `make install` used, then the dynamic loader's search path."""
    path = os.environ.get(ENV)
    if path:
        return [path]
    found = []
    try:
        from . import _install
        found.append(os.path.join(_install.LIBDIR, SONAME))
    except ImportError:   # the source tree: no make install
        pass
    return found + [SONAME]


def library():
    """The loaded libssm, its prototypes declared; OSError naming every
    place tried when there is none."""
    global _lib
    if _lib is not None:
        return _lib
    why = []
    for path in candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            why.append(str(e))
            continue
        for name, (restype, argtypes) in PROTOTYPES.items():
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = restype, argtypes
        if lib.ssm_ffi_version() < FFI_VERSION:
            why.append(f"{path}: interface version {lib.ssm_ffi_version()}, this package needs {FFI_VERSION}")
            continue
        _lib = lib
        return lib
    raise OSError("cannot load libssm (" + "; ".join(why) + "): install ssmsweep (make install) or set "
                  f"{ENV} to the path of libssm.so")


def doubles(array):
    """A pointer to the data of a C-contiguous float64 numpy array."""
    return array.ctypes.data_as(_double_p)
