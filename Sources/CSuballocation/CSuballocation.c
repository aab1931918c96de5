// Linux only: the one libc call that the suballocation engine cannot make from Swift.
#if defined(__linux__)
#define _GNU_SOURCE
#include <sys/mman.h>
#include "CSuballocation.h"

void *csuballocation_remap(void *address, size_t oldSize, size_t newSize) {
    void *moved = mremap(address, oldSize, newSize, MREMAP_MAYMOVE);
    return moved == MAP_FAILED ? NULL : moved;
}
#endif
