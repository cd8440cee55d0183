// Compile-time reference 1 (issue 10): the umbrella header alone.
#include "ambitious/ambitious.hpp"
