#include "client/ppctl/demo.h"

int ppsim::ppctl::RunDemo(const DemoOptions&) { return 0; }
