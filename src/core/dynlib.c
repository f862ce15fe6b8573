/*
 * Libraries opened at first use (core.h): dlopen by soname, dlsym by
 * name. The decoders of TIFF, AVIF, HEIF and JPEG XL and the archive
 * reader use it; why is in core.h.
 */
#include <dlfcn.h>
#include <string.h>

#include "core/core.h"

int ia_dynlib_open(ia_dynlib *lib, const char *soname)
{
    if (lib->state != 0)
        return lib->state > 0 ? 0 : -1;
    /* RTLD_LOCAL: its symbols stay its own; RTLD_NOW: a library that
     * cannot resolve its own dependencies fails here, not mid-decode. */
    lib->handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!lib->handle) {
        const char *e = dlerror();
        ia_bprintf(lib->why, sizeof lib->why, "%s could not be loaded: %s",
                   soname, e ? e : "unknown error");
        lib->state = -1;
        return -1;
    }
    lib->state = 1;
    return 0;
}

int ia_dynlib_sym(ia_dynlib *lib, const char *name, void *dst,
                  size_t size)
{
    void *p = lib->state > 0 ? dlsym(lib->handle, name) : NULL;
    /* POSIX: a function's address from dlsym converts to its pointer
     * type; copied as bytes, which ISO C allows where it forbids the
     * cast. */
    if (p && size == sizeof p) {
        memcpy(dst, &p, sizeof p);
        return 0;
    }
    if (lib->state > 0) {
        ia_bprintf(lib->why, sizeof lib->why, "the library has no %s",
                   name);
        ia_dynlib_close(lib);
    }
    lib->state = -1;
    return -1;
}

void ia_dynlib_close(ia_dynlib *lib)
{
    if (lib->handle)
        dlclose(lib->handle);
    lib->handle = NULL;
}
