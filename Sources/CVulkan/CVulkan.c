// SwiftPM needs one source file in a C target; the module is headers only.
#include "CVulkan.h"
