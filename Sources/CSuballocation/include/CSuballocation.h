#ifndef CSUBALLOCATION_H
#define CSUBALLOCATION_H

#include <stddef.h>

#if defined(__linux__)
/// Linux's `mremap(address, oldSize, newSize, MREMAP_MAYMOVE)`, which Swift cannot call
/// (it is variadic): resizes a private anonymous mapping, moving its pages rather than
/// copying them when it cannot grow in place. NULL when that fails; the old mapping is
/// then unchanged.
void *csuballocation_remap(void *address, size_t oldSize, size_t newSize);
#endif

#endif
