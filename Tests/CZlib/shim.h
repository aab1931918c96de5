// zlib's inflate, for the tests' PNG reader: the memory map's browser test decodes
// Chromium's screenshot to check its pixels (Foundation has no PNG decoder on Linux).
#include <zlib.h>
