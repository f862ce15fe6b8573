/*
 * Libraries opened at first use (codec.h): dlopen by soname, dlsym by
 * name. Only the AVIF, HEIF and JPEG XL decoders use it; why is in
 * codec.h.
 */
#include <dlfcn.h>
#include <string.h>

#include "decode/codec.h"
#include "imgaudit.h"

int ia_codec_lib_open(ia_codec_lib *lib, const char *soname)
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

int ia_codec_lib_sym(ia_codec_lib *lib, const char *name, void *dst,
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
        ia_codec_lib_close(lib);
    }
    lib->state = -1;
    return -1;
}

void ia_codec_lib_close(ia_codec_lib *lib)
{
    if (lib->handle)
        dlclose(lib->handle);
    lib->handle = NULL;
}

void ia_codec_lib_missing(const ia_codec_lib *lib, ia_file_result *res)
{
    ia_result_status(res, IA_ST_UNSUPPORTED, "%s image (not decoded: %s)",
                     ia_fmt_name(res->format),
                     lib->why[0] ? lib->why : "its library is not loaded");
}
